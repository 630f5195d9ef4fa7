//! One segment of a partition's log: a `<base-offset>.log` file of record batches plus its offset
//! and time indexes.
//!
//! Only the last segment of a partition is written to; older ones are immutable until retention
//! deletes them or compaction replaces them. Writes append to the end of the file; reads are
//! positional (`FileExt::read_at`) on a shared handle, so a reader never blocks a writer once it
//! knows where to read, and a reader holding the handle keeps reading even if retention deletes
//! the file meanwhile.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{BrokerError, Result};
use crate::log::batch::{BatchHeader, HEADER_SIZE};
use crate::log::index::{Index, OffsetEntry, TimeEntry};

mod validate;
pub use validate::{ScanOutcome, TailCut};

/// File name of a segment's log for a base offset (`00000000000000000042.log`).
pub fn log_file_name(base_offset: i64) -> String {
    format!("{base_offset:020}.log")
}

/// A batch found while scanning a segment: its position and header.
#[derive(Debug, Clone, Copy)]
pub struct ScannedBatch {
    /// Byte position of the batch in the file.
    pub position: u64,
    /// Its header.
    pub header: BatchHeader,
}

/// One segment: the log file, its indexes and the facts about it kept in memory.
#[derive(Debug)]
pub struct Segment {
    base_offset: i64,
    path: PathBuf,
    file: Arc<File>,
    size: u64,
    /// One past the last offset stored in this segment (== base offset when empty).
    next_offset: i64,
    /// The largest timestamp of any batch, -1 when empty.
    max_timestamp: i64,
    /// Wall-clock time (ms) this segment was created or opened, for `segment.ms` when the
    /// first batch has no timestamp.
    created_ms: i64,
    /// The first batch's max timestamp: `segment.ms` is measured from it, as Kafka does.
    first_batch_timestamp: Option<i64>,
    offset_index: Index<OffsetEntry>,
    time_index: Index<TimeEntry>,
    bytes_since_index_entry: u64,
}

impl Segment {
    fn open_files(dir: &Path, base_offset: i64, create: bool) -> Result<(Segment, bool)> {
        let path = dir.join(log_file_name(base_offset));
        let file = OpenOptions::new()
            .create(create)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(BrokerError::io("opening segment", &path))?;
        let size = file
            .metadata()
            .map_err(BrokerError::io("reading segment size", &path))?
            .len();
        let (offset_index, offsets_whole) = Index::open(&path.with_extension("index"))?;
        let (time_index, times_whole) = Index::open(&path.with_extension("timeindex"))?;
        let seg = Segment {
            base_offset,
            path,
            file: Arc::new(file),
            size,
            next_offset: base_offset,
            max_timestamp: -1,
            created_ms: crate::log::now_ms(),
            first_batch_timestamp: None,
            offset_index,
            time_index,
            bytes_since_index_entry: 0,
        };
        Ok((seg, offsets_whole && times_whole))
    }

    /// Creates a new empty segment (and empty indexes) starting at `base_offset`.
    pub fn create(dir: &Path, base_offset: i64) -> Result<Segment> {
        let (mut seg, _) = Self::open_files(dir, base_offset, true)?;
        if seg.size > 0 {
            // A leftover file from an earlier life of this offset range: start clean.
            seg.truncate_to(0)?;
        }
        seg.offset_index.reset(Vec::new())?;
        seg.time_index.reset(Vec::new())?;
        Ok(seg)
    }

    /// Opens a segment that was cleanly written (fsync'd before a clean shutdown or a roll): the
    /// indexes are trusted when they look whole, and only the batch headers after the last index
    /// entry are read to find the segment's end. Falls back to a header scan to rebuild indexes.
    pub fn open_trusted(dir: &Path, base_offset: i64, index_interval: u64) -> Result<Segment> {
        let (seg, whole) = Self::open_files(dir, base_offset, false)?;
        seg.finish_trusted(whole, index_interval)
    }

