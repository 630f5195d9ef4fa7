//! The catalog after a restart: every command replayed from `_sluice_commands` in order, so
//! dropped sources stay dropped, terminated queries stay stopped, custom types come back, query
//! ids are the same, and the queries still running resume from their last commit, including a
//! sink written by both a CREATE ... AS SELECT and an INSERT INTO query.

mod engine_support;

use engine_support::*;
use sluice_engine::Engine;

const SCRIPT: &str = "
    CREATE TYPE money AS DOUBLE;
    SET 'auto.offset.reset' = 'earliest';
    CREATE STREAM orders (id STRING KEY, amount money, item STRING)
        WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=2);
    CREATE STREAM returns (id STRING KEY, amount DOUBLE, item STRING)
        WITH (KAFKA_TOPIC='returns', VALUE_FORMAT='JSON', PARTITIONS=1);
    CREATE STREAM big AS SELECT * FROM orders WHERE amount > 100;
    CREATE STREAM small AS SELECT * FROM orders WHERE amount <= 100;
    INSERT INTO big SELECT * FROM returns;
";

fn keys(records: &[TextRecord]) -> Vec<String> {
    let mut keys: Vec<String> = records.iter().map(|r| r.0.clone().unwrap()).collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_and_its_queries_come_back_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (big_query, insert_query) = {
        let broker = broker(dir.path()).await;
        let engine = Engine::open(broker.clone()).await.unwrap();
        let results = run(&engine, SCRIPT).await;
        let big_query = results[4].status().unwrap().query_id.clone().unwrap();
        let small_query = results[5].status().unwrap().query_id.clone().unwrap();
        let insert_query = results[6].status().unwrap().query_id.clone().unwrap();
        assert_eq!(big_query, "CSAS_BIG_3");
        assert_eq!(insert_query, "INSERTQUERY_5");
        run(
            &engine,
            &format!(
                "TERMINATE {small_query};
                 DROP STREAM small DELETE TOPIC;
                 INSERT INTO orders VALUES ('o1', 500, 'a');
                 INSERT INTO orders VALUES ('o2', 5, 'b');
                 INSERT INTO returns VALUES ('r1', 7, 'c');"
            ),
        )
        .await;
        assert_eq!(
            keys(&wait_for_records(&broker, "BIG", 2).await),
            ["o1", "r1"]
        );
        engine.close().await;
        broker.shutdown().await;
        (big_query, insert_query)
    };

    let broker = broker(dir.path()).await;
    let engine = Engine::open(broker.clone()).await.unwrap();
    assert_eq!(
        rows(&engine, "SHOW STREAMS;").await.column("Stream Name"),
        ["BIG", "KSQL_PROCESSING_LOG", "ORDERS", "RETURNS"]
    );
    let queries = rows(&engine, "SHOW QUERIES;").await;
    assert_eq!(
        queries.column("Query ID"),
        [big_query.as_str(), insert_query.as_str()]
    );
    assert_eq!(queries.column("Status"), ["RUNNING:1", "RUNNING:1"]);
    assert!(broker.topic("SMALL").is_none());
    let types = rows(&engine, "SHOW TYPES;").await;
    assert_eq!(
        types.rows,
        vec![vec!["MONEY".to_string(), "DOUBLE".to_string()]]
    );

    // Both writers of BIG resume: nothing lost, nothing twice.
    run(
        &engine,
        "INSERT INTO orders VALUES ('o3', 300, 'd');
         INSERT INTO returns VALUES ('r2', 9, 'e');",
    )
    .await;
    let out = wait_for_records(&broker, "BIG", 4).await;
    assert_eq!(keys(&out), ["o1", "o3", "r1", "r2"]);

    // A new query's id ends with its command's offset: 8 commands were stored (SET and INSERT
    // VALUES are not commands), and the SMALL of before was CSAS_SMALL_4.
    let results = run(
        &engine,
        "CREATE STREAM small AS SELECT * FROM orders WHERE amount < 10;",
    )
    .await;
    let id = results[0].status().unwrap().query_id.clone().unwrap();
    assert_eq!(id, "CSAS_SMALL_8");
    engine.close().await;
    broker.shutdown().await;
}

