//! [`PartitionLog`]: one topic partition's log — append, read, the high-water mark and its watch.
//!
//! Locking: `state` (a `RwLock`) guards the segment map, the next offset and the producer state.
//! Appends take it for writing only to check sequences, assign offsets and `write(2)` the bytes
//! to the page cache; the fsync happens afterwards in the group-commit flusher with no lock held.
//! Reads take it for reading only to find where to read (index lookup + a few headers) and then
//! read with `pread` on the segment's shared file handle, unlocked. `maintenance` serializes
//! retention and compaction of this partition so they never work on the same segment at once.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::Record;
use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;

use crate::error::{BrokerError, Result};
use crate::log::batch::{self, BatchHeader, HEADER_SIZE};
use crate::log::flush::Flusher;
use crate::log::producer_state::{ProducerStates, SequenceCheck};
use crate::log::records::{decode_records, encode_records};
use crate::log::segment::{Segment, log_file_name};
use crate::log::transactions::{
    AbortedTxn, AppendOrigin, ControlType, check_transactional_batch, encode_marker,
    parse_control_type,
};
use crate::log::validator;
use crate::log::{AppendResult, Durability, Isolation, ReadResult, now_ms};
use crate::topic::{TimestampType, TopicConfig};

/// The mutable part of a partition, behind the partition's lock.
#[derive(Debug)]
pub(crate) struct LogState {
    /// Segments by base offset; the last one is the active segment.
    pub segments: BTreeMap<i64, Segment>,
    /// The offset the next record gets (== high-water mark: there is one replica).
    pub next_offset: i64,
    /// Idempotent producers' state.
    pub producers: ProducerStates,
    /// A log start offset inside the first segment set by DeleteRecords (persisted in
    /// `log-start-offset`); the first segment's base offset when lower.
    pub deleted_before: i64,
    /// Producers whose current transaction the coordinator registered this partition in, with
    /// that transaction's epoch: only they may write transactional batches here (in memory: after
    /// a restart the coordinator aborts or completes every transaction it had open).
    pub txn_registered: HashMap<i64, i16>,
    /// First offset of the oldest open transaction (cached from `producers`, refreshed by
    /// [`LogState::refresh_first_unstable`] whenever a transaction opens or ends, so reads find
    /// the last stable offset without walking every producer).
    pub first_unstable: Option<i64>,
}

impl LogState {
    /// The last stable offset: the first offset of the oldest open transaction, or the
    /// high-water mark when none is open; never below the log start (retention may have deleted
    /// an open transaction's first records, as in Kafka).
    pub fn last_stable_offset(&self) -> i64 {
        self.first_unstable.map_or(self.next_offset, |f| {
            f.max(self.log_start_offset()).min(self.next_offset)
        })
    }

    /// Recomputes the cached first unstable offset from the producer state.
    pub fn refresh_first_unstable(&mut self) {
        self.first_unstable = self.producers.first_unstable_offset();
    }

    pub fn log_start_offset(&self) -> i64 {
        let first = self
            .segments
            .keys()
            .next()
            .copied()
            .unwrap_or(self.next_offset);
        first.max(self.deleted_before).min(self.next_offset)
    }

    /// OFFSET_OUT_OF_RANGE unless `offset` lies in `[log_start_offset, high_watermark]`, the
    /// offsets a read, a truncation or DeleteRecords may name.
    pub fn check_in_range(&self, offset: i64) -> Result<()> {
        let (start, hw) = (self.log_start_offset(), self.next_offset);
        if offset < start || offset > hw {
            return Err(BrokerError::OffsetOutOfRange {
                offset,
                log_start_offset: start,
                high_watermark: hw,
            });
        }
        Ok(())
    }

    /// Base offset of the segment that holds `offset` (the last one starting at or before it),
    /// or the log start offset when none does.
    pub fn segment_base_for(&self, offset: i64) -> i64 {
        self.segments
            .range(..=offset)
            .next_back()
            .map_or_else(|| self.log_start_offset(), |(b, _)| *b)
    }
}

/// Bookkeeping of the cleaner, behind the lock that serializes retention and compaction.
#[derive(Debug, Default)]
pub(crate) struct Maintenance {
    /// End offset of the cleanable range at the last compaction pass, and when it ran (ms).
    pub last_compaction: Option<(i64, i64)>,
    /// Compaction maps keys from here on: everything before it was cleaned against a map of
    /// all later keys at the time (Kafka's cleaner checkpoint; 0 after a restart).
    pub first_dirty: i64,
}

