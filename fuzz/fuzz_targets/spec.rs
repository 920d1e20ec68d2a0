//! Any bytes as a job spec: an error or a job, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = rowbatch_core::spec::Job::compile(&v);
        let _ = rowbatch_core::validate::check_spec(rowbatch_core::validate::SpecInput { spec: v });
    }
});
