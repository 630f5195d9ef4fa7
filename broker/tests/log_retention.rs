//! Retention on real segment files: by time and by size, old segment files disappear and the log
//! start offset moves; the background task does the same on its own.

mod log_common;

use std::time::Duration;

use log_common::*;
use sluice_broker::{Broker, Durability, PartitionLog};

#[tokio::test]
async fn time_retention_deletes_old_segment_files() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker
        .create_topic(
            "t",
            1,
            &configs(&[("segment.bytes", "1024"), ("retention.ms", "60000")]),
        )
        .unwrap();
    let log = broker.partition("t", 0).unwrap();
    let old = now_ms() - 3_600_000;
    for b in 0..30 {
        log.append_records(&records(&format!("old{b}"), 2, old), Durability::Written)
            .await
            .unwrap();
    }
    let first_new = log.high_watermark();
    for b in 0..30 {
        log.append_records(
            &records(&format!("new{b}"), 2, now_ms()),
            Durability::Written,
        )
        .await
        .unwrap();
    }
    let before = segment_files(log.dir());
    assert!(before.len() > 4, "{before:?}");
    let deleted = broker.run_retention_now().await.unwrap();
    assert!(deleted > 0);
    let after = segment_files(log.dir());
    assert_eq!(
        after.len(),
        before.len() - deleted,
        "files of deleted segments are gone"
    );
    assert!(!after.contains(&PartitionLog::segment_file_name(0)));
    let start = log.log_start_offset();
    assert!(
        start > 0 && start <= first_new,
        "log start {start} moved up to the first new record {first_new}"
    );
    assert_eq!(
        log.read(0, 100).unwrap_err().code(),
        1,
        "deleted offsets are out of range"
    );
    let (recs, _) = log.read_records(start, 1 << 20).unwrap();
    assert_eq!(recs[0].offset, start);
    // Every new record is still there.
    let (recs, _) = log.read_records(first_new, 1 << 20).unwrap();
    assert_eq!(recs[0].offset, first_new);
}

#[tokio::test]
async fn time_retention_also_expires_an_idle_active_segment() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker
        .create_topic("t", 1, &configs(&[("retention.ms", "1000")]))
        .unwrap();
    let log = broker.partition("t", 0).unwrap();
    log.append_records(&records("old", 5, now_ms() - 10_000), Durability::Written)
        .await
        .unwrap();
    assert_eq!(broker.run_retention_now().await.unwrap(), 1);
    assert_eq!(log.log_start_offset(), 5);
    assert_eq!(log.high_watermark(), 5);
    assert_eq!(
        segment_files(log.dir()),
        vec![PartitionLog::segment_file_name(5)]
    );
    let res = log
        .append_records(&records("new", 1, now_ms()), Durability::Written)
        .await
        .unwrap();
    assert_eq!(res.base_offset, 5);
}

#[tokio::test]
async fn size_retention_keeps_the_partition_under_retention_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker
        .create_topic(
            "t",
            1,
            &configs(&[("segment.bytes", "1024"), ("retention.bytes", "3000")]),
        )
        .unwrap();
    let log = broker.partition("t", 0).unwrap();
    for b in 0..120 {
        log.append_records(&records(&format!("b{b}"), 2, now_ms()), Durability::Written)
            .await
            .unwrap();
    }
    assert!(log.size_bytes() > 9000, "{}", log.size_bytes());
    let deleted = broker.run_retention_now().await.unwrap();
    assert!(deleted > 0);
    let size = log.size_bytes();
    assert!(
        size < 3000 + 1024,
        "partition is {size} bytes after retention"
    );
    assert!(log.log_start_offset() > 0);
    assert_eq!(
        segment_files(log.dir()).len(),
        log.segment_base_offsets().len()
    );
    // The newest records are untouched.
    let (recs, _) = log.read_records(log.high_watermark() - 2, 1 << 20).unwrap();
    assert_eq!(values(&recs), vec!["b119-0", "b119-1"]);
}

#[tokio::test]
async fn background_task_applies_retention() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.retention_check_interval = Duration::from_millis(20);
    let broker = Broker::open(cfg).await.unwrap();
    broker
        .create_topic("t", 1, &configs(&[("retention.ms", "1000")]))
        .unwrap();
    let log = broker.partition("t", 0).unwrap();
    log.append_records(&records("old", 3, now_ms() - 10_000), Durability::Written)
        .await
        .unwrap();
    // Wait (generously) for the periodic task; the assertion is on the outcome, not the time.
    for _ in 0..500 {
        if log.log_start_offset() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(log.log_start_offset(), 3);
    broker.shutdown().await;
}

#[tokio::test]
async fn delete_records_moves_the_log_start_inside_a_segment_and_persists_it() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, log) = open_with_small_segments(dir.path(), "t").await;
    for b in 0..40 {
        log.append_records(&records(&format!("b{b}"), 2, now_ms()), Durability::Written)
            .await
            .unwrap();
    }
    let bases = log.segment_base_offsets();
    let target = bases[2] + 1; // inside the third segment
    assert_eq!(broker.delete_records("t", 0, target).unwrap(), target);
    assert_eq!(log.log_start_offset(), target);
    assert_eq!(
        log.segment_base_offsets()[0],
        bases[2],
        "the two segments before it are gone"
    );
    assert!(!segment_files(log.dir()).contains(&PartitionLog::segment_file_name(bases[0])));
    assert_eq!(log.read(target - 1, 100).unwrap_err().code(), 1);
    let (recs, _) = log.read_records(target, 100).unwrap();
    assert_eq!(recs[0].offset, target);
    assert_eq!(
        broker.delete_records("t", 0, 5).unwrap_err().code(),
        1,
        "before the log start"
    );
    assert_eq!(
        broker.delete_records("t", 0, 81).unwrap_err().code(),
        1,
        "past the high-water mark"
    );
    drop(log);
    drop(broker); // crash
    let broker = open(dir.path()).await;
    let log = broker.partition("t", 0).unwrap();
    assert_eq!(log.log_start_offset(), target);
    assert_eq!(broker.delete_records("t", 0, -1).unwrap(), 80);
    assert!(log.read(80, 100).unwrap().records.is_empty());
}