/// One partition's log. Shared as `Arc<PartitionLog>` by the protocol layer, the engine and the
/// broker's background tasks.
#[derive(Debug)]
pub struct PartitionLog {
    pub(crate) topic: String,
    pub(crate) partition: i32,
    pub(crate) dir: PathBuf,
    pub(crate) config: RwLock<TopicConfig>,
    pub(crate) state: RwLock<LogState>,
    pub(crate) hw_tx: watch::Sender<i64>,
    pub(crate) flusher: Arc<Flusher>,
    pub(crate) maintenance: Mutex<Maintenance>,
    pub(crate) deleted: AtomicBool,
    pub(crate) closed: AtomicBool,
}

impl PartitionLog {
    pub(crate) fn from_state(
        topic: &str,
        partition: i32,
        dir: &Path,
        config: TopicConfig,
        state: LogState,
    ) -> PartitionLog {
        let hw = state.next_offset;
        PartitionLog {
            topic: topic.to_string(),
            partition,
            dir: dir.to_path_buf(),
            config: RwLock::new(config),
            state: RwLock::new(state),
            hw_tx: watch::Sender::new(hw),
            flusher: Arc::new(Flusher::new(
                dir.join(crate::log::recovery::RECOVERY_POINT_FILE),
            )),
            maintenance: Mutex::new(Maintenance::default()),
            deleted: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        }
    }

    /// The topic this partition belongs to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The partition number.
    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// The partition's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the partition no longer takes writes or maintenance (its topic was deleted or
    /// the broker shut down).
    pub fn is_offline(&self) -> bool {
        self.deleted.load(Ordering::Acquire) || self.closed.load(Ordering::Acquire)
    }

    /// The topic config in effect.
    pub fn config(&self) -> TopicConfig {
        self.config.read().clone()
    }

    /// Appends one or more record batches (a Produce request's records for this partition).
    ///
    /// Every batch is checked (magic 2, lengths, CRC32C: CORRUPT_MESSAGE otherwise; size against
    /// `max.message.bytes`), validated as Kafka's LogValidator does ([`validator`]: counts,
    /// records, keys, timestamps, flags, producer fields; a batch with bad inner offsets is
    /// re-encoded) and run through the idempotent-producer checks; offsets are assigned
    /// by rewriting each batch's base offset; under LogAppendTime the batch is stamped. Returns
    /// once `durability` is reached. A batch that is a retried duplicate is not written again and
    /// its original offsets are returned.
    pub async fn append(
        &self,
        mut batches: BytesMut,
        durability: Durability,
    ) -> Result<AppendResult> {
        let (result, ticket) = self.append_sync(&mut batches, AppendOrigin::Client)?;
        if durability == Durability::Fsynced
            && let Some(ticket) = ticket
        {
            self.flusher.wait_synced(ticket).await?;
        }
        Ok(result)
    }

    /// [`Self::append`] for batches the broker builds itself (transactional offset commits, the
    /// in-process transactional producer): not run through the log validator.
    pub(crate) async fn append_internal(
        &self,
        mut batches: BytesMut,
        durability: Durability,
    ) -> Result<AppendResult> {
        let (result, ticket) = self.append_sync(&mut batches, AppendOrigin::Internal)?;
        if durability == Durability::Fsynced
            && let Some(ticket) = ticket
        {
            self.flusher.wait_synced(ticket).await?;
        }
        Ok(result)
    }

    /// Appends batches without the log validator, as a log written before the validator existed
    /// (or by another implementation) may hold batches it would refuse. Only for tests of what
    /// start-up replays and the cleaner do with such batches; the broker never calls it.
    #[doc(hidden)]
    pub async fn append_unvalidated_for_tests(
        &self,
        batches: BytesMut,
        durability: Durability,
    ) -> Result<AppendResult> {
        self.append_internal(batches, durability).await
    }

    /// Encodes `records` as one uncompressed batch (offsets and producer fields of the records
    /// are ignored) and appends it.
    pub async fn append_records(
        &self,
        records: &[Record],
        durability: Durability,
    ) -> Result<AppendResult> {
        let batch = encode_records(records, 0)?;
        self.append(batch, durability).await
    }

