//! Any cells through canonicalisation and signing: a signature or a clear error, never a panic;
//! and signing is a function of the canonical form.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rowbatch_core::Cell;
use rowbatch_core::signature::{SignRowInput, sign_row};

fuzz_target!(|data: &[u8]| {
    let cells: Vec<Cell> = data
        .split(|b| *b == 0xff)
        .map(|part| match part.first() {
            Some(0) => Cell::Empty,
            Some(1) => Cell::Bool(part.len() % 2 == 0),
            Some(2) if part.len() >= 9 => Cell::Number(f64::from_le_bytes(part[1..9].try_into().unwrap())),
            _ => Cell::Text(String::from_utf8_lossy(part).into_owned()),
        })
        .collect();
    let a = sign_row(SignRowInput { values: cells.clone(), null_tokens: None });
    let b = sign_row(SignRowInput { values: cells, null_tokens: None });
    match (a, b) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        _ => panic!("signing is not deterministic"),
    }
});
