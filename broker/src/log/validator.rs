//! The log validator: what every batch a client appends must satisfy, after Kafka's
//! `LogValidator` (storage/internals/log/LogValidator.java) and the producer checks of
//! `UnifiedLog.analyzeAndValidateProducerState`.
//!
//! [`crate::log::batch`] has already checked the frame (magic 2, lengths, CRC32C). Here each batch
//! is checked against its header and its records:
//! - the header: a record count of at least one that matches the offset range, no control batch
//!   from a client, no producer id with a negative sequence (a transactional batch is checked
//!   against the partition's open transactions afterwards, under the partition lock:
//!   [`crate::log::transactions::check_transactional_batch`]);
//! - the records, inflated under the topic's `max.message.bytes` ([`crate::log::inflate`]): as many
//!   as the header says and no bytes after them, each well formed and exactly as long as its length
//!   says, a key on a compacted topic, timestamps within `message.timestamp.before.max.ms` /
//!   `message.timestamp.after.max.ms` of now (CreateTime topics);
//! - inner offset deltas `0, 1, 2 ...`: a batch with other deltas is re-encoded with them (Kafka
//!   rewrites compressed batches so; Sluice rewrites uncompressed ones too, so that no reader sees
//!   offsets that repeat).
//!
//! Failures carry Kafka's codes: CORRUPT_MESSAGE (bad compression), INVALID_RECORD,
//! INVALID_TIMESTAMP, INVALID_TXN_STATE. The connection stays usable: only the partition's
//! response carries the error.

use bytes::BytesMut;
use kafka_protocol::records::{Compression, TimestampType as RecordTimestampType};

use crate::error::{BrokerError, Result};
use crate::log::batch::{self, BatchHeader, HEADER_SIZE};
use crate::log::inflate;
use crate::log::records::encode_with;
use crate::topic::{TimestampType, TopicConfig};

/// Kafka's `RecordBatch.NO_TIMESTAMP`: a record without a timestamp is not range-checked.
const NO_TIMESTAMP: i64 = -1;
const ATTR_LOG_APPEND_TIME: i16 = 1 << 3;

/// What validating one batch found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    /// The inner offset deltas are not `0..count`: the batch must be re-encoded.
    pub needs_offset_rewrite: bool,
    /// The largest record timestamp (NO_TIMESTAMP when none has one).
    pub max_timestamp: i64,
}

fn invalid(msg: impl Into<String>) -> BrokerError {
    BrokerError::InvalidRecord(msg.into())
}

/// Reads the fields of the record format: zigzag varints and byte strings.
struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len()
    }

    fn u8(&mut self) -> Result<u8> {
        let (&b, rest) = self
            .bytes
            .split_first()
            .ok_or_else(|| invalid("record cut short"))?;
        self.bytes = rest;
        Ok(b)
    }

    fn varlong(&mut self) -> Result<i64> {
        let mut raw: u64 = 0;
        for shift in (0..70).step_by(7) {
            let b = self.u8()?;
            raw |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64));
            }
        }
        Err(invalid("varint longer than 10 bytes"))
    }

    fn varint(&mut self) -> Result<i32> {
        let v = self.varlong()?;
        i32::try_from(v).map_err(|_| invalid(format!("varint {v} out of range")))
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8]> {
        if len > self.bytes.len() {
            return Err(invalid(format!(
                "a field of {len} bytes runs past the record ({} left)",
                self.bytes.len()
            )));
        }
        let (head, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(head)
    }

    /// A length-prefixed byte string; `None` for length -1, an error for other negatives.
    fn nullable_bytes(&mut self, what: &str) -> Result<Option<&'a [u8]>> {
        match self.varint()? {
            -1 => Ok(None),
            n if n < 0 => Err(invalid(format!("negative {what} length {n}"))),
            n => self.take(n as usize).map(Some),
        }
    }
}

/// One record's fields that the validator needs.
struct RecordFacts {
    timestamp_delta: i64,
    offset_delta: i32,
    has_key: bool,
}

