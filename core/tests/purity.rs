//! The core must stay pure: no wasm-bindgen, js-sys or web-sys anywhere in what it depends on,
//! for any target. Hosts do I/O; the core only decides.

use std::process::Command;

#[test]
fn core_has_no_wasm_dependency() {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "-p", "rowbatch-core", "-e", "normal", "--target", "all", "--prefix", "none"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    let tree = String::from_utf8(out.stdout).expect("utf-8");
    assert!(tree.starts_with("rowbatch-core "), "unexpected tree:\n{tree}");
    let banned: Vec<&str> = tree
        .lines()
        .filter(|l| ["wasm-bindgen", "js-sys", "web-sys", "getrandom"].iter().any(|b| l.starts_with(b)))
        .collect();
    assert!(banned.is_empty(), "the core depends on {banned:?}");
}
