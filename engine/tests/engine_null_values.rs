//! A stream record whose value is null (a tombstone on the topic) stays a record with a null
//! value through a projection, as ksqlDB writes it, and a WHERE drops it: ksqlDB evaluates
//! neither the projection nor the predicate over a null row.

mod engine_support;

use engine_support::*;
use sluice_engine::Engine;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_values_pass_projections_as_null_and_filters_drop_them() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topic(&broker, "orders", 1);
    produce_value(&broker, "orders", "o1", Some(r#"{"AMOUNT":200}"#), 1).await;
    produce_value(&broker, "orders", "o2", None, 2).await;
    produce_value(&broker, "orders", "o3", Some(r#"{"AMOUNT":50}"#), 3).await;
    // Passes the filter after the others: once it is out, the rows before it were evaluated.
    produce_value(&broker, "orders", "o4", Some(r#"{"AMOUNT":500}"#), 4).await;
    let engine = Engine::open(broker.clone()).await.unwrap();
    run(
        &engine,
        "SET 'auto.offset.reset' = 'earliest';
         CREATE STREAM orders (id STRING KEY, amount INT)
             WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON');
         CREATE STREAM copied AS SELECT id, amount * 2 AS doubled FROM orders;
         CREATE STREAM kept AS SELECT id, amount FROM orders WHERE amount IS NULL OR amount > 100;",
    )
    .await;

    let copied = wait_for_records(&broker, "COPIED", 4).await;
    assert_eq!(
        copied,
        vec![
            (Some("o1".into()), Some(r#"{"DOUBLED":400}"#.into()), 1),
            (Some("o2".into()), None, 2),
            (Some("o3".into()), Some(r#"{"DOUBLED":100}"#.into()), 3),
            (Some("o4".into()), Some(r#"{"DOUBLED":1000}"#.into()), 4),
        ]
    );
    // `amount IS NULL` would hold for the null row's columns, but the row is not evaluated.
    let kept = wait_for_records(&broker, "KEPT", 2).await;
    assert_eq!(
        kept,
        vec![
            (Some("o1".into()), Some(r#"{"AMOUNT":200}"#.into()), 1),
            (Some("o4".into()), Some(r#"{"AMOUNT":500}"#.into()), 4),
        ]
    );
    engine.close().await;
    broker.shutdown().await;
}