/// Parses the record at the front of `c`, which must fill exactly the length it announces.
fn read_record(c: &mut Cursor<'_>) -> Result<RecordFacts> {
    let len = c.varint()?;
    if len < 0 {
        return Err(invalid(format!("negative record length {len}")));
    }
    let mut r = Cursor {
        bytes: c.take(len as usize)?,
    };
    let _attributes = r.u8()?;
    let timestamp_delta = r.varlong()?;
    let offset_delta = r.varint()?;
    let has_key = r.nullable_bytes("key")?.is_some();
    r.nullable_bytes("value")?;
    let headers = r.varint()?;
    if headers < 0 || headers as usize > r.remaining() {
        return Err(invalid(format!(
            "record claims {headers} headers in {} bytes",
            r.remaining()
        )));
    }
    for _ in 0..headers {
        let key = r
            .nullable_bytes("header key")?
            .ok_or_else(|| invalid("null header key"))?;
        // Kafka's clients read header keys as UTF-8, and so do Sluice's readers.
        std::str::from_utf8(key).map_err(|_| invalid("header key is not UTF-8"))?;
        r.nullable_bytes("header value")?;
    }
    if r.remaining() != 0 {
        return Err(invalid(format!(
            "{} bytes left over inside a record after its headers",
            r.remaining()
        )));
    }
    Ok(RecordFacts {
        timestamp_delta,
        offset_delta,
        has_key,
    })
}

/// Checks one batch from a client against the header rules and its records (see the module doc).
/// `batch` is the whole batch, `h` its parsed header, `now` the broker's clock in ms.
pub fn check_batch(
    batch: &[u8],
    h: &BatchHeader,
    config: &TopicConfig,
    now: i64,
) -> Result<Checked> {
    if h.records_count < 1 {
        return Err(invalid(format!(
            "invalid reported count for record batch: {}",
            h.records_count
        )));
    }
    if h.last_offset_delta != h.records_count - 1 {
        return Err(invalid(format!(
            "inconsistent batch offset range [0, {}] and count of records {}",
            h.last_offset_delta, h.records_count
        )));
    }
    if h.is_control() {
        return Err(invalid("clients are not allowed to write control records"));
    }
    if h.has_producer_id() && h.base_sequence < 0 {
        return Err(invalid(format!(
            "invalid sequence number {} in record batch with producer id {}",
            h.base_sequence, h.producer_id
        )));
    }
    let log_append_time_batch = h.attributes & ATTR_LOG_APPEND_TIME != 0;
    let compression = inflate::compression_of(h.attributes)?;
    let records =
        inflate::decompress(compression, &batch[HEADER_SIZE..], config.max_message_bytes)?;
    let mut c = Cursor { bytes: &records };
    // Every record takes at least 7 bytes: the count is bounded by the bytes, not trusted.
    if h.records_count as usize > c.remaining() {
        return Err(invalid(format!(
            "batch claims {} records in {} bytes",
            h.records_count,
            c.remaining()
        )));
    }
    let mut checked = Checked {
        needs_offset_rewrite: false,
        max_timestamp: NO_TIMESTAMP,
    };
    for index in 0..h.records_count {
        if c.remaining() == 0 {
            return Err(invalid(format!(
                "incorrect declared batch size: {} records declared, {index} present",
                h.records_count
            )));
        }
        let r = read_record(&mut c).map_err(|e| match e {
            BrokerError::InvalidRecord(m) => invalid(format!("record {index}: {m}")),
            e => e,
        })?;
        if r.offset_delta != index {
            checked.needs_offset_rewrite = true;
        }
        if config.cleanup_policy.compact && !r.has_key {
            return Err(invalid(
                "compacted topic (cleanup.policy=compact) cannot accept a record without a key",
            ));
        }
        let timestamp = if log_append_time_batch {
            h.max_timestamp
        } else {
            h.base_timestamp
                .checked_add(r.timestamp_delta)
                .ok_or_else(|| invalid(format!("record {index}: timestamp overflows")))?
        };
        check_timestamp(timestamp, log_append_time_batch, index, config, now)?;
        checked.max_timestamp = checked.max_timestamp.max(timestamp);
    }
    if c.remaining() != 0 {
        return Err(invalid(format!(
            "incorrect declared batch size: {} bytes remain after the {} declared records",
            c.remaining(),
            h.records_count
        )));
    }
    Ok(checked)
}

