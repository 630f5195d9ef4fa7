//! Push queries (`EMIT CHANGES`): rows arrive as records are produced, starting at the latest
//! offsets; LIMIT ends the stream; a client that goes away stops the query.

mod exec_support;

use std::time::Duration;

use arrow::array::{Array, Int64Array};
use exec_support::*;
use sluice_broker::Broker;
use sluice_engine::query::{PushQuery, QueryOptions, spawn_push};
use tokio::sync::mpsc;

async fn push_query(broker: &Broker) -> PushQuery {
    let spec = filter_query("PUSH_1");
    PushQuery::create(
        broker.clone(),
        "PUSH_1",
        &format!("SELECT ID, AMOUNT FROM {SOURCE} WHERE AMOUNT > 100"),
        spec.sources,
        QueryOptions::default(),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_arrive_from_the_latest_offsets_until_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topics(&broker, 1, 1);
    produce_one_by_one(&broker, 0..30).await;
    let query = push_query(&broker).await;
    assert_eq!(
        query
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect::<Vec<_>>(),
        vec!["ID", "AMOUNT"]
    );
    let (tx, mut rx) = mpsc::channel(4);
    let handle = spawn_push(query, Some(5), tx);
    produce_one_by_one(&broker, 30..60).await;
    let mut ids = Vec::new();
    // The channel closes once the limit was sent (a guard timeout, not a timing assertion).
    while let Some(batch) = tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .expect("no rows for 60 s")
    {
        let batch = batch.unwrap();
        let col = batch
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        ids.extend((0..col.len()).map(|i| col.value(i)));
    }
    // Records from before the query started are not pushed (latest), and LIMIT 5 holds.
    assert_eq!(ids, vec![30, 33, 36, 39, 42]);
    handle.wait().await.unwrap();
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_stops_the_query() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topics(&broker, 1, 1);
    let (tx, mut rx) = mpsc::channel(1);
    let handle = spawn_push(push_query(&broker).await, None, tx);
    produce_one_by_one(&broker, 0..3).await;
    let first = tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .expect("no rows for 60 s")
        .unwrap()
        .unwrap();
    assert_eq!(first.num_rows(), 1);
    drop(rx);
    tokio::time::timeout(Duration::from_secs(60), handle.wait())
        .await
        .expect("the query did not stop when its client went away")
        .unwrap();
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_an_idle_query() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topics(&broker, 1, 1);
    let (tx, _rx) = mpsc::channel(1);
    let handle = spawn_push(push_query(&broker).await, None, tx);
    tokio::time::timeout(Duration::from_secs(60), handle.stop())
        .await
        .expect("the query did not stop")
        .unwrap();
    broker.shutdown().await;
}
