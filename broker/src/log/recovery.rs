//! Opening a partition's directory: after a clean shutdown or after a crash.
//!
//! Segments below the partition's recovery point (every segment the flusher fsync'd after a
//! roll) and, after a clean shutdown, every segment but the last are trusted: only their indexes
//! are checked and the batch headers after the last index entry read. Segments at or above the
//! recovery point may have a torn tail: every batch in them is read and CRC-checked, the log is
//! cut at the first invalid batch (with a warning saying what was cut), later segments are
//! deleted, and indexes are rebuilt. Nothing before the first invalid batch is ever dropped.
//!
//! Even after a clean shutdown the active (last) segment is checked, because its tail may have
//! been damaged while the server was stopped: every batch from its last offset-index entry that
//! points at a valid batch to the end is CRC-checked ([`Segment::open_checking_tail`], a few KiB
//! of reading unless the damage reaches further back), so start-up still never reads a whole
//! large log. When that cuts the tail, the producer snapshot written at shutdown (past the new
//! end) is dropped and producer state is rebuilt from an older snapshot plus batch headers.
//!
//! Segments read back past the recovery point are registered with the partition's flusher as
//! unsynced ([`crate::log::flush::Flusher::note_recovered`]) and an fsync of them starts at
//! once: a retried acks=all duplicate of a batch in them is acknowledged only after that fsync.
//!
//! Idempotent-producer state comes from the newest snapshot (`<offset>.snapshot`, written by the
//! flusher after each roll's fsync and at clean shutdown) that is not past the recovery point;
//! the batch headers after it are replayed (headers only, never records). Without a usable
//! snapshot every header is replayed.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{BrokerError, Result};
use crate::log::flush::read_recovery_point;
use crate::log::partition::{LogState, PartitionLog};
use crate::log::producer_state::ProducerStates;
use crate::log::segment::{ScannedBatch, Segment, log_file_name};
use crate::log::transactions::ControlType;
use crate::topic::TopicConfig;

/// File in a partition directory holding the offset below which all segments are fsync'd.
pub const RECOVERY_POINT_FILE: &str = "recovery-point";
/// File holding the log start offset set by DeleteRecords.
pub const LOG_START_FILE: &str = "log-start-offset";

/// The DeleteRecords log start offset, 0 when never set or unreadable.
fn read_log_start(dir: &Path) -> i64 {
    std::fs::read_to_string(dir.join(LOG_START_FILE))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Snapshots kept per partition (older ones are pruned when a new one is written).
const SNAPSHOTS_KEPT: usize = 2;

/// File name of the producer-state snapshot taken at `offset`.
pub fn snapshot_file_name(offset: i64) -> String {
    format!("{offset:020}.snapshot")
}

/// Durably writes the producer-state snapshot taken at `offset` and prunes older snapshots.
pub fn write_snapshot(dir: &Path, offset: i64, json: &[u8]) -> std::io::Result<()> {
    crate::log::write_file_atomically(&dir.join(snapshot_file_name(offset)), json)?;
    let mut offsets = list_suffixed(dir, ".snapshot")?;
    offsets.sort_unstable();
    let excess = offsets.len().saturating_sub(SNAPSHOTS_KEPT);
    for old in &offsets[..excess] {
        std::fs::remove_file(dir.join(snapshot_file_name(*old)))?;
    }
    Ok(())
}

/// Removes the producer snapshots taken past `offset` (after a truncation).
pub fn remove_snapshots_after(dir: &Path, offset: i64) -> std::io::Result<()> {
    for o in list_suffixed(dir, ".snapshot")? {
        if o > offset {
            std::fs::remove_file(dir.join(snapshot_file_name(o)))?;
        }
    }
    Ok(())
}

/// Offsets parsed from `<offset><suffix>` file names in `dir`.
fn list_suffixed(dir: &Path, suffix: &str) -> std::io::Result<Vec<i64>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(suffix)
            && let Ok(offset) = stem.parse::<i64>()
        {
            out.push(offset);
        }
    }
    Ok(out)
}