    /// Registers this partition in the open transaction of `producer_id` under `epoch` (the
    /// coordinator calls it for AddPartitionsToTxn): from now on that producer's transactional
    /// batches are accepted here, until the transaction's marker is written.
    pub(crate) fn register_transaction(&self, producer_id: i64, epoch: i16) {
        self.state.write().txn_registered.insert(producer_id, epoch);
    }

    /// Writes the COMMIT or ABORT marker of `producer_id`'s transaction (the coordinator's
    /// job) and waits for it to be fsync'd; returns the marker's offset. The transaction's records
    /// here become stable: the last stable offset moves past them.
    pub(crate) async fn write_marker(
        &self,
        producer_id: i64,
        epoch: i16,
        control: ControlType,
        coordinator_epoch: i32,
    ) -> Result<i64> {
        let mut batch = encode_marker(producer_id, epoch, control, coordinator_epoch, now_ms())?;
        let (result, ticket) = self.append_sync(&mut batch, AppendOrigin::Coordinator)?;
        if let Some(ticket) = ticket {
            self.flusher.wait_synced(ticket).await?;
        }
        Ok(result.base_offset)
    }

    fn append_sync(
        &self,
        bytes: &mut BytesMut,
        origin: AppendOrigin,
    ) -> Result<(AppendResult, Option<u64>)> {
        if self.deleted.load(Ordering::Acquire) {
            return Err(BrokerError::UnknownTopic(self.topic.clone()));
        }
        if self.closed.load(Ordering::Acquire) {
            return Err(BrokerError::ShuttingDown);
        }
        self.flusher.check_healthy()?;
        let mut parts = batch::split_batches(bytes)?;
        let config = self.config.read().clone();
        for (_, h) in &parts {
            if h.size() > config.max_message_bytes {
                return Err(BrokerError::MessageTooLarge {
                    size: h.size(),
                    max: config.max_message_bytes,
                });
            }
            if h.size() as u64 > config.segment_bytes {
                return Err(BrokerError::BatchLargerThanSegment {
                    size: h.size(),
                    segment_bytes: config.segment_bytes,
                });
            }
        }
        // Kafka's LogValidator: counts, records, keys, timestamps, flags and producer fields, with
        // compressed records inflated under max.message.bytes. It may re-encode a batch. The
        // coordinator's markers are built here (and carry sequence -1, as Kafka's do): only
        // client batches are validated (Kafka accepts control batches only from the coordinator).
        if origin == AppendOrigin::Client
            && validator::validate_append(bytes, &parts, &config, now_ms())?
        {
            parts = batch::split_batches(bytes)?;
        }
        let append_time = match config.timestamp_type {
            TimestampType::LogAppendTime => now_ms(),
            TimestampType::CreateTime => -1,
        };

        let mut state = self.state.write();
        // Decide per batch: duplicate or append, checking later batches against earlier ones of
        // the same request through a scratch copy of the producer state.
        let mut scratch = state.producers.subset(
            parts
                .iter()
                .map(|(_, h)| h.producer_id)
                .filter(|id| *id >= 0),
        );
        let mut next = state.next_offset;
        let mut to_write: Vec<(std::ops::Range<usize>, BatchHeader)> = Vec::new();
        let mut markers: Vec<(BatchHeader, ControlType)> = Vec::new();
        let mut first_offset = None;
        let mut last_offset = -1;
        for (range, h) in &parts {
            match scratch.check(h)? {
                SequenceCheck::Duplicate {
                    first_offset: f,
                    last_offset: l,
                } => {
                    tracing::debug!(topic = %self.topic, partition = self.partition, producer_id = h.producer_id,
                        base_sequence = h.base_sequence, offset = f, "duplicate batch from a retrying producer");
                    first_offset.get_or_insert(f);
                    last_offset = last_offset.max(l);
                }
                SequenceCheck::Append => {
                    // After the sequence/epoch check, so that a fenced producer's batch is
                    // INVALID_PRODUCER_EPOCH, as in Kafka.
                    check_transactional_batch(h, origin, &state.txn_registered)?;
                    let slice = &mut bytes[range.clone()];
                    batch::set_base_offset(slice, next);
                    batch::set_partition_leader_epoch(slice, crate::log::LEADER_EPOCH);
                    if append_time >= 0 {
                        batch::set_log_append_time(slice, append_time);
                    }
                    let mut h = *h;
                    h.base_offset = next;
                    if append_time >= 0 {
                        h.max_timestamp = append_time;
                    }
                    if h.is_control() {
                        let kind = parse_control_type(&bytes[range.clone()]).ok_or_else(|| {
                            BrokerError::InvalidRecord("unreadable control batch".into())
                        })?;
                        markers.push((h, kind));
                    } else {
                        scratch.observe(&h);
                    }
                    first_offset.get_or_insert(next);
                    last_offset = h.last_offset();
                    next = h.last_offset() + 1;
                    to_write.push((range.clone(), h));
                }
            }
        }
        let duplicate = to_write.is_empty();
        // A retried duplicate may arrive while the original's fsync is still pending: an acks=all
        // retry must then wait for everything written so far.
        let mut ticket = Some(self.flusher.last_ticket());
        if !duplicate {
            let total: usize = to_write.iter().map(|(r, _)| r.len()).sum();
            let first_base = to_write[0].1.base_offset;
            let last = to_write[to_write.len() - 1].1.last_offset();
            let max_ts = to_write
                .iter()
                .map(|(_, h)| h.max_timestamp)
                .max()
                .unwrap_or(-1);
            self.maybe_roll(&mut state, &config, total as u64, max_ts, first_base, last)?;
            // Write the batches in one write; the request's buffer as is when nothing was skipped.
            let whole = to_write.len() == parts.len();
            let copied: Vec<u8>;
            let mut headers = Vec::with_capacity(to_write.len());
            let out: &[u8] = if whole {
                headers.extend(to_write.iter().map(|(r, h)| (r.start as u64, *h)));
                &bytes[..]
            } else {
                let mut buf = Vec::with_capacity(total);
                for (range, h) in &to_write {
                    headers.push((buf.len() as u64, *h));
                    buf.extend_from_slice(&bytes[range.clone()]);
                }
                copied = buf;
                &copied
            };
            let seg = active_segment(&mut state)?;
            seg.append(out, &headers, config.index_interval_bytes)?;
            ticket = Some(self.flusher.note_write(seg.file()));
            state.next_offset = next;
            state.producers.absorb(scratch);
            let transactional = to_write.iter().any(|(_, h)| h.is_transactional());
            for (h, kind) in &markers {
                state.producers.observe_marker(h, *kind);
                if state
                    .txn_registered
                    .get(&h.producer_id)
                    .is_some_and(|e| *e <= h.producer_epoch)
                {
                    state.txn_registered.remove(&h.producer_id);
                }
            }
            if transactional {
                state.refresh_first_unstable();
            }
            self.hw_tx.send_replace(next);
        }
        let result = AppendResult {
            base_offset: first_offset.unwrap_or(state.next_offset),
            last_offset,
            log_append_time_ms: append_time,
            log_start_offset: state.log_start_offset(),
            duplicate,
        };
        Ok((result, ticket))
    }

