//! DDL beyond the basics: tables, ALTER, ASSERT TOPIC, CREATE OR REPLACE, IF NOT EXISTS, custom
//! types, RUN SCRIPT, and the schema and key a CREATE ... AS SELECT sink gets.

mod engine_support;

use engine_support::*;
use sluice_engine::{Engine, StatementResult};

async fn open() -> (tempfile::TempDir, sluice_broker::Broker, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    let engine = Engine::open(broker.clone()).await.unwrap();
    (dir, broker, engine)
}

async fn describe(engine: &Engine, name: &str) -> sluice_engine::catalog::SourceDescription {
    let mut results = run(engine, &format!("DESCRIBE {name};")).await;
    match results.pop() {
        Some(StatementResult::Description(d)) => *d,
        other => panic!("not a description: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_register_and_stream_their_changes() {
    let (_dir, broker, engine) = open().await;
    run(
        &engine,
        "SET 'auto.offset.reset' = 'earliest';
         CREATE TABLE users (id STRING PRIMARY KEY, name STRING)
             WITH (KAFKA_TOPIC='users', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE STREAM clicks (id STRING KEY) WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON',
             PARTITIONS=1, RETENTION_MS=3600000);
         INSERT INTO users VALUES ('u1', 'ann');",
    )
    .await;
    // A table's topic is compacted; RETENTION_MS reaches the topic.
    let users = broker.topic("users").unwrap();
    assert!(users.config.cleanup_policy.compact);
    assert_eq!(
        broker.topic("clicks").unwrap().config.retention_ms,
        3_600_000
    );
    assert_eq!(
        rows(&engine, "SHOW TABLES;").await.rows,
        vec![vec!["USERS", "users", "KAFKA", "JSON", "false"]]
    );
    let d = describe(&engine, "users").await;
    assert_eq!(d.fields[0].annotation.as_deref(), Some("(primary key)"));
    let mut results = run(&engine, "SELECT * FROM users EMIT CHANGES LIMIT 1;").await;
    let mut stream = results.pop().unwrap().into_stream().unwrap();
    assert_eq!(
        stream.collect_rows(1).await.unwrap(),
        vec![vec!["u1".to_string(), "ann".to_string()]]
    );
    let err = error_of(&engine, "SELECT * FROM users;").await;
    assert!(
        err.starts_with("Pull queries on the table USERS are not supported yet"),
        "{err}"
    );
    let err = error_of(&engine, "CREATE STREAM s AS SELECT * FROM users;").await;
    assert!(
        err.starts_with("Persistent queries over the table USERS are not supported yet"),
        "{err}"
    );
    let err = error_of(&engine, "DROP STREAM users;").await;
    assert_eq!(
        err,
        "Incompatible data source type is TABLE, but statement was DROP STREAM"
    );
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_schema_key_and_formats_come_from_the_query() {
    let (_dir, broker, engine) = open().await;
    run(
        &engine,
        "CREATE STREAM orders (id STRING KEY, amount DOUBLE, item STRING)
             WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=2);
         CREATE STREAM priced WITH (KAFKA_TOPIC='priced_out', VALUE_FORMAT='DELIMITED', PARTITIONS=4) AS
             SELECT id, amount * 1.2 AS gross, item FROM orders;
         CREATE STREAM by_item AS SELECT item, id AS order_id FROM orders PARTITION BY item;",
    )
    .await;
    let d = describe(&engine, "priced").await;
    let fields: Vec<(&str, &str, Option<&str>)> = d
        .fields
        .iter()
        .map(|f| {
            (
                f.name.as_str(),
                f.sql_type.as_str(),
                f.annotation.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            ("ID", "STRING", Some("(key)")),
            ("GROSS", "DOUBLE", None),
            ("ITEM", "STRING", None)
        ]
    );
    assert_eq!(
        (
            d.topic.as_str(),
            d.value_format.as_str(),
            d.key_format.as_str()
        ),
        ("priced_out", "DELIMITED", "KAFKA")
    );
    assert_eq!(broker.topic("priced_out").unwrap().partitions, 4);
    let err = error_of(
        &engine,
        "CREATE STREAM loop WITH (KAFKA_TOPIC='orders') AS SELECT * FROM orders;",
    )
    .await;
    assert_eq!(
        err,
        "Cannot write LOOP into 'orders': it is the topic of ORDERS, which the query reads."
    );
    let err = error_of(
        &engine,
        "CREATE STREAM again WITH (KAFKA_TOPIC='priced_out', PARTITIONS=1) AS SELECT * FROM orders;",
    )
    .await;
    assert!(
        err.contains("KSQL expects 1 partitions (topic has 4)"),
        "{err}"
    );
    let d = describe(&engine, "by_item").await;
    assert_eq!(d.fields[0].name, "ITEM");
    assert_eq!(d.fields[0].annotation.as_deref(), Some("(key)"));
    assert_eq!(broker.topic("BY_ITEM").unwrap().partitions, 2);
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alter_assert_replace_and_if_not_exists() {
    let (dir, broker, engine) = open().await;
    run(
        &engine,
        "CREATE TYPE address AS STRUCT<street STRING, city STRING>;
         CREATE STREAM people (id STRING KEY, name STRING)
             WITH (KAFKA_TOPIC='people', VALUE_FORMAT='JSON', PARTITIONS=1);
         ALTER STREAM people ADD COLUMN home address, ADD COLUMN age INT;",
    )
    .await;
    let d = describe(&engine, "people").await;
    let names: Vec<(&str, &str)> = d
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.sql_type.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("ID", "STRING"),
            ("NAME", "STRING"),
            ("HOME", "STRUCT<STREET STRING, CITY STRING>"),
            ("AGE", "INTEGER")
        ]
    );
    let err = error_of(&engine, "ALTER STREAM people ADD COLUMN age INT;").await;
    assert_eq!(
        err,
        "Cannot add column `AGE` to schema. A column with the same name already exists."
    );

    let results = run(
        &engine,
        "ASSERT TOPIC people; ASSERT NOT EXISTS TOPIC nope;",
    )
    .await;
    assert_eq!(results[0].status().unwrap().message, "Topic people exists");
    let err = error_of(&engine, "ASSERT TOPIC nope TIMEOUT 100 MILLISECONDS;").await;
    assert_eq!(err, "Topic NOPE does not exist");
    let err = error_of(&engine, "ASSERT TOPIC people WITH (PARTITIONS=3);").await;
    assert!(
        err.starts_with("Mismatched configuration for topic people"),
        "{err}"
    );

    let results = run(
        &engine,
        "CREATE STREAM IF NOT EXISTS people (x INT) WITH (KAFKA_TOPIC='people', VALUE_FORMAT='JSON');
         CREATE STREAM adults AS SELECT id, name FROM people WHERE age >= 18;",
    )
    .await;
    assert_eq!(
        results[0].status().unwrap().message,
        "Cannot add stream 'PEOPLE': A stream with the same name already exists"
    );
    let first = results[1].status().unwrap().query_id.clone().unwrap();
    let results = run(
        &engine,
        "CREATE OR REPLACE STREAM adults AS SELECT id, name FROM people WHERE age >= 21;",
    )
    .await;
    assert_eq!(
        results[0].status().unwrap().query_id.as_deref(),
        Some(first.as_str())
    );
    let queries = rows(&engine, "SHOW QUERIES;").await;
    assert_eq!(queries.column("Query ID"), [first.as_str()]);
    assert!(queries.column("Query String")[0].contains(">= 21"));
    engine.close().await;
    broker.shutdown().await;
    drop(broker);

    // The ALTER and the replacement are commands too.
    let broker = engine_support::broker(dir.path()).await;
    let engine = Engine::open(broker.clone()).await.unwrap();
    assert_eq!(describe(&engine, "people").await.fields.len(), 4);
    let queries = rows(&engine, "SHOW QUERIES;").await;
    assert_eq!(queries.column("Query ID"), [first.as_str()]);
    assert!(queries.column("Query String")[0].contains(">= 21"));
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_script_executes_a_file() {
    let (dir, _broker, engine) = open().await;
    let script = dir.path().join("setup.sql");
    std::fs::write(
        &script,
        "-- a script\nCREATE STREAM a (v INT) WITH (KAFKA_TOPIC='a', VALUE_FORMAT='JSON', PARTITIONS=1);\n\
         CREATE STREAM b (v INT) WITH (KAFKA_TOPIC='b', VALUE_FORMAT='JSON', PARTITIONS=1);\n",
    )
    .unwrap();
    let results = run(&engine, &format!("RUN SCRIPT '{}';", script.display())).await;
    assert_eq!(results.len(), 2);
    assert_eq!(
        rows(&engine, "SHOW STREAMS;").await.column("Stream Name"),
        ["A", "B", "KSQL_PROCESSING_LOG"]
    );
    let err = error_of(&engine, "RUN SCRIPT '/nonexistent/x.sql';").await;
    assert!(
        err.starts_with("cannot read script '/nonexistent/x.sql'"),
        "{err}"
    );
    engine.close().await;
}
