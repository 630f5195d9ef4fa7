//! Cutting a partition back to an offset: everything at or after it goes.
//!
//! Kafka followers truncate after a leader change; in Sluice the engine needs it to make sink
//! output exactly-once: after a crash it cuts a sink partition back to the end offset recorded by
//! its last committed epoch before running again. The cut is at a batch boundary (records are
//! never split out of a batch); the log's derived state follows: later segments are deleted, the
//! containing segment is truncated and its indexes rebuilt, producer state is replayed from the
//! remaining batch headers, snapshots and the recovery point past the cut are dropped.

use crate::error::{BrokerError, Result};
use crate::log::flush::force_recovery_point;
use crate::log::partition::PartitionLog;
use crate::log::producer_state::ProducerStates;
use crate::log::recovery::{RECOVERY_POINT_FILE, remove_snapshots_after};
use crate::log::segment::Segment;

impl PartitionLog {
    /// Removes every record at or after `offset`, which must be the first offset of a batch (or
    /// fall in a compaction hole before one), and returns the new high-water mark. Offsets
    /// outside `[log_start_offset, high_watermark]` are OFFSET_OUT_OF_RANGE; an offset inside a
    /// batch is INVALID_RECORD. Meant for recovery, with no appends running at the same time:
    /// appends waiting on an fsync at the moment of the cut still see their (now removed) offsets.
    pub async fn truncate_to(&self, offset: i64) -> Result<i64> {
        // Let pending fsyncs (and the snapshots and recovery points they write) finish first.
        self.flusher.wait_synced(self.flusher.last_ticket()).await?;
        let _maintenance = self.maintenance.lock();
        if self.is_offline() {
            return Err(BrokerError::UnknownTopic(self.topic.clone()));
        }
        let (removed, new_hw) = {
            let mut state = self.state.write();
            let hw = state.next_offset;
            let start = state.log_start_offset();
            state.check_in_range(offset)?;
            if offset == hw {
                return Ok(hw);
            }
            let floor = state.segment_base_for(offset);
            let later: Vec<i64> = state.segments.range(floor + 1..).map(|(b, _)| *b).collect();
            let interval = self.config.read().index_interval_bytes;
            let seg = state
                .segments
                .get_mut(&floor)
                .ok_or(BrokerError::OffsetOutOfRange {
                    offset,
                    log_start_offset: start,
                    high_watermark: hw,
                })?;
            if let Some(batch) = seg.locate(offset)? {
                if batch.header.base_offset < offset {
                    return Err(BrokerError::InvalidRecord(format!(
                        "cannot truncate at offset {offset}: it is inside the batch {}..={}",
                        batch.header.base_offset,
                        batch.header.last_offset()
                    )));
                }
                seg.truncate_to(batch.position)?;
                let remaining = seg.scan_headers(0)?;
                seg.rebuild_indexes(&remaining, interval)?;
            }
            let removed: Vec<Segment> = later
                .iter()
                .filter_map(|b| state.segments.remove(b))
                .collect();
            let new_hw = state
                .segments
                .values()
                .next_back()
                .map_or(offset, Segment::next_offset);
            state.next_offset = new_hw;
            let mut producers = ProducerStates::default();
            for seg in state.segments.values() {
                crate::log::recovery::replay_batches(
                    &mut producers,
                    seg,
                    &seg.scan_headers(0)?,
                    i64::MIN,
                )?;
            }
            state.producers = producers;
            state.refresh_first_unstable();
            self.flusher.forget_rolls_after(new_hw);
            self.hw_tx.send_replace(new_hw);
            (removed, new_hw)
        };
        for seg in &removed {
            seg.delete_files()?;
        }
        let active_base = self
            .state
            .read()
            .segments
            .keys()
            .next_back()
            .copied()
            .unwrap_or(0);
        remove_snapshots_after(&self.dir, new_hw)
            .map_err(BrokerError::io("removing producer snapshots", &self.dir))?;
        force_recovery_point(&self.dir.join(RECOVERY_POINT_FILE), active_base)
            .map_err(BrokerError::io("writing recovery point", &self.dir))?;
        tracing::warn!(topic = %self.topic, partition = self.partition, offset, high_watermark = new_hw,
            segments_deleted = removed.len(), "partition truncated");
        Ok(new_hw)
    }
}
