//! The Postgres listener's guard: the limits of [`PgLimits`] enforced between a client's socket
//! and the protocol handler.
//!
//! The `pgwire` crate reads whole messages of up to 1 GiB into memory and gives a client 60 s to
//! start up, neither adjustable. So the listener hands the handler one end of a socket pair and
//! relays the client's bytes to it, reading only the framing: each message's type and length.
//! A message announcing more than `max_message_bytes` ends the connection with FATAL 54000
//! (program_limit_exceeded) before its body is read; a client that has not reached
//! ReadyForQuery (start-up and login done) within `startup_timeout` is closed, as Postgres's
//! `authentication_timeout` does. SSLRequest and GSSENCRequest are answered "N" here (no TLS
//! yet), exactly as the handler would.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::{Buf, BufMut, BytesMut};
use pgwire::api::PgWireServerHandlers;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::pgwire::server::PgLimits;

/// Request codes of the untyped start-up packets.
const SSL_REQUEST: i32 = 80_877_103;
const GSSENC_REQUEST: i32 = 80_877_104;

/// Largest start-up packet (Postgres's MAX_STARTUP_PACKET_LENGTH).
const MAX_STARTUP_PACKET: usize = 10_000;

/// Bytes relayed per read.
const CHUNK: usize = 16 * 1024;

/// An ErrorResponse with severity `severity`, SQLSTATE `code` and `message`.
fn error_response(severity: &str, code: &str, message: &str) -> BytesMut {
    let mut body = BytesMut::new();
    for (tag, value) in [
        (b'S', severity),
        (b'V', severity),
        (b'C', code),
        (b'M', message),
    ] {
        body.put_u8(tag);
        body.put_slice(value.as_bytes());
        body.put_u8(0);
    }
    body.put_u8(0);
    let mut out = BytesMut::with_capacity(body.len() + 5);
    out.put_u8(b'E');
    out.put_i32(body.len() as i32 + 4);
    out.put_slice(&body);
    out
}

/// Tells a client over the connection limit so (FATAL 53300) and closes its connection. As
/// Postgres does, the answer comes after the start-up packet (an SSLRequest first gets "N"), so
/// clients show the message instead of a failed TLS negotiation.
pub async fn refuse(mut socket: TcpStream, timeout: Duration) {
    let message = error_response("FATAL", "53300", "sorry, too many clients already");
    let _ = tokio::time::timeout(timeout, async {
        loop {
            let mut header = [0u8; 8];
            socket.read_exact(&mut header).await?;
            let len = i32::from_be_bytes([header[0], header[1], header[2], header[3]]);
            let code = i32::from_be_bytes([header[4], header[5], header[6], header[7]]);
            if len == 8 && (code == SSL_REQUEST || code == GSSENC_REQUEST) {
                socket.write_all(b"N").await?;
                continue;
            }
            if !(8..=MAX_STARTUP_PACKET as i32).contains(&len) {
                break;
            }
            let mut rest = vec![0u8; len as usize - 8];
            socket.read_exact(&mut rest).await?;
            break;
        }
        socket.write_all(&message).await?;
        socket.shutdown().await
    })
    .await;
}

/// Serves one client: the protocol handler on one end of a socket pair, the client's bytes
/// relayed to it under `limits`. Returns when both are done.
pub async fn serve<H>(client: TcpStream, limits: PgLimits, handlers: H) -> io::Result<()>
where
    H: PgWireServerHandlers + 'static,
{
    let (inner, outer) = UnixStream::pair()?;
    let handler = pgwire::tokio::process_socket_unix(inner, handlers);
    let relay = relay(client, outer, limits);
    let (handled, relayed) = tokio::join!(handler, relay);
    relayed?;
    handled
}

/// Why the relay ended the connection.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("message of {0} bytes is over the limit of {1}")]
    TooLarge(usize, usize),
    #[error("malformed message length {0}")]
    BadLength(i32),
    #[error("start-up not finished within {0:?}")]
    StartupTimeout(Duration),
}

async fn relay(client: TcpStream, handler: UnixStream, limits: PgLimits) -> io::Result<()> {
    let (client_read, client_write) = client.into_split();
    let (handler_read, handler_write) = handler.into_split();
    let client_write = Arc::new(Mutex::new(client_write));
    let started = Arc::new(AtomicBool::new(false));
    let upstream = to_handler(
        client_read,
        handler_write,
        client_write.clone(),
        started.clone(),
        limits,
    );
    let downstream = to_client(handler_read, client_write.clone(), started);
    tokio::pin!(upstream);
    tokio::pin!(downstream);
    // The connection ends when either direction ends: the client went away, the handler closed
    // (Terminate, a fatal error), or a limit was hit.
    tokio::select! {
        result = &mut upstream => {
            if let Err(refusal) = result {
                warn!(%refusal, "closing a Postgres connection");
                let (code, text) = match &refusal {
                    Refusal::TooLarge(..) | Refusal::BadLength(_) => ("54000", refusal.to_string()),
                    Refusal::StartupTimeout(_) => ("08P01", refusal.to_string()),
                };
                let message = error_response("FATAL", code, &text);
                let mut w = client_write.lock().await;
                let _ = tokio::time::timeout(Duration::from_secs(1), w.write_all(&message)).await;
            } else {
                // The client closed its side: let the handler finish writing, briefly.
                let _ = tokio::time::timeout(Duration::from_secs(5), &mut downstream).await;
            }
        }
        result = &mut downstream => {
            if let Err(e) = result {
                debug!(error = %e, "relay to the client ended");
            }
        }
    }
    let _ = client_write.lock().await.shutdown().await;
    Ok(())
}

