//! End to end through `Engine`: records produced to a topic, a stream declared over it, a
//! persistent filter query writing a new topic, a restart of broker and engine in the middle, and
//! a malformed record that goes to the processing log while the records after it still flow.

mod engine_support;

use engine_support::*;
use sluice_engine::{Engine, StatementResult};

const SETUP: &str = "
    SET 'auto.offset.reset' = 'earliest';
    CREATE STREAM orders (id STRING KEY, amount DOUBLE, item STRING)
        WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON');
    CREATE STREAM big_orders AS
        SELECT id, amount, item FROM orders WHERE amount > 100 EMIT CHANGES;
";

fn order(i: i64) -> (String, String, i64) {
    let amount = if i % 3 == 0 { 100 + 10 * i } else { 50 };
    (
        format!("o{i}"),
        format!(r#"{{"AMOUNT":{amount},"ITEM":"item{i}"}}"#),
        1_000 + i,
    )
}

fn expected(range: std::ops::Range<i64>) -> Vec<TextRecord> {
    let mut out: Vec<TextRecord> = range
        .filter(|i| i % 3 == 0 && *i > 0)
        .map(|i| {
            (
                Some(format!("o{i}")),
                Some(format!(
                    r#"{{"AMOUNT":{}.0,"ITEM":"item{i}"}}"#,
                    100 + 10 * i
                )),
                1_000 + i,
            )
        })
        .collect();
    out.sort();
    out
}

fn sorted(mut records: Vec<TextRecord>) -> Vec<TextRecord> {
    records.sort();
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_query_survives_a_restart_without_loss_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    {
        let broker = broker(dir.path()).await;
        create_topic(&broker, "orders", 2);
        for i in 0..30 {
            let (k, v, t) = order(i);
            produce(&broker, "orders", &k, &v, t).await;
        }
        let engine = Engine::open(broker.clone()).await.unwrap();
        let results = run(&engine, SETUP).await;
        let status = results[2].status().unwrap();
        assert_eq!(status.query_id.as_deref(), Some("CSAS_BIG_ORDERS_1"));
        assert_eq!(status.message, "Created query with ID CSAS_BIG_ORDERS_1");
        // Order 0 has amount 100, which is not > 100: 9 of the first 30 pass.
        let out = wait_for_records(&broker, "BIG_ORDERS", 9).await;
        assert_eq!(sorted(out), expected(0..30));
        engine.close().await;
        broker.shutdown().await;
    }
    // Reopen on the same data: the catalog and the query come back from the command topic.
    let broker = broker(dir.path()).await;
    let engine = Engine::open(broker.clone()).await.unwrap();
    let queries = rows(&engine, "SHOW QUERIES;").await;
    assert_eq!(queries.column("Query ID"), vec!["CSAS_BIG_ORDERS_1"]);
    assert_eq!(queries.column("Status"), vec!["RUNNING:1"]);
    for i in 30..60 {
        let (k, v, t) = order(i);
        produce(&broker, "orders", &k, &v, t).await;
    }
    let out = wait_for_records(&broker, "BIG_ORDERS", 19).await;
    // Give the query a chance to write anything extra before checking for duplicates.
    let marker_key = "o99";
    produce(
        &broker,
        "orders",
        marker_key,
        r#"{"AMOUNT":1000,"ITEM":"last"}"#,
        5_000,
    )
    .await;
    let out_with_marker = wait_for_records(&broker, "BIG_ORDERS", 20).await;
    assert_eq!(out.len(), 19);
    let mut want = expected(0..60);
    want.push((
        Some(marker_key.into()),
        Some(r#"{"AMOUNT":1000.0,"ITEM":"last"}"#.into()),
        5_000,
    ));
    assert_eq!(sorted(out_with_marker), sorted(want));
    engine.close().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_records_go_to_the_processing_log_and_the_query_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topic(&broker, "orders", 1);
    let engine = Engine::open(broker.clone()).await.unwrap();
    run(&engine, SETUP).await;
    produce(&broker, "orders", "o3", r#"{"AMOUNT":130,"ITEM":"a"}"#, 1).await;
    produce(&broker, "orders", "bad", r#"{"AMOUNT": 1"#, 2).await;
    produce(&broker, "orders", "o6", r#"{"AMOUNT":160,"ITEM":"b"}"#, 3).await;
    let out = wait_for_records(&broker, "BIG_ORDERS", 2).await;
    assert_eq!(
        out.iter().map(|r| r.0.clone().unwrap()).collect::<Vec<_>>(),
        ["o3", "o6"]
    );

    let log = wait_for_records(&broker, "sluice_processing_log", 1).await;
    assert_eq!(log.len(), 1);
    let entry: serde_json::Value = serde_json::from_str(log[0].1.as_deref().unwrap()).unwrap();
    let error = &entry["message"]["deserializationError"];
    assert_eq!(error["topic"], "orders");
    assert_eq!(error["partition"], 0);
    assert_eq!(error["offset"], 1);
    assert!(!error["errorMessage"].as_str().unwrap().is_empty());
    assert_eq!(
        entry["logger"],
        "processing.CSAS_BIG_ORDERS_1.KsqlTopic.Source.deserializer"
    );

    // The built-in stream reads the same topic.
    let mut results = run(&engine, "SELECT LOGGER, LEVEL FROM KSQL_PROCESSING_LOG;").await;
    let mut stream = results.pop().unwrap().into_stream().unwrap();
    let rows = stream.collect_rows(10).await.unwrap();
    assert_eq!(
        rows,
        vec![vec![
            "processing.CSAS_BIG_ORDERS_1.KsqlTopic.Source.deserializer".to_string(),
            "ERROR".to_string()
        ]]
    );

    // The counter per query.
    let queries = rows_of(&engine, "SHOW QUERIES EXTENDED;").await;
    assert_eq!(queries.column("Processing Errors"), vec!["1"]);
    let mut described = run(&engine, "DESCRIBE big_orders EXTENDED;").await;
    match described.pop() {
        Some(StatementResult::Description(d)) => {
            assert_eq!(d.processing_errors, 1);
            assert_eq!(d.write_queries, vec!["CSAS_BIG_ORDERS_1"]);
        }
        other => panic!("not a description: {other:?}"),
    }
    engine.close().await;
    broker.shutdown().await;
}

async fn rows_of(engine: &Engine, sql: &str) -> sluice_engine::catalog::Rows {
    rows(engine, sql).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_that_fails_shows_error_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topic(&broker, "orders", 1);
    let engine = Engine::open(broker.clone()).await.unwrap();
    run(&engine, SETUP).await;
    // The sink topic disappears behind the engine's back: the next epoch cannot write.
    broker.delete_topic("BIG_ORDERS").unwrap();
    produce(&broker, "orders", "o3", r#"{"AMOUNT":130,"ITEM":"a"}"#, 1).await;
    let mut status = String::new();
    for _ in 0..600 {
        let queries = rows(&engine, "SHOW QUERIES EXTENDED;").await;
        status = queries.column("Status")[0].to_string();
        if status == "ERROR:1" {
            assert!(!queries.column("Error")[0].is_empty());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "ERROR:1");
    // DESCRIBE ... EXTENDED says why too.
    let text = match run(&engine, "DESCRIBE big_orders EXTENDED;").await.pop() {
        Some(sluice_engine::StatementResult::Description(d)) => d.to_string(),
        other => panic!("{other:?}"),
    };
    assert!(
        text.contains("CSAS_BIG_ORDERS_1: ERROR,") && text.contains(", error: "),
        "{text}"
    );
    // It can still be terminated, and then its sink dropped.
    run(
        &engine,
        "TERMINATE CSAS_BIG_ORDERS_1; DROP STREAM big_orders;",
    )
    .await;
    engine.close().await;
    broker.shutdown().await;
}