/// Issue 14, scenario 1 in process: a terminated and dropped query never starts again, so the
/// topic a later stream reuses keeps its records across restarts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_query_never_touches_a_reused_topic() {
    let dir = tempfile::tempdir().unwrap();
    {
        let broker = broker(dir.path()).await;
        let engine = Engine::open(broker.clone()).await.unwrap();
        let results = run(
            &engine,
            "CREATE STREAM s (id INT KEY, v INT) WITH (KAFKA_TOPIC='S', PARTITIONS=1, VALUE_FORMAT='JSON');
             SET 'auto.offset.reset'='earliest';
             CREATE STREAM t WITH (KAFKA_TOPIC='T') AS SELECT id, v FROM s WHERE v > 0;
             INSERT INTO s (id, v) VALUES (1, 1);
             INSERT INTO s (id, v) VALUES (2, 2);
             INSERT INTO s (id, v) VALUES (3, 3);",
        )
        .await;
        let id = results[2].status().unwrap().query_id.clone().unwrap();
        wait_for_records(&broker, "T", 3).await;
        run(
            &engine,
            &format!(
                "TERMINATE {id};
                 DROP STREAM t DELETE TOPIC;
                 CREATE STREAM t2 (id INT KEY, v INT) WITH (KAFKA_TOPIC='T', PARTITIONS=1, VALUE_FORMAT='JSON');"
            ),
        )
        .await;
        for (i, v) in [10, 20, 30, 40, 50].iter().enumerate() {
            run(
                &engine,
                &format!("INSERT INTO t2 (id, v) VALUES ({i}, {v});"),
            )
            .await;
        }
        assert_eq!(read_topic(&broker, "T").len(), 5);
        engine.close().await;
        broker.shutdown().await;
    }
    for _ in 0..3 {
        let broker = broker(dir.path()).await;
        let engine = Engine::open(broker.clone()).await.unwrap();
        assert!(rows(&engine, "SHOW QUERIES;").await.rows.is_empty());
        let values: Vec<String> = read_topic(&broker, "T")
            .into_iter()
            .map(|r| r.1.unwrap())
            .collect();
        assert_eq!(
            values,
            [
                "{\"V\":10}",
                "{\"V\":20}",
                "{\"V\":30}",
                "{\"V\":40}",
                "{\"V\":50}"
            ]
        );
        engine.close().await;
        broker.shutdown().await;
    }
}

/// TERMINATE forgets a query's progress: a new query under the same QUERY_ID reads its source
/// from the start (earliest) instead of resuming where the old one stopped, also after a
/// restart; CREATE OR REPLACE over the same source keeps its progress (nothing read twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_query_id_starts_fresh_and_or_replace_keeps_progress() {
    let dir = tempfile::tempdir().unwrap();
    {
        let broker = broker(dir.path()).await;
        let engine = Engine::open(broker.clone()).await.unwrap();
        run(
            &engine,
            "CREATE STREAM s (id INT KEY, v INT) WITH (KAFKA_TOPIC='S', PARTITIONS=1, VALUE_FORMAT='JSON');
             SET 'auto.offset.reset'='earliest';
             CREATE STREAM a WITH (QUERY_ID='q') AS SELECT id, v FROM s WHERE v > 0;
             INSERT INTO s (id, v) VALUES (1, 1);
             INSERT INTO s (id, v) VALUES (2, 2);
             INSERT INTO s (id, v) VALUES (3, 3);",
        )
        .await;
        wait_for_records(&broker, "A", 3).await;
        run(
            &engine,
            "TERMINATE q;
             DROP STREAM a DELETE TOPIC;
             CREATE STREAM b WITH (QUERY_ID='q') AS SELECT id, v FROM s WHERE v > 1;",
        )
        .await;
        // Fresh: the old query's commit (source at offset 3) is not inherited.
        assert_eq!(wait_for_records(&broker, "B", 2).await.len(), 2);
        // OR REPLACE with the same source: resumes from q's commit, nothing twice.
        run(
            &engine,
            "CREATE OR REPLACE STREAM b AS SELECT id, v FROM s WHERE v > 1;
             INSERT INTO s (id, v) VALUES (4, 4);",
        )
        .await;
        assert_eq!(wait_for_records(&broker, "B", 3).await.len(), 3);
        engine.close().await;
        broker.shutdown().await;
    }
    let broker = broker(dir.path()).await;
    let engine = Engine::open(broker.clone()).await.unwrap();
    assert_eq!(
        rows(&engine, "SHOW QUERIES;").await.column("Query ID"),
        ["Q"]
    );
    run(&engine, "INSERT INTO s (id, v) VALUES (5, 5);").await;
    let b = wait_for_records(&broker, "B", 4).await;
    let values: Vec<String> = b.iter().map(|r| r.1.clone().unwrap()).collect();
    assert_eq!(values, ["{\"V\":2}", "{\"V\":3}", "{\"V\":4}", "{\"V\":5}"]);
    engine.close().await;
    broker.shutdown().await;
}
