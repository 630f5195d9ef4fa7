//! Push queries are listed by SHOW QUERIES (Query Type PUSH) for as long as a client reads them,
//! TERMINATE stops one (its stream ends), and a client that drops its stream frees the query.

mod engine_support;

use engine_support::*;
use sluice_engine::Engine;
use sluice_engine::catalog::Rows;

/// The (id, type, status, statement) of each query SHOW QUERIES lists.
async fn queries(engine: &Engine) -> Vec<(String, String, String, String)> {
    let shown: Rows = rows(engine, "SHOW QUERIES;").await;
    shown
        .rows
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone(), r[5].clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_queries_are_listed_while_read_and_gone_once_dropped_or_terminated() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topic(&broker, "orders", 1);
    produce(&broker, "orders", "o1", r#"{"AMOUNT":1}"#, 1).await;
    let engine = Engine::open(broker.clone()).await.unwrap();
    run(
        &engine,
        "SET 'auto.offset.reset' = 'earliest';
         CREATE STREAM orders (id STRING KEY, amount INT)
             WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON');
         CREATE STREAM big AS SELECT * FROM orders WHERE amount > 10;",
    )
    .await;

    let mut first = run(&engine, "SELECT id FROM orders EMIT CHANGES;")
        .await
        .pop()
        .and_then(|r| r.into_stream())
        .expect("a push query streams");
    let second = run(&engine, "SELECT amount FROM orders EMIT CHANGES;")
        .await
        .pop()
        .and_then(|r| r.into_stream())
        .expect("a push query streams");
    assert_eq!(first.collect_rows(1).await.unwrap(), [["o1"]]);
    let first_id = first.query_id().expect("a push query has an id").to_owned();
    let second_id = second
        .query_id()
        .expect("a push query has an id")
        .to_owned();
    assert_ne!(first_id, second_id);
    assert!(first_id.starts_with("transient_ORDERS_"), "{first_id}");

    let listed = queries(&engine).await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert_eq!(listed[0].1, "PERSISTENT");
    assert_eq!(
        listed[1],
        (
            first_id.clone(),
            "PUSH".into(),
            "RUNNING:1".into(),
            "SELECT id FROM orders EMIT CHANGES".into()
        )
    );
    assert_eq!(listed[2].0, second_id);

    // A client that goes away drops its stream: the query is no longer listed.
    drop(second);
    let ids: Vec<String> = queries(&engine).await.into_iter().map(|q| q.0).collect();
    assert!(!ids.contains(&second_id), "{ids:?}");
    assert!(ids.contains(&first_id), "{ids:?}");

    // TERMINATE of a push query ends its stream for the client reading it.
    let terminated = run(&engine, &format!("TERMINATE {};", first_id.to_lowercase())).await;
    assert_eq!(
        terminated[0].status().map(|s| s.message.as_str()),
        Some("Query terminated.")
    );
    assert!(first.next_batch().await.is_none(), "the stream ends");
    drop(first);
    let listed = queries(&engine).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].1, "PERSISTENT");
    assert!(
        error_of(&engine, &format!("TERMINATE {first_id};"))
            .await
            .contains("Unknown queryId"),
    );

    // A scan of a stream (no EMIT CHANGES) is not a push query and is not listed.
    let scan = run(&engine, "SELECT id FROM orders;").await;
    assert_eq!(queries(&engine).await.len(), 1);
    drop(scan);

    engine.close().await;
    broker.shutdown().await;
}
