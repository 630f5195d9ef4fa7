//! The Kafka listener: an accept loop with a connection limit and graceful shutdown.
//!
//! Every connection runs in its own task, so a long-poll fetch on one connection never holds up
//! another; inside a connection, requests are handled one after the other because Kafka clients
//! match responses to requests by order as well as by correlation id. A `watch` channel carries the
//! shutdown signal: the accept loop stops, each connection finishes the request it is handling and
//! closes, and [`serve`] returns once every connection is gone (mini-redis's `server.rs` idea).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{Instrument, debug, info, info_span, warn};

use super::connection::{Connection, ConnectionError};
use super::dispatch::{self, Context};
use super::slots::{Slot, Slots};
use crate::Broker;
use crate::group::{GroupConfig, GroupCoordinator};
use crate::txn::{TxnConfig, TxnCoordinator};

/// Default of [`ServerConfig::max_connections`] (Kafka's is unbounded; each connection holds a
/// file descriptor and buffers).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Settings of the Kafka listener. `Default` gives Kafka's defaults where Kafka has one.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Host name written into Metadata and FindCoordinator responses; the bound address if unset.
    pub advertised_host: Option<String>,
    /// Port written into Metadata and FindCoordinator responses; the bound port if unset.
    pub advertised_port: Option<u16>,
    /// Connections served at once (Kafka's `max.connections`). When every slot is taken, a new
    /// client takes the slot of the connection idle for longest (see [`super::slots`]).
    pub max_connections: usize,
    /// Connections served at once from one client address (Kafka's `max.connections.per.ip`);
    /// more are closed at once.
    pub max_connections_per_ip: usize,
    /// A connection with no request for this long is closed (Kafka's `connections.max.idle.ms`,
    /// 10 minutes).
    pub connections_max_idle: Duration,
    /// A request frame whose first bytes arrived must be whole this much later, and a new
    /// connection must send its first request within it; otherwise the connection is closed.
    pub request_read_timeout: Duration,
    /// Largest request frame accepted (Kafka's `socket.request.max.bytes`, 100 MiB).
    pub max_request_bytes: usize,
    /// Most record bytes in one Fetch response, whatever the client's `max_bytes` (Kafka's
    /// broker setting `fetch.max.bytes`, 55 MiB); the first batch still comes whole.
    pub fetch_max_bytes: usize,
    /// Create a topic with the broker's defaults when Metadata names one that does not exist and
    /// the client allows it (Kafka's `auto.create.topics.enable`, true by default).
    pub auto_create_topics: bool,
    /// Cluster id reported in Metadata.
    pub cluster_id: String,
    /// Consumer group coordinator settings.
    pub group: GroupConfig,
    /// Transaction coordinator settings.
    pub txn: TxnConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            advertised_host: None,
            advertised_port: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS,
            connections_max_idle: Duration::from_millis(600_000),
            request_read_timeout: Duration::from_secs(30),
            max_request_bytes: 100 * 1024 * 1024,
            fetch_max_bytes: 55 * 1024 * 1024,
            auto_create_topics: true,
            cluster_id: "sluice-cluster".to_string(),
            group: GroupConfig::default(),
            txn: TxnConfig::default(),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listener's local address could not be read.
    #[error("cannot read the listener's address: {0}")]
    Listener(#[from] std::io::Error),
    /// The group coordinator could not load committed offsets.
    #[error("cannot load committed offsets from __consumer_offsets: {0}")]
    Offsets(#[from] crate::group::OffsetStoreError),
    /// The transaction coordinator could not load or finish transactions.
    #[error("cannot load transactions from __transaction_state: {0}")]
    Transactions(#[from] crate::txn::TxnError),
}

/// The coordinators a Kafka listener serves from, shareable with in-process users (the engine
/// commits through the same [`TxnCoordinator`] the listener's clients use).
#[derive(Debug, Clone)]
pub struct Coordinators {
    /// Consumer groups and committed offsets.
    pub groups: Arc<GroupCoordinator>,
    /// Transactions.
    pub txns: Arc<TxnCoordinator>,
}

impl Coordinators {
    /// Loads committed offsets, then transactions (finishing those a crash interrupted).
    pub async fn start(
        broker: &Broker,
        config: &ServerConfig,
    ) -> Result<Coordinators, ServerError> {
        let groups = GroupCoordinator::start(broker.clone(), config.group.clone()).await?;
        let txns =
            TxnCoordinator::start(broker.clone(), groups.clone(), config.txn.clone()).await?;
        Ok(Coordinators { groups, txns })
    }

    /// Stops the coordinators' background tasks.
    pub fn stop(&self) {
        self.groups.stop();
        self.txns.stop();
    }
}

/// Serve the Kafka protocol for `broker` on `listener` until `shutdown` completes.
///
/// Committed consumer offsets are loaded from `__consumer_offsets` before the first connection is
/// accepted. Returns after every connection has closed.
pub async fn serve(
    broker: Broker,
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future,
) -> Result<(), ServerError> {
    let coordinators = Coordinators::start(&broker, &config).await?;
    let result = serve_with(broker, listener, config, coordinators.clone(), shutdown).await;
    coordinators.stop();
    result
}

/// [`serve`] with coordinators started by the caller (and shared with in-process users); they
/// keep running after this returns.
pub async fn serve_with(
    broker: Broker,
    listener: TcpListener,
    config: ServerConfig,
    coordinators: Coordinators,
    shutdown: impl Future,
) -> Result<(), ServerError> {
    let local = listener.local_addr()?;
    let host = config
        .advertised_host
        .clone()
        .unwrap_or_else(|| local.ip().to_string());
    let port = config.advertised_port.unwrap_or(local.port());
    let Coordinators { groups, txns } = coordinators;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let ctx = Arc::new(Context {
        node_id: broker.config().node_id,
        default_partitions: broker.config().default_partitions,
        broker,
        groups,
        txns,
        config,
        advertised_host: host,
        advertised_port: i32::from(port),
        shutdown: shutdown_rx,
    });
    info!(%local, "Kafka listener ready");
    let slots = Slots::new(
        ctx.config.max_connections,
        ctx.config.max_connections_per_ip,
    );
    // Every connection task holds a clone of `alive`: once all are dropped, all have ended.
    let (alive, mut all_ended) = mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    loop {
        let (socket, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = accept(&listener) => accepted,
        };
        let slot = match slots.admit(peer.ip()) {
            Ok(slot) => slot,
            Err(refused) => {
                warn!(%peer, ?refused, open = slots.len(), "connection refused: no slot");
                drop(socket);
                continue;
            }
        };
        let ctx = ctx.clone();
        let alive = alive.clone();
        let span = info_span!("conn", %peer, client_id = tracing::field::Empty);
        tokio::spawn(
            async move {
                run_connection(ctx, socket, peer, slot).await;
                drop(alive);
            }
            .instrument(span),
        );
    }
    info!("Kafka listener shutting down");
    // The coordinators are stopped by their owner ([`serve`] or the caller of this function).
    let _ = shutdown_tx.send(true);
    drop(alive);
    let _ = all_ended.recv().await;
    Ok(())
}

/// Accept the next connection, backing off on errors such as running out of file descriptors.
async fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    let mut backoff = Duration::from_millis(10);
    loop {
        match listener.accept().await {
            Ok((socket, peer)) => {
                let _ = socket.set_nodelay(true);
                return (socket, peer);
            }
            Err(err) => {
                warn!(%err, "accept failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// The request loop of one connection.
async fn run_connection(ctx: Arc<Context>, socket: TcpStream, peer: SocketAddr, slot: Slot) {
    debug!("connection opened");
    let mut conn = Connection::new(socket, ctx.config.max_request_bytes);
    let mut shutdown = ctx.shutdown.clone();
    let mut client_id_recorded = false;
    // A new connection gets the request timeout to send its first request, then the idle limit
    // between requests.
    let mut idle_deadline = Instant::now() + ctx.config.request_read_timeout;
    loop {
        let frame = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            _ = slot.evicted() => {
                debug!(%peer, "connection closed: its slot went to a new client");
                break;
            }
            frame = conn.read_frame_within(idle_deadline, ctx.config.request_read_timeout) => frame,
        };
        let frame = match frame {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(ConnectionError::Io(err)) => {
                debug!(%err, "connection failed");
                break;
            }
            Err(err @ (ConnectionError::Idle | ConnectionError::RequestTimeout(..))) => {
                debug!(%peer, %err, "closing connection");
                break;
            }
            Err(err) => {
                warn!(%peer, %err, "closing connection after a malformed frame");
                break;
            }
        };
        let request = match dispatch::decode_header(&frame, peer) {
            Ok(request) => request,
            Err(err) => {
                warn!(%peer, %err, "closing connection after an unreadable request header");
                break;
            }
        };
        if !client_id_recorded {
            tracing::Span::current().record("client_id", request.client_id.as_str());
            client_id_recorded = true;
        }
        slot.busy();
        match dispatch::dispatch(&ctx, request).await {
            Ok(Some(response)) => {
                if let Err(err) = conn.write_frame(&response).await {
                    debug!(%err, "cannot write response");
                    break;
                }
            }
            Ok(None) => {}
            Err(err) => {
                warn!(%peer, %err, "closing connection after a request that does not decode");
                break;
            }
        }
        slot.idle();
        idle_deadline = Instant::now() + ctx.config.connections_max_idle;
    }
    debug!("connection closed");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_kafka() {
        let c = ServerConfig::default();
        assert!(c.auto_create_topics);
        assert_eq!(c.max_request_bytes, 104_857_600);
        assert_eq!(c.connections_max_idle, Duration::from_millis(600_000));
        assert_eq!(c.fetch_max_bytes, 57_671_680);
    }
}
