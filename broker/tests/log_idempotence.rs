//! Idempotent producers: retried batches are written once and answered with their original
//! offsets, also after a clean restart and after a crash; gaps and old epochs are refused.

mod log_common;

use log_common::*;
use sluice_broker::Durability;

#[tokio::test]
async fn retried_batch_is_written_once_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker.create_topic("t", 1, &configs(&[])).unwrap();
    let pid = broker.allocate_producer_id().unwrap();
    let log = broker.partition("t", 0).unwrap();
    log.append_records(&records("plain", 2, 1), Durability::Written)
        .await
        .unwrap();

    let first = log
        .append(
            idempotent_batch(pid, 0, 0, &["a", "b", "c"]),
            Durability::Fsynced,
        )
        .await
        .unwrap();
    assert_eq!(
        (first.base_offset, first.last_offset, first.duplicate),
        (2, 4, false)
    );
    let retry = log
        .append(
            idempotent_batch(pid, 0, 0, &["a", "b", "c"]),
            Durability::Fsynced,
        )
        .await
        .unwrap();
    assert_eq!(
        (retry.base_offset, retry.last_offset, retry.duplicate),
        (2, 4, true)
    );
    assert_eq!(log.high_watermark(), 5);

    // Gap and fenced epoch.
    let gap = log
        .append(idempotent_batch(pid, 0, 5, &["x"]), Durability::Written)
        .await
        .unwrap_err();
    assert_eq!(gap.code(), 45);
    let next = log
        .append(idempotent_batch(pid, 0, 3, &["d"]), Durability::Written)
        .await
        .unwrap();
    assert_eq!(next.base_offset, 5);
    log.append(idempotent_batch(pid, 1, 0, &["e"]), Durability::Written)
        .await
        .unwrap();
    let old = log
        .append(idempotent_batch(pid, 0, 4, &["f"]), Durability::Written)
        .await
        .unwrap_err();
    assert_eq!(old.code(), 47);

    // Clean restart: the snapshot carries the state.
    broker.shutdown().await;
    drop(log);
    drop(broker);
    let broker = open(dir.path()).await;
    let log = broker.partition("t", 0).unwrap();
    let again = log
        .append(idempotent_batch(pid, 1, 0, &["e"]), Durability::Written)
        .await
        .unwrap();
    assert_eq!((again.base_offset, again.duplicate), (6, true));
    assert_eq!(log.high_watermark(), 7);
    let more = log
        .append(
            idempotent_batch(pid, 1, 1, &["g", "h"]),
            Durability::Fsynced,
        )
        .await
        .unwrap();
    assert_eq!(more.base_offset, 7);

    // Crash (no shutdown): the state is rebuilt from batch headers.
    drop(log);
    drop(broker);
    let broker = open(dir.path()).await;
    let log = broker.partition("t", 0).unwrap();
    let again = log
        .append(
            idempotent_batch(pid, 1, 1, &["g", "h"]),
            Durability::Written,
        )
        .await
        .unwrap();
    assert_eq!(
        (again.base_offset, again.last_offset, again.duplicate),
        (7, 8, true)
    );
    assert_eq!(
        log.append(idempotent_batch(pid, 1, 9, &["z"]), Durability::Written)
            .await
            .unwrap_err()
            .code(),
        45
    );
    assert_eq!(log.high_watermark(), 9);
}

#[tokio::test]
async fn producers_whose_batches_retention_deleted_are_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    // Every batch gets its own segment; size retention then deletes all closed segments.
    broker
        .create_topic(
            "t",
            1,
            &configs(&[("segment.bytes", "100"), ("retention.bytes", "1")]),
        )
        .unwrap();
    let log = broker.partition("t", 0).unwrap();
    log.append(idempotent_batch(5, 0, 0, &["a"]), Durability::Written)
        .await
        .unwrap();
    log.append(idempotent_batch(5, 0, 1, &["b"]), Durability::Written)
        .await
        .unwrap();
    log.append(idempotent_batch(6, 0, 0, &["c"]), Durability::Written)
        .await
        .unwrap();
    assert_eq!(
        log.append(idempotent_batch(5, 0, 7, &["x"]), Durability::Written)
            .await
            .unwrap_err()
            .code(),
        45
    );
    assert_eq!(broker.run_retention_now().await.unwrap(), 2);
    assert_eq!(log.log_start_offset(), 2);
    // Producer 5's batches are gone and so is its state: it may continue at any sequence.
    let res = log
        .append(idempotent_batch(5, 0, 7, &["x"]), Durability::Written)
        .await
        .unwrap();
    assert_eq!(res.base_offset, 3);
    // Producer 6 still has a batch in the log and keeps its state.
    assert_eq!(
        log.append(idempotent_batch(6, 0, 5, &["y"]), Durability::Written)
            .await
            .unwrap_err()
            .code(),
        45
    );
}
