//! A client connection: bytes in, request frames out; response bytes in, bytes on the socket out.
//!
//! Nothing else happens here (mini-redis's `connection.rs` split): the request loop in
//! [`super::server`] decides what to do with each frame.

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::frame::{self, FrameError, RequestFrame};

/// Why reading from or writing to a connection failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The socket failed.
    #[error("socket error: {0}")]
    Io(#[from] std::io::Error),
    /// The client sent bytes that are not a Kafka frame.
    #[error("malformed frame: {0}")]
    Frame(#[from] FrameError),
    /// The client closed the connection in the middle of a frame.
    #[error("connection closed by peer in the middle of a frame ({0} bytes buffered)")]
    Truncated(usize),
    /// No request arrived within the idle limit (Kafka's `connections.max.idle.ms`).
    #[error("no request arrived within the idle limit")]
    Idle,
    /// A frame was started but not finished within the request read timeout.
    #[error("a request frame was not completed within {0:?} ({1} bytes buffered)")]
    RequestTimeout(Duration, usize),
}

/// A buffered Kafka connection.
#[derive(Debug)]
pub struct Connection {
    stream: BufWriter<TcpStream>,
    buffer: BytesMut,
    max_frame: usize,
}

impl Connection {
    /// Wrap an accepted socket; frames larger than `max_frame` bytes are refused.
    pub fn new(socket: TcpStream, max_frame: usize) -> Connection {
        Connection {
            stream: BufWriter::new(socket),
            buffer: BytesMut::with_capacity(8 * 1024),
            max_frame,
        }
    }

    /// Read the next request frame; `Ok(None)` when the peer closed the connection cleanly.
    ///
    /// Cancel-safe: bytes read so far stay in the buffer.
    pub async fn read_frame(&mut self) -> Result<Option<RequestFrame>, ConnectionError> {
        loop {
            if let Some(len) = frame::check(&self.buffer, self.max_frame)? {
                return Ok(Some(RequestFrame::parse(&mut self.buffer, len)));
            }
            if self.stream.read_buf(&mut self.buffer).await? == 0 {
                return if self.buffer.is_empty() {
                    Ok(None)
                } else {
                    Err(ConnectionError::Truncated(self.buffer.len()))
                };
            }
        }
    }

    /// Read the next request frame like [`Connection::read_frame`], but give up with
    /// [`ConnectionError::Idle`] when no byte of a new frame arrives by `idle_deadline`, and with
    /// [`ConnectionError::RequestTimeout`] when a frame whose first bytes arrived is not whole
    /// `request_timeout` later (a client that sends a frame slowly, or half of one, holds no
    /// connection slot forever). Cancel-safe like `read_frame`.
    pub async fn read_frame_within(
        &mut self,
        idle_deadline: Instant,
        request_timeout: Duration,
    ) -> Result<Option<RequestFrame>, ConnectionError> {
        let mut frame_deadline = None;
        loop {
            if let Some(len) = frame::check(&self.buffer, self.max_frame)? {
                return Ok(Some(RequestFrame::parse(&mut self.buffer, len)));
            }
            if !self.buffer.is_empty() && frame_deadline.is_none() {
                frame_deadline = Some(Instant::now() + request_timeout);
            }
            let deadline = frame_deadline.unwrap_or(idle_deadline);
            let read = tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buffer));
            let n = match read.await {
                Ok(n) => n?,
                Err(_) if frame_deadline.is_some() => {
                    return Err(ConnectionError::RequestTimeout(
                        request_timeout,
                        self.buffer.len(),
                    ));
                }
                Err(_) => return Err(ConnectionError::Idle),
            };
            if n == 0 {
                return if self.buffer.is_empty() {
                    Ok(None)
                } else {
                    Err(ConnectionError::Truncated(self.buffer.len()))
                };
            }
        }
    }

    /// Write one whole response frame (size prefix included) and flush it.
    pub async fn write_frame(&mut self, frame: &[u8]) -> Result<(), ConnectionError> {
        self.stream.write_all(frame).await?;
        self.stream.flush().await?;
        Ok(())
    }
}
