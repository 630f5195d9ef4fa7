//! `Session::describe`: what a statement returns, learned without running it (the Postgres
//! front end's Describe). Columns of queries come from planning, catalog reads from their
//! answers, fixed statements from their fixed columns; `$n` types are inferred; nothing starts.

mod engine_support;

use arrow::datatypes::DataType;
use engine_support::*;
use sluice_engine::Engine;

fn column_names(shape: &sluice_engine::engine::StatementShape) -> Vec<String> {
    shape
        .columns
        .as_ref()
        .map(|s| s.fields().iter().map(|f| f.name().clone()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_are_described_without_running() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topic(&broker, "orders", 1);
    let engine = Engine::open(broker.clone()).await.unwrap();
    run(
        &engine,
        "CREATE STREAM orders (id STRING KEY, amount DOUBLE, at TIMESTAMP)
             WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON');",
    )
    .await;
    let session = engine.session();

    // A push query: its columns and types as the query would send them, and `$1`'s type.
    let push = session
        .describe("SELECT id, amount * 2 AS twice FROM orders WHERE amount > $1 EMIT CHANGES;")
        .await
        .unwrap();
    let schema = push.columns.clone().expect("a query has columns");
    assert_eq!(column_names(&push), ["ID", "TWICE"]);
    assert_eq!(schema.field(1).data_type(), &DataType::Float64);
    assert_eq!(push.parameters, [Some(DataType::Float64)]);

    // An INSERT has no columns; a placeholder value takes its column's type.
    let insert = session
        .describe("INSERT INTO orders (id, at) VALUES ($2, $1);")
        .await
        .unwrap();
    assert_eq!(insert.columns, None);
    assert_eq!(insert.parameters.len(), 2);
    assert!(matches!(
        insert.parameters[0],
        Some(DataType::Timestamp(_, None))
    ));
    assert_eq!(insert.parameters[1], Some(DataType::Utf8));

    // Catalog reads and fixed statements.
    let show = session.describe("SHOW STREAMS;").await.unwrap();
    assert_eq!(column_names(&show)[0], "Stream Name");
    let describe = session.describe("DESCRIBE orders;").await.unwrap();
    assert_eq!(column_names(&describe), ["Field", "Type"]);
    let explain = session
        .describe("EXPLAIN SELECT * FROM orders EMIT CHANGES;")
        .await
        .unwrap();
    assert_eq!(column_names(&explain), ["Execution plan"]);
    assert!(
        session
            .describe("PRINT orders FROM BEGINNING;")
            .await
            .unwrap()
            .columns
            .is_some()
    );
    // Commands return nothing, and describing them does not run them.
    let create = session
        .describe(
            "CREATE STREAM other (id STRING KEY) WITH (KAFKA_TOPIC='other', VALUE_FORMAT='JSON', \
             PARTITIONS=1);",
        )
        .await
        .unwrap();
    assert_eq!(create.columns, None);
    assert!(broker.topic("other").is_none());

    // Errors are the ones the statement would fail with.
    assert!(
        session
            .describe("SELECT nope FROM orders EMIT CHANGES;")
            .await
            .is_err()
    );

    // Nothing ran: no push query is listed, and the first real one is transient_ORDERS_1.
    let shown = rows(&engine, "SHOW QUERIES;").await;
    assert!(shown.rows.is_empty(), "{:?}", shown.rows);
    let _stream = run(&engine, "SELECT id FROM orders EMIT CHANGES;")
        .await
        .pop()
        .and_then(|r| r.into_stream())
        .expect("a push query streams");
    let shown = rows(&engine, "SHOW QUERIES;").await;
    assert_eq!(shown.rows.len(), 1);
    assert_eq!(shown.rows[0][0], "transient_ORDERS_1");
    broker.shutdown().await;
}