    /// The end of [`Segment::open_trusted`]: indexes checked (rebuilt from headers if `whole` is
    /// false or they do not hold together), the end found from the headers after the last index
    /// entry.
    fn finish_trusted(mut self, whole: bool, index_interval: u64) -> Result<Segment> {
        let seg = &mut self;
        let index_ok = whole && seg.indexes_consistent();
        if !index_ok {
            tracing::info!(segment = %seg.path.display(), "rebuilding indexes from batch headers");
            let batches = seg.scan_headers(0)?;
            seg.rebuild_indexes(&batches, index_interval)?;
        }
        let start = seg
            .offset_index
            .entries()
            .last()
            .map(|e| e.position as u64)
            .unwrap_or(0);
        let tail = seg.scan_headers(start)?;
        seg.first_batch_timestamp = seg.scan_first_header()?.map(|h| h.max_timestamp);
        if let Some(last) = tail.last() {
            seg.next_offset = last.header.last_offset() + 1;
            let end = last.position + last.header.size() as u64;
            if end < seg.size {
                // Bytes after the last whole batch of a "trusted" segment: treat as torn.
                tracing::warn!(segment = %seg.path.display(), from = end, to = seg.size,
                    "cutting bytes after the last whole batch of a closed segment");
                seg.truncate_to(end)?;
            }
        }
        seg.max_timestamp = seg.time_index.max_timestamp().unwrap_or(-1);
        for b in &tail {
            if b.header.max_timestamp > seg.max_timestamp {
                // Time index entries after the last offset index entry may not have been synced.
                seg.max_timestamp = b.header.max_timestamp;
                let rel = (b.header.base_offset - seg.base_offset) as u32;
                seg.time_index.append(TimeEntry {
                    timestamp: seg.max_timestamp,
                    relative_offset: rel,
                })?;
            }
        }
        seg.bytes_since_index_entry = tail.iter().map(|b| b.header.size() as u64).sum::<u64>();
        Ok(self)
    }

    fn indexes_consistent(&self) -> bool {
        let offsets = self.offset_index.entries();
        let monotonic = offsets
            .windows(2)
            .all(|w| w[0].relative_offset < w[1].relative_offset && w[0].position < w[1].position);
        let in_file = offsets
            .last()
            .is_none_or(|e| (e.position as u64) < self.size);
        let times = self.time_index.entries();
        let times_ok = times.windows(2).all(|w| w[0].timestamp <= w[1].timestamp);
        let nonempty_ok = self.size == 0 || !offsets.is_empty();
        let first_ok = offsets.first().is_none_or(|e| e.position == 0);
        monotonic && in_file && times_ok && nonempty_ok && first_ok
    }

    /// Reads just the batch headers from `from` to the end of the file (no CRC check). Stops at a
    /// header that does not parse or a batch that runs past the end of the file.
    pub fn scan_headers(&self, from: u64) -> Result<Vec<ScannedBatch>> {
        let mut out = Vec::new();
        let mut pos = from;
        let mut buf = [0u8; HEADER_SIZE];
        while pos + HEADER_SIZE as u64 <= self.size {
            self.file
                .read_exact_at(&mut buf, pos)
                .map_err(BrokerError::io("reading batch header", &self.path))?;
            let Ok(header) = BatchHeader::parse(&buf) else {
                break;
            };
            if pos + header.size() as u64 > self.size {
                break;
            }
            out.push(ScannedBatch {
                position: pos,
                header,
            });
            pos += header.size() as u64;
        }
        Ok(out)
    }

    /// The marker type of a control batch found by a scan (None for other batches or an
    /// unreadable control record).
    pub fn control_type_at(
        &self,
        b: &ScannedBatch,
    ) -> Result<Option<crate::log::transactions::ControlType>> {
        if !b.header.is_control() {
            return Ok(None);
        }
        let len = b
            .header
            .size()
            .min(crate::log::transactions::CONTROL_PREFIX);
        let bytes = Segment::read_at(&self.file, &self.path, b.position, len)?;
        Ok(crate::log::transactions::parse_control_type(&bytes))
    }

    /// Rebuilds both indexes (and the in-memory end offset and max timestamp) from scanned batches.
    pub fn rebuild_indexes(&mut self, batches: &[ScannedBatch], index_interval: u64) -> Result<()> {
        let mut offsets = Vec::new();
        let mut times = Vec::new();
        let mut since = 0u64;
        let mut max_ts = -1i64;
        for (i, b) in batches.iter().enumerate() {
            let rel = (b.header.base_offset - self.base_offset) as u32;
            if i == 0 || since >= index_interval {
                offsets.push(OffsetEntry {
                    relative_offset: rel,
                    position: b.position as u32,
                });
                since = 0;
            }
            since += b.header.size() as u64;
            if b.header.max_timestamp > max_ts {
                max_ts = b.header.max_timestamp;
                times.push(TimeEntry {
                    timestamp: max_ts,
                    relative_offset: rel,
                });
            }
        }
        self.offset_index.reset(offsets)?;
        self.time_index.reset(times)?;
        self.bytes_since_index_entry = since;
        self.max_timestamp = max_ts;
        self.first_batch_timestamp = batches.first().map(|b| b.header.max_timestamp);
        self.next_offset = batches
            .last()
            .map(|b| b.header.last_offset() + 1)
            .unwrap_or(self.base_offset);
        Ok(())
    }

