//! Reading a whole partition back as records, for start-up replays of internal topics
//! (`__consumer_offsets`, `_sluice_commands`, `_sluice_query_offsets`) and for the cleaner.
//!
//! A replay must finish whatever the log holds, so that the server always starts: a batch whose
//! records do not decode is logged, counted and skipped; a record whose offset lies outside its
//! batch's range (inner offsets a client forged, e.g. 0,0,0) is skipped; and the replay moves on
//! by the offsets the log itself assigned (each batch header's base offset and last offset
//! delta), never by a record's own offset, so a forged batch cannot make it read the same batch
//! forever. Before anything is decoded, a batch's record count is checked against its size, so a
//! header claiming 2^31-1 records never reaches the decoder's pre-allocation.

use kafka_protocol::records::Record;

use crate::error::{BrokerError, Result};
use crate::log::batch::{BatchHeader, HEADER_SIZE};
use crate::log::partition::PartitionLog;
use crate::log::records::decode_records;

/// Bytes read per step of a replay.
const READ_BYTES: usize = 1024 * 1024;

/// The smallest encoding of one record in an uncompressed v2 batch: length, attributes,
/// timestamp delta, offset delta, key length, value length and header count, one byte each.
const MIN_RECORD_BYTES: u64 = 7;

/// Most records a compressed batch may claim before it is decoded: the decoder reserves room for
/// the claimed count, and no batch within `max.message.bytes` (at most ~1 GiB of decompressed
/// records, each at least 7 bytes) holds more.
const MAX_COMPRESSED_RECORDS: i64 = 1 << 24;

/// What a replay read and what it had to skip.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReplayStats {
    /// Records handed to the caller.
    pub records: usize,
    /// Batches whose records do not decode (counted once each, their records unknown).
    pub skipped_batches: usize,
    /// Records of decodable batches whose offsets were outside their batch's range.
    pub skipped_records: usize,
}

impl ReplayStats {
    /// True when something was skipped.
    pub fn skipped_any(&self) -> bool {
        self.skipped_batches > 0 || self.skipped_records > 0
    }
}

/// Refuses a batch whose header claims more records than its bytes can hold, before a decoder
/// pre-allocates for the claimed count. `batch_len` is the whole batch's size.
pub(crate) fn check_record_count(h: &BatchHeader, batch_len: usize) -> Result<()> {
    let count = i64::from(h.records_count);
    let payload = batch_len.saturating_sub(HEADER_SIZE) as u64;
    let plausible = if h.attributes & 0x7 == 0 {
        count >= 0 && count as u64 * MIN_RECORD_BYTES <= payload
    } else {
        (0..=MAX_COMPRESSED_RECORDS).contains(&count)
    };
    if plausible {
        Ok(())
    } else {
        Err(BrokerError::CorruptMessage(format!(
            "batch at offset {} claims {} records in {} bytes",
            h.base_offset, h.records_count, batch_len
        )))
    }
}

/// Decodes one whole batch after [`check_record_count`].
pub(crate) fn decode_batch(h: &BatchHeader, bytes: &[u8]) -> Result<Vec<Record>> {
    check_record_count(h, bytes.len())?;
    decode_records(bytes)
}

impl PartitionLog {
    /// Hands every record from `from` (or the log start, if later) to the high-water mark as of
    /// the call to `f`, in offset order, skipping what does not decode (see the module docs).
    /// Transaction markers come too (`Record::control`), so that a reader of transactional
    /// records can tell committed from aborted ones; readers that do not care skip them.
    /// Fails only when the log cannot be read at all.
    pub fn replay(&self, from: i64, mut f: impl FnMut(Record)) -> Result<ReplayStats> {
        let end = self.high_watermark();
        let mut next = from.max(self.log_start_offset());
        let mut stats = ReplayStats::default();
        while next < end {
            let read = match self.read(next, READ_BYTES) {
                Ok(read) => read,
                // Retention or DeleteRecords moved the start past `next` meanwhile.
                Err(BrokerError::OffsetOutOfRange {
                    log_start_offset, ..
                }) if log_start_offset > next => {
                    next = log_start_offset;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let bytes = &read.records[..];
            let before = next;
            let mut pos = 0;
            while pos + HEADER_SIZE <= bytes.len() {
                let h = match BatchHeader::parse(&bytes[pos..]) {
                    Ok(h) => h,
                    Err(e) => {
                        tracing::warn!(topic = %self.topic, partition = self.partition, offset = next,
                            error = %e, "replay stops at a batch header that does not parse");
                        stats.skipped_batches += 1;
                        return Ok(stats);
                    }
                };
                let batch_end = pos + h.size();
                if batch_end > bytes.len() {
                    break;
                }
                let last = h.last_offset();
                if last >= next {
                    match decode_batch(&h, &bytes[pos..batch_end]) {
                        Ok(records) => {
                            let mut expected = next.max(h.base_offset);
                            for r in records {
                                if r.offset < expected || r.offset > last {
                                    stats.skipped_records += 1;
                                    continue;
                                }
                                expected = r.offset + 1;
                                stats.records += 1;
                                f(r);
                            }
                        }
                        Err(e) => {
                            tracing::warn!(topic = %self.topic, partition = self.partition,
                                base_offset = h.base_offset, last_offset = last, error = %e,
                                "skipping a batch that does not decode");
                            stats.skipped_batches += 1;
                        }
                    }
                }
                next = next.max(last.saturating_add(1));
                pos = batch_end;
            }
            if next == before {
                // Nothing whole came back (cannot happen with a consistent log): stop rather
                // than read the same bytes again.
                tracing::warn!(topic = %self.topic, partition = self.partition, offset = next,
                    "replay stops: no whole batch at this offset");
                break;
            }
        }
        if stats.skipped_any() {
            tracing::warn!(topic = %self.topic, partition = self.partition,
                skipped_batches = stats.skipped_batches, skipped_records = stats.skipped_records,
                "replay skipped what does not decode");
        }
        Ok(stats)
    }
}