    /// Rolls to a new segment when the active one is full (`segment.bytes`), old (`segment.ms`)
    /// or the next batch's offsets/positions would not fit the 32-bit index entries.
    fn maybe_roll(
        &self,
        state: &mut LogState,
        config: &TopicConfig,
        incoming: u64,
        incoming_max_timestamp: i64,
        first_base: i64,
        last_offset: i64,
    ) -> Result<()> {
        let seg = active_segment(state)?;
        if seg.is_empty() {
            return Ok(());
        }
        let too_big = seg.size() + incoming > config.segment_bytes;
        let too_old = seg.is_older_than(config.segment_ms, incoming_max_timestamp, now_ms());
        let offsets_overflow = last_offset - seg.base_offset() > i32::MAX as i64;
        let position_overflow = seg.size() + incoming > u32::MAX as u64;
        if !(too_big || too_old || offsets_overflow || position_overflow) {
            return Ok(());
        }
        self.roll(state, first_base)
    }

    /// Starts a new active segment at `base_offset` and schedules the old one's fsync (after
    /// which the recovery point moves to `base_offset`).
    pub(crate) fn roll(&self, state: &mut LogState, base_offset: i64) -> Result<()> {
        let seg = Segment::create(&self.dir, base_offset)?;
        if let Some(old) = state.segments.values_mut().next_back() {
            self.flusher.note_files(old.take_index_handles());
        }
        tracing::debug!(topic = %self.topic, partition = self.partition, base_offset, "rolled a new segment");
        state.segments.insert(base_offset, seg);
        let snapshot = serde_json::to_vec(&state.producers)
            .map_err(|e| BrokerError::Codec(format!("producer state snapshot: {e}")))?;
        self.flusher.note_roll(base_offset, snapshot);
        self.flusher.flush_in_background();
        Ok(())
    }

