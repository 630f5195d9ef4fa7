//! The Kafka RecordBatch v2 header: parsing, validation (magic, lengths, CRC32C) and the few
//! in-place rewrites the broker makes (base offset, LogAppendTime).
//!
//! The log stores batches exactly as producers sent them, so the hot path never decodes records:
//! it reads this 61-byte header, checks the CRC over `attributes..end`, and patches the base offset
//! (which the CRC does not cover). Layout (big-endian):
//!
//! ```text
//! 0 baseOffset i64 | 8 batchLength i32 | 12 partitionLeaderEpoch i32 | 16 magic i8 | 17 crc u32
//! 21 attributes i16 | 23 lastOffsetDelta i32 | 27 baseTimestamp i64 | 35 maxTimestamp i64
//! 43 producerId i64 | 51 producerEpoch i16 | 53 baseSequence i32 | 57 recordsCount i32 | 61 records
//! ```

use crate::error::{BrokerError, Result};

/// Size of the v2 batch header, up to and including the record count.
pub const HEADER_SIZE: usize = 61;
/// Bytes before `batchLength` counts: base offset (8) and the length itself (4).
pub const LOG_OVERHEAD: usize = 12;
const CRC_START: usize = 21;
const ATTR_TIMESTAMP_TYPE: i16 = 1 << 3;
const ATTR_TRANSACTIONAL: i16 = 1 << 4;
const ATTR_CONTROL: i16 = 1 << 5;

/// The parsed header of one v2 record batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Bytes after the length field (the whole batch is `batch_length + 12` bytes).
    pub batch_length: i32,
    /// Leader epoch stamped by the broker.
    pub partition_leader_epoch: i32,
    /// Format version; only 2 is accepted.
    pub magic: i8,
    /// CRC32C over `attributes..end`.
    pub crc: u32,
    /// Compression (bits 0-2), timestamp type (3), transactional (4), control (5).
    pub attributes: i16,
    /// `last offset - base offset`.
    pub last_offset_delta: i32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest timestamp in the batch (or the append time under LogAppendTime).
    pub max_timestamp: i64,
    /// Idempotent producer id, -1 when none.
    pub producer_id: i64,
    /// Producer epoch, -1 when none.
    pub producer_epoch: i16,
    /// Sequence of the first record, -1 when none.
    pub base_sequence: i32,
    /// Number of records in the batch.
    pub records_count: i32,
}

fn i16_at(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

impl BatchHeader {
    /// Parses the header from the first 61 bytes of `bytes`; checks magic and the length fields,
    /// not the CRC (that needs the whole batch: see [`validate_batch`]).
    pub fn parse(bytes: &[u8]) -> Result<BatchHeader> {
        if bytes.len() < HEADER_SIZE {
            return Err(BrokerError::CorruptMessage(format!(
                "batch header needs {HEADER_SIZE} bytes, got {}",
                bytes.len()
            )));
        }
        let h = BatchHeader {
            base_offset: i64_at(bytes, 0),
            batch_length: i32_at(bytes, 8),
            partition_leader_epoch: i32_at(bytes, 12),
            magic: bytes[16] as i8,
            crc: u32::from_be_bytes([bytes[17], bytes[18], bytes[19], bytes[20]]),
            attributes: i16_at(bytes, 21),
            last_offset_delta: i32_at(bytes, 23),
            base_timestamp: i64_at(bytes, 27),
            max_timestamp: i64_at(bytes, 35),
            producer_id: i64_at(bytes, 43),
            producer_epoch: i16_at(bytes, 51),
            base_sequence: i32_at(bytes, 53),
            records_count: i32_at(bytes, 57),
        };
        if h.magic != 2 {
            return Err(BrokerError::CorruptMessage(format!(
                "unsupported magic {} (only record batch v2 is accepted)",
                h.magic
            )));
        }
        if (h.batch_length as i64) < (HEADER_SIZE - LOG_OVERHEAD) as i64 {
            return Err(BrokerError::CorruptMessage(format!(
                "batch length {} is shorter than a batch header",
                h.batch_length
            )));
        }
        if h.last_offset_delta < 0 || h.records_count < 0 {
            return Err(BrokerError::CorruptMessage(format!(
                "negative last offset delta {} or record count {}",
                h.last_offset_delta, h.records_count
            )));
        }
        Ok(h)
    }

    /// The whole batch's size in bytes, header included.
    pub fn size(&self) -> usize {
        self.batch_length as usize + LOG_OVERHEAD
    }

    /// Offset of the last record in the batch.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }

    /// Sequence number of the last record (sequences wrap at `i32::MAX`, as in Kafka).
    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence < 0 {
            return -1;
        }
        let last = self.base_sequence as i64 + self.last_offset_delta as i64;
        (last % (i32::MAX as i64 + 1)) as i32
    }

    /// Whether the batch comes from an idempotent producer.
    pub fn has_producer_id(&self) -> bool {
        self.producer_id >= 0
    }

    /// Whether the batch is part of a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes & ATTR_TRANSACTIONAL != 0
    }

    /// Whether the batch holds control records (transaction markers).
    pub fn is_control(&self) -> bool {
        self.attributes & ATTR_CONTROL != 0
    }
}

