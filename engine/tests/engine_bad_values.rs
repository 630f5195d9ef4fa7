//! A bad value never stops a query (issue 14, scenario 3): an expression that fails on one
//! record (division by zero, CAST of malformed text, a function given an invalid argument)
//! gives NULL for that expression, writes one processing-log entry naming the record, and the
//! query runs on; a failing WHERE drops the record; a failing PARTITION BY gives a NULL key.

mod engine_support;

use engine_support::*;
use serde_json::Value;
use sluice_engine::{Engine, StatementResult};

const SOURCE: &str = "CREATE STREAM s (id INT KEY, a INT, b INT, txt STRING, k INT) \
    WITH (KAFKA_TOPIC='s', KEY_FORMAT='JSON', VALUE_FORMAT='JSON', PARTITIONS=1); \
    SET 'auto.offset.reset'='earliest';";

/// Appends rows `(id, a, b, txt, k)` to topic `s`.
async fn produce_rows(broker: &sluice_broker::Broker, rows: &[(i32, i32, i32, &str, i32)]) {
    for (i, (id, a, b, txt, k)) in rows.iter().enumerate() {
        let value = serde_json::json!({"A": a, "B": b, "TXT": txt, "K": k}).to_string();
        produce(broker, "s", &id.to_string(), &value, i as i64).await;
    }
}

/// The processing-log topic's entries, parsed (waits for `count` of them).
async fn log_entries(broker: &sluice_broker::Broker, count: usize) -> Vec<Value> {
    wait_for_records(broker, "sluice_processing_log", count)
        .await
        .into_iter()
        .map(|r| serde_json::from_str(r.1.as_deref().unwrap()).unwrap())
        .collect()
}