    /// Reads whole batches starting with the one that holds `offset`: up to `max_bytes`, but at
    /// least one batch even if it is larger (as Kafka does, so a consumer never gets stuck).
    /// Reading at the high-water mark returns no bytes; outside `[log_start_offset,
    /// high_watermark]` is OFFSET_OUT_OF_RANGE.
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<ReadResult> {
        self.read_isolated(offset, max_bytes, Isolation::ReadUncommitted)
    }

    /// [`PartitionLog::read`] at an isolation level: under `ReadCommitted` only batches before
    /// the last stable offset are returned (none when `offset` is at or past it).
    pub fn read_isolated(
        &self,
        offset: i64,
        max_bytes: usize,
        isolation: Isolation,
    ) -> Result<ReadResult> {
        let (location, high_watermark, log_start_offset, last_stable_offset) = {
            let state = self.state.read();
            let hw = state.next_offset;
            let start = state.log_start_offset();
            let lso = state.last_stable_offset();
            state.check_in_range(offset)?;
            let upper = match isolation {
                Isolation::ReadUncommitted => hw,
                Isolation::ReadCommitted => lso,
            };
            if offset >= upper {
                return Ok(ReadResult {
                    records: Bytes::new(),
                    high_watermark: hw,
                    log_start_offset: start,
                    last_stable_offset: lso,
                });
            }
            let mut found = None;
            let floor = state.segment_base_for(offset);
            for (_, seg) in state.segments.range(floor..) {
                if let Some(b) = seg.locate(offset)? {
                    found = Some((seg.file().clone(), seg.path().to_path_buf(), b, seg.size()));
                    break;
                }
            }
            (found.map(|f| (f, upper)), hw, start, lso)
        };
        let Some(((file, path, first, seg_size), upper)) = location else {
            return Ok(ReadResult {
                records: Bytes::new(),
                high_watermark,
                log_start_offset,
                last_stable_offset,
            });
        };
        let available = (seg_size - first.position) as usize;
        let len = max_bytes.max(first.header.size()).min(available);
        let mut buf = Segment::read_at(&file, &path, first.position, len)?;
        buf.truncate(whole_batches_len(&buf, upper));
        Ok(ReadResult {
            records: Bytes::from(buf),
            high_watermark,
            log_start_offset,
            last_stable_offset,
        })
    }

    /// Reads records (decoded) from `offset`, up to about `max_bytes` of batches. Records before
    /// `offset` in the first batch are skipped.
    pub fn read_records(&self, offset: i64, max_bytes: usize) -> Result<(Vec<Record>, ReadResult)> {
        let read = self.read(offset, max_bytes)?;
        let records = decode_records(&read.records)?
            .into_iter()
            .filter(|r| r.offset >= offset)
            .collect();
        Ok((records, read))
    }

    /// The next offset to be written (the high-water mark).
    pub fn high_watermark(&self) -> i64 {
        *self.hw_tx.borrow()
    }

    /// The last stable offset: the first offset of the oldest open transaction, or the
    /// high-water mark when no transaction is open here. read_committed readers stop there.
    pub fn last_stable_offset(&self) -> i64 {
        self.state.read().last_stable_offset()
    }

    /// The aborted transactions overlapping offsets `[from, to)`: a read_committed Fetch
    /// returning those offsets lists them so that the client drops their records.
    pub fn aborted_transactions(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        self.state.read().producers.aborted_between(from, to)
    }

    /// Producers with an open transaction here and the first offset of each (for tests, tools
    /// and the coordinator's recovery checks).
    pub fn open_transactions(&self) -> Vec<(i64, i64)> {
        self.state.read().producers.open_transactions()
    }

