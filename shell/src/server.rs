//! `sluice server`: the broker on a data directory with its Kafka listener, and the SQL engine
//! over it with its Postgres listener, until SIGINT or SIGTERM.
//!
//! [`LocalServer`] is the same server started inside the current process; `sluice bench` uses it
//! when no `--bootstrap` is given. Shutdown is graceful: the listener stops accepting, open
//! connections finish their request, Postgres connections are closed (their push queries stop),
//! the engine stops its persistent queries (they resume at the next start), and the broker flushes and fsyncs every partition before
//! the process exits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sluice_broker::protocol::{ServerConfig, serve};
use sluice_broker::{Broker, BrokerConfig};
use sluice_engine::Engine;
use sluice_engine::pgwire::{PgCredentials, PgLimits, PgServer, check_exposure};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tracing::info;

use crate::error::CliError;

/// What `sluice server` runs with.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Directory holding topics, offsets and state.
    pub data_dir: PathBuf,
    /// Address of the Kafka listener (port 0 picks a free port).
    pub kafka_addr: String,
    /// Kafka's `group.initial.rebalance.delay.ms`.
    pub group_initial_rebalance_delay: Duration,
    /// `host:port` written into Metadata and FindCoordinator answers; the bound address if
    /// `None`.
    pub advertised_addr: Option<String>,
    /// Address of the Postgres listener (port 0 picks a free port); `None` runs the broker
    /// alone, without the SQL engine.
    pub pg_addr: Option<String>,
    /// The user and password Postgres clients log in with (SCRAM-SHA-256); `None` lets anyone
    /// in, which only a loopback `pg_addr` allows unless `pg_insecure_no_auth`.
    pub pg_credentials: Option<PgCredentials>,
    /// Serve a non-loopback `pg_addr` without a password.
    pub pg_insecure_no_auth: bool,
    /// What one client may hold or ask for (docs/operations.md, "Security: limits").
    pub limits: Limits,
}

/// The server's limits on what clients may hold or ask for, under Kafka's names where Kafka
/// has the setting (docs/operations.md, "Security: limits", lists each with its default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// `max.connections`.
    pub max_connections: usize,
    /// `max.connections.per.ip`.
    pub max_connections_per_ip: usize,
    /// `connections.max.idle.ms`.
    pub connections_max_idle_ms: u64,
    /// A started request frame must be whole within this, and a new connection must send its
    /// first request within it.
    pub request_read_timeout_ms: u64,
    /// `socket.request.max.bytes`.
    pub socket_request_max_bytes: usize,
    /// `fetch.max.bytes`.
    pub fetch_max_bytes: usize,
    /// `auto.create.topics.enable`.
    pub auto_create_topics_enable: bool,
    /// Most partitions of one topic.
    pub max_partitions_per_topic: i32,
    /// `max.broker.partitions` (KIP-578).
    pub max_broker_partitions: i64,
    /// `group.max.size`.
    pub group_max_size: usize,
    /// `log.cleaner.dedupe.buffer.size`.
    pub log_cleaner_dedupe_buffer_size: usize,
    /// Postgres connections served at once.
    pub pg_max_connections: usize,
    /// Time a Postgres client has to finish start-up and login.
    pub pg_startup_timeout_ms: u64,
    /// Largest Postgres message a client may send.
    pub pg_max_message_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        let kafka = ServerConfig::default();
        let broker = BrokerConfig::new(PathBuf::new());
        let pg = PgLimits::default();
        Limits {
            max_connections: kafka.max_connections,
            max_connections_per_ip: kafka.max_connections_per_ip,
            connections_max_idle_ms: kafka.connections_max_idle.as_millis() as u64,
            request_read_timeout_ms: kafka.request_read_timeout.as_millis() as u64,
            socket_request_max_bytes: kafka.max_request_bytes,
            fetch_max_bytes: kafka.fetch_max_bytes,
            auto_create_topics_enable: kafka.auto_create_topics,
            max_partitions_per_topic: broker.max_partitions_per_topic,
            max_broker_partitions: broker.max_broker_partitions,
            group_max_size: kafka.group.max_size,
            log_cleaner_dedupe_buffer_size: broker.cleaner_dedupe_buffer_size,
            pg_max_connections: pg.max_connections,
            pg_startup_timeout_ms: pg.startup_timeout.as_millis() as u64,
            pg_max_message_bytes: pg.max_message_bytes,
        }
    }
}

