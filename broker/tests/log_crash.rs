//! A real crash: a child process appends with acks=all and is killed with SIGKILL mid-stream;
//! the reopened log holds every acknowledged record, intact, and takes new appends.

mod log_common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use log_common::*;
use sluice_broker::Durability;

const CHILD_ENV: &str = "SLUICE_LOG_CRASH_CHILD_DIR";
const TEST_NAME: &str = "sigkill_keeps_every_acknowledged_append";

/// The child: four concurrent acks=all appenders printing every acknowledged offset.
fn run_child(dir: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let broker = open(std::path::Path::new(dir)).await;
        broker
            .create_topic("crash", 1, &configs(&[("segment.bytes", "4096")]))
            .unwrap();
        let log = broker.partition("crash", 0).unwrap();
        let mut tasks = Vec::new();
        for t in 0..4 {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..100_000 {
                    let value = format!("t{t}-{i}");
                    let recs = [sluice_broker::new_record(
                        None,
                        Some(value.as_bytes()),
                        now_ms(),
                    )];
                    let res = log
                        .append_records(&recs, Durability::Fsynced)
                        .await
                        .unwrap();
                    println!("acked {} {value}", res.base_offset);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

#[test]
fn sigkill_keeps_every_acknowledged_append() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        run_child(&dir);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("acked ") {
            let (offset, value) = rest.split_once(' ').unwrap();
            acked.push((offset.parse::<i64>().unwrap(), value.to_string()));
            if acked.len() == 500 {
                child.kill().unwrap(); // SIGKILL
                break;
            }
        }
    }
    child.wait().unwrap();
    assert_eq!(
        acked.len(),
        500,
        "the child stopped before 500 acknowledged appends"
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let broker = open(dir.path()).await;
        let log = broker.partition("crash", 0).unwrap();
        let hw = log.high_watermark();
        let max_acked = acked.iter().map(|(o, _)| *o).max().unwrap();
        assert!(
            hw > max_acked,
            "high-water mark {hw} lost acknowledged offset {max_acked}"
        );
        for (offset, value) in &acked {
            let (recs, _) = log.read_records(*offset, 1).unwrap();
            assert_eq!(recs[0].offset, *offset);
            assert_eq!(values(&recs[..1]), vec![value.clone()], "offset {offset}");
        }
        let res = log
            .append_records(&records("after", 1, now_ms()), Durability::Fsynced)
            .await
            .unwrap();
        assert_eq!(res.base_offset, hw);
    });
}
