//! Encoding records into a batch and decoding batches back into records, for in-process writers
//! (the engine's sinks, the consumer-offsets store) and readers that want records, not bytes.
//!
//! The broker's own hot path never calls these: it stores and serves batches as bytes. Encoding
//! uses kafka-protocol's `RecordBatchEncoder` (no compression); decoding uses its
//! `RecordBatchDecoder`, which understands gzip, snappy, lz4 and zstd.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use crate::error::{BrokerError, Result};
use crate::log::batch::{BatchHeader, HEADER_SIZE};
use crate::log::inflate;

/// A plain record (no producer id, no headers) with the given key, value and timestamp (ms).
pub fn new_record(key: Option<&[u8]>, value: Option<&[u8]>, timestamp_ms: i64) -> Record {
    Record {
        key: key.map(Bytes::copy_from_slice),
        value: value.map(Bytes::copy_from_slice),
        ..plain_record(0, -1, timestamp_ms)
    }
}

/// A record of a non-idempotent, non-transactional producer: no producer id, no key, value or
/// headers (callers fill those in), `offset` and `sequence` as given. Encoders start a new batch
/// whenever `offset - sequence` changes, so the records of one batch keep that difference fixed
/// (`sequence = position - 1`: one batch whose base sequence is -1, as a Kafka producer without
/// idempotence writes it).
pub(crate) fn plain_record(offset: i64, sequence: i32, timestamp_ms: i64) -> Record {
    Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset,
        sequence,
        timestamp: timestamp_ms,
        key: None,
        value: None,
        headers: IndexMap::new(),
    }
}

/// Encodes `records` as one uncompressed v2 batch starting at `base_offset`, without a producer
/// id (offsets and producer fields of the input are ignored; keys, values, timestamps and headers
/// are kept).
pub fn encode_records(records: &[Record], base_offset: i64) -> Result<BytesMut> {
    if records.is_empty() {
        return Err(BrokerError::Codec("cannot encode an empty batch".into()));
    }
    let normalized: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, r)| Record {
            key: r.key.clone(),
            value: r.value.clone(),
            headers: r.headers.clone(),
            ..plain_record(base_offset + i as i64, i as i32 - 1, r.timestamp)
        })
        .collect();
    encode_with(&normalized, Compression::None)
}

/// Encodes `records` as one uncompressed transactional batch of `producer_id`/`epoch` (base
/// sequence `base_sequence`, or -1 for a writer without sequences: the broker's own writes).
pub fn encode_transactional_records(
    records: &[Record],
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
) -> Result<BytesMut> {
    if records.is_empty() {
        return Err(BrokerError::Codec("cannot encode an empty batch".into()));
    }
    let normalized: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, r)| Record {
            key: r.key.clone(),
            value: r.value.clone(),
            headers: r.headers.clone(),
            transactional: true,
            producer_id,
            producer_epoch,
            ..plain_record(
                i as i64,
                if base_sequence < 0 {
                    i as i32 - 1
                } else {
                    base_sequence.wrapping_add(i as i32)
                },
                r.timestamp,
            )
        })
        .collect();
    encode_with(&normalized, Compression::None)
}

/// Encodes records keeping their offsets, sequences and producer fields (compaction re-encodes
/// surviving records this way).
pub(crate) fn encode_with(records: &[Record], compression: Compression) -> Result<BytesMut> {
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode(&mut buf, records.iter(), &options)
        .map_err(|e| BrokerError::Codec(e.to_string()))?;
    Ok(buf)
}

/// Decodes every record in a buffer of concatenated v2 batches (what [`crate::ReadResult`] holds),
/// decompressing as needed (each batch may inflate to at most
/// [`inflate::DEFAULT_MAX_INFLATED_BYTES`]). Records carry their absolute offsets; under
/// LogAppendTime each record gets its batch's append time, as Kafka's clients do. A trailing
/// partial batch is ignored.
pub fn decode_records(bytes: &[u8]) -> Result<Vec<Record>> {
    decode_records_capped(bytes, inflate::DEFAULT_MAX_INFLATED_BYTES)
}

/// [`decode_records`] with each batch's records allowed to inflate to at most `max_inflated`
/// bytes (CORRUPT_MESSAGE beyond).
pub fn decode_records_capped(bytes: &[u8], max_inflated: usize) -> Result<Vec<Record>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + HEADER_SIZE <= bytes.len() {
        let header = BatchHeader::parse(&bytes[pos..])?;
        let end = pos + header.size();
        if end > bytes.len() {
            break;
        }
        let set = inflate::decode_batch(&bytes[pos..end], max_inflated)?;
        out.extend(set.records.into_iter().map(|mut r| {
            if r.timestamp_type == TimestampType::LogAppend {
                r.timestamp = header.max_timestamp;
            }
            r
        }));
        pos = end;
    }
    Ok(out)
}

/// Writes a Kafka STRING (int16 length, then the bytes) as the internal topics' keys and values
/// hold them. A string longer than an int16 can say is cut at 32,767 bytes (on a character boundary) rather than written
/// with a length that wraps negative (which would make the record unreadable).
pub(crate) fn put_str16(buf: &mut BytesMut, s: &str) {
    let mut len = s.len().min(i16::MAX as usize);
    while !s.is_char_boundary(len) {
        len -= 1;
    }
    buf.put_i16(len as i16);
    buf.put_slice(&s.as_bytes()[..len]);
}

/// Reads what [`put_str16`] wrote (a negative length is the empty string); None when the bytes
/// run out or are not UTF-8.
pub(crate) fn get_str16(buf: &mut Bytes) -> Option<String> {
    if buf.remaining() < 2 {
        return None;
    }
    let len = buf.get_i16();
    if len < 0 {
        return Some(String::new());
    }
    let len = len as usize;
    if buf.remaining() < len {
        return None;
    }
    String::from_utf8(buf.split_to(len).to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_longer_than_an_int16_length_stays_readable() {
        // A group id from a flexible-version request (compact string) can exceed 32,767 bytes;
        // its length must not wrap negative, and the cut must not split a character.
        let long = format!("g{}", "é".repeat(20_000));
        let mut buf = BytesMut::new();
        put_str16(&mut buf, &long);
        put_str16(&mut buf, "next");
        let mut bytes = buf.freeze();
        let first = get_str16(&mut bytes).expect("readable");
        assert!(first.len() <= i16::MAX as usize && long.starts_with(&first));
        assert_eq!(
            first.len(),
            i16::MAX as usize,
            "cut at the last whole character"
        );
        assert_eq!(get_str16(&mut bytes).as_deref(), Some("next"));
    }

    #[test]
    fn encode_then_decode_roundtrips() {
        let recs = vec![
            new_record(Some(b"a"), Some(b"1"), 10),
            new_record(None, None, 11),
            new_record(Some(b"c"), Some(b"3"), 9),
        ];
        let bytes = encode_records(&recs, 100).unwrap();
        let back = decode_records(&bytes).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(
            back.iter().map(|r| r.offset).collect::<Vec<_>>(),
            vec![100, 101, 102]
        );
        assert_eq!(back[0].key.as_deref(), Some(&b"a"[..]));
        assert_eq!(back[1].value, None);
        assert_eq!(back[2].timestamp, 9);
        assert!(encode_records(&[], 0).is_err());
    }
}