impl Limits {
    fn apply_to_broker(&self, config: &mut BrokerConfig) {
        config.max_partitions_per_topic = self.max_partitions_per_topic;
        config.max_broker_partitions = self.max_broker_partitions;
        config.cleaner_dedupe_buffer_size = self.log_cleaner_dedupe_buffer_size;
    }

    fn apply_to_listener(&self, config: &mut ServerConfig) {
        config.max_connections = self.max_connections;
        config.max_connections_per_ip = self.max_connections_per_ip;
        config.connections_max_idle = Duration::from_millis(self.connections_max_idle_ms);
        config.request_read_timeout = Duration::from_millis(self.request_read_timeout_ms);
        config.max_request_bytes = self.socket_request_max_bytes;
        config.fetch_max_bytes = self.fetch_max_bytes;
        config.auto_create_topics = self.auto_create_topics_enable;
        config.group.max_size = self.group_max_size;
    }

    fn pg(&self) -> PgLimits {
        PgLimits {
            max_connections: self.pg_max_connections,
            startup_timeout: Duration::from_millis(self.pg_startup_timeout_ms),
            max_message_bytes: self.pg_max_message_bytes,
        }
    }
}

impl ServerOptions {
    /// Options with Kafka's defaults for everything but the directory and address.
    pub fn new(data_dir: impl Into<PathBuf>, kafka_addr: &str) -> ServerOptions {
        ServerOptions {
            data_dir: data_dir.into(),
            kafka_addr: kafka_addr.to_owned(),
            group_initial_rebalance_delay: ServerConfig::default().group.initial_rebalance_delay,
            advertised_addr: None,
            pg_addr: None,
            pg_credentials: None,
            pg_insecure_no_auth: false,
            limits: Limits::default(),
        }
    }
}

/// A broker and its Kafka listener running inside this process.
pub struct LocalServer {
    addr: SocketAddr,
    broker: Broker,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), String>>,
    sql: Option<SqlFrontEnd>,
}

/// The engine and its Postgres listener, when the server runs them.
struct SqlFrontEnd {
    engine: Engine,
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl LocalServer {
    /// Opens (and recovers) the broker in `options.data_dir` and listens for Kafka clients on
    /// `options.kafka_addr`.
    pub async fn start(options: &ServerOptions) -> Result<LocalServer, CliError> {
        if let Some(pg_addr) = &options.pg_addr {
            check_pg_exposure(pg_addr, options).await?;
        }
        let data_dir = options.data_dir.as_path();
        let addr = options.kafka_addr.as_str();
        std::fs::create_dir_all(data_dir).map_err(|source| CliError::Io {
            context: format!("cannot create data directory {}", data_dir.display()),
            source,
        })?;
        let mut broker_config = BrokerConfig::new(PathBuf::from(data_dir));
        options.limits.apply_to_broker(&mut broker_config);
        let broker = Broker::open(broker_config).await.map_err(|e| {
            CliError::Server(format!(
                "cannot open the data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        let listener = TcpListener::bind(addr).await.map_err(|e| {
            CliError::Server(format!("cannot listen for Kafka clients on {addr}: {e}"))
        })?;
        let addr = listener
            .local_addr()
            .map_err(|e| CliError::Server(format!("cannot read the listener's address: {e}")))?;
        let mut config = ServerConfig::default();
        options.limits.apply_to_listener(&mut config);
        config.group.initial_rebalance_delay = options.group_initial_rebalance_delay;
        if let Some(advertised) = &options.advertised_addr {
            let (host, port) = parse_host_port(advertised)?;
            config.advertised_host = Some(host);
            config.advertised_port = Some(port);
        }
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(broker.clone(), listener, config, async move {
            let _ = stopped.await;
        }));
        let task = tokio::spawn(async move {
            match task.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(format!("the Kafka listener failed: {e}")),
            }
        });
        let sql = match &options.pg_addr {
            Some(pg_addr) => Some(start_sql(&broker, pg_addr, options).await?),
            None => None,
        };
        Ok(LocalServer {
            addr,
            broker,
            stop: Some(stop),
            task,
            sql,
        })
    }

    /// The address Postgres clients connect to, when the SQL engine runs.
    pub fn pg_addr(&self) -> Option<SocketAddr> {
        self.sql.as_ref().map(|sql| sql.addr)
    }

    /// The address Kafka clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the listener, waits for open connections, then flushes and fsyncs the broker.
    pub async fn shutdown(mut self) -> Result<(), CliError> {
        if let Some(sql) = self.sql.take() {
            let _ = sql.stop.send(());
            if let Err(e) = sql.task.await {
                tracing::warn!(error = %e, "the Postgres listener failed");
            }
            sql.engine.close().await;
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let served = (&mut self.task)
            .await
            .map_err(|e| CliError::Server(format!("the Kafka listener failed: {e}")))
            .and_then(|r| r.map_err(CliError::Server));
        self.broker.shutdown().await;
        served
    }
}

/// Opens the engine over `broker` (replaying its catalog) and listens for Postgres clients.
async fn start_sql(
    broker: &Broker,
    pg_addr: &str,
    options: &ServerOptions,
) -> Result<SqlFrontEnd, CliError> {
    let engine = Engine::open(broker.clone())
        .await
        .map_err(|e| CliError::Server(format!("cannot start the SQL engine: {e}")))?;
    let server = PgServer::bind(pg_addr, engine.clone())
        .await
        .map_err(|e| {
            CliError::Server(format!(
                "cannot listen for Postgres clients on {pg_addr}: {e}"
            ))
        })?
        .with_credentials(options.pg_credentials.clone())
        .with_limits(options.limits.pg());
    let addr = server
        .local_addr()
        .map_err(|e| CliError::Server(format!("cannot read the listener's address: {e}")))?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    Ok(SqlFrontEnd {
        engine,
        addr,
        stop,
        task,
    })
}

/// Refuses, before anything starts, to let Postgres clients in without a password on an address
/// that is not loopback (unless `--pg-insecure-no-auth`).
async fn check_pg_exposure(pg_addr: &str, options: &ServerOptions) -> Result<(), CliError> {
    let resolved = tokio::net::lookup_host(pg_addr).await.map_err(|e| {
        CliError::Usage(format!(
            "--pg-addr {pg_addr:?} is not a valid host:port: {e}"
        ))
    })?;
    for addr in resolved {
        check_exposure(
            addr,
            options.pg_credentials.as_ref(),
            options.pg_insecure_no_auth,
        )
        .map_err(|e| CliError::Usage(e.to_string()))?;
    }
    Ok(())
}

/// Splits `host:port` (IPv6 hosts in brackets).
fn parse_host_port(addr: &str) -> Result<(String, u16), CliError> {
    let bad = || CliError::Usage(format!("--advertised-addr {addr:?} is not host:port"));
    let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_owned(), port))
}

