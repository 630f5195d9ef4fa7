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
use sluice_engine::pgwire::{PgCredentials, PgServer, check_exposure};
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
        let broker = Broker::open(BrokerConfig::new(PathBuf::from(data_dir)))
            .await
            .map_err(|e| {
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
        .with_credentials(options.pg_credentials.clone());
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