    /// The first offset still in the log (moves when retention deletes segments).
    pub fn log_start_offset(&self) -> i64 {
        self.state.read().log_start_offset()
    }

    /// A watch on the high-water mark: wakes whenever records are appended (long-poll Fetch and
    /// the engine's scans await it).
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.hw_tx.subscribe()
    }

    /// ListOffsets by time: the offset and timestamp of the first record whose timestamp is at
    /// or after `timestamp_ms`; None when there is none. `-1` (latest) gives the high-water mark
    /// and `-2` (earliest) the log start offset, both with timestamp -1; `-3` (max timestamp,
    /// ListOffsets v7) the first record with the largest timestamp.
    pub fn offset_for_timestamp(&self, timestamp_ms: i64) -> Option<(i64, i64)> {
        match timestamp_ms {
            -1 => return Some((self.high_watermark(), -1)),
            -2 => return Some((self.log_start_offset(), -1)),
            -3 => return self.offset_of_max_timestamp(),
            _ => {}
        }
        let candidate = {
            let state = self.state.read();
            state
                .segments
                .values()
                .find_map(|s| s.offset_for_timestamp(timestamp_ms))
        }?;
        // Walk batches from the candidate until a record qualifies (bounded by the log's end).
        let mut offset = candidate.max(self.log_start_offset());
        loop {
            let (records, read) = self.read_records(offset, 64 * 1024).ok()?;
            if read.records.is_empty() {
                return None;
            }
            if let Some(r) = records.iter().find(|r| r.timestamp >= timestamp_ms) {
                return Some((r.offset, r.timestamp));
            }
            let last = records.iter().map(|r| r.offset).max()?;
            offset = last + 1;
            if offset >= read.high_watermark {
                return None;
            }
        }
    }

    fn offset_of_max_timestamp(&self) -> Option<(i64, i64)> {
        let (batch_offset, max_ts) = {
            let state = self.state.read();
            let seg = state
                .segments
                .values()
                .filter(|s| !s.is_empty())
                .reduce(|best, s| {
                    if s.max_timestamp() > best.max_timestamp() {
                        s
                    } else {
                        best
                    }
                })?;
            (
                seg.offset_for_timestamp(seg.max_timestamp())?,
                seg.max_timestamp(),
            )
        };
        let (records, _) = self.read_records(batch_offset, 1).ok()?;
        records
            .iter()
            .find(|r| r.timestamp == max_ts)
            .map(|r| (r.offset, r.timestamp))
    }

    /// Number of fsyncs run for this partition (group commit makes it smaller than the number of
    /// `Fsynced` appends).
    pub fn fsync_count(&self) -> u64 {
        self.flusher.fsync_count()
    }

    /// Base offsets of the segments, oldest first (for tests and tools).
    pub fn segment_base_offsets(&self) -> Vec<i64> {
        self.state.read().segments.keys().copied().collect()
    }

    /// Total bytes of all segments.
    pub fn size_bytes(&self) -> u64 {
        self.state.read().segments.values().map(Segment::size).sum()
    }

    /// Fsyncs everything written (used at shutdown).
    pub fn sync_all(&self) -> Result<()> {
        self.flusher.sync_now()?;
        let state = self.state.read();
        for seg in state.segments.values() {
            seg.sync_all()?;
        }
        Ok(())
    }

    /// The file name a segment with this base offset has (for tests that look at the directory).
    pub fn segment_file_name(base_offset: i64) -> String {
        log_file_name(base_offset)
    }
}

pub(crate) fn active_segment(state: &mut LogState) -> Result<&mut Segment> {
    state
        .segments
        .values_mut()
        .next_back()
        .ok_or_else(|| BrokerError::CorruptMetadata {
            path: PathBuf::new(),
            reason: "partition has no segment".into(),
        })
}

/// Length of the prefix of `buf` made of whole batches that start before offset `upper` (at
/// least the first batch when whole).
fn whole_batches_len(buf: &[u8], upper: i64) -> usize {
    let mut pos = 0;
    while pos + HEADER_SIZE <= buf.len() {
        let Ok(h) = BatchHeader::parse(&buf[pos..]) else {
            break;
        };
        if pos + h.size() > buf.len() || h.base_offset >= upper {
            break;
        }
        pos += h.size();
    }
    pos
}
