//! One TCP connection to a Kafka server, with pipelining.
//!
//! Kafka answers the requests of one connection in the order they were sent, each response
//! carrying the request's correlation id. A [`Connection`] therefore lets many tasks send at once:
//! a sender takes the write lock, registers a waiter under a fresh correlation id and writes its
//! frame; a single reader task reads size-prefixed response frames and hands each body to the
//! waiter with the same id. Several produce or fetch requests can so be in flight on one socket,
//! which is what gives the producer its throughput.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::oneshot;
use tracing::{Instrument, debug, warn};

use super::error::{ClientError, Result};

/// Responses larger than this are refused (a fetch response is bounded by the request's
/// `max_bytes`, so this only trips on a corrupt length).
const MAX_RESPONSE_BYTES: usize = 1 << 30;

type Waiter = oneshot::Sender<Result<Bytes>>;

/// Waiters for responses, keyed by correlation id.
struct Pending {
    waiters: HashMap<i32, (i16, Waiter)>,
    /// Set once the reader stopped; later senders fail at once with this reason.
    closed: Option<String>,
}

/// A pipelined connection to one Kafka server. Cheap to share behind an `Arc`.
pub(crate) struct Connection {
    addr: String,
    client_id: StrBytes,
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
    pending: Arc<Mutex<Pending>>,
    next_correlation_id: AtomicI32,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Connection {
    /// Opens a connection to `addr` (`host:port`).
    pub(crate) async fn connect(addr: &str, client_id: &str) -> Result<Connection> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|source| ClientError::Connect {
                addr: addr.to_owned(),
                source,
            })?;
        // Small requests (heartbeats, single-record produces) must not wait for Nagle.
        stream
            .set_nodelay(true)
            .map_err(|source| ClientError::Connect {
                addr: addr.to_owned(),
                source,
            })?;
        let (read, write) = stream.into_split();
        let pending = Arc::new(Mutex::new(Pending {
            waiters: HashMap::new(),
            closed: None,
        }));
        let span = tracing::debug_span!("kafka_connection", peer = %addr);
        let reader = tokio::spawn(
            read_responses(
                BufReader::with_capacity(256 * 1024, read),
                pending.clone(),
                addr.to_owned(),
            )
            .instrument(span),
        );
        Ok(Connection {
            addr: addr.to_owned(),
            client_id: StrBytes::from_string(client_id.to_owned()),
            writer: tokio::sync::Mutex::new(write),
            pending,
            next_correlation_id: AtomicI32::new(1),
            reader,
        })
    }

    /// The server address this connection was opened to.
    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends `request` at `version` and waits for its response.
    pub(crate) async fn send<R: Request>(&self, request: &R, version: i16) -> Result<R::Response> {
        self.enqueue(request, version).await?.wait().await
    }

    /// Writes `request` to the socket and returns a handle that waits for its response.
    /// Requests are on the wire in the order `enqueue` calls complete, so a caller that awaits
    /// `enqueue` before sending the next request keeps its requests in order.
    pub(crate) async fn enqueue<R: Request>(
        &self,
        request: &R,
        version: i16,
    ) -> Result<PendingResponse<R::Response>> {
        let (frame, correlation_id) = self.encode(request, version)?;
        let (tx, rx) = oneshot::channel();
        let mut writer = self.writer.lock().await;
        {
            let mut pending = self.pending.lock();
            if let Some(reason) = &pending.closed {
                return Err(self.closed(reason.clone()));
            }
            let response_header = <R::Response as HeaderVersion>::header_version(version);
            pending
                .waiters
                .insert(correlation_id, (response_header, tx));
        }
        self.write(&mut writer, frame, correlation_id).await?;
        Ok(PendingResponse {
            rx,
            version,
            api_key: R::KEY,
            addr: self.addr.clone(),
            _response: std::marker::PhantomData,
        })
    }

    /// Sends `request` without waiting for a response (a produce with acks=0, which Kafka never
    /// answers).
    pub(crate) async fn send_no_response<R: Request>(
        &self,
        request: &R,
        version: i16,
    ) -> Result<()> {
        let (frame, correlation_id) = self.encode(request, version)?;
        let mut writer = self.writer.lock().await;
        if let Some(reason) = &self.pending.lock().closed {
            return Err(self.closed(reason.clone()));
        }
        self.write(&mut writer, frame, correlation_id).await
    }

    /// Writes one frame. A frame cut short (an I/O error, or the caller's future dropped by a
    /// timeout in the middle of the write) leaves the stream unusable, so either poisons the
    /// connection: outstanding and later requests fail instead of reading garbage.
    async fn write(
        &self,
        writer: &mut OwnedWriteHalf,
        frame: BytesMut,
        correlation_id: i32,
    ) -> Result<()> {
        let mut guard = PoisonOnDrop {
            pending: &self.pending,
            addr: &self.addr,
            reason: Some("a request was abandoned while it was being written".to_owned()),
        };
        match write_frame(writer, frame, correlation_id).await {
            Ok(()) => {
                guard.reason = None;
                Ok(())
            }
            Err(e) => {
                let reason = format!("write failed: {e}");
                guard.reason = Some(reason.clone());
                Err(self.closed(reason))
            }
        }
    }

    fn encode<R: Request>(&self, request: &R, version: i16) -> Result<(BytesMut, i32)> {
        let correlation_id = self.next_correlation_id.fetch_add(1, Ordering::Relaxed);
        let mut header = RequestHeader::default();
        header.request_api_key = R::KEY;
        header.request_api_version = version;
        header.correlation_id = correlation_id;
        header.client_id = Some(self.client_id.clone());
        let header_version = R::header_version(version);
        let size = header
            .compute_size(header_version)
            .and_then(|h| request.compute_size(version).map(|b| h + b))
            .map_err(|e| protocol_error(R::KEY, e))?;
        let mut frame = BytesMut::with_capacity(4 + size);
        frame.put_i32(size as i32);
        header
            .encode(&mut frame, header_version)
            .map_err(|e| protocol_error(R::KEY, e))?;
        request
            .encode(&mut frame, version)
            .map_err(|e| protocol_error(R::KEY, e))?;
        Ok((frame, correlation_id))
    }

    fn closed(&self, reason: String) -> ClientError {
        ClientError::ConnectionClosed {
            addr: self.addr.clone(),
            reason,
        }
    }
}

