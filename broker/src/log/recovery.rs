//! Opening a partition's directory: after a clean shutdown or after a crash.
//!
//! Segments below the partition's recovery point (every segment the flusher fsync'd after a
//! roll) and all segments after a clean shutdown are trusted: only their indexes are checked and
//! the batch headers after the last index entry read. Segments at or above the recovery point
//! may have a torn tail: every batch in them is read and CRC-checked, the log is cut at the first
//! invalid batch (with a warning saying what was cut), later segments are deleted, and indexes are
//! rebuilt. Nothing before the first invalid batch is ever dropped.
//!
//! Idempotent-producer state comes from the snapshot written at clean shutdown when there is one;
//! otherwise it is rebuilt by replaying batch headers (headers only, never records).

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{BrokerError, Result};
use crate::log::flush::read_recovery_point;
use crate::log::partition::{LogState, PartitionLog};
use crate::log::producer_state::ProducerStates;
use crate::log::segment::Segment;
use crate::topic::TopicConfig;

/// File in a partition directory holding the offset below which all segments are fsync'd.
pub const RECOVERY_POINT_FILE: &str = "recovery-point";
/// Producer-state snapshot written at clean shutdown (and removed at open).
pub const PRODUCER_SNAPSHOT_FILE: &str = "producer-state.json";

/// Base offsets of the `*.log` files in `dir`, sorted; leftovers of an interrupted compaction
/// (`*.cleaned`) and of atomic writes (`*.tmp`) are removed.
fn list_segments(dir: &Path) -> Result<Vec<i64>> {
    let mut bases = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(BrokerError::io("listing partition", dir))?;
    for entry in entries {
        let entry = entry.map_err(BrokerError::io("listing partition", dir))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".cleaned") || name.ends_with(".tmp") {
            tracing::info!(file = %path.display(), "removing leftover of an interrupted write");
            std::fs::remove_file(&path)
                .map_err(BrokerError::io("removing leftover file", &path))?;
            continue;
        }
        if let Some(stem) = name.strip_suffix(".log")
            && let Ok(base) = stem.parse::<i64>()
        {
            bases.push(base);
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

/// Opens (creating if needed) the partition in `dir`. `clean` says the broker shut down cleanly
/// last time, so everything on disk was fsync'd.
pub fn open_partition(
    topic: &str,
    partition: i32,
    dir: &Path,
    config: TopicConfig,
    clean: bool,
) -> Result<PartitionLog> {
    let span = tracing::info_span!("partition", topic, partition);
    let _enter = span.enter();
    std::fs::create_dir_all(dir).map_err(BrokerError::io("creating partition directory", dir))?;
    let bases = list_segments(dir)?;
    let recovery_point = if clean {
        i64::MAX
    } else {
        read_recovery_point(&dir.join(RECOVERY_POINT_FILE))
    };
    let snapshot = if clean { read_snapshot(dir) } else { None };
    // The snapshot is only valid for this exact shutdown: remove it so a later crash cannot use it.
    let _ = std::fs::remove_file(dir.join(PRODUCER_SNAPSHOT_FILE));

    let mut segments = BTreeMap::new();
    let mut producers = ProducerStates::default();
    let interval = config.index_interval_bytes;
    let mut cut_at: Option<usize> = None;
    for (i, &base) in bases.iter().enumerate() {
        let next_base = bases.get(i + 1).copied();
        let trusted =
            next_base.is_some_and(|n| n <= recovery_point) || (clean && recovery_point == i64::MAX);
        let seg = if trusted {
            let seg = Segment::open_trusted(dir, base, interval)?;
            if snapshot.is_none() {
                for b in seg.scan_headers(0)? {
                    producers.observe(&b.header);
                }
            }
            seg
        } else {
            let (seg, batches, was_cut) = Segment::open_recovering(dir, base, interval)?;
            for b in &batches {
                producers.observe(&b.header);
            }
            if was_cut && next_base.is_some() {
                // Later segments were written after the bytes that were lost: keeping them would
                // leave a gap, so they go too (Kafka does the same).
                tracing::warn!(
                    segment_base = base,
                    "recovery cut a segment that has successors; dropping them"
                );
                cut_at = Some(i + 1);
            }
            seg
        };
        let end = seg.next_offset();
        segments.insert(base, seg);
        if cut_at.is_some() {
            break;
        }
        if let Some(n) = next_base
            && end > n
        {
            tracing::warn!(
                segment_base = base,
                next_segment_base = n,
                end,
                "segment runs past the next segment's base offset; dropping the later segments"
            );
            cut_at = Some(i + 1);
            break;
        }
    }
    if let Some(from) = cut_at {
        for &base in &bases[from..] {
            if let Ok(seg) = Segment::open_trusted(dir, base, interval) {
                tracing::warn!(segment = %seg.path().display(), "deleting segment after a recovery cut");
                seg.delete_files()?;
            }
        }
    }
    if let Some(s) = snapshot {
        producers = s;
    }
    let next_offset = segments
        .values()
        .next_back()
        .map(Segment::next_offset)
        .unwrap_or(0);
    if segments.is_empty() {
        segments.insert(0, Segment::create(dir, 0)?);
    }
    let state = LogState {
        segments,
        next_offset,
        producers,
    };
    tracing::debug!(next_offset, clean, "partition opened");
    Ok(PartitionLog::from_state(
        topic, partition, dir, config, state,
    ))
}

fn read_snapshot(dir: &Path) -> Option<ProducerStates> {
    let bytes = std::fs::read(dir.join(PRODUCER_SNAPSHOT_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

impl PartitionLog {
    /// Fsyncs everything and writes the producer-state snapshot (clean shutdown).
    pub(crate) fn close(&self) -> Result<()> {
        self.sync_all()?;
        let state = self.state.read();
        let json = serde_json::to_vec(&state.producers)
            .map_err(|e| BrokerError::Codec(format!("producer state snapshot: {e}")))?;
        let path = self.dir.join(PRODUCER_SNAPSHOT_FILE);
        crate::log::write_file_atomically(&path, &json)
            .map_err(BrokerError::io("writing producer snapshot", &path))
    }
}
