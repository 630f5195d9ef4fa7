//! Kafka request framing: a frame is a big-endian `i32` size followed by that many bytes.
//!
//! As in mini-redis, checking whether a whole frame is buffered ([`check`]) is kept apart from
//! parsing it ([`RequestFrame::parse`]), so a partial read is never half-parsed. The size is
//! validated before anything is allocated for the frame: a client that announces a huge or negative
//! size is refused without the server reserving that memory.

use bytes::{Buf, Bytes, BytesMut};
use thiserror::Error;

/// Size of the length prefix in front of every Kafka frame.
pub const SIZE_PREFIX: usize = 4;

/// The fixed part of every request header: api key, api version, correlation id.
const FIXED_HEADER: usize = 8;

/// Why a frame could not be read; each closes the connection it came from.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    /// The size prefix is negative or too small to hold a request header.
    #[error("frame size {0} is invalid (a request needs at least {FIXED_HEADER} bytes)")]
    InvalidSize(i32),
    /// The size prefix is over the configured maximum (Kafka's `socket.request.max.bytes`).
    #[error("frame of {size} bytes exceeds the maximum request size of {max} bytes")]
    TooLarge {
        /// The size the client announced.
        size: usize,
        /// The configured limit.
        max: usize,
    },
}

/// Is a whole frame buffered at the front of `buf`? Returns the length of its body (without the
/// size prefix) when it is, `None` when more bytes are needed.
pub fn check(buf: &[u8], max_size: usize) -> Result<Option<usize>, FrameError> {
    if buf.len() < SIZE_PREFIX {
        return Ok(None);
    }
    let size = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if size < FIXED_HEADER as i32 {
        return Err(FrameError::InvalidSize(size));
    }
    let size = size as usize;
    if size > max_size {
        return Err(FrameError::TooLarge {
            size,
            max: max_size,
        });
    }
    if buf.len() < SIZE_PREFIX + size {
        return Ok(None);
    }
    Ok(Some(size))
}

/// One request frame split into the fixed header fields and the rest (header tail and body).
///
/// The fixed fields are read by hand so that even a request whose API key or version we do not
/// know can be answered with the right correlation id.
#[derive(Debug, Clone)]
pub struct RequestFrame {
    /// The API key of the request (may be one we do not know).
    pub api_key: i16,
    /// The version of the API the client used.
    pub api_version: i16,
    /// Echoed back in the response so the client can match it.
    pub correlation_id: i32,
    /// The whole frame without its size prefix, header included.
    pub bytes: Bytes,
}

impl RequestFrame {
    /// Split the frame whose body is `len` bytes (as returned by [`check`]) off the front of `buf`.
    pub fn parse(buf: &mut BytesMut, len: usize) -> RequestFrame {
        buf.advance(SIZE_PREFIX);
        let bytes = buf.split_to(len).freeze();
        let mut fixed = &bytes[..FIXED_HEADER];
        let api_key = fixed.get_i16();
        let api_version = fixed.get_i16();
        let correlation_id = fixed.get_i32();
        RequestFrame {
            api_key,
            api_version,
            correlation_id,
            bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut v = (body.len() as i32).to_be_bytes().to_vec();
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn partial_frames_need_more_bytes() {
        let f = frame(&[0, 18, 0, 3, 0, 0, 0, 7, 0xff, 0xff]);
        for cut in 0..f.len() {
            assert_eq!(check(&f[..cut], 1024), Ok(None), "cut at {cut}");
        }
        assert_eq!(check(&f, 1024), Ok(Some(10)));
    }

    #[test]
    fn parse_reads_fixed_header_and_leaves_the_rest() {
        let mut f = frame(&[0, 18, 0, 3, 0, 0, 0, 7, 0xff, 0xff]);
        f.extend_from_slice(&[1, 2, 3]);
        let mut buf = BytesMut::from(&f[..]);
        let len = check(&buf, 1024).unwrap().unwrap();
        let req = RequestFrame::parse(&mut buf, len);
        assert_eq!(
            (req.api_key, req.api_version, req.correlation_id),
            (18, 3, 7)
        );
        assert_eq!(req.bytes.len(), 10);
        assert_eq!(&buf[..], &[1, 2, 3]);
    }

    #[test]
    fn oversized_and_negative_sizes_are_refused() {
        let big = (200_000_000i32).to_be_bytes();
        assert_eq!(
            check(&big, 1024),
            Err(FrameError::TooLarge {
                size: 200_000_000,
                max: 1024
            })
        );
        assert_eq!(
            check(&(-5i32).to_be_bytes(), 1024),
            Err(FrameError::InvalidSize(-5))
        );
        assert_eq!(
            check(&3i32.to_be_bytes(), 1024),
            Err(FrameError::InvalidSize(3))
        );
    }
}
