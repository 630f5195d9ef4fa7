//! [`Client`]: a connection to a Kafka server with negotiated API versions.
//!
//! Every other part of the client (admin calls, producer, consumers) sends its requests through
//! [`Client::request`], which picks the negotiated version, applies the request timeout and turns
//! transport failures into [`ClientError`]s. A `Client` is cheap to clone; clones share one
//! pipelined connection.
//!
//! Sluice is a single-node broker, so the client talks to the node it bootstrapped from and does
//! not route requests to partition leaders on other nodes. A consumer group opens one more
//! connection to the group coordinator for heartbeats, so that a long-polling fetch never delays
//! them.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};
use kafka_protocol::protocol::{Request, StrBytes};

use super::connection::{Connection, api_name};
use super::error::{ClientError, Result};
use super::versions::NegotiatedVersions;

/// How a [`Client`] connects and how long it waits.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Sent as the client id in every request header; the server logs it.
    pub client_id: String,
    /// How long a request may wait for its response (a fetch adds its own `max_wait`).
    pub request_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            client_id: "sluice-client".to_owned(),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// A connection to one Kafka server with the API versions both sides speak.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    connection: Connection,
    versions: NegotiatedVersions,
    config: ClientConfig,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("addr", &self.addr())
            .finish()
    }
}

impl Client {
    /// Connects to `bootstrap` (`host:port`) with default settings and negotiates API versions.
    pub async fn connect(bootstrap: &str) -> Result<Client> {
        Client::connect_with(bootstrap, ClientConfig::default()).await
    }

    /// Connects to `bootstrap` (`host:port`) and negotiates API versions.
    pub async fn connect_with(bootstrap: &str, config: ClientConfig) -> Result<Client> {
        if bootstrap
            .rsplit_once(':')
            .is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err())
        {
            return Err(ClientError::InvalidAddress {
                addr: bootstrap.to_owned(),
            });
        }
        let connect = Connection::connect(bootstrap, &config.client_id);
        let connection = tokio::time::timeout(config.request_timeout, connect)
            .await
            .map_err(|_| ClientError::Connect {
                addr: bootstrap.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"),
            })??;
        let versions = negotiate(&connection, &config).await?;
        Ok(Client {
            inner: Arc::new(Inner {
                connection,
                versions,
                config,
            }),
        })
    }

    /// Opens a second, independent connection to `addr` with the same settings (used for the
    /// group coordinator).
    pub async fn connect_to(&self, addr: &str) -> Result<Client> {
        Client::connect_with(addr, self.inner.config.clone()).await
    }

    /// The address of the server.
    pub fn addr(&self) -> &str {
        self.inner.connection.addr()
    }

    /// The client's settings.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The negotiated version of the API of `R`.
    pub fn version<R: Request>(&self) -> Result<i16> {
        self.inner
            .versions
            .get(R::KEY)
            .ok_or_else(|| ClientError::UnsupportedApi {
                api: api_name(R::KEY),
                addr: self.addr().to_owned(),
            })
    }

    /// Sends `request` at the negotiated version and waits up to the request timeout.
    pub async fn request<R: Request>(&self, request: &R) -> Result<R::Response> {
        let version = self.version::<R>()?;
        self.request_at(request, version, Duration::ZERO).await
    }

    /// Sends `request` at `version`, waiting up to the request timeout plus `extra_wait` (a
    /// long-polling fetch waits on the server on purpose).
    pub async fn request_at<R: Request>(
        &self,
        request: &R,
        version: i16,
        extra_wait: Duration,
    ) -> Result<R::Response> {
        let timeout = self.inner.config.request_timeout + extra_wait;
        match tokio::time::timeout(timeout, self.inner.connection.send(request, version)).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::Timeout {
                api: api_name(R::KEY),
                addr: self.addr().to_owned(),
                timeout_ms: timeout.as_millis(),
            }),
        }
    }

    /// Writes `request` at `version` now and returns a future for its response (with the request
    /// timeout), so that a caller can keep several requests in flight in a fixed order.
    pub(crate) async fn start_request<R: Request>(
        &self,
        request: &R,
        version: i16,
        extra_wait: Duration,
    ) -> Result<impl std::future::Future<Output = Result<R::Response>> + Send + 'static>
    where
        R::Response: Send + 'static,
    {
        let pending = self.inner.connection.enqueue(request, version).await?;
        let timeout = self.inner.config.request_timeout + extra_wait;
        let addr = self.addr().to_owned();
        Ok(async move {
            match tokio::time::timeout(timeout, pending.wait()).await {
                Ok(result) => result,
                Err(_) => Err(ClientError::Timeout {
                    api: api_name(R::KEY),
                    addr,
                    timeout_ms: timeout.as_millis(),
                }),
            }
        })
    }

    /// Sends `request` at `version` without waiting for a response (acks=0 produce).
    pub(crate) async fn send_no_response<R: Request>(
        &self,
        request: &R,
        version: i16,
    ) -> Result<()> {
        self.inner
            .connection
            .send_no_response(request, version)
            .await
    }
}

/// Asks the server which versions it speaks. Tries ApiVersions v3 first; a server that does not
/// know v3 answers with UNSUPPORTED_VERSION (in the v0 layout), and then v0 is used.
async fn negotiate(connection: &Connection, config: &ClientConfig) -> Result<NegotiatedVersions> {
    let mut request = ApiVersionsRequest::default();
    request.client_software_name = StrBytes::from_static_str("sluice");
    request.client_software_version = StrBytes::from_static_str(env!("CARGO_PKG_VERSION"));
    let send = |version| {
        let request = &request;
        async move {
            tokio::time::timeout(config.request_timeout, connection.send(request, version))
                .await
                .map_err(|_| ClientError::Timeout {
                    api: "ApiVersions",
                    addr: connection.addr().to_owned(),
                    timeout_ms: config.request_timeout.as_millis(),
                })?
        }
    };
    let response: ApiVersionsResponse = match send(NegotiatedVersions::api_versions_max()).await {
        Ok(response) if response.error_code == 0 => response,
        Ok(_) | Err(ClientError::Protocol { .. }) => send(0).await?,
        Err(e) => return Err(e),
    };
    super::error::check(
        response.error_code,
        || format!("ApiVersions from {}", connection.addr()),
        None,
    )?;
    Ok(NegotiatedVersions::from_response(&response))
}
