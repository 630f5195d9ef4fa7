//! The statement surface through `Engine::execute`, compared with what ksqlDB answers: SHOW,
//! DESCRIBE, EXPLAIN, DROP, TERMINATE, SET/UNSET, CREATE validation, INSERT VALUES, push
//! queries with LIMIT, PRINT, and parse errors with their position in the script.

mod engine_support;

use engine_support::*;
use sluice_engine::{Engine, EngineError, StatementResult};

async fn engine_with_orders() -> (tempfile::TempDir, sluice_broker::Broker, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    let engine = Engine::open(broker.clone()).await.unwrap();
    run(
        &engine,
        "CREATE STREAM orders (id STRING KEY, amount DOUBLE, item STRING)
             WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=3);",
    )
    .await;
    (dir, broker, engine)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_with_partitions_creates_the_topic_and_show_lists_it() {
    let (_dir, broker, engine) = engine_with_orders().await;
    assert_eq!(broker.topic("orders").unwrap().partitions, 3);

    let streams = rows(&engine, "SHOW STREAMS;").await;
    assert_eq!(
        streams.columns,
        [
            "Stream Name",
            "Kafka Topic",
            "Key Format",
            "Value Format",
            "Windowed"
        ]
    );
    assert_eq!(
        streams.rows,
        vec![
            vec![
                "KSQL_PROCESSING_LOG",
                "sluice_processing_log",
                "KAFKA",
                "JSON",
                "false"
            ],
            vec!["ORDERS", "orders", "KAFKA", "JSON", "false"],
        ]
    );
    assert!(rows(&engine, "SHOW TABLES;").await.rows.is_empty());

    let topics = rows(&engine, "SHOW TOPICS;").await;
    assert_eq!(
        topics.column("Kafka Topic"),
        ["orders", "sluice_processing_log"]
    );
    assert_eq!(topics.column("Partitions"), ["3", "1"]);
    let all = rows(&engine, "SHOW ALL TOPICS;").await;
    assert!(all.column("Kafka Topic").contains(&"_sluice_commands"));
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_marks_the_key_and_spells_types_like_ksqldb() {
    let (_dir, _broker, engine) = engine_with_orders().await;
    let mut results = run(&engine, "DESCRIBE orders;").await;
    let Some(StatementResult::Description(d)) = results.pop() else {
        panic!("not a description");
    };
    let fields: Vec<(String, String, Option<String>)> = d
        .fields
        .iter()
        .map(|f| (f.name.clone(), f.sql_type.clone(), f.annotation.clone()))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("ID".into(), "STRING".into(), Some("(key)".into())),
            ("AMOUNT".into(), "DOUBLE".into(), None),
            ("ITEM".into(), "STRING".into(), None),
        ]
    );
    assert!(!d.extended);
    let text = d.to_string();
    assert!(text.contains("ID     | STRING  (key)"), "{text}");

    let mut results = run(&engine, "DESCRIBE orders EXTENDED;").await;
    let Some(StatementResult::Description(d)) = results.pop() else {
        panic!("not a description");
    };
    assert!(d.extended);
    assert_eq!((d.topic.as_str(), d.partitions), ("orders", 3));
    assert_eq!(
        (d.key_format.as_str(), d.value_format.as_str()),
        ("KAFKA", "JSON")
    );
    assert!(d.statement.starts_with("CREATE STREAM orders"));

    let err = error_of(&engine, "DESCRIBE nope;").await;
    assert_eq!(err, "NOPE does not exist.");
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_validation_uses_ksqldb_messages() {
    let (_dir, _broker, engine) = engine_with_orders().await;
    let err = error_of(
        &engine,
        "CREATE STREAM s (v INT) WITH (KAFKA_TOPIC='missing', VALUE_FORMAT='JSON');",
    )
    .await;
    assert!(
        err.starts_with(
            "Topic 'missing' does not exist. If you want to create a new topic for \
                         the stream please re-run the statement providing the required \
                         'PARTITIONS' configuration"
        ),
        "{err}"
    );
    let err = error_of(
        &engine,
        "CREATE STREAM s (v INT) WITH (VALUE_FORMAT='JSON');",
    )
    .await;
    assert_eq!(
        err,
        "Missing required property \"KAFKA_TOPIC\" which has no default value."
    );
    let err = error_of(
        &engine,
        "CREATE STREAM s (v INT) WITH (KAFKA_TOPIC='orders');",
    )
    .await;
    assert!(
        err.starts_with("Statement is missing the 'VALUE_FORMAT' property"),
        "{err}"
    );
    let err = error_of(
        &engine,
        "CREATE TABLE t (id INT KEY, v INT) WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON');",
    )
    .await;
    assert!(
        err.contains("Column `ID` is a 'KEY' column: please use 'PRIMARY KEY' for tables."),
        "{err}"
    );
    let err = error_of(
        &engine,
        "CREATE STREAM orders (v INT) WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON');",
    )
    .await;
    assert_eq!(
        err,
        "Cannot add stream 'ORDERS': A stream with the same name already exists"
    );
    let err = error_of(
        &engine,
        "CREATE STREAM s (v INT) WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=5);",
    )
    .await;
    assert!(
        err.contains("KSQL expects 5 partitions (topic has 3)"),
        "{err}"
    );
    let err = error_of(
        &engine,
        "CREATE STREAM s (v INT) WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='AVROX');",
    )
    .await;
    assert_eq!(err, "Unknown format: AVROX");
    // Nothing refused was stored: a restart sees only ORDERS.
    assert_eq!(
        rows(&engine, "SHOW STREAMS;").await.column("Stream Name"),
        ["KSQL_PROCESSING_LOG", "ORDERS"]
    );
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parse_errors_point_at_the_typo_in_the_script() {
    let (_dir, _broker, engine) = engine_with_orders().await;
    let err = engine
        .execute("SHOW STREAMS;\nSELECT id, amount\n  FORM orders EMIT CHANGES;")
        .await
        .unwrap_err();
    let EngineError::Parse(parse) = &err else {
        panic!("not a parse error: {err}");
    };
    // `FORM` reads as an alias of `amount`, so the parser stops at the word after it, as
    // ksqlDB's does.
    assert_eq!((parse.line, parse.column), (3, 8), "{err}");
    assert_eq!(parse.message, "mismatched input 'ORDERS' expecting FROM");
    assert_eq!(err.position(), Some((3, 8)));
    assert_eq!(
        err.to_string(),
        "line 3:8: mismatched input 'ORDERS' expecting FROM"
    );

    // A statement that starts mid-line: its column counts from the start of the line. The
    // script is parsed before anything runs: the CREATE before the typo does not happen.
    let err = engine
        .execute(
            "CREATE STREAM s2 (v INT) WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON'); \
             SELEKT * FROM orders;",
        )
        .await
        .unwrap_err();
    assert_eq!(err.position(), Some((1, 76)), "{err}");
    assert!(err.to_string().contains("SELEKT"), "{err}");
    assert_eq!(
        rows(&engine, "SHOW STREAMS;").await.column("Stream Name"),
        ["KSQL_PROCESSING_LOG", "ORDERS"]
    );
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insert_values_then_push_query_with_limit() {
    let (_dir, broker, engine) = engine_with_orders().await;
    run(
        &engine,
        "SET 'auto.offset.reset' = 'earliest';
         INSERT INTO orders (id, amount, item) VALUES ('o1', 120.5, 'pen');
         INSERT INTO orders (id, amount, item) VALUES ('o2', 10, 'cup');
         INSERT INTO orders VALUES ('o3', 300, LCASE('LAMP'));",
    )
    .await;
    let stored = read_topic(&broker, "orders");
    assert_eq!(stored.len(), 3);
    assert!(stored.iter().any(|r| r.0.as_deref() == Some("o1")
        && r.1.as_deref() == Some(r#"{"AMOUNT":120.5,"ITEM":"pen"}"#)));

    let mut results = run(
        &engine,
        "SELECT id, item, amount * 2 AS doubled FROM orders WHERE amount > 100 EMIT CHANGES LIMIT 2;",
    )
    .await;
    let mut stream = results.pop().unwrap().into_stream().unwrap();
    let names: Vec<String> = stream
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["ID", "ITEM", "DOUBLED"]);
    let mut got = stream.collect_rows(10).await.unwrap();
    got.sort();
    assert_eq!(
        got,
        vec![
            vec!["o1".to_string(), "pen".to_string(), "241.0".to_string()],
            vec!["o3".to_string(), "lamp".to_string(), "600.0".to_string()],
        ]
    );

    let err = error_of(&engine, "INSERT INTO orders (id, nope) VALUES ('x', 1);").await;
    assert_eq!(err, "Column name `NOPE` does not exist.");
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_query_from_latest_sees_only_new_records() {
    let (_dir, _broker, engine) = engine_with_orders().await;
    run(&engine, "INSERT INTO orders VALUES ('old', 500, 'x');").await;
    let mut results = run(&engine, "SELECT id FROM orders EMIT CHANGES LIMIT 1;").await;
    let mut stream = results.pop().unwrap().into_stream().unwrap();
    run(&engine, "INSERT INTO orders VALUES ('new', 500, 'y');").await;
    let got = stream.collect_rows(5).await.unwrap();
    assert_eq!(got, vec![vec!["new".to_string()]]);
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn print_shows_records_from_the_beginning() {
    let (_dir, _broker, engine) = engine_with_orders().await;
    run(
        &engine,
        "INSERT INTO orders (ROWTIME, id, amount, item) VALUES (0, 'o1', 1, 'a');",
    )
    .await;
    let mut results = run(&engine, "PRINT 'orders' FROM BEGINNING LIMIT 1;").await;
    let mut stream = results.pop().unwrap().into_stream().unwrap();
    let lines = stream.collect_rows(1).await.unwrap();
    assert_eq!(
        lines[0][0],
        r#"rowtime: 1970/01/01 00:00:00.000 Z, key: o1, value: {"AMOUNT":1.0,"ITEM":"a"}, partition: 2"#
            .replace("partition: 2", &format!("partition: {}", partition_of_o1()))
    );
    engine.close().await;
}

fn partition_of_o1() -> i32 {
    sluice_broker::topic::partition_for_key(b"o1", 3)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_and_terminate_behave_like_ksqldb() {
    let (_dir, broker, engine) = engine_with_orders().await;
    let results = run(
        &engine,
        "CREATE STREAM big AS SELECT id, amount FROM orders WHERE amount > 100;",
    )
    .await;
    let id = results[0].status().unwrap().query_id.clone().unwrap();
    assert!(id.starts_with("CSAS_BIG_"), "{id}");
    // The sink topic is named after the stream and has the source's partitions.
    assert_eq!(broker.topic("BIG").unwrap().partitions, 3);

    let err = error_of(&engine, "DROP STREAM orders;").await;
    assert_eq!(
        err,
        format!(
            "Cannot drop ORDERS.\nThe following queries read from this source: [{id}].\nThe \
             following queries write into this source: [].\nYou need to terminate them before \
             dropping ORDERS."
        )
    );
    let err = error_of(&engine, "DROP TABLE big;").await;
    assert_eq!(
        err,
        "Incompatible data source type is STREAM, but statement was DROP TABLE"
    );

    let explained = rows(&engine, &format!("EXPLAIN {id};")).await;
    let plan = explained.column("Execution plan").join("\n");
    assert!(plan.contains("TopicSinkExec"), "{plan}");
    assert!(plan.contains("TopicScanExec"), "{plan}");
    assert!(plan.contains("FilterExec"), "{plan}");

    let err = error_of(&engine, "TERMINATE nope;").await;
    assert_eq!(err, "Unknown queryId: NOPE");
    let results = run(&engine, &format!("TERMINATE {id};")).await;
    assert_eq!(results[0].status().unwrap().message, "Query terminated.");
    assert!(rows(&engine, "SHOW QUERIES;").await.rows.is_empty());

    let results = run(&engine, "DROP STREAM big DELETE TOPIC;").await;
    assert_eq!(
        results[0].status().unwrap().message,
        "Source `BIG` (topic: BIG) was dropped."
    );
    assert!(broker.topic("BIG").is_none());
    run(&engine, "DROP STREAM IF EXISTS big;").await;
    let err = error_of(&engine, "DROP STREAM big;").await;
    assert_eq!(err, "Source BIG does not exist.");
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_a_query_and_set_unset_properties() {
    let (_dir, _broker, engine) = engine_with_orders().await;
    let explained = rows(
        &engine,
        "EXPLAIN SELECT id FROM orders WHERE amount > 1 EMIT CHANGES;",
    )
    .await;
    let plan = explained.column("Execution plan").join("\n");
    assert!(plan.contains("TopicScanExec"), "{plan}");
    assert!(!plan.contains("RepartitionExec"), "{plan}");

    let err = error_of(&engine, "SET 'auto.offset.reset' = 'sometimes';").await;
    assert!(
        err.starts_with("Invalid value sometimes for configuration auto.offset.reset"),
        "{err}"
    );
    run(&engine, "SET 'auto.offset.reset' = 'earliest';").await;
    let props = rows(&engine, "SHOW PROPERTIES;").await;
    let i = props
        .column("Property")
        .iter()
        .position(|p| *p == "auto.offset.reset")
        .unwrap();
    assert_eq!(props.rows[i][2], "earliest");
    let results = run(&engine, "UNSET 'auto.offset.reset';").await;
    assert_eq!(
        results[0].status().unwrap().message,
        "Successfully unset local property 'auto.offset.reset' (value was 'earliest')."
    );
    let props = rows(&engine, "SHOW PROPERTIES;").await;
    assert_eq!(props.rows[i][2], "latest");
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insert_into_select_checks_the_schema_and_appends() {
    let (_dir, broker, engine) = engine_with_orders().await;
    run(
        &engine,
        "SET 'auto.offset.reset' = 'earliest';
         CREATE STREAM all_orders (id STRING KEY, amount DOUBLE, item STRING)
             WITH (KAFKA_TOPIC='all_orders', VALUE_FORMAT='JSON', PARTITIONS=1);
         CREATE STREAM returns (id STRING KEY, amount DOUBLE, item STRING)
             WITH (KAFKA_TOPIC='returns', VALUE_FORMAT='JSON', PARTITIONS=1);",
    )
    .await;
    let err = error_of(
        &engine,
        "INSERT INTO all_orders SELECT id, amount FROM returns;",
    )
    .await;
    assert!(
        err.starts_with("Incompatible schema between results and sink."),
        "{err}"
    );
    let results = run(&engine, "INSERT INTO all_orders SELECT * FROM returns;").await;
    let id = results[0].status().unwrap().query_id.clone().unwrap();
    assert!(id.starts_with("INSERTQUERY_"), "{id}");
    run(&engine, "INSERT INTO returns VALUES ('r1', 5, 'x');").await;
    let out = wait_for_records(&broker, "all_orders", 1).await;
    assert_eq!(out[0].0.as_deref(), Some("r1"));
    assert_eq!(out[0].1.as_deref(), Some(r#"{"AMOUNT":5.0,"ITEM":"x"}"#));
    let queries = rows(&engine, "SHOW QUERIES;").await;
    assert_eq!(queries.column("Sink Name"), ["ALL_ORDERS"]);
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateful_queries_are_refused_with_a_reason() {
    let (_dir, _broker, engine) = engine_with_orders().await;
    let err = error_of(
        &engine,
        "CREATE TABLE totals AS SELECT id, SUM(amount) FROM orders GROUP BY id;",
    )
    .await;
    assert!(
        err.starts_with("Aggregations (GROUP BY, WINDOW, HAVING) are not supported yet"),
        "{err}"
    );
    let err = error_of(&engine, "CREATE STREAM s AS SELECT amount FROM orders;").await;
    assert!(err.starts_with("Key missing from projection"), "{err}");
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ksqldb_functions_run_in_queries_and_are_listed() {
    let (_dir, broker, engine) = engine_with_orders().await;
    run(
        &engine,
        "SET 'auto.offset.reset' = 'earliest';
         INSERT INTO orders VALUES ('o1', 120, 'pen');
         CREATE STREAM shouted AS SELECT id, UCASE(item) AS item, ROUND(amount) AS rounded FROM orders;",
    )
    .await;
    let out = wait_for_records(&broker, "SHOUTED", 1).await;
    assert_eq!(out[0].1.as_deref(), Some(r#"{"ITEM":"PEN","ROUNDED":120}"#));

    let mut results = run(
        &engine,
        "SELECT LCASE(item) AS quiet, TIMESTAMPADD(DAYS, 1, FROM_UNIXTIME(0)) AS next_day \
         FROM shouted EMIT CHANGES LIMIT 1;",
    )
    .await;
    let mut stream = results.pop().unwrap().into_stream().unwrap();
    assert_eq!(
        stream.collect_rows(1).await.unwrap(),
        vec![vec!["pen".to_string(), "1970-01-02T00:00:00".to_string()]]
    );

    let functions = rows(&engine, "SHOW FUNCTIONS;").await;
    let i = functions
        .column("Function Name")
        .iter()
        .position(|f| *f == "UCASE")
        .unwrap();
    assert_eq!(functions.rows[i][1], "STRING");
    let described = rows(&engine, "DESCRIBE FUNCTION ucase;").await;
    assert_eq!(described.column("Name")[0], "UCASE");
    assert!(described.column("Signature")[0].starts_with("UCASE("));
    let err = error_of(&engine, "DESCRIBE FUNCTION nope;").await;
    assert_eq!(err, "Can't find any functions with the name 'NOPE'");
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamp_column_is_rowtime_everywhere() {
    let (_dir, broker, engine) = engine_with_orders().await;
    run(
        &engine,
        "SET 'auto.offset.reset' = 'earliest';
         CREATE STREAM events (id STRING KEY, payload STRUCT<a INT, b STRING>, ts BIGINT)
             WITH (KAFKA_TOPIC='events', VALUE_FORMAT='JSON', PARTITIONS=1, TIMESTAMP='ts');
         CREATE STREAM texts (id STRING KEY, at STRING)
             WITH (KAFKA_TOPIC='texts', VALUE_FORMAT='JSON', PARTITIONS=1,
                   TIMESTAMP='at', TIMESTAMP_FORMAT='yyyy-MM-dd HH:mm:ss');
         INSERT INTO events VALUES ('e1', STRUCT(a := 1, b := 'x'), 12345);
         INSERT INTO texts VALUES ('t1', '1970-01-01 00:00:02');
         CREATE STREAM early AS SELECT id, payload->b AS b FROM events WHERE ROWTIME < CAST('1970-01-02 00:00:00' AS TIMESTAMP);
         CREATE STREAM parsed AS SELECT id, at FROM texts;
         CREATE STREAM retimed WITH (TIMESTAMP='next_ts') AS
             SELECT id, ts + 1000 AS next_ts FROM events WHERE ROWTIME < CAST('1970-01-02 00:00:00' AS TIMESTAMP);",
    )
    .await;
    // The record was appended now, but its event time is 12345: it passes the filter and the
    // sink record carries it.
    let out = wait_for_records(&broker, "EARLY", 1).await;
    assert_eq!(
        out,
        vec![(Some("e1".into()), Some(r#"{"B":"x"}"#.into()), 12_345)]
    );
    let out = wait_for_records(&broker, "PARSED", 1).await;
    assert_eq!(out[0].2, 2_000);
    // WITH (TIMESTAMP=...) on CREATE ... AS SELECT: the sink records take that column's time.
    let out = wait_for_records(&broker, "RETIMED", 1).await;
    assert_eq!(
        out,
        vec![(
            Some("e1".into()),
            Some(r#"{"NEXT_TS":13345}"#.into()),
            13_345
        )]
    );
    let err = error_of(
        &engine,
        "CREATE STREAM bad (v STRING) WITH (KAFKA_TOPIC='texts', VALUE_FORMAT='JSON', TIMESTAMP='nope');",
    )
    .await;
    assert_eq!(
        err,
        "The TIMESTAMP column set in the WITH clause does not exist in the schema: 'NOPE'"
    );
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_session_has_its_own_properties() {
    let (_dir, _broker, engine) = engine_with_orders().await;
    let a = engine.session();
    let b = engine.session();
    a.execute("SET 'auto.offset.reset' = 'earliest';")
        .await
        .unwrap();
    assert_eq!(
        a.properties().get("auto.offset.reset").map(String::as_str),
        Some("earliest")
    );
    assert!(b.properties().is_empty());
    run(&engine, "INSERT INTO orders VALUES ('old', 1, 'x');").await;

    // A starts from the earliest record, B (default latest) only sees the one inserted after.
    let mut from_a = a
        .execute("SELECT id FROM orders EMIT CHANGES LIMIT 1;")
        .await
        .unwrap();
    let mut from_b = b
        .execute("SELECT id FROM orders EMIT CHANGES LIMIT 1;")
        .await
        .unwrap();
    let mut stream_a = from_a.pop().unwrap().into_stream().unwrap();
    let mut stream_b = from_b.pop().unwrap().into_stream().unwrap();
    assert_eq!(
        stream_a.collect_rows(1).await.unwrap(),
        vec![vec!["old".to_string()]]
    );
    run(&engine, "INSERT INTO orders VALUES ('new', 1, 'y');").await;
    assert_eq!(
        stream_b.collect_rows(1).await.unwrap(),
        vec![vec!["new".to_string()]]
    );

    let mut shown = b.execute("SHOW PROPERTIES;").await.unwrap();
    let Some(StatementResult::Rows(props)) = shown.pop() else {
        panic!("not rows");
    };
    let i = props
        .column("Property")
        .iter()
        .position(|p| *p == "auto.offset.reset")
        .unwrap();
    assert_eq!(props.rows[i][2], "latest");
    engine.close().await;
}
