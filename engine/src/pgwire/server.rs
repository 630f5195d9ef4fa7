//! The Postgres listener: an accept loop that runs every connection on its own task until the
//! server shuts down.
//!
//! Shutdown stops accepting at once and then waits for open connections; a connection that is
//! running a push query is asked to end by closing its socket (the query stops when its row
//! stream is dropped).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use pgwire::api::ConnectionManager;
use pgwire::tokio::process_socket;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{Instrument, info, info_span, warn};

use crate::Engine;
use crate::pgwire::auth::PgCredentials;
use crate::pgwire::handler::ConnectionHandlers;

/// A Postgres listener bound to an address, not yet serving.
#[derive(Debug)]
pub struct PgServer {
    listener: TcpListener,
    engine: Engine,
    credentials: Option<Arc<PgCredentials>>,
}

impl PgServer {
    /// Binds `addr` (port 0 picks a free port) for `engine`.
    pub async fn bind(addr: &str, engine: Engine) -> std::io::Result<PgServer> {
        let listener = TcpListener::bind(addr).await?;
        Ok(PgServer {
            listener,
            engine,
            credentials: None,
        })
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
        serve_with(self.listener, self.engine, self.credentials, shutdown).await
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
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    // Every connection's backend key, so a CancelRequest (on its own connection) finds it.
    let backends = Arc::new(ConnectionManager::new());
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    let handlers = Arc::new(ConnectionHandlers::new(engine.session(), backends.clone(), credentials.clone()));
                    let mut stop = stop_rx.clone();
                    let span = info_span!("pg_connection", %peer);
                    connections.spawn(async move {
                        info!("client connected");
                        tokio::select! {
                            result = process_socket(socket, None, handlers) => match result {
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
