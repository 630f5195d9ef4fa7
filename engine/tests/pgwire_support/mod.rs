//! Shared by the pgwire_* tests: a broker, the engine and its Postgres listener on a free port,
//! and helpers to read simple-protocol answers.

#![allow(dead_code)]

use std::net::SocketAddr;

use sluice_broker::{Broker, BrokerConfig};
use sluice_engine::Engine;
use sluice_engine::pgwire::PgServer;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

/// A broker, the engine over it and its Postgres listener on a free port.
pub struct Server {
    _dir: tempfile::TempDir,
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    pub async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let broker = Broker::open(BrokerConfig::new(dir.path())).await.unwrap();
        let engine = Engine::open(broker).await.unwrap();
        let server = PgServer::bind("127.0.0.1:0", engine).await.unwrap();
        let addr = server.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        Server {
            _dir: dir,
            addr,
            stop: Some(stop),
            task,
        }
    }

    pub async fn connect(&self) -> Client {
        let socket = TcpStream::connect(self.addr).await.unwrap();
        let (client, connection) = tokio_postgres::Config::new()
            .user("sluice")
            .dbname("sluice")
            .connect_raw(socket, NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
    }

    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap();
    }
}

/// The data rows of a simple-protocol answer, as text (NULL as None).
pub fn text_rows(messages: &[SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

pub const CREATE_ORDERS: &str = "CREATE STREAM orders (id STRING KEY, amount DOUBLE, item STRING) \
     WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=1);";

/// Creates the stream `orders` (CREATE_ORDERS), inserts `rows` (id, amount, item) in order and
/// sets `client`'s session to read from the beginning.
pub async fn orders_with(client: &Client, rows: &[(&str, f64, &str)]) {
    client.simple_query(CREATE_ORDERS).await.unwrap();
    for (id, amount, item) in rows {
        client
            .simple_query(&format!(
                "INSERT INTO orders (id, amount, item) VALUES ('{id}', {amount:?}, '{item}');"
            ))
            .await
            .unwrap();
    }
    client
        .simple_query("SET 'auto.offset.reset'='earliest';")
        .await
        .unwrap();
}