/// Base offsets of the `*.log` files in `dir`, sorted; leftovers of an interrupted compaction
/// (`*.cleaned`) and of atomic writes (`*.tmp`) are removed.
fn list_segments(dir: &Path) -> Result<Vec<i64>> {
    let entries = std::fs::read_dir(dir).map_err(BrokerError::io("listing partition", dir))?;
    for entry in entries {
        let path = entry
            .map_err(BrokerError::io("listing partition", dir))?
            .path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".cleaned") || name.ends_with(".tmp") {
            tracing::info!(file = %path.display(), "removing leftover of an interrupted write");
            std::fs::remove_file(&path)
                .map_err(BrokerError::io("removing leftover file", &path))?;
        }
    }
    let mut bases =
        list_suffixed(dir, ".log").map_err(BrokerError::io("listing partition", dir))?;
    bases.sort_unstable();
    Ok(bases)
}

/// The newest readable snapshot at or below `limit`, with its offset.
fn load_snapshot(dir: &Path, limit: i64) -> Option<(i64, ProducerStates)> {
    let mut offsets = list_suffixed(dir, ".snapshot").ok()?;
    offsets.sort_unstable();
    offsets.into_iter().rev().filter(|o| *o <= limit).find_map(|o| {
        let bytes = std::fs::read(dir.join(snapshot_file_name(o))).ok()?;
        match serde_json::from_slice(&bytes) {
            Ok(state) => Some((o, state)),
            Err(e) => {
                tracing::warn!(offset = o, error = %e, "ignoring an unreadable producer snapshot");
                None
            }
        }
    })
}

fn delete_segment_files(dir: &Path, base: i64) -> Result<()> {
    let log = dir.join(log_file_name(base));
    for path in [
        log.clone(),
        log.with_extension("index"),
        log.with_extension("timeindex"),
    ] {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(BrokerError::Io {
                    context: "deleting segment",
                    path,
                    source: e,
                });
            }
        }
    }
    Ok(())
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
    let snapshot = load_snapshot(dir, recovery_point);
    let (replay_from, mut producers) = snapshot.unwrap_or((i64::MIN, ProducerStates::default()));
    let mut replay = |seg: &Segment, batches: &[ScannedBatch]| {
        replay_batches(&mut producers, seg, batches, replay_from)
    };

    let mut segments = BTreeMap::new();
    let mut recovered_files = Vec::new();
    let interval = config.index_interval_bytes;
    let mut cut_after: Option<usize> = None;
    let mut clean_tail_cut = false;
    for (i, &base) in bases.iter().enumerate() {
        let next_base = bases.get(i + 1).copied();
        let trusted = clean || next_base.is_some_and(|n| n <= recovery_point);
        let seg = if clean && next_base.is_none() {
            // The active segment after a clean shutdown: its producer state is in the snapshot
            // written at shutdown, unless the check below cuts the tail.
            let (seg, cut) = Segment::open_checking_tail(dir, base, interval)?;
            clean_tail_cut = cut.is_some();
            if seg.next_offset() > replay_from && !clean_tail_cut {
                replay(&seg, &seg.scan_headers(0)?)?;
            }
            seg
        } else if trusted {
            let seg = Segment::open_trusted(dir, base, interval)?;
            if next_base.is_none_or(|n| n > replay_from) {
                replay(&seg, &seg.scan_headers(0)?)?;
            }
            seg
        } else {
            let (seg, batches, was_cut) = Segment::open_recovering(dir, base, interval)?;
            replay(&seg, &batches)?;
            recovered_files.push(seg.file().clone());
            if was_cut && next_base.is_some() {
                // Later segments were written after the bytes that were lost: keeping them would
                // leave a gap, so they go too (Kafka does the same).
                cut_after = Some(i);
            }
            seg
        };
        let end = seg.next_offset();
        segments.insert(base, seg);
        if let Some(n) = next_base
            && end > n
        {
            tracing::warn!(
                segment_base = base,
                next_segment_base = n,
                end,
                "segment runs past the next segment's base offset"
            );
            cut_after = Some(i);
        }
        if cut_after.is_some() {
            break;
        }
    }
    if let Some(i) = cut_after {
        for &base in &bases[i + 1..] {
            tracing::warn!(
                segment_base = base,
                "deleting a segment that follows a recovery cut"
            );
            delete_segment_files(dir, base)?;
        }
    }
    let next_offset = segments
        .values()
        .next_back()
        .map(Segment::next_offset)
        .unwrap_or(0);
    if segments.is_empty() {
        segments.insert(0, Segment::create(dir, 0)?);
    }
    if clean_tail_cut {
        producers = producers_after_cut(dir, &segments, next_offset)?;
    }
    let deleted_before = read_log_start(dir).min(next_offset);
    let mut state = LogState {
        segments,
        next_offset,
        producers,
        deleted_before,
        txn_registered: Default::default(),
        first_unstable: None,
    };
    state.refresh_first_unstable();
    tracing::debug!(next_offset, clean, recovery_point, "partition opened");
    let log = PartitionLog::from_state(topic, partition, dir, config, state);
    if !recovered_files.is_empty() {
        // What recovery kept past the recovery point may be in the page cache only: it must be
        // fsync'd before anything (an acks=all retry, the recovery point) relies on it.
        log.flusher.note_recovered(recovered_files);
        log.flusher.flush_in_background();
    }
    Ok(log)
}

