//! `sluice server`: the broker on a data directory with its Kafka listener, until SIGINT or
//! SIGTERM.
//!
//! [`LocalServer`] is the same server started inside the current process; `sluice bench` uses it
//! when no `--bootstrap` is given. Shutdown is graceful: the listener stops accepting, open
//! connections finish their request, and the broker flushes and fsyncs every partition before
//! the process exits.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use sluice_broker::protocol::{ServerConfig, serve};
use sluice_broker::{Broker, BrokerConfig};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tracing::info;

use crate::error::CliError;

/// A broker and its Kafka listener running inside this process.
pub struct LocalServer {
    addr: SocketAddr,
    broker: Broker,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), String>>,
}

impl LocalServer {
    /// Opens (and recovers) the broker in `data_dir` and listens for Kafka clients on `addr`
    /// (port 0 picks a free port).
    pub async fn start(data_dir: &Path, addr: &str) -> Result<LocalServer, CliError> {
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
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(
            broker.clone(),
            listener,
            ServerConfig::default(),
            async move {
                let _ = stopped.await;
            },
        ));
        let task = tokio::spawn(async move {
            match task.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(format!("the Kafka listener failed: {e}")),
            }
        });
        Ok(LocalServer {
            addr,
            broker,
            stop: Some(stop),
            task,
        })
    }

    /// The address Kafka clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the listener, waits for open connections, then flushes and fsyncs the broker.
    pub async fn shutdown(mut self) -> Result<(), CliError> {
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

/// Runs `sluice server` until SIGINT or SIGTERM.
pub async fn run(data_dir: &Path, kafka_addr: &str) -> Result<(), CliError> {
    let server = LocalServer::start(data_dir, kafka_addr).await?;
    info!(data_dir = %data_dir.display(), kafka = %server.addr(), "sluice server started");
    // Scripts and tests read the bound address from this line (useful with port 0).
    println!("sluice: Kafka API listening on {}", server.addr());
    wait_for_signal().await?;
    info!("shutting down: finishing requests and flushing the log");
    server.shutdown().await?;
    info!("sluice server stopped");
    Ok(())
}

async fn wait_for_signal() -> Result<(), CliError> {
    let io = |source| CliError::Io {
        context: "cannot install the signal handler".to_owned(),
        source,
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(io)?;
        let mut int = signal(SignalKind::interrupt()).map_err(io)?;
        tokio::select! {
            _ = term.recv() => info!("received SIGTERM"),
            _ = int.recv() => info!("received SIGINT"),
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map_err(io)
    }
}
