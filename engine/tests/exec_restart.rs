//! A persistent query in its tokio task, stopped and started again over the same data
//! directory: it resumes from its last commit, and the sink holds every expected record exactly
//! once.

mod exec_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use exec_support::*;
use sluice_broker::{Broker, Durability, decode_records, new_record};
use sluice_engine::exec::CollectingProcessingLog;
use sluice_engine::query::{PersistentQuery, QueryHandle, QueryOptions, StartFrom, spawn};

const QUERY: &str = "CSAS_BIG_ORDERS_1";

/// The filter query `QUERY` over `broker`, created (or resumed from its last commit).
async fn create_query(broker: &Broker, start: StartFrom) -> PersistentQuery {
    PersistentQuery::create(broker.clone(), filter_query(QUERY), options(start))
        .await
        .expect("create query")
}

/// Appends orders `range` to the source, 25 per batch, partitioned by key.
async fn produce(broker: &Broker, range: std::ops::Range<i64>) {
    produce_orders(broker, range, 25, Durability::Written).await;
}

fn options(start_from: StartFrom) -> QueryOptions {
    QueryOptions {
        // Smaller than a produced batch, so epochs cut batches in the middle.
        max_records_per_partition: 17,
        start_from,
        processing_log: Arc::new(CollectingProcessingLog::default()),
        read_bytes: 512,
    }
}

/// Waits until the running query committed every source record there is now.
async fn caught_up(broker: &Broker, handle: &QueryHandle) {
    let target: BTreeMap<i32, i64> = (0..broker.topic(SOURCE).unwrap().partitions)
        .map(|p| (p, broker.partition(SOURCE, p).unwrap().high_watermark()))
        .collect();
    let mut commits = handle.commits();
    loop {
        if commits.borrow_and_update().sources.get(SOURCE) == Some(&target) {
            return;
        }
        // A guard against hanging forever, not a performance assertion.
        tokio::time::timeout(Duration::from_secs(60), commits.changed())
            .await
            .expect("the query made no progress for 60 s")
            .expect("the query task ended");
    }
}

/// Every sink record as (key, value, timestamp), sorted by the order id in the value.
fn sink_contents(broker: &Broker) -> Vec<(String, String, i64)> {
    let mut out = Vec::new();
    for p in 0..broker.topic(SINK).unwrap().partitions {
        let log = broker.partition(SINK, p).unwrap();
        let read = log.read(0, usize::MAX / 2).unwrap();
        for r in decode_records(&read.records).unwrap() {
            // Sink records are placed by murmur2 of their key, as Kafka's producer would.
            let key = r.key.clone().unwrap();
            assert_eq!(broker.partition_for_key(SINK, Some(&key)).unwrap(), p);
            out.push((
                String::from_utf8(r.key.unwrap().to_vec()).unwrap(),
                String::from_utf8(r.value.unwrap().to_vec()).unwrap(),
                r.timestamp,
            ));
        }
    }
    out.sort_by_key(|(_, _, ts)| *ts);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_query_resumes_without_loss_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topics(&broker, 3, 2);
    produce(&broker, 0..300).await;

    let query = create_query(&broker, StartFrom::Earliest).await;
    let handle = spawn(query);
    caught_up(&broker, &handle).await;
    // Records that arrive while the query sleeps wake it.
    produce(&broker, 300..600).await;
    caught_up(&broker, &handle).await;
    let query = handle.stop().await.unwrap();
    let epochs_before = query.last_commit().epoch;
    assert!(epochs_before > 1);
    drop(query);
    broker.shutdown().await;

    // Restart: a new broker and a new runner over the same data directory.
    let broker = exec_support::broker(dir.path()).await;
    produce(&broker, 600..900).await;
    let query = create_query(&broker, StartFrom::Earliest).await;
    assert_eq!(query.last_commit().epoch, epochs_before);
    let handle = spawn(query);
    caught_up(&broker, &handle).await;
    let query = handle.stop().await.unwrap();
    assert!(query.last_commit().epoch > epochs_before);

    let want: Vec<_> = (0..900).filter_map(expected).collect();
    let got = sink_contents(&broker);
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want);
    // The committed sink end offsets are the sink's high-water marks.
    let sinks = &query.last_commit().sinks[SINK];
    for p in 0..2 {
        assert_eq!(
            sinks[&p],
            broker.partition(SINK, p).unwrap().high_watermark()
        );
    }
    broker.shutdown().await;
}

#[tokio::test]
async fn a_query_restarted_before_its_first_epoch_keeps_its_starting_point() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topics(&broker, 1, 1);
    // Records from before the query exist; a query starting at the latest offsets skips them.
    produce(&broker, 0..30).await;
    let query = create_query(&broker, StartFrom::Latest).await;
    drop(query);
    // Records written while the query is down are not skipped when it comes back.
    produce(&broker, 30..60).await;
    let mut query = create_query(&broker, StartFrom::Latest).await;
    while query.run_epoch().await.unwrap() != sluice_engine::query::EpochOutcome::Idle {}
    let want: Vec<_> = (30..60).filter_map(expected).collect();
    assert_eq!(sink_contents(&broker), want);
    broker.shutdown().await;
}

/// A crash after an epoch wrote to the sink but before it committed leaves sink records the
/// commit does not cover. The next start cuts them and the epoch runs again: each expected
/// record is in the sink exactly once.
#[tokio::test]
async fn recovery_cuts_sink_records_of_an_uncommitted_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topics(&broker, 1, 1);
    produce(&broker, 0..60).await;
    let mut query = create_query(&broker, StartFrom::Earliest).await;
    while query.run_epoch().await.unwrap() != sluice_engine::query::EpochOutcome::Idle {}
    let committed_end = query.last_commit().sinks[SINK][&0];
    drop(query);

    // The crashed epoch: its source records arrived and its output reached the sink (fsync'd,
    // one batch as the sink writes it), but its commit never happened.
    produce(&broker, 60..90).await;
    let uncommitted: Vec<_> = (60..90)
        .filter_map(expected)
        .map(|(k, v, ts)| new_record(Some(k.as_bytes()), Some(v.as_bytes()), ts))
        .collect();
    broker
        .partition(SINK, 0)
        .unwrap()
        .append_records(&uncommitted, Durability::Fsynced)
        .await
        .unwrap();
    broker.shutdown().await;

    let broker = exec_support::broker(dir.path()).await;
    let sink = broker.partition(SINK, 0).unwrap();
    assert_eq!(
        sink.high_watermark(),
        committed_end + uncommitted.len() as i64
    );
    let mut query = create_query(&broker, StartFrom::Earliest).await;
    // Creating the query cut the sink back to its last commit ...
    assert_eq!(sink.high_watermark(), committed_end);
    // ... and running it writes the cut records again, once.
    while query.run_epoch().await.unwrap() != sluice_engine::query::EpochOutcome::Idle {}
    let want: Vec<_> = (0..90).filter_map(expected).collect();
    assert_eq!(sink_contents(&broker), want);
    broker.shutdown().await;
}