/// (type, offset, errorMessage) of each entry.
fn summary(entries: &[Value]) -> Vec<(i64, i64, String)> {
    entries
        .iter()
        .map(|e| {
            let kind = e["message"]["type"].as_i64().unwrap();
            let field = match kind {
                0 => "deserializationError",
                2 => "recordProcessingError",
                3 => "serializationError",
                other => panic!("unexpected type {other}: {e}"),
            };
            let error = &e["message"][field];
            (
                kind,
                error["offset"].as_i64().unwrap(),
                error["errorMessage"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn values(records: &[TextRecord]) -> Vec<Value> {
    records
        .iter()
        .map(|r| serde_json::from_str(r.1.as_deref().unwrap()).unwrap())
        .collect()
}

/// The query id a CREATE ... AS SELECT returned.
fn query_id(results: Vec<StatementResult>) -> String {
    match results.into_iter().last() {
        Some(StatementResult::Status(status)) => status.query_id.expect("a query id"),
        other => panic!("not a status: {other:?}"),
    }
}

async fn status_of(engine: &Engine, id: &str) -> String {
    let queries = rows(engine, "SHOW QUERIES;").await;
    let ids = queries.column("Query ID");
    let i = ids.iter().position(|q| *q == id).expect("query listed");
    queries.column("Status")[i].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn division_by_zero_and_malformed_casts_give_null_and_one_log_entry_each() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    let engine = Engine::open(broker.clone()).await.unwrap();
    run(&engine, SOURCE).await;
    let id = query_id(
        run(
            &engine,
            "CREATE STREAM r AS SELECT id, a / b AS q, CAST(txt AS INT) AS n FROM s;",
        )
        .await,
    );
    produce_rows(
        &broker,
        &[
            (1, 10, 2, "5", 0),
            (2, 1, 0, "7", 0),   // a / b fails
            (3, 4, 2, "abc", 0), // CAST fails
            (4, 9, 3, "12", 0),
            (5, 6, 0, "8", 0),  // a / b fails
            (6, 6, 1, " x", 0), // CAST fails
            (7, 14, 7, "70", 0),
        ],
    )
    .await;
    let out = wait_for_records(&broker, "R", 7).await;
    let got: Vec<(Value, Value)> = values(&out)
        .into_iter()
        .map(|v| (v["Q"].clone(), v["N"].clone()))
        .collect();
    let want: Vec<(Value, Value)> = [
        ("5", "5"),
        ("null", "7"),
        ("2", "null"),
        ("3", "12"),
        ("null", "8"),
        ("6", "null"),
        ("2", "70"),
    ]
    .iter()
    .map(|(q, n)| {
        (
            serde_json::from_str(q).unwrap(),
            serde_json::from_str(n).unwrap(),
        )
    })
    .collect();
    assert_eq!(got, want);
    // Every id came through, in order.
    let keys: Vec<String> = out.iter().map(|r| r.0.clone().unwrap()).collect();
    assert_eq!(keys, ["1", "2", "3", "4", "5", "6", "7"]);

    let entries = log_entries(&broker, 4).await;
    // Entries of one batch come expression by expression; order them by record.
    let mut summary = summary(&entries);
    summary.sort_by_key(|(_, offset, _)| *offset);
    assert_eq!(
        summary.iter().map(|(k, o, _)| (*k, *o)).collect::<Vec<_>>(),
        vec![(2, 1), (2, 2), (2, 4), (2, 5)],
        "{summary:?}"
    );
    assert!(
        summary[0].2.contains("for column Q") && summary[0].2.contains("by zero"),
        "{}",
        summary[0].2
    );
    assert!(
        summary[1].2.contains("for column N") && summary[1].2.contains("abc"),
        "{}",
        summary[1].2
    );
    let error = &entries[0]["message"]["recordProcessingError"];
    assert_eq!(error["topic"], "s");
    assert_eq!(error["partition"], 0);
    assert!(
        entries[0]["logger"]
            .as_str()
            .unwrap()
            .starts_with("processing.CSAS_R_"),
        "{}",
        entries[0]["logger"]
    );

    assert_eq!(engine.processing_errors(&id).await, Some(4));
    // Still running: later rows keep flowing.
    assert_eq!(status_of(&engine, &id).await, "RUNNING:1");
    produce(&broker, "s", "8", r#"{"A":1,"B":0,"TXT":"1"}"#, 100).await;
    let out = wait_for_records(&broker, "R", 8).await;
    assert_eq!(values(&out[7..])[0]["Q"], Value::Null);
    assert_eq!(values(&out[7..])[0]["N"], 1);
    assert_eq!(status_of(&engine, &id).await, "RUNNING:1");
    // Exactly one entry per bad value, none twice.
    assert_eq!(log_entries(&broker, 5).await.len(), 5);

    // SHOW QUERIES EXTENDED and DESCRIBE ... EXTENDED say how the query is doing.
    let mut shown = None;
    for _ in 0..600 {
        let queries = rows(&engine, "SHOW QUERIES EXTENDED;").await;
        if queries.column("Lag") == ["s:0=0"] {
            shown = Some(queries);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let queries = shown.expect("the query catches up (lag 0)");
    assert_eq!(queries.column("Status"), ["RUNNING:1"]);
    assert_eq!(queries.column("Records Processed"), ["8"]);
    assert_eq!(queries.column("Records Written"), ["8"]);
    assert_eq!(queries.column("Processing Errors"), ["5"]);
    assert_eq!(queries.column("Processing Log Dropped"), ["0"]);
    assert_eq!(queries.column("Error"), [""]);
    let described = match run(&engine, "DESCRIBE r EXTENDED;").await.pop() {
        Some(StatementResult::Description(d)) => d,
        other => panic!("{other:?}"),
    };
    let status = &described.query_statuses[0];
    assert_eq!(status.id, id);
    assert_eq!(status.state, "RUNNING");
    assert_eq!((status.records_in, status.processing_errors), (8, 5));
    let text = described.to_string();
    assert!(
        text.contains(&format!("{id}: RUNNING, records processed: 8")),
        "{text}"
    );
    assert!(text.contains("lag: [s:0=0]"), "{text}");
    engine.close().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn division_by_zero_per_type_follows_ksqldb() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    let engine = Engine::open(broker.clone()).await.unwrap();
    run(&engine, SOURCE).await;
    run(
        &engine,
        "CREATE STREAM d AS SELECT id, a / b AS i, CAST(a AS BIGINT) / CAST(b AS BIGINT) AS l, \
         CAST(a AS DOUBLE) / CAST(b AS DOUBLE) AS f, \
         CAST(a AS DECIMAL(6,2)) / CAST(b AS DECIMAL(6,2)) AS m FROM s;",
    )
    .await;
    produce_rows(&broker, &[(1, 3, 0, "", 0), (2, 8, 4, "", 0)]).await;
    let out = values(&wait_for_records(&broker, "D", 2).await);
    // INT, BIGINT and DECIMAL: an error (NULL + log); DOUBLE: IEEE infinity, as Java.
    assert_eq!(out[0]["I"], Value::Null);
    assert_eq!(out[0]["L"], Value::Null);
    assert_eq!(out[0]["M"], Value::Null);
    assert_eq!(out[0]["F"], "Infinity");
    assert_eq!(out[1]["I"], 2);
    assert_eq!(out[1]["L"], 2);
    assert_eq!(out[1]["F"], 2.0);
    assert_eq!(out[1]["M"].as_f64(), Some(2.0));
    let entries = summary(&log_entries(&broker, 3).await);
    assert_eq!(
        entries.iter().map(|(k, o, _)| (*k, *o)).collect::<Vec<_>>(),
        vec![(2, 0), (2, 0), (2, 0)]
    );
    engine.close().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_where_drops_the_record_and_a_failing_partition_by_gives_a_null_key() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    let engine = Engine::open(broker.clone()).await.unwrap();
    run(&engine, SOURCE).await;
    run(
        &engine,
        "CREATE STREAM w AS SELECT id, a FROM s WHERE a / b > 1; \
         CREATE STREAM p AS SELECT * FROM s PARTITION BY CAST(txt AS INT);",
    )
    .await;
    produce_rows(
        &broker,
        &[(1, 10, 2, "5", 0), (2, 1, 0, "abc", 0), (3, 9, 3, "6", 0)],
    )
    .await;
    let w = wait_for_records(&broker, "W", 2).await;
    assert_eq!(
        w.iter().map(|r| r.0.clone().unwrap()).collect::<Vec<_>>(),
        ["1", "3"]
    );
    let p = wait_for_records(&broker, "P", 3).await;
    let keys: Vec<Option<String>> = p.iter().map(|r| r.0.clone()).collect();
    assert_eq!(keys, [Some("5".into()), None, Some("6".into())]);
    // One entry from each query for offset 1.
    let entries = log_entries(&broker, 2).await;
    let mut loggers: Vec<String> = entries
        .iter()
        .map(|e| {
            assert_eq!(e["message"]["recordProcessingError"]["offset"], 1);
            e["logger"].as_str().unwrap().to_string()
        })
        .collect();
    loggers.sort();
    assert!(loggers[0].starts_with("processing.CSAS_P_"), "{loggers:?}");
    assert!(loggers[1].starts_with("processing.CSAS_W_"), "{loggers:?}");
    let entries = summary(&entries);
    assert!(
        entries.iter().any(|(_, _, m)| m.contains("predicate")),
        "{entries:?}"
    );
    engine.close().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_given_an_invalid_argument_gives_null_and_logs() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    let engine = Engine::open(broker.clone()).await.unwrap();
    run(&engine, SOURCE).await;
    run(
        &engine,
        "CREATE STREAM m AS SELECT id, MASK_LEFT(txt, k) AS masked FROM s;",
    )
    .await;
    produce_rows(
        &broker,
        &[
            (1, 0, 0, "ABcd", 2),
            (2, 0, 0, "abcd", -1),
            (3, 0, 0, "Hello", 1),
        ],
    )
    .await;
    let out = values(&wait_for_records(&broker, "M", 3).await);
    assert_eq!(out[0]["MASKED"], "XXcd");
    assert_eq!(out[1]["MASKED"], Value::Null);
    assert_eq!(out[2]["MASKED"], "Xello");
    let entries = summary(&log_entries(&broker, 1).await);
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0].0, entries[0].1), (2, 1));
    assert!(entries[0].2.contains("non-negative"), "{}", entries[0].2);
    engine.close().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_query_logs_a_bad_value_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    let engine = Engine::open(broker.clone()).await.unwrap();
    run(&engine, SOURCE).await;
    produce_rows(
        &broker,
        &[(1, 10, 2, "5", 0), (2, 1, 0, "6", 0), (3, 9, 3, "7", 0)],
    )
    .await;
    let mut results = run(
        &engine,
        "SELECT id, a / b AS q FROM s EMIT CHANGES LIMIT 3;",
    )
    .await;
    let mut stream = results.pop().unwrap().into_stream().unwrap();
    let rows = stream.collect_rows(3).await.unwrap();
    assert_eq!(
        rows,
        vec![
            vec!["1".to_string(), "5".to_string()],
            vec!["2".to_string(), "null".to_string()],
            vec!["3".to_string(), "3".to_string()],
        ]
    );
    let entries = summary(&log_entries(&broker, 1).await);
    assert_eq!(entries.len(), 1);
    // The push query's entry names the record too (offset 1 of partition 0).
    assert_eq!((entries[0].0, entries[0].1), (2, 1));
    engine.close().await;
    broker.shutdown().await;
}

/// A flood of bad records: every one is processed (NULL where the division fails), counted and
/// logged once, the log topic's small `max.message.bytes` is respected (an oversized batch would
/// be refused whole and the entries lost), and the query keeps running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_bad_records_is_logged_in_bounded_batches_and_the_query_keeps_up() {
    const BAD: usize = 5_000;
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    let configs =
        std::collections::BTreeMap::from([("max.message.bytes".to_string(), "16384".to_string())]);
    broker
        .create_topic("sluice_processing_log", 1, &configs)
        .unwrap();
    let engine = Engine::open(broker.clone()).await.unwrap();
    run(&engine, SOURCE).await;
    let id = query_id(run(&engine, "CREATE STREAM r AS SELECT id, a / b AS q FROM s;").await);
    let log = broker.partition("s", 0).unwrap();
    let records: Vec<_> = (0..BAD)
        .map(|i| {
            let value = format!(r#"{{"A":{i},"B":0,"TXT":"x","K":0}}"#);
            sluice_broker::new_record(Some(i.to_string().as_bytes()), Some(value.as_bytes()), 1)
        })
        .collect();
    for chunk in records.chunks(500) {
        log.append_records(chunk, sluice_broker::Durability::Written)
            .await
            .unwrap();
    }
    let out = wait_for_records(&broker, "R", BAD).await;
    assert_eq!(out.len(), BAD);
    assert!(values(&out).iter().all(|v| v["Q"].is_null()));
    let entries = log_entries(&broker, BAD).await;
    assert_eq!(entries.len(), BAD);
    let mut offsets: Vec<i64> = summary(&entries).iter().map(|(_, o, _)| *o).collect();
    offsets.sort();
    assert_eq!(offsets, (0..BAD as i64).collect::<Vec<_>>());
    assert_eq!(engine.processing_errors(&id).await, Some(BAD as u64));
    assert_eq!(status_of(&engine, &id).await, "RUNNING:1");
    // The query keeps up: a good record after the flood comes out.
    produce(&broker, "s", "9", r#"{"A":8,"B":2,"TXT":"1"}"#, 2).await;
    let out = wait_for_records(&broker, "R", BAD + 1).await;
    assert_eq!(values(&out[BAD..])[0]["Q"], 4);
    engine.close().await;
    broker.shutdown().await;
}
