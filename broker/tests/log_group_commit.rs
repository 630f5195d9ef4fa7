//! Group commit: concurrent `acks=all` appenders share fsyncs.

mod log_common;

use log_common::*;
use sluice_broker::Durability;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_fsynced_appends_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker.create_topic("t", 1, &configs(&[])).unwrap();
    let log = broker.partition("t", 0).unwrap();
    let appenders = 64;
    let per_appender = 10;
    let mut tasks = Vec::new();
    for a in 0..appenders {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut offsets = Vec::new();
            for i in 0..per_appender {
                let res = log
                    .append_records(&records(&format!("a{a}-{i}"), 1, 1), Durability::Fsynced)
                    .await
                    .unwrap();
                offsets.push(res.base_offset);
            }
            offsets
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    let total = (appenders * per_appender) as i64;
    assert_eq!(
        all,
        (0..total).collect::<Vec<_>>(),
        "every append got its own offset"
    );
    assert_eq!(log.high_watermark(), total);
    let fsyncs = log.fsync_count();
    assert!(fsyncs >= 1, "acks=all appends must fsync");
    assert!(
        fsyncs < total as u64,
        "{fsyncs} fsyncs for {total} appends: no group commit"
    );
    assert_eq!(broker.fsync_count(), fsyncs);
}
