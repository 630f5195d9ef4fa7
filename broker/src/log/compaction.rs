//! Log compaction (`cleanup.policy` containing `compact`): keep only the latest record per key.
//!
//! One pass: read every batch of the partition (closed segments and the active segment up to
//! now) to learn the offset of the latest record of each key; then rewrite each cleanable closed
//! segment — the oldest ones whose records are all older than `min.compaction.lag.ms` — keeping a
//! record only if it is the latest for its key. A tombstone (null value) that is the latest for
//! its key is kept until its segment was last written more than `delete.retention.ms` ago, so
//! consumers have time to see the delete (a rewrite keeps the segment's modification time; this is
//! Kafka's delete horizon by segment time, and a producer's old record timestamps cannot make a
//! delete vanish early). Records without a key cannot be compacted and are dropped. Offsets never
//! change: a compacted log has holes, and a read at a missing offset returns the next batch.
//!
//! Transactions (Kafka's cleaner rules, kept simple): only segments that end at or before the
//! last stable offset are cleanable, so records of an open transaction are never removed; the
//! key map is built from offsets below the last stable offset and ignores aborted records, so a
//! committed record superseded only by an uncommitted or aborted one stays; aborted records are
//! removed; control batches (markers) are always kept.
//!
//! Batches whose records all survive are copied byte for byte; others are decoded with
//! kafka-protocol's decoder (any compression) and re-encoded with the same compression, producer
//! fields and timestamp type. The rewritten segment goes to `<base>.log.cleaned`, is fsync'd, and
//! replaces the original by rename (atomic), then its indexes are rebuilt; recovery deletes a
//! `.cleaned` file left by a crash, so a crash leaves either the old or the new segment.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::records::{Compression, Record};

use crate::error::{BrokerError, Result};
use crate::log::batch::{self, BatchHeader, HEADER_SIZE};
use crate::log::partition::PartitionLog;
use crate::log::records::encode_with;
use crate::log::replay::decode_batch;
use crate::log::segment::{Segment, log_file_name};

/// What one compaction pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CompactionStats {
    /// Segments rewritten.
    pub segments_cleaned: usize,
    /// Records removed (superseded, expired tombstones, keyless).
    pub records_removed: usize,
    /// Records kept in the rewritten segments.
    pub records_kept: usize,
}

/// A segment as seen by the cleaner: enough to read it without the partition lock.
struct SegmentView {
    base: i64,
    file: Arc<File>,
    path: PathBuf,
    size: u64,
    max_timestamp: i64,
    /// When the segment's file was last written (kept across rewrites), for tombstone expiry.
    modified: Option<std::time::SystemTime>,
}

/// Calls `f` with each whole batch of the first `size` bytes of `file`.
fn for_each_batch(
    view: &SegmentView,
    mut f: impl FnMut(BatchHeader, Vec<u8>) -> Result<()>,
) -> Result<()> {
    let mut pos = 0u64;
    let mut header = [0u8; HEADER_SIZE];
    while pos + HEADER_SIZE as u64 <= view.size {
        Segment::read_at(&view.file, &view.path, pos, HEADER_SIZE)
            .map(|b| header.copy_from_slice(&b))?;
        let h = BatchHeader::parse(&header)?;
        if pos + h.size() as u64 > view.size {
            break;
        }
        let bytes = Segment::read_at(&view.file, &view.path, pos, h.size())?;
        f(h, bytes)?;
        pos += h.size() as u64;
    }
    Ok(())
}

fn compression_of(h: &BatchHeader) -> Compression {
    match h.attributes & 0x7 {
        1 => Compression::Gzip,
        2 => Compression::Snappy,
        3 => Compression::Lz4,
        4 => Compression::Zstd,
        _ => Compression::None,
    }
}

/// Default memory for the key map of one pass (Kafka's `log.cleaner.dedupe.buffer.size`).
pub const DEFAULT_DEDUPE_BUFFER_SIZE: usize = 128 * 1024 * 1024;

/// Bytes a key map entry costs besides the key itself (the `Bytes` handle, the offset and the
/// hash table's slot), for the dedupe budget.
const ENTRY_OVERHEAD: usize = 64;

/// The latest offset of each key from the first dirty offset on, as far as the budget allows.
struct OffsetMap {
    latest: HashMap<Bytes, i64>,
    bytes: usize,
    budget: usize,
}

impl OffsetMap {
    fn insert(&mut self, key: &[u8], offset: i64) {
        if let Some(o) = self.latest.get_mut(key) {
            *o = offset;
            return;
        }
        // A copy: the decoded key points into its whole batch, which must not stay alive.
        self.latest.insert(Bytes::copy_from_slice(key), offset);
        self.bytes += key.len() + ENTRY_OVERHEAD;
    }

    fn full(&self) -> bool {
        self.bytes >= self.budget
    }
}

