//! Time and size retention (`cleanup.policy` containing `delete`).
//!
//! Retention deletes whole segments, oldest first, and so moves the log start offset:
//! - by time: a segment whose largest timestamp is older than `retention.ms`;
//! - by size: while the partition minus the oldest segment is still at least `retention.bytes`.
//!
//! As in Kafka, when even the active segment has expired by time it is rolled first (an empty
//! active segment takes its place at the high-water mark) so that an idle topic's data does not
//! outlive its retention. Segment files are removed after they leave the segment map; a reader
//! that already holds a segment's file handle finishes its read.

use crate::error::Result;
use crate::log::partition::PartitionLog;
use crate::log::segment::Segment;

impl PartitionLog {
    /// Applies retention as of `now_ms`; returns how many segments were deleted.
    pub fn apply_retention(&self, now_ms: i64) -> Result<usize> {
        let _maintenance = self.maintenance.lock();
        let config = self.config.read().clone();
        if !config.cleanup_policy.delete {
            return Ok(0);
        }
        let removed: Vec<Segment> = {
            let mut state = self.state.write();
            let expired = |s: &Segment| {
                config.retention_ms >= 0
                    && !s.is_empty()
                    && s.max_timestamp() < now_ms - config.retention_ms
            };
            // Roll an expired, non-empty active segment so that it can be deleted too.
            let active_expired = state.segments.values().next_back().is_some_and(expired);
            if active_expired && state.segments.values().all(expired) {
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
                let by_time = expired(seg);
                let by_size = config.retention_bytes >= 0
                    && total - seg.size() >= config.retention_bytes as u64;
                if !(by_time || by_size) {
                    break;
                }
                total -= seg.size();
                doomed.push(*base);
            }
            doomed
                .iter()
                .filter_map(|b| state.segments.remove(b))
                .collect()
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
