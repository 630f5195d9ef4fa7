//! The Postgres listener: an accept loop that runs every connection on its own task until the
//! server shuts down.
//!
//! Every connection passes [`super::guard`], which enforces [`PgLimits`]: a client beyond
//! `max_connections` is refused with SQLSTATE 53300, one that does not finish start-up in time is
//! closed, and a message larger than `max_message_bytes` ends the connection with SQLSTATE 54000
//! before it is read (the protocol handler would otherwise buffer up to 1 GiB per message).
//!
//! Shutdown stops accepting at once and then waits for open connections; a connection that is
//! running a push query is asked to end by closing its socket (the query stops when its row
//! stream is dropped).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use std::time::Duration;

use pgwire::api::ConnectionManager;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{Instrument, info, info_span, warn};

use crate::Engine;
use crate::pgwire::auth::PgCredentials;
use crate::pgwire::guard;
use crate::pgwire::handler::ConnectionHandlers;

/// What one Postgres client may hold or send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgLimits {
    /// Connections served at once; a client beyond them gets FATAL 53300
    /// (too_many_connections), as from Postgres's `max_connections`.
    pub max_connections: usize,
    /// Time from connecting to the end of start-up and login (Postgres's
    /// `authentication_timeout`); then the connection is closed.
    pub startup_timeout: Duration,
    /// Largest message a client may send (a query's text, a Bind with its parameters); a
    /// larger one gets FATAL 54000 (program_limit_exceeded) before its body is read.
    pub max_message_bytes: usize,
}

impl Default for PgLimits {
    fn default() -> Self {
        PgLimits {
            max_connections: 256,
            startup_timeout: Duration::from_secs(30),
            max_message_bytes: 64 * 1024 * 1024,
        }
    }
}

/// A Postgres listener bound to an address, not yet serving.
#[derive(Debug)]
pub struct PgServer {
    listener: TcpListener,
    engine: Engine,
    credentials: Option<Arc<PgCredentials>>,
    limits: PgLimits,
}

impl PgServer {
    /// Binds `addr` (port 0 picks a free port) for `engine`.
    pub async fn bind(addr: &str, engine: Engine) -> std::io::Result<PgServer> {
        let listener = TcpListener::bind(addr).await?;
        Ok(PgServer {
            listener,
            engine,
            credentials: None,
            limits: PgLimits::default(),
        })
    }

    /// Serves with `limits` instead of the defaults.
    pub fn with_limits(mut self, limits: PgLimits) -> PgServer {
        self.limits = limits;
        self
    }

    /// Asks every client to log in as `credentials` (SCRAM-SHA-256); `None` accepts anyone.
    pub fn with_credentials(mut self, credentials: Option<PgCredentials>) -> PgServer {
        self.credentials = credentials.map(Arc::new);
        self
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then closes every connection and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        serve_limited(
            self.listener,
            self.engine,
            self.credentials,
            self.limits,
            shutdown,
        )
        .await
    }
}

/// Accepts Postgres clients on `listener` until `shutdown` completes; each connection runs with
/// its own session of `engine`. Open connections are closed when `shutdown` completes.
pub async fn serve(listener: TcpListener, engine: Engine, shutdown: impl Future<Output = ()>) {
    serve_with(listener, engine, None, shutdown).await
}

/// [`serve`], asking clients to log in as `credentials` when set.
pub async fn serve_with(
    listener: TcpListener,
    engine: Engine,
    credentials: Option<Arc<PgCredentials>>,
    shutdown: impl Future<Output = ()>,
) {
    serve_limited(listener, engine, credentials, PgLimits::default(), shutdown).await
}

/// [`serve_with`] under `limits`.
pub async fn serve_limited(
    listener: TcpListener,
    engine: Engine,
    credentials: Option<Arc<PgCredentials>>,
    limits: PgLimits,
    shutdown: impl Future<Output = ()>,
) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    // Every connection's backend key, so a CancelRequest (on its own connection) finds it.
    let backends = Arc::new(ConnectionManager::new());
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) if connections.len() >= limits.max_connections.max(1) => {
                    warn!(%peer, open = connections.len(), "Postgres connection refused: too many connections");
                    // Answered on its own task, so a client that does not read cannot stall the
                    // accept loop; bounded by the same timeout as a start-up.
                    tokio::spawn(guard::refuse(socket, limits.startup_timeout));
                }
                Ok((socket, peer)) => {
                    let handlers = Arc::new(ConnectionHandlers::new(engine.session(), backends.clone(), credentials.clone()));
                    let mut stop = stop_rx.clone();
                    let span = info_span!("pg_connection", %peer);
                    connections.spawn(async move {
                        info!("client connected");
                        tokio::select! {
                            result = guard::serve(socket, limits, handlers) => match result {
                                Ok(()) => info!("client disconnected"),
                                Err(e) => warn!(error = %e, "connection ended with an error"),
                            },
                            _ = stop.wait_for(|stopped| *stopped) => info!("closed by shutdown"),
                        }
                    }.instrument(span));
                }
                // Out of file descriptors and similar: keep serving the connections we have.
                Err(e) => warn!(error = %e, "cannot accept a Postgres connection"),
            },
            // Reap finished connections so the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    let _ = stop_tx.send(true);
    while connections.join_next().await.is_some() {}
}
