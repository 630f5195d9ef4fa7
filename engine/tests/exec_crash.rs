//! A real crash: a child process runs a persistent query and is killed with SIGKILL mid-stream
//! (often between an epoch's sink write and its commit). The query, started again over the same
//! data directory, cuts the uncommitted sink records and finishes: every expected record is in
//! the sink exactly once.

mod exec_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use exec_support::*;
use sluice_broker::{Broker, Durability, decode_records};
use sluice_engine::exec::CollectingProcessingLog;
use sluice_engine::query::{EpochOutcome, PersistentQuery, QueryOptions, StartFrom, spawn};

const CHILD_ENV: &str = "SLUICE_EXEC_CRASH_CHILD_DIR";
const TEST_NAME: &str = "sigkill_mid_query_leaves_every_output_record_exactly_once";
const QUERY: &str = "CSAS_BIG_ORDERS_CRASH";
const N: i64 = 12_000;

fn options() -> QueryOptions {
    QueryOptions {
        max_records_per_partition: 40,
        start_from: StartFrom::Earliest,
        processing_log: Arc::new(CollectingProcessingLog::default()),
        ..QueryOptions::default()
    }
}

/// The child: runs the query and prints every commit's epoch until it is killed.
fn run_child(dir: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let broker = broker(std::path::Path::new(dir)).await;
        let query = PersistentQuery::create(broker.clone(), filter_query(QUERY), options())
            .await
            .unwrap();
        let handle = spawn(query);
        let mut commits = handle.commits();
        while commits.changed().await.is_ok() {
            let epoch = commits.borrow_and_update().epoch;
            println!("committed {epoch}");
        }
    });
}

/// Every sink record's value, sorted by timestamp (the order id + 1000).
fn sink_values(broker: &Broker) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for p in 0..broker.topic(SINK).unwrap().partitions {
        let log = broker.partition(SINK, p).unwrap();
        let mut offset = 0;
        while offset < log.high_watermark() {
            let records = decode_records(&log.read(offset, 1 << 20).unwrap().records).unwrap();
            offset = records.last().unwrap().offset + 1;
            out.extend(records.into_iter().map(|r| {
                (
                    String::from_utf8(r.value.unwrap().to_vec()).unwrap(),
                    r.timestamp,
                )
            }));
        }
    }
    out.sort_by_key(|(_, ts)| *ts);
    out
}

#[test]
fn sigkill_mid_query_leaves_every_output_record_exactly_once() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        run_child(&dir);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let broker = broker(dir.path()).await;
        create_topics(&broker, 2, 2);
        produce_orders(&broker, 0..N, 500, Durability::Fsynced).await;
        broker.shutdown().await;
    });

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut commits = 0;
    for line in BufReader::new(stdout).lines() {
        if line.unwrap().starts_with("committed ") {
            commits += 1;
            if commits == 30 {
                // Land the kill at a varying point of the next epochs.
                let jitter = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos() % 20_000);
                std::thread::sleep(std::time::Duration::from_micros(u64::from(jitter)));
                child.kill().unwrap(); // SIGKILL
                break;
            }
        }
    }
    child.wait().unwrap();
    assert_eq!(commits, 30, "the child ended before it was killed");

    rt.block_on(async {
        let broker = broker(dir.path()).await;
        let sink_end = |b: &Broker| -> i64 {
            (0..2)
                .map(|p| b.partition(SINK, p).unwrap().high_watermark())
                .sum()
        };
        let before = sink_end(&broker);
        let mut query = PersistentQuery::create(broker.clone(), filter_query(QUERY), options())
            .await
            .unwrap();
        let resumed_at = query.last_commit().epoch;
        // Where the kill landed varies; when it was between a sink write and its commit, the
        // restart cut that epoch's records.
        eprintln!(
            "killed after epoch {resumed_at}; sink records cut at restart: {}",
            before - sink_end(&broker)
        );
        assert!(resumed_at >= 30, "resumed at epoch {resumed_at}");
        while query.run_epoch().await.unwrap() != EpochOutcome::Idle {}
        let want: Vec<(String, i64)> = (0..N)
            .filter_map(expected)
            .map(|(_, v, ts)| (v, ts))
            .collect();
        let got = sink_values(&broker);
        assert_eq!(got.len(), want.len(), "records lost or duplicated");
        assert_eq!(got, want);
        broker.shutdown().await;
    });
}
