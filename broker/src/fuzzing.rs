//! Entry points for the fuzz targets in `fuzz/` and for the tests that replay their saved inputs
//! (`broker/tests/fuzz_replay.rs`): each takes arbitrary bytes, runs them through the same code
//! the server runs on client input, and must return (never panic, abort or allocate without
//! bound) whatever the bytes are.

use std::net::{Ipv4Addr, SocketAddr};

use bytes::{BufMut, BytesMut};

use crate::log::{batch, inflate, validator};
use crate::protocol::{dispatch, frame};
use crate::topic::TopicConfig;

/// The request-size limit the Kafka target decodes under (Kafka's `socket.request.max.bytes`).
const MAX_REQUEST_BYTES: usize = 100 * 1024 * 1024;

/// Feeds `data` to the Kafka request path as a connection's byte stream: every whole frame is
/// split off ([`frame::check`], [`frame::RequestFrame::parse`]), its header decoded
/// ([`dispatch::decode_header`]) and its body decoded at the client's version
/// ([`dispatch::decode_request`]). Returns how many bodies decoded.
pub fn kafka_request(data: &[u8]) -> usize {
    let peer = SocketAddr::from((Ipv4Addr::LOCALHOST, 9092));
    let mut buf = BytesMut::from(data);
    let mut decoded = 0;
    while let Ok(Some(len)) = frame::check(&buf, MAX_REQUEST_BYTES) {
        let f = frame::RequestFrame::parse(&mut buf, len);
        let Ok(header) = dispatch::decode_header(&f, peer) else {
            break; // the server closes the connection here
        };
        match dispatch::decode_request(&header) {
            Ok(Some(_)) => decoded += 1,
            Ok(None) => {}
            Err(_) => break,
        }
    }
    decoded
}

/// Feeds `data` to the append path's batch checks. The first byte picks the codec (low 3 bits)
/// and whether the rest of the records part is compressed here first (bit 3: so that the record
/// parser behind every codec sees structured input) or handed to the decompressor as is. The
/// batch length, magic and CRC are fixed up so the input gets past the frame checks. Runs
/// [`batch::split_batches`], [`validator::check_batch`] and [`inflate::decode_batch`]; returns
/// whether the batch was accepted.
pub fn record_batch(data: &[u8]) -> bool {
    let Some((&mode, rest)) = data.split_first() else {
        return false;
    };
    if rest.len() < batch::HEADER_SIZE {
        return false;
    }
    let codec = i16::from(mode & 0x7);
    let (head, records) = rest.split_at(batch::HEADER_SIZE);
    let records = if mode & 0x8 != 0 {
        compress(codec, records)
    } else {
        records.to_vec()
    };
    let mut b = BytesMut::with_capacity(head.len() + records.len());
    b.put_slice(head);
    b.put_slice(&records);
    let len = (b.len() - batch::LOG_OVERHEAD) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    b[16] = 2;
    let attributes = (i16::from_be_bytes([b[21], b[22]]) & !0x7) | codec;
    b[21..23].copy_from_slice(&attributes.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());

    let config = TopicConfig {
        max_message_bytes: 1024 * 1024,
        ..TopicConfig::default()
    };
    let Ok(parts) = batch::split_batches(&b) else {
        return false;
    };
    let mut ok = true;
    for (range, h) in &parts {
        let one = &b[range.clone()];
        ok &= validator::check_batch(one, h, &config, 1_700_000_000_000).is_ok();
        let _ = inflate::decode_batch(one, config.max_message_bytes);
    }
    let mut owned = b.clone();
    let _ = validator::validate_append(&mut owned, &parts, &config, 1_700_000_000_000);
    ok
}

/// Compresses `data` with the codec numbered as in a batch's attributes (5-7: left as is).
fn compress(codec: i16, data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    match codec {
        1 => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            let _ = e.write_all(data);
            e.finish().unwrap_or_default()
        }
        2 => snap::raw::Encoder::new()
            .compress_vec(data)
            .unwrap_or_default(),
        3 => {
            let Ok(mut e) = lz4::EncoderBuilder::new().build(Vec::new()) else {
                return Vec::new();
            };
            let _ = e.write_all(data);
            e.finish().0
        }
        4 => zstd::stream::encode_all(data, 1).unwrap_or_default(),
        _ => data.to_vec(),
    }
}