/// Marks the connection closed and fails every waiter when dropped with a reason set.
struct PoisonOnDrop<'a> {
    pending: &'a Mutex<Pending>,
    addr: &'a str,
    reason: Option<String>,
}

impl Drop for PoisonOnDrop<'_> {
    fn drop(&mut self) {
        let Some(reason) = self.reason.take() else {
            return;
        };
        warn!(peer = %self.addr, %reason, "closing the connection");
        let waiters = {
            let mut pending = self.pending.lock();
            pending.closed.get_or_insert(reason.clone());
            std::mem::take(&mut pending.waiters)
        };
        for (_, (_, waiter)) in waiters {
            let _ = waiter.send(Err(ClientError::ConnectionClosed {
                addr: self.addr.to_owned(),
                reason: reason.clone(),
            }));
        }
    }
}

/// A request on the wire whose response has not been read yet.
pub(crate) struct PendingResponse<T> {
    rx: oneshot::Receiver<Result<Bytes>>,
    version: i16,
    api_key: i16,
    addr: String,
    _response: std::marker::PhantomData<fn() -> T>,
}

impl<T: Decodable> PendingResponse<T> {
    /// Waits for the response and decodes it.
    pub(crate) async fn wait(self) -> Result<T> {
        let mut body = match self.rx.await {
            Ok(result) => result?,
            Err(_) => {
                return Err(ClientError::ConnectionClosed {
                    addr: self.addr,
                    reason: "the reader stopped".to_owned(),
                });
            }
        };
        T::decode(&mut body, self.version).map_err(|e| protocol_error(self.api_key, e))
    }
}

fn protocol_error(api_key: i16, e: impl std::fmt::Display) -> ClientError {
    ClientError::Protocol {
        api: api_name(api_key),
        reason: e.to_string(),
    }
}

/// The API's name as Kafka spells it in documentation (`Produce`, `JoinGroup`).
pub(crate) fn api_name(api_key: i16) -> &'static str {
    use kafka_protocol::messages::ApiKey;
    match ApiKey::try_from(api_key) {
        Ok(ApiKey::Produce) => "Produce",
        Ok(ApiKey::Fetch) => "Fetch",
        Ok(ApiKey::ListOffsets) => "ListOffsets",
        Ok(ApiKey::Metadata) => "Metadata",
        Ok(ApiKey::OffsetCommit) => "OffsetCommit",
        Ok(ApiKey::OffsetFetch) => "OffsetFetch",
        Ok(ApiKey::FindCoordinator) => "FindCoordinator",
        Ok(ApiKey::JoinGroup) => "JoinGroup",
        Ok(ApiKey::Heartbeat) => "Heartbeat",
        Ok(ApiKey::LeaveGroup) => "LeaveGroup",
        Ok(ApiKey::SyncGroup) => "SyncGroup",
        Ok(ApiKey::ApiVersions) => "ApiVersions",
        Ok(ApiKey::CreateTopics) => "CreateTopics",
        Ok(ApiKey::DeleteTopics) => "DeleteTopics",
        Ok(ApiKey::DescribeConfigs) => "DescribeConfigs",
        Ok(ApiKey::InitProducerId) => "InitProducerId",
        _ => "Kafka API",
    }
}

