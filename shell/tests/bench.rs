//! `sluice bench` runs end to end on a small load against the server it starts itself and
//! reports what it measured.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_sluice");

fn run(args: &[&str]) -> String {
    let out = Command::new(BIN).arg("bench").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn produce_reports_throughput_per_size_and_latency() {
    let out = run(&[
        "produce",
        "--records",
        "3000",
        "--record-size",
        "100",
        "--record-size",
        "1024",
        "--rate",
        "500",
        "--latency-seconds",
        "1",
    ]);
    assert!(out.contains("produce     100 B records: 3000 in"), "{out}");
    assert!(out.contains("produce    1024 B records: 3000 in"), "{out}");
    // 500 records/s for 1 s: every one of them acknowledged and timed.
    assert!(
        out.contains("at 500 records/s for 1 s (500 records,"),
        "{out}"
    );
    assert!(out.contains("p50 ") && out.contains("p99 "), "{out}");
}

#[test]
fn consume_reads_back_every_record() {
    let out = run(&[
        "consume",
        "--records",
        "5000",
        "--record-size",
        "100",
        "--partitions",
        "3",
    ]);
    assert!(out.contains("consume     100 B records: 5000 in"), "{out}");
}

#[test]
fn bad_arguments_are_usage_errors() {
    let out = Command::new(BIN)
        .args(["bench", "produce", "--partitions", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