/// Kafka's `validateTimestamp`: under CreateTime a record's timestamp must lie in
/// `[now - before.max.ms, now + after.max.ms]`; a producer may not claim LogAppendTime itself.
fn check_timestamp(
    timestamp: i64,
    log_append_time_batch: bool,
    index: i32,
    config: &TopicConfig,
    now: i64,
) -> Result<()> {
    if config.timestamp_type == TimestampType::CreateTime && timestamp != NO_TIMESTAMP {
        let diff = i128::from(now) - i128::from(timestamp);
        if diff > i128::from(config.message_timestamp_before_max_ms)
            || -diff > i128::from(config.message_timestamp_after_max_ms)
        {
            return Err(BrokerError::InvalidTimestamp(format!(
                "timestamp {timestamp} of record {index} is out of range: it must be within [{}, {}]",
                now.saturating_sub(config.message_timestamp_before_max_ms),
                now.saturating_add(config.message_timestamp_after_max_ms)
            )));
        }
    } else if log_append_time_batch {
        return Err(BrokerError::InvalidTimestamp(
            "a producer must not set the timestamp type to LogAppendTime".into(),
        ));
    }
    Ok(())
}

/// Validates every batch of a client's append in `bytes` (split and CRC-checked already as
/// `parts`). Batches whose inner offsets are not `0..count` are re-encoded and batches whose
/// header max timestamp is not their records' largest are corrected (both as Kafka does), which
/// may replace `bytes`. Returns whether `bytes` changed shape (so the caller splits it again).
pub fn validate_append(
    bytes: &mut BytesMut,
    parts: &[(std::ops::Range<usize>, BatchHeader)],
    config: &TopicConfig,
    now: i64,
) -> Result<bool> {
    let mut rewritten: Option<BytesMut> = None;
    for (i, (range, h)) in parts.iter().enumerate() {
        let checked = check_batch(&bytes[range.clone()], h, config, now)?;
        if checked.needs_offset_rewrite {
            let out = rewritten.get_or_insert_with(|| BytesMut::from(&bytes[..range.start]));
            out.extend_from_slice(&reencode(&bytes[range.clone()], h, config)?);
            continue;
        }
        let slice = &mut bytes[range.clone()];
        let log_append_time_batch = h.attributes & ATTR_LOG_APPEND_TIME != 0;
        if config.timestamp_type == TimestampType::CreateTime
            && !log_append_time_batch
            && checked.max_timestamp != h.max_timestamp
        {
            batch::set_max_timestamp(slice, checked.max_timestamp);
        }
        if let Some(out) = rewritten.as_mut() {
            out.extend_from_slice(&bytes[parts[i].0.clone()]);
        }
    }
    match rewritten {
        Some(out) => {
            *bytes = out;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Re-encodes a batch with inner offsets `0..count` and sequences following its base sequence,
/// keeping its compression, producer fields, flags, keys, values, headers and timestamps.
fn reencode(batch: &[u8], h: &BatchHeader, config: &TopicConfig) -> Result<BytesMut> {
    let compression = inflate::compression_of(h.attributes)?;
    let set = inflate::decode_batch(batch, config.max_message_bytes)?;
    if set.records.len() != h.records_count as usize {
        return Err(invalid(format!(
            "batch declares {} records but {} decode",
            h.records_count,
            set.records.len()
        )));
    }
    let records: Vec<_> = set
        .records
        .into_iter()
        .enumerate()
        .map(|(i, mut r)| {
            r.offset = i as i64;
            r.sequence = h.base_sequence.wrapping_add(i as i32);
            if h.base_sequence < 0 {
                r.sequence = i as i32 - 1;
            }
            r.timestamp_type = RecordTimestampType::Creation;
            r
        })
        .collect();
    let out = encode_with(&records, compression)?;
    if compression == Compression::None && out.len() > config.max_message_bytes {
        return Err(BrokerError::MessageTooLarge {
            size: out.len(),
            max: config.max_message_bytes,
        });
    }
    Ok(out)
}
