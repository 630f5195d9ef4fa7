//! Replays the saved inputs of the fuzz targets in `fuzz/` (seeds and every crash the fuzzers
//! found, in `fuzz/regressions/<target>/`) through the same entry points the targets call, so a
//! fixed crash stays fixed without cargo-fuzz or nightly Rust in the test command.

use std::path::PathBuf;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .filter(|(name, _)| !name.starts_with('.') && name != "README.md")
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no saved inputs in {}", dir.display());
    out
}

#[test]
fn kafka_request_inputs_decode_or_fail_cleanly() {
    let mut decoded = 0;
    for (name, data) in inputs("kafka_request") {
        eprintln!("kafka_request/{name}");
        decoded += sluice_broker::fuzzing::kafka_request(&data);
    }
    // The seeds include well-formed requests: the harness really decodes.
    assert!(decoded > 0);
}

#[test]
fn record_batch_inputs_validate_or_fail_cleanly() {
    let mut accepted = 0;
    for (name, data) in inputs("record_batch") {
        eprintln!("record_batch/{name}");
        accepted += usize::from(sluice_broker::fuzzing::record_batch(&data));
    }
    // The seeds include a valid batch per codec.
    assert!(accepted >= 5, "{accepted}");
}
