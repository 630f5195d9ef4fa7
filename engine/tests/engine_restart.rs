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