/// Writes one size-prefixed request frame.
async fn write_frame(
    writer: &mut OwnedWriteHalf,
    frame: BytesMut,
    correlation_id: i32,
) -> std::io::Result<()> {
    debug!(correlation_id, bytes = frame.len(), "sending request");
    writer.write_all(&frame).await
}

/// Reads response frames until the stream ends, routing each body to its waiter. When the stream
/// ends or breaks, every outstanding waiter gets the reason.
async fn read_responses(
    mut reader: BufReader<OwnedReadHalf>,
    pending: Arc<Mutex<Pending>>,
    addr: String,
) {
    let reason = loop {
        match read_one(&mut reader, &pending).await {
            Ok(()) => {}
            Err(reason) => break reason,
        }
    };
    debug!(%reason, "connection reader stopped");
    let waiters = {
        let mut pending = pending.lock();
        pending.closed = Some(reason.clone());
        std::mem::take(&mut pending.waiters)
    };
    for (_, (_, waiter)) in waiters {
        let _ = waiter.send(Err(ClientError::ConnectionClosed {
            addr: addr.clone(),
            reason: reason.clone(),
        }));
    }
}

async fn read_one(
    reader: &mut BufReader<OwnedReadHalf>,
    pending: &Mutex<Pending>,
) -> Result<(), String> {
    let size = match reader.read_i32().await {
        Ok(size) => size,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err("the server closed the connection".to_owned());
        }
        Err(e) => return Err(e.to_string()),
    };
    if size < 4 || size as usize > MAX_RESPONSE_BYTES {
        return Err(format!("response frame of {size} bytes is not valid"));
    }
    let mut frame = BytesMut::zeroed(size as usize);
    reader
        .read_exact(&mut frame)
        .await
        .map_err(|e| e.to_string())?;
    let mut frame = frame.freeze();
    let correlation_id = (&frame[..4]).get_i32();
    let Some((header_version, waiter)) = pending.lock().waiters.remove(&correlation_id) else {
        warn!(
            correlation_id,
            "response for a request nobody waits for; closing the connection"
        );
        return Err(format!(
            "unexpected response with correlation id {correlation_id}"
        ));
    };
    let result = ResponseHeader::decode(&mut frame, header_version)
        .map(|_| frame)
        .map_err(|e| ClientError::Protocol {
            api: "response header",
            reason: e.to_string(),
        });
    // The waiter may have given up (timeout); that is not the connection's problem.
    let _ = waiter.send(result);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};
    use tokio::net::TcpListener;

    /// A fake server that answers `answers` ApiVersions requests (v0) and then hangs up.
    async fn fake_server(answers: usize) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            for _ in 0..answers {
                let size = socket.read_i32().await.unwrap();
                let mut frame = vec![0u8; size as usize];
                socket.read_exact(&mut frame).await.unwrap();
                let correlation_id = (&frame[4..8]).get_i32();
                let mut body = BytesMut::new();
                let mut response = ApiVersionsResponse::default();
                response.error_code = 0;
                response.encode(&mut body, 0).unwrap();
                let mut out = BytesMut::new();
                out.put_i32(4 + body.len() as i32);
                out.put_i32(correlation_id);
                out.extend_from_slice(&body);
                socket.write_all(&out).await.unwrap();
            }
        });
        addr
    }

    #[tokio::test]
    async fn answers_by_correlation_id_then_reports_the_hang_up() {
        let addr = fake_server(2).await;
        let conn = Connection::connect(&addr, "test").await.unwrap();
        let request = ApiVersionsRequest::default();
        // Two requests in flight at once, both answered.
        let first = conn.enqueue(&request, 0).await.unwrap();
        let second = conn.enqueue(&request, 0).await.unwrap();
        let (a, b) = tokio::join!(first.wait(), second.wait());
        assert_eq!(a.unwrap().error_code, 0);
        assert_eq!(b.unwrap().error_code, 0);
        // The server hung up: the next request fails with the reason, not a hang.
        let err = conn.send(&request, 0).await.unwrap_err();
        assert!(matches!(err, ClientError::ConnectionClosed { .. }), "{err}");
        let err = conn.send(&request, 0).await.unwrap_err();
        assert!(err.to_string().contains("closed"), "{err}");
    }

    #[tokio::test]
    async fn refused_connection_names_the_address() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        drop(listener);
        let err = Connection::connect(&addr, "test").await.err().unwrap();
        assert!(err.to_string().contains(&addr), "{err}");
    }
}