    /// Cuts the log file at `size` bytes and drops index entries past it.
    pub fn truncate_to(&mut self, size: u64) -> Result<()> {
        self.file
            .set_len(size)
            .map_err(BrokerError::io("truncating segment", &self.path))?;
        self.file
            .sync_all()
            .map_err(BrokerError::io("syncing segment", &self.path))?;
        self.size = size;
        if size == 0 {
            self.first_batch_timestamp = None;
        }
        let offsets: Vec<_> = self
            .offset_index
            .entries()
            .iter()
            .copied()
            .filter(|e| (e.position as u64) < size)
            .collect();
        self.offset_index.reset(offsets)?;
        Ok(())
    }

    /// Appends validated batch bytes (one or more batches, offsets already assigned). `headers`
    /// describes each batch with its position relative to the start of `bytes`.
    pub fn append(
        &mut self,
        bytes: &[u8],
        headers: &[(u64, BatchHeader)],
        index_interval: u64,
    ) -> Result<()> {
        let start = self.size;
        if let Err(e) = (&*self.file).write_all(bytes) {
            // A partial write (e.g. disk full) must not stay in the file: later batches would be
            // written after garbage. Cut back to where this append started.
            if let Err(cut) = self.file.set_len(start) {
                tracing::error!(segment = %self.path.display(), error = %cut,
                    "could not cut a partial write; recovery will truncate it at the next start");
            }
            return Err(BrokerError::Io {
                context: "appending to segment",
                path: self.path.clone(),
                source: e,
            });
        }
        self.size += bytes.len() as u64;
        if self.first_batch_timestamp.is_none() {
            self.first_batch_timestamp = headers.first().map(|(_, h)| h.max_timestamp);
        }
        for (rel_pos, h) in headers {
            let rel = (h.base_offset - self.base_offset) as u32;
            if self.offset_index.entries().is_empty()
                || self.bytes_since_index_entry >= index_interval
            {
                let entry = OffsetEntry {
                    relative_offset: rel,
                    position: (start + rel_pos) as u32,
                };
                // Indexes are derived data: a failed index write must not fail an append whose
                // bytes are already in the log (lookups scan a little further; the next start
                // rebuilds a torn index).
                if let Err(e) = self.offset_index.append(entry) {
                    tracing::warn!(segment = %self.path.display(), error = %e, "offset index write failed");
                }
                self.bytes_since_index_entry = 0;
            }
            self.bytes_since_index_entry += h.size() as u64;
            if h.max_timestamp > self.max_timestamp {
                self.max_timestamp = h.max_timestamp;
                let entry = TimeEntry {
                    timestamp: h.max_timestamp,
                    relative_offset: rel,
                };
                if let Err(e) = self.time_index.append(entry) {
                    tracing::warn!(segment = %self.path.display(), error = %e, "time index write failed");
                }
            }
            self.next_offset = h.last_offset() + 1;
        }
        Ok(())
    }

    /// Position of the batch holding `offset` (or the first batch after it when `offset` fell
    /// into a hole left by compaction); None when the segment has nothing at or after `offset`.
    pub fn locate(&self, offset: i64) -> Result<Option<ScannedBatch>> {
        if offset >= self.next_offset {
            return Ok(None);
        }
        let rel = (offset - self.base_offset).max(0) as u32;
        let start = self
            .offset_index
            .lookup(rel)
            .map(|e| e.position as u64)
            .unwrap_or(0);
        let mut pos = start;
        let mut buf = [0u8; HEADER_SIZE];
        while pos + HEADER_SIZE as u64 <= self.size {
            self.file
                .read_exact_at(&mut buf, pos)
                .map_err(BrokerError::io("reading batch header", &self.path))?;
            let header = BatchHeader::parse(&buf)?;
            if header.last_offset() >= offset {
                return Ok(Some(ScannedBatch {
                    position: pos,
                    header,
                }));
            }
            pos += header.size() as u64;
        }
        Ok(None)
    }