impl PartitionLog {
    /// Compacts the partition as of `now_ms` if its topic's cleanup policy includes `compact`,
    /// with the default key-map budget.
    pub fn compact(&self, now_ms: i64) -> Result<CompactionStats> {
        self.compact_with_budget(now_ms, DEFAULT_DEDUPE_BUFFER_SIZE)
    }

    /// Compacts with a key map of at most about `budget` bytes (Kafka's dedupe buffer): keys are
    /// mapped from the first dirty offset (where the last pass stopped) on, segment by segment,
    /// until the budget is used; the segments the map covers are cleaned and the next pass
    /// starts mapping where this one stopped. A record is dropped only when the map holds a
    /// later offset for its key, so a partial map never drops a record that is still the latest.
    pub fn compact_with_budget(&self, now_ms: i64, budget: usize) -> Result<CompactionStats> {
        let mut maintenance = self.maintenance.lock();
        let config = self.config.read().clone();
        if !config.cleanup_policy.compact || self.is_offline() {
            return Ok(CompactionStats::default());
        }
        let (views, lso, aborted) = {
            let state = self.state.read();
            let mut aborted: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
            for a in state.producers.aborted() {
                aborted
                    .entry(a.producer_id)
                    .or_default()
                    .push((a.first_offset, a.last_offset));
            }
            let views: Vec<SegmentView> = state
                .segments
                .values()
                .map(|s| SegmentView {
                    base: s.base_offset(),
                    file: s.file().clone(),
                    path: s.path().to_path_buf(),
                    size: s.size(),
                    max_timestamp: s.max_timestamp(),
                    modified: s.file().metadata().and_then(|m| m.modified()).ok(),
                })
                .collect();
            (views, state.last_stable_offset(), aborted)
        };
        let is_aborted = |r: &Record| {
            r.transactional
                && aborted.get(&r.producer_id).is_some_and(|ranges| {
                    ranges
                        .iter()
                        .any(|(first, last)| *first <= r.offset && r.offset <= *last)
                })
        };
        let Some((_active, closed)) = views.split_last() else {
            return Ok(CompactionStats::default());
        };
        let lag_limit = now_ms - config.min_compaction_lag_ms;
        // A closed segment is cleanable when its records are old enough and it ends at or before
        // the last stable offset (the next segment's base is its end).
        let prefix = closed
            .iter()
            .enumerate()
            .take_while(|(i, v)| v.max_timestamp <= lag_limit && views[i + 1].base <= lso)
            .count();
        let cleanable: Vec<&SegmentView> = closed[..prefix].iter().filter(|v| v.size > 0).collect();
        if cleanable.is_empty() {
            return Ok(CompactionStats::default());
        }
        // Like Kafka's cleaner checkpoint: nothing new became cleanable since the last pass, so
        // skip the pass, unless tombstones kept last time may have expired since.
        let cleanable_end = views[prefix].base;
        let first_dirty = maintenance.first_dirty;
        if let Some((end, at)) = maintenance.last_compaction
            && end == cleanable_end
            && first_dirty >= cleanable_end
            && now_ms - at < config.delete_retention_ms
        {
            return Ok(CompactionStats::default());
        }
        maintenance.last_compaction = Some((cleanable_end, now_ms));

        // The latest offset of each key from the first dirty offset on, until the budget is
        // used up: `mapped_end` is the offset up to which every key is in the map.
        let mut map = OffsetMap {
            latest: HashMap::new(),
            bytes: 0,
            budget: budget.max(1),
        };
        let mut mapped_end = first_dirty;
        'segments: for (i, view) in views.iter().enumerate() {
            let view_end = views.get(i + 1).map_or(i64::MAX, |v| v.base);
            if view_end <= first_dirty {
                continue;
            }
            let mut stopped = false;
            for_each_batch(view, |h, bytes| {
                if stopped || h.last_offset() < first_dirty {
                    return Ok(());
                }
                if map.full() {
                    stopped = true;
                    return Ok(());
                }
                // Markers are kept; records at or past the last stable offset (an open
                // transaction) and aborted ones never supersede anything.
                if !h.is_control() && h.base_offset < lso {
                    for r in decode_batch(&h, &bytes)? {
                        if r.offset >= lso || is_aborted(&r) {
                            continue;
                        }
                        if let Some(k) = r.key
                            && r.offset >= first_dirty
                        {
                            map.insert(&k, r.offset);
                        }
                    }
                }
                mapped_end = mapped_end.max(h.last_offset() + 1);
                Ok(())
            })?;
            if stopped {
                break 'segments;
            }
            mapped_end = mapped_end.max(view_end.min(self.high_watermark()));
        }
        // Segments that start below the mapped end are cleaned: a record goes only when the map
        // holds a later offset for its key, which is right whatever part of the log the map
        // covers. Records past the mapped end stay dirty for the next pass.
        let cleanable: Vec<&SegmentView> = cleanable
            .into_iter()
            .filter(|v| v.base < mapped_end)
            .collect();
        if mapped_end < cleanable_end {
            tracing::debug!(topic = %self.topic, partition = self.partition, budget, mapped_end,
                "compaction's key map is full (log.cleaner.dedupe.buffer.size); the next pass goes on");
        }
        let latest = map.latest;