/// Relays the handler's bytes to the client, noting ReadyForQuery (start-up is over).
async fn to_client(
    mut from: impl AsyncRead + Unpin,
    to: Arc<Mutex<tokio::net::tcp::OwnedWriteHalf>>,
    started: Arc<AtomicBool>,
) -> io::Result<()> {
    let mut buf = vec![0u8; CHUNK];
    // Bytes of the current message still to pass, and a partial header.
    let mut remaining = 0usize;
    let mut header: Vec<u8> = Vec::with_capacity(5);
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        if !started.load(Ordering::Acquire) {
            let mut chunk = &buf[..n];
            while !chunk.is_empty() {
                if remaining > 0 {
                    let step = remaining.min(chunk.len());
                    remaining -= step;
                    chunk = &chunk[step..];
                    continue;
                }
                let need = 5 - header.len();
                let take = need.min(chunk.len());
                header.extend_from_slice(&chunk[..take]);
                chunk = &chunk[take..];
                if header.len() == 5 {
                    if header[0] == b'Z' {
                        started.store(true, Ordering::Release);
                    }
                    let len = i32::from_be_bytes([header[1], header[2], header[3], header[4]]);
                    remaining = (len.max(4) - 4) as usize;
                    header.clear();
                }
            }
        }
        to.lock().await.write_all(&buf[..n]).await?;
    }
}

/// Relays the client's bytes to the handler, checking each message's length before its body
/// and the start-up deadline.
async fn to_handler(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    client_write: Arc<Mutex<tokio::net::tcp::OwnedWriteHalf>>,
    started: Arc<AtomicBool>,
    limits: PgLimits,
) -> Result<(), Refusal> {
    let deadline = Instant::now() + limits.startup_timeout;
    let mut buf = BytesMut::with_capacity(CHUNK);
    // Start-up packets have no type byte; every message after the StartupMessage has one.
    let mut in_startup = true;
    // Bytes of the current message's body still to pass.
    let mut remaining = 0usize;
    loop {
        // Frame what is buffered.
        loop {
            if remaining > 0 {
                if buf.is_empty() {
                    break;
                }
                let step = remaining.min(buf.len());
                let part = buf.split_to(step);
                if to.write_all(&part).await.is_err() {
                    return Ok(());
                }
                remaining -= step;
                continue;
            }
            let header_len = if in_startup { 8 } else { 5 };
            if buf.len() < header_len {
                break;
            }
            if in_startup {
                let len = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
                let code = i32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
                if !(8..=MAX_STARTUP_PACKET as i32).contains(&len) {
                    return Err(Refusal::BadLength(len));
                }
                if len == 8 && (code == SSL_REQUEST || code == GSSENC_REQUEST) {
                    // No TLS or GSS encryption: say so and read the real start-up packet.
                    buf.advance(8);
                    let mut w = client_write.lock().await;
                    if w.write_all(b"N").await.is_err() {
                        return Ok(());
                    }
                    continue;
                }
                in_startup = false;
                remaining = len as usize;
            } else {
                let len = i32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]);
                if len < 4 {
                    return Err(Refusal::BadLength(len));
                }
                let size = len as usize + 1;
                if size > limits.max_message_bytes {
                    return Err(Refusal::TooLarge(size, limits.max_message_bytes));
                }
                remaining = size;
            }
        }
        if buf.capacity() - buf.len() < CHUNK / 2 {
            buf.reserve(CHUNK);
        }
        let read = if started.load(Ordering::Acquire) {
            from.read_buf(&mut buf).await
        } else {
            match tokio::time::timeout_at(deadline, from.read_buf(&mut buf)).await {
                Ok(read) => read,
                // Start-up finished while this read waited (the client is idle now): go on.
                Err(_) if started.load(Ordering::Acquire) => continue,
                Err(_) => return Err(Refusal::StartupTimeout(limits.startup_timeout)),
            }
        };
        match read {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return Ok(());
            }
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_responses_are_well_formed() {
        let e = error_response("FATAL", "53300", "too many");
        assert_eq!(e[0], b'E');
        let len = i32::from_be_bytes([e[1], e[2], e[3], e[4]]) as usize;
        assert_eq!(len + 1, e.len());
        assert!(e.ends_with(b"too many\0\0"));
    }
}
