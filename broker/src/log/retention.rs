//! Time and size retention (`cleanup.policy` containing `delete`).
//!
//! Retention deletes whole segments, oldest first, and so moves the log start offset:
//! - by time: a segment whose largest timestamp is older than `retention.ms`; a timestamp later
//!   than the segment file's last write (a producer's clock, or a hostile one, far ahead) counts
//!   as that write time instead;
//! - by size: while the partition minus the oldest segment is still at least `retention.bytes`.
//!
//! The same periodic pass forgets idempotent producers idle for longer than
//! `PRODUCER_ID_EXPIRATION_MS` (Kafka's `producer.id.expiration.ms`).
//!
//! As in Kafka, when even the active segment has expired by time it is rolled first (an empty
//! active segment takes its place at the high-water mark) so that an idle topic's data does not
//! outlive its retention. Segment files are removed after they leave the segment map; a reader
//! that already holds a segment's file handle finishes its read.

use std::collections::HashMap;

use crate::error::Result;
use crate::log::partition::PartitionLog;
use crate::log::producer_state::PRODUCER_ID_EXPIRATION_MS;
use crate::log::segment::Segment;

/// The time a segment's age is measured from: its largest record timestamp, but never later than
/// when its file was last written. A producer's timestamps ten years ahead would otherwise keep the
/// segment forever (Kafka logs "contains future timestamp(s)" and keeps such a segment, relying on
/// `message.timestamp.after.max.ms` at append); capping by the write time frees the disk once
/// `retention.ms` has passed since the data really arrived.
fn retention_timestamp(segment: &Segment, written_ms: Option<i64>) -> i64 {
    match written_ms {
        Some(w) if segment.max_timestamp() > w => {
            tracing::debug!(
                segment_base = segment.base_offset(),
                max_timestamp = segment.max_timestamp(),
                written_ms = w,
                "segment holds future timestamps; its age counts from when it was written"
            );
            w
        }
        _ => segment.max_timestamp(),
    }
}

/// When `file` was last modified, in ms since the epoch.
fn modified_ms(file: &std::fs::File) -> Option<i64> {
    let modified = file.metadata().ok()?.modified().ok()?;
    let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(since.as_millis()).ok()
}

impl PartitionLog {
    /// Applies retention as of `now_ms`; returns how many segments were deleted.
    pub fn apply_retention(&self, now_ms: i64) -> Result<usize> {
        let _maintenance = self.maintenance.lock();
        let config = self.config.read().clone();
        if self.is_offline() {
            return Ok(0);
        }
        {
            let mut state = self.state.write();
            let expired = state.producers.expire(now_ms - PRODUCER_ID_EXPIRATION_MS);
            if expired > 0 {
                tracing::debug!(topic = %self.topic, partition = self.partition, expired, "expired idle producer ids");
            }
        }
        if !config.cleanup_policy.delete {
            return Ok(0);
        }
        // When each segment was last written, read before the lock is taken.
        let files: Vec<(i64, std::sync::Arc<std::fs::File>)> = self
            .state
            .read()
            .segments
            .iter()
            .map(|(base, s)| (*base, s.file().clone()))
            .collect();
        let written: HashMap<i64, i64> = files
            .into_iter()
            .filter_map(|(base, f)| Some((base, modified_ms(&f)?)))
            .collect();
        let removed: Vec<Segment> = {
            let mut state = self.state.write();
            let expired = |s: &Segment| {
                config.retention_ms >= 0
                    && !s.is_empty()
                    && retention_timestamp(s, written.get(&s.base_offset()).copied())
                        < now_ms - config.retention_ms
            };
            // Roll an expired, non-empty active segment so that it can be deleted too.
            let all_expired = state.segments.values().all(|s| s.is_empty() || expired(s));
            if all_expired && state.segments.values().next_back().is_some_and(expired) {
                let next = state.next_offset;
                self.roll(&mut state, next)?;
            }
            let mut total: u64 = state.segments.values().map(Segment::size).sum();
            let closed: Vec<i64> = state.segments.keys().copied().collect();
            let closed = &closed[..closed.len().saturating_sub(1)];
            let mut doomed = Vec::new();
            for base in closed {
                let Some(seg) = state.segments.get(base) else {
                    break;
                };
                // A closed segment that compaction emptied holds nothing to keep.
                let by_time = seg.is_empty() || expired(seg);
                let by_size = config.retention_bytes >= 0
                    && total - seg.size() >= config.retention_bytes as u64;
                if !(by_time || by_size) {
                    break;
                }
                total -= seg.size();
                doomed.push(*base);
            }
            let removed: Vec<Segment> = doomed
                .iter()
                .filter_map(|b| state.segments.remove(b))
                .collect();
            if !removed.is_empty() {
                // Producers with nothing left in the log are forgotten, as in Kafka.
                let start = state.log_start_offset();
                state.producers.retain_active(start);
            }
            removed
        };
        for seg in &removed {
            tracing::info!(topic = %self.topic, partition = self.partition, segment = %seg.path().display(),
                max_timestamp = seg.max_timestamp(), size = seg.size(), "retention deleted a segment");
            seg.delete_files()?;
        }
        if !removed.is_empty() {
            crate::log::sync_dir(&self.dir).map_err(crate::error::BrokerError::io(
                "syncing partition directory",
                &self.dir,
            ))?;
        }
        Ok(removed.len())
    }
}

impl PartitionLog {
    /// DeleteRecords: moves the log start offset to `offset` (-1 means the high-water mark) and
    /// deletes the segments wholly before it. OFFSET_OUT_OF_RANGE unless `offset` is in
    /// `[log_start_offset, high_watermark]`. The new start is persisted before anything is
    /// deleted, so it survives a crash. Returns the new log start offset.
    pub fn delete_records_before(&self, offset: i64) -> Result<i64> {
        let _maintenance = self.maintenance.lock();
        if self.is_offline() {
            return Err(crate::error::BrokerError::UnknownTopic(self.topic.clone()));
        }
        let removed: Vec<Segment> = {
            let mut state = self.state.write();
            let hw = state.next_offset;
            let offset = if offset == -1 { hw } else { offset };
            state.check_in_range(offset)?;
            let path = self.dir.join(crate::log::recovery::LOG_START_FILE);
            crate::log::write_file_atomically(&path, offset.to_string().as_bytes()).map_err(
                crate::error::BrokerError::io("writing log start offset", &path),
            )?;
            state.deleted_before = offset;
            let bases: Vec<i64> = state.segments.keys().copied().collect();
            // A segment goes when the next one starts at or before the new log start.
            let doomed: Vec<i64> = bases
                .windows(2)
                .take_while(|w| w[1] <= offset)
                .map(|w| w[0])
                .collect();
            let removed: Vec<Segment> = doomed
                .iter()
                .filter_map(|b| state.segments.remove(b))
                .collect();
            state.producers.retain_active(offset);
            removed
        };
        for seg in &removed {
            seg.delete_files()?;
        }
        tracing::info!(topic = %self.topic, partition = self.partition, log_start_offset = offset,
            segments_deleted = removed.len(), "records deleted");
        Ok(self.log_start_offset())
    }
}
