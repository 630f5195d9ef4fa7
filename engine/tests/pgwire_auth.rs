//! Password authentication from a real client (tokio-postgres): with credentials configured the
//! listener asks for SCRAM-SHA-256; the right password logs in, a wrong password or an unknown
//! user fails with SQLSTATE 28P01, and a CancelRequest still finds an authenticated backend.

use futures::{StreamExt, pin_mut};
use sluice_broker::{Broker, BrokerConfig};
use sluice_engine::Engine;
use sluice_engine::pgwire::{PgCredentials, PgServer};
use std::net::SocketAddr;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

/// A listener that asks for `alice` / `s3cret`.
struct AuthServer {
    _dir: tempfile::TempDir,
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl AuthServer {
    async fn start() -> AuthServer {
        let dir = tempfile::tempdir().unwrap();
        let broker = Broker::open(BrokerConfig::new(dir.path())).await.unwrap();
        let engine = Engine::open(broker).await.unwrap();
        let server = PgServer::bind("127.0.0.1:0", engine)
            .await
            .unwrap()
            .with_credentials(Some(PgCredentials::new("alice", "s3cret")));
        let addr = server.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        AuthServer {
            _dir: dir,
            addr,
            stop,
            task,
        }
    }

    async fn connect(&self, user: &str, password: &str) -> Result<Client, tokio_postgres::Error> {
        let socket = TcpStream::connect(self.addr).await.unwrap();
        let (client, connection) = tokio_postgres::Config::new()
            .user(user)
            .password(password)
            .dbname("sluice")
            .connect_raw(socket, NoTls)
            .await?;
        tokio::spawn(connection);
        Ok(client)
    }

    async fn shutdown(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_right_password_logs_in_and_runs_statements() {
    let server = AuthServer::start().await;
    let client = server.connect("alice", "s3cret").await.unwrap();
    let rows = client.simple_query("SHOW STREAMS;").await.unwrap();
    assert!(!rows.is_empty(), "{rows:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_or_unknown_user_fails_with_28p01() {
    let server = AuthServer::start().await;
    for (user, password) in [("alice", "wrong"), ("mallory", "s3cret"), ("alice", "")] {
        let error = match server.connect(user, password).await {
            Ok(_) => panic!("{user}/{password:?} logged in"),
            Err(e) => e,
        };
        assert_eq!(
            error.code(),
            Some(&SqlState::INVALID_PASSWORD),
            "{user}/{password:?}: {error}"
        );
        assert!(
            error
                .as_db_error()
                .map_or(String::new(), |db| db.message().to_owned())
                .contains(&format!("authentication failed for user \"{user}\"")),
            "{error}"
        );
    }
    // The failures left the listener serving.
    assert!(server.connect("alice", "s3cret").await.is_ok());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_a_password_is_refused() {
    let server = AuthServer::start().await;
    let socket = TcpStream::connect(server.addr).await.unwrap();
    let result = tokio_postgres::Config::new()
        .user("alice")
        .dbname("sluice")
        .connect_raw(socket, NoTls)
        .await;
    // tokio-postgres refuses to go on when asked for a password it was not given.
    assert!(result.is_err());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_reaches_an_authenticated_backend() {
    let server = AuthServer::start().await;
    let client = server.connect("alice", "s3cret").await.unwrap();
    client
        .simple_query(
            "CREATE STREAM orders (id STRING KEY, amount DOUBLE) \
             WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=1);",
        )
        .await
        .unwrap();
    client
        .simple_query("INSERT INTO orders (id, amount) VALUES ('a', 1.0);")
        .await
        .unwrap();
    client
        .simple_query("SET 'auto.offset.reset'='earliest';")
        .await
        .unwrap();
    let rows = client
        .query_raw("SELECT id FROM orders EMIT CHANGES;", Vec::<i32>::new())
        .await
        .unwrap();
    pin_mut!(rows);
    let first = rows.next().await.unwrap().unwrap();
    assert_eq!(first.get::<_, String>("ID"), "a");

    let socket = TcpStream::connect(server.addr).await.unwrap();
    client
        .cancel_token()
        .cancel_query_raw(socket, NoTls)
        .await
        .unwrap();
    let error = match rows.next().await {
        Some(Ok(row)) => panic!("a row after the cancel: {row:?}"),
        Some(Err(e)) => e,
        None => panic!("the push query ended without an error"),
    };
    assert_eq!(error.code(), Some(&SqlState::QUERY_CANCELED), "{error}");
    let again = client.simple_query("SHOW STREAMS;").await.unwrap();
    assert!(!again.is_empty());
    server.shutdown().await;
}