        // Tombstones live until their segment was last written more than delete.retention.ms
        // ago (Kafka's delete horizon by segment modification time, not the record's own
        // timestamp, which producers may set far in the past).
        let tombstone_horizon = std::time::UNIX_EPOCH
            + std::time::Duration::from_millis((now_ms - config.delete_retention_ms).max(0) as u64);
        let keep_in = |view: &SegmentView| {
            let tombstones_expired = view.modified.is_some_and(|m| m <= tombstone_horizon);
            let latest = &latest;
            let is_aborted = &is_aborted;
            move |r: &Record| match &r.key {
                _ if is_aborted(r) => false,
                None => false,
                Some(k) => {
                    latest.get(k).is_none_or(|o| *o <= r.offset)
                        && (r.value.is_some() || !tombstones_expired)
                }
            }
        };
        let mut stats = CompactionStats::default();
        for view in cleanable {
            let (out, kept, removed) = rewrite_segment(view, &keep_in(view))?;
            if removed == 0 {
                continue;
            }
            let new_seg = self.install_cleaned(view, &out)?;
            {
                let mut state = self.state.write();
                state.segments.insert(view.base, new_seg);
            }
            tracing::info!(topic = %self.topic, partition = self.partition, segment_base = view.base,
                kept, removed, "compacted a segment");
            stats.segments_cleaned += 1;
            stats.records_kept += kept;
            stats.records_removed += removed;
        }
        maintenance.first_dirty = mapped_end.min(cleanable_end);
        Ok(stats)
    }

    /// Writes the cleaned bytes next to the segment, fsyncs them and swaps them in by rename.
    fn install_cleaned(&self, view: &SegmentView, bytes: &[u8]) -> Result<Segment> {
        let log_path = self.dir.join(log_file_name(view.base));
        let cleaned = cleaned_path(&log_path);
        {
            let mut f = File::create(&cleaned)
                .map_err(BrokerError::io("creating cleaned segment", &cleaned))?;
            f.write_all(bytes)
                .map_err(BrokerError::io("writing cleaned segment", &cleaned))?;
            // Keep the original modification time: it dates the tombstones in the segment.
            if let Some(modified) = view.modified {
                f.set_modified(modified).map_err(BrokerError::io(
                    "keeping the segment's modification time",
                    &cleaned,
                ))?;
            }
            f.sync_all()
                .map_err(BrokerError::io("syncing cleaned segment", &cleaned))?;
        }
        for ext in ["index", "timeindex"] {
            let p = log_path.with_extension(ext);
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(BrokerError::Io {
                        context: "removing old index",
                        path: p,
                        source: e,
                    });
                }
            }
        }
        std::fs::rename(&cleaned, &log_path)
            .map_err(BrokerError::io("installing cleaned segment", &log_path))?;
        crate::log::sync_dir(&self.dir)
            .map_err(BrokerError::io("syncing partition directory", &self.dir))?;
        let interval = self.config.read().index_interval_bytes;
        let mut seg = Segment::open_trusted(&self.dir, view.base, interval)?;
        seg.sync_all()?;
        seg.take_index_handles();
        Ok(seg)
    }
}

fn cleaned_path(log_path: &Path) -> PathBuf {
    let mut name = log_path.as_os_str().to_owned();
    name.push(".cleaned");
    PathBuf::from(name)
}

/// The bytes of `view` with only the records `keep` accepts; returns (bytes, kept, removed).
fn rewrite_segment(
    view: &SegmentView,
    keep: &dyn Fn(&Record) -> bool,
) -> Result<(Vec<u8>, usize, usize)> {
    let mut out = Vec::with_capacity(view.size as usize);
    let mut kept = 0;
    let mut removed = 0;
    for_each_batch(view, |h, bytes| {
        if h.is_control() {
            out.extend_from_slice(&bytes);
            return Ok(());
        }
        let records = decode_batch(&h, &bytes)?;
        let total = records.len();
        let survivors: Vec<Record> = records.into_iter().filter(|r| keep(r)).collect();
        kept += survivors.len();
        removed += total - survivors.len();
        if survivors.len() == total {
            out.extend_from_slice(&bytes);
        } else if !survivors.is_empty() {
            let mut encoded = encode_with(&survivors, compression_of(&h))?;
            if h.base_sequence < 0 {
                batch::set_base_sequence(&mut encoded, -1);
            }
            if h.attributes & (1 << 3) != 0 {
                batch::set_log_append_time(&mut encoded, h.max_timestamp);
            }
            out.extend_from_slice(&encoded);
        }
        Ok(())
    })?;
    Ok((out, kept, removed))
}