    /// Reads `len` bytes at `position` (positional read; no lock needed).
    pub fn read_at(file: &File, path: &Path, position: u64, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        file.read_exact_at(&mut buf, position)
            .map_err(BrokerError::io("reading segment", path))?;
        Ok(buf)
    }

    /// The base offset of the first batch whose records may have a timestamp `>= timestamp`.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Option<i64> {
        self.time_index
            .lookup_first_at_or_after(timestamp)
            .map(|e| self.base_offset + e.relative_offset as i64)
    }

    /// Fsyncs the log and index files.
    pub fn sync_all(&self) -> Result<()> {
        self.file
            .sync_all()
            .map_err(BrokerError::io("syncing segment", &self.path))?;
        self.offset_index.sync()?;
        self.time_index.sync()
    }

    /// Releases the index file handles (the segment was closed by a roll or is a closed segment
    /// at start-up); returns them so the caller can fsync them before they close.
    pub fn take_index_handles(&mut self) -> Vec<Arc<File>> {
        [
            self.offset_index.take_handle(),
            self.time_index.take_handle(),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// Removes the segment's files.
    pub fn delete_files(&self) -> Result<()> {
        for p in [
            self.path.clone(),
            self.offset_index.path().to_path_buf(),
            self.time_index.path().to_path_buf(),
        ] {
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(BrokerError::Io {
                        context: "deleting segment",
                        path: p,
                        source: e,
                    });
                }
            }
        }
        Ok(())
    }

    /// First offset this segment covers.
    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }
    /// One past the last offset stored.
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }
    /// Size of the log file in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// Largest timestamp of any batch (-1 when empty).
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }
    /// Whether the segment is older than `segment_ms` for a batch whose max timestamp is
    /// `incoming_max_timestamp`: measured from the first batch's timestamp, as Kafka does (so a
    /// restart does not reset a segment's age), or from the wall-clock creation time when the
    /// first batch carries no timestamp.
    pub fn is_older_than(&self, segment_ms: i64, incoming_max_timestamp: i64, now_ms: i64) -> bool {
        match self.first_batch_timestamp {
            Some(first) if first >= 0 => incoming_max_timestamp.saturating_sub(first) > segment_ms,
            _ => now_ms - self.created_ms > segment_ms,
        }
    }

    fn scan_first_header(&self) -> Result<Option<BatchHeader>> {
        if self.size < HEADER_SIZE as u64 {
            return Ok(None);
        }
        let mut buf = [0u8; HEADER_SIZE];
        self.file
            .read_exact_at(&mut buf, 0)
            .map_err(BrokerError::io("reading batch header", &self.path))?;
        Ok(BatchHeader::parse(&buf).ok())
    }
    /// The shared file handle (for positional reads and fsync outside the partition lock).
    pub fn file(&self) -> &Arc<File> {
        &self.file
    }
    /// Path of the `.log` file.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Whether the segment holds no batch.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::{set_base_offset, validate_batch};
    use crate::log::records::{encode_records, new_record};

    fn batch(base: i64, ts: i64) -> (Vec<u8>, BatchHeader) {
        let mut b = encode_records(&[new_record(None, Some(b"v"), ts)], 0)
            .unwrap()
            .to_vec();
        set_base_offset(&mut b, base);
        let h = validate_batch(&b).unwrap();
        (b, h)
    }

    #[test]
    fn released_index_handles_reopen_on_write_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut seg = Segment::create(dir.path(), 10).unwrap();
        let (b, h) = batch(10, 5);
        seg.append(&b, &[(0, h)], 0).unwrap();
        assert_eq!(seg.take_index_handles().len(), 2);
        assert!(seg.take_index_handles().is_empty());
        let (b2, h2) = batch(11, 7);
        seg.append(&b2, &[(0, h2)], 0).unwrap();
        assert_eq!(
            seg.locate(11).unwrap().map(|s| s.position),
            Some(b.len() as u64)
        );
        assert_eq!(seg.offset_for_timestamp(6), Some(11));
        drop(seg);
        let seg = Segment::open_trusted(dir.path(), 10, 0).unwrap();
        assert_eq!(seg.next_offset(), 12);
        assert_eq!(seg.max_timestamp(), 7);
        assert_eq!(seg.locate(10).unwrap().map(|s| s.position), Some(0));
    }
}