/// Runs `sluice server` until SIGINT or SIGTERM.
pub async fn run(options: &ServerOptions) -> Result<(), CliError> {
    // Installed before anything starts: the Kafka listener answers while the engine is still
    // opening, and a SIGTERM in that window must still shut down cleanly (not kill the process).
    let signals = Signals::install()?;
    let server = LocalServer::start(options).await?;
    info!(data_dir = %options.data_dir.display(), kafka = %server.addr(), "sluice server started");
    // Scripts and tests read the bound addresses from these lines (useful with port 0). Written
    // at once and errors ignored: a reader that closed stdout after the first line must not
    // kill the server (println! would panic on EPIPE).
    let mut banner = format!("sluice: Kafka API listening on {}\n", server.addr());
    if let Some(pg) = server.pg_addr() {
        info!(postgres = %pg, "Postgres wire listening");
        banner.push_str(&format!("sluice: Postgres wire listening on {pg}\n"));
    }
    {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(banner.as_bytes());
        let _ = stdout.flush();
    }
    signals.wait().await?;
    info!("shutting down: finishing requests and flushing the log");
    server.shutdown().await?;
    info!("sluice server stopped");
    Ok(())
}

/// SIGTERM and SIGINT handlers, installed up front; a signal that arrives before
/// [`Signals::wait`] is kept until then.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

fn signal_io_error(source: std::io::Error) -> CliError {
    CliError::Io {
        context: "cannot install the signal handler".to_owned(),
        source,
    }
}

impl Signals {
    fn install() -> Result<Signals, CliError> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate()).map_err(signal_io_error)?,
                int: signal(SignalKind::interrupt()).map_err(signal_io_error)?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    async fn wait(mut self) -> Result<(), CliError> {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => info!("received SIGTERM"),
                _ = self.int.recv() => info!("received SIGINT"),
            }
            Ok(())
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.map_err(signal_io_error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertised_addresses_parse() {
        assert_eq!(
            parse_host_port("kafka.example:9093").unwrap(),
            ("kafka.example".to_owned(), 9093)
        );
        assert_eq!(
            parse_host_port("[::1]:9092").unwrap(),
            ("::1".to_owned(), 9092)
        );
        assert!(parse_host_port("nohost").is_err());
        assert!(parse_host_port(":9092").is_err());
        assert!(parse_host_port("h:99999").is_err());
    }
}