/// Producer state for a log whose tail was cut at `end` after a clean shutdown: the snapshots
/// past `end` are removed (a later start must not pick them) and the newest remaining one is
/// brought up to `end` by replaying batch headers.
fn producers_after_cut(
    dir: &Path,
    segments: &BTreeMap<i64, Segment>,
    end: i64,
) -> Result<ProducerStates> {
    remove_snapshots_after(dir, end)
        .map_err(BrokerError::io("removing producer snapshots", dir))?;
    let (from, mut producers) =
        load_snapshot(dir, end).unwrap_or((i64::MIN, ProducerStates::default()));
    let bases: Vec<i64> = segments.keys().copied().collect();
    for (i, seg) in segments.values().enumerate() {
        if bases.get(i + 1).is_some_and(|next| *next <= from) {
            continue;
        }
        replay_batches(&mut producers, seg, &seg.scan_headers(0)?, from)?;
    }
    Ok(producers)
}

/// Replays the headers of `batches` (of `seg`) at or after offset `from` into `producers`;
/// for a transaction marker the control record is read too (a few bytes), so that aborted
/// transactions are indexed again and the last stable offset comes out as before the stop.
pub(crate) fn replay_batches(
    producers: &mut ProducerStates,
    seg: &Segment,
    batches: &[ScannedBatch],
    from: i64,
) -> Result<()> {
    for b in batches.iter().filter(|b| b.header.base_offset >= from) {
        if b.header.is_control() {
            let kind = seg.control_type_at(b)?.unwrap_or(ControlType::Commit);
            producers.observe_marker(&b.header, kind);
        } else {
            producers.observe(&b.header);
        }
    }
    Ok(())
}

impl PartitionLog {
    /// Fsyncs everything and writes the producer-state snapshot at the end of the log (clean
    /// shutdown).
    pub(crate) fn close(&self) -> Result<()> {
        self.sync_all()?;
        let state = self.state.read();
        let json = serde_json::to_vec(&state.producers)
            .map_err(|e| BrokerError::Codec(format!("producer state snapshot: {e}")))?;
        write_snapshot(&self.dir, state.next_offset, &json)
            .map_err(BrokerError::io("writing producer snapshot", &self.dir))
    }
}