/// Parses and fully validates one batch that fills `bytes` exactly: header, magic, length and CRC32C.
pub fn validate_batch(bytes: &[u8]) -> Result<BatchHeader> {
    let header = BatchHeader::parse(bytes)?;
    if header.size() != bytes.len() {
        return Err(BrokerError::CorruptMessage(format!(
            "batch length says {} bytes but {} are present",
            header.size(),
            bytes.len()
        )));
    }
    let actual = crc32c::crc32c(&bytes[CRC_START..]);
    if actual != header.crc {
        return Err(BrokerError::CorruptMessage(format!(
            "CRC32C mismatch: batch says {:#010x}, bytes give {actual:#010x}",
            header.crc
        )));
    }
    Ok(header)
}

/// Splits a buffer of concatenated batches (a Produce request's records) into validated batches,
/// returning each batch's byte range and header. Any trailing partial batch is an error.
pub fn split_batches(bytes: &[u8]) -> Result<Vec<(std::ops::Range<usize>, BatchHeader)>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        if rest.len() < HEADER_SIZE {
            return Err(BrokerError::CorruptMessage(format!(
                "{} trailing bytes do not hold a batch header",
                rest.len()
            )));
        }
        let header = BatchHeader::parse(rest)?;
        let end = pos + header.size();
        if end > bytes.len() {
            return Err(BrokerError::CorruptMessage(format!(
                "batch of {} bytes is cut short at {} bytes",
                header.size(),
                rest.len()
            )));
        }
        let header = validate_batch(&bytes[pos..end])?;
        out.push((pos..end, header));
        pos = end;
    }
    if out.is_empty() {
        return Err(BrokerError::CorruptMessage(
            "no record batch in the request".into(),
        ));
    }
    Ok(out)
}

/// Rewrites the base offset (not covered by the CRC).
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) {
    batch[0..8].copy_from_slice(&base_offset.to_be_bytes());
}

/// Stamps the partition leader epoch (not covered by the CRC), as a Kafka leader does.
pub fn set_partition_leader_epoch(batch: &mut [u8], epoch: i32) {
    batch[12..16].copy_from_slice(&epoch.to_be_bytes());
}

/// Stamps a batch with LogAppendTime: sets the timestamp-type attribute and the max timestamp to
/// `now_ms`, then recomputes the CRC.
pub fn set_log_append_time(batch: &mut [u8], now_ms: i64) {
    let attributes = i16_at(batch, 21) | ATTR_TIMESTAMP_TYPE;
    batch[21..23].copy_from_slice(&attributes.to_be_bytes());
    batch[35..43].copy_from_slice(&now_ms.to_be_bytes());
    let crc = crc32c::crc32c(&batch[CRC_START..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// Sets the max timestamp (Kafka corrects a producer's to its records' largest) and recomputes
/// the CRC.
pub fn set_max_timestamp(batch: &mut [u8], max_timestamp: i64) {
    batch[35..43].copy_from_slice(&max_timestamp.to_be_bytes());
    let crc = crc32c::crc32c(&batch[CRC_START..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// Overwrites the base sequence and recomputes the CRC (used when the broker itself encodes a
/// batch for a non-idempotent writer).
pub(crate) fn set_base_sequence(batch: &mut [u8], base_sequence: i32) {
    batch[53..57].copy_from_slice(&base_sequence.to_be_bytes());
    let crc = crc32c::crc32c(&batch[CRC_START..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::records::{encode_records, new_record};

    fn sample() -> Vec<u8> {
        let recs = vec![
            new_record(Some(b"k"), Some(b"v1"), 1000),
            new_record(None, Some(b"v2"), 1005),
        ];
        encode_records(&recs, 0).unwrap().to_vec()
    }

    #[test]
    fn parses_encoder_output() {
        let b = sample();
        let h = validate_batch(&b).unwrap();
        assert_eq!(h.size(), b.len());
        assert_eq!(h.records_count, 2);
        assert_eq!(h.last_offset_delta, 1);
        assert_eq!(h.base_timestamp, 1000);
        assert_eq!(h.max_timestamp, 1005);
        assert_eq!(h.producer_id, -1);
        assert_eq!(h.base_sequence, -1);
    }

    #[test]
    fn rejects_bad_crc_magic_and_length() {
        let mut b = sample();
        let last = b.len() - 1;
        b[last] ^= 0xff;
        assert_eq!(validate_batch(&b).map_err(|e| e.code()), Err(2));

        let mut b = sample();
        b[16] = 1;
        assert_eq!(validate_batch(&b).map_err(|e| e.code()), Err(2));

        let b = sample();
        assert!(split_batches(&b[..b.len() - 3]).is_err());
        assert!(split_batches(&b[..30]).is_err());
    }

    #[test]
    fn rewrites_keep_crc_valid() {
        let mut b = sample();
        set_base_offset(&mut b, 42);
        set_partition_leader_epoch(&mut b, 0);
        set_log_append_time(&mut b, 99_999);
        let h = validate_batch(&b).unwrap();
        assert_eq!(h.base_offset, 42);
        assert_eq!(h.partition_leader_epoch, 0);
        assert_eq!(h.max_timestamp, 99_999);
        assert_ne!(h.attributes & ATTR_TIMESTAMP_TYPE, 0);
    }

    #[test]
    fn splits_concatenated_batches() {
        let mut two = sample();
        two.extend_from_slice(&sample());
        let parts = split_batches(&two).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1].0.end, two.len());
    }
}
