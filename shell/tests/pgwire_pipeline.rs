//! The whole product from the outside: a real `sluice server` process, records produced with a
//! Kafka client, a persistent query created over the Postgres wire, its sink read with a Kafka
//! client; then the server is SIGKILLed, restarted, fed more records, and the sink must hold
//! every expected record exactly once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sluice_broker::client::{
    Client, Consumer, Producer, ProducerConfig, ProducerRecord, StartFrom,
};
use tokio::net::TcpStream;
use tokio_postgres::NoTls;

mod support;

use support::ServerProcess;

/// A `sluice server` with Kafka and SQL clients for it.
struct Server {
    process: ServerProcess,
}

impl Server {
    fn start(dir: &std::path::Path) -> Server {
        Server {
            process: ServerProcess::start(dir, &[]),
        }
    }

    async fn sql(&self) -> tokio_postgres::Client {
        let socket = TcpStream::connect(&self.process.pg).await.unwrap();
        let (client, connection) = tokio_postgres::Config::new()
            .user("sluice")
            .connect_raw(socket, NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
    }

    async fn produce(&self, records: &[(&str, f64)]) {
        let client = Client::connect(&self.process.kafka).await.unwrap();
        let mut producer = Producer::new(client, ProducerConfig::default());
        for (id, amount) in records {
            let value = format!(r#"{{"AMOUNT":{amount:?},"ITEM":"thing-{id}"}}"#);
            producer
                .send("orders", ProducerRecord::new(Some(id.to_string()), value))
                .await
                .unwrap();
        }
        producer.flush().await.unwrap();
    }

    /// Reads the sink from the beginning until `expected` records arrived (or a generous
    /// deadline passed), then once more briefly so duplicates would show; (key, AMOUNT) sorted.
    async fn read_sink(&self, expected: usize) -> Vec<(String, f64)> {
        let client = Client::connect(&self.process.kafka).await.unwrap();
        let mut consumer = Consumer::new(client, StartFrom::Earliest);
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut records = Vec::new();
        while Instant::now() < deadline {
            if consumer
                .assign_topic("BIG", StartFrom::Earliest)
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        while records.len() < expected && Instant::now() < deadline {
            records.extend(consumer.poll(Duration::from_millis(200)).await.unwrap());
        }
        records.extend(consumer.poll(Duration::from_millis(500)).await.unwrap());
        let mut rows: Vec<(String, f64)> = records
            .iter()
            .map(|r| {
                let key = String::from_utf8(r.key.clone().unwrap().to_vec()).unwrap();
                let value: serde_json::Value =
                    serde_json::from_slice(r.value.as_ref().unwrap()).unwrap();
                (key, value["AMOUNT"].as_f64().unwrap())
            })
            .collect();
        rows.sort_by(|a, b| a.partial_cmp(b).unwrap());
        rows
    }
}

fn expected(records: &[(&str, f64)]) -> Vec<(String, f64)> {
    let mut rows: Vec<(String, f64)> = records
        .iter()
        .filter(|(_, amount)| *amount > 100.0)
        .map(|(id, amount)| (id.to_string(), *amount))
        .collect();
    rows.sort_by(|a, b| a.partial_cmp(b).unwrap());
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csas_over_the_postgres_wire_survives_sigkill_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let admin = Client::connect(&server.kafka).await.unwrap();
    admin
        .create_topic("orders", 2, &BTreeMap::new())
        .await
        .unwrap();

    let first = [
        ("a", 50.0),
        ("b", 150.0),
        ("c", 250.5),
        ("d", 100.0),
        ("e", 101.0),
    ];
    server.produce(&first).await;

    let sql = server.sql().await;
    sql.batch_execute(
        "SET 'auto.offset.reset'='earliest';
         CREATE STREAM orders (id STRING KEY, amount DOUBLE, item STRING)
             WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON');
         CREATE STREAM big AS SELECT id, amount FROM orders WHERE amount > 100;",
    )
    .await
    .unwrap();
    assert_eq!(server.read_sink(3).await, expected(&first));

    // SIGKILL: no shutdown, no flush.
    drop(sql);
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(server);

    let server = Server::start(dir.path());
    let second = [("f", 500.0), ("g", 5.0), ("h", 100.5)];
    server.produce(&second).await;
    let all: Vec<(&str, f64)> = first.iter().chain(second.iter()).copied().collect();
    assert_eq!(server.read_sink(5).await, expected(&all));

    // The query is still listed after the restart.
    let sql = server.sql().await;
    let queries = sql.simple_query("SHOW QUERIES;").await.unwrap();
    let values: Vec<String> = queries
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .filter_map(|i| row.get(i).map(str::to_owned))
                    .collect::<Vec<_>>()
                    .join(" | "),
            ),
            _ => None,
        })
        .collect();
    assert!(
        values.iter().any(|row| row.contains("CSAS_BIG")),
        "{values:?}"
    );
}
