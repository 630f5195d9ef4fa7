//! The sparse offset index and the time index of one segment.
//!
//! Both are append-only files of fixed-size big-endian entries, mirrored in memory so that a
//! lookup is a binary search with no I/O:
//! - `<base>.index`: `relative offset u32 -> file position u32`, one entry every
//!   `index.interval.bytes` of log, so a read starts at most that many bytes before its batch.
//! - `<base>.timeindex`: `timestamp i64 -> relative offset u32`, an entry whenever a batch raises
//!   the segment's largest timestamp, so ListOffsets by time finds the first batch that may hold
//!   a record at or after the timestamp.
//!
//! Indexes are derived data: when a file is missing, has a torn entry or points past the end of
//! the log, recovery rebuilds it from the batch headers ([`crate::log::segment::Segment::rebuild_indexes`]).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{BrokerError, Result};

/// One entry kind of an index file.
pub trait IndexEntry: Copy {
    /// Bytes per entry on disk.
    const SIZE: usize;
    /// The big-endian bytes of the entry.
    fn encode(&self, out: &mut Vec<u8>);
    /// Reads an entry from exactly `SIZE` bytes.
    fn decode(bytes: &[u8]) -> Self;
}

/// `relative offset -> file position`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetEntry {
    /// Offset minus the segment's base offset.
    pub relative_offset: u32,
    /// Byte position of the batch in the `.log` file.
    pub position: u32,
}

/// `timestamp -> relative offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeEntry {
    /// The largest timestamp seen up to and including this batch.
    pub timestamp: i64,
    /// Relative offset of the batch's base offset.
    pub relative_offset: u32,
}

impl IndexEntry for OffsetEntry {
    const SIZE: usize = 8;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
        out.extend_from_slice(&self.position.to_be_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        OffsetEntry {
            relative_offset: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            position: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

impl IndexEntry for TimeEntry {
    const SIZE: usize = 12;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&b[0..8]);
        TimeEntry {
            timestamp: i64::from_be_bytes(ts),
            relative_offset: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
        }
    }
}

/// An index file and its in-memory copy. The file handle is only kept while the segment is
/// written to: a closed segment's index lives in memory and its handle is handed to the flusher
/// at roll (which fsyncs and then drops it), so a partition holds one descriptor per closed
/// segment, not three. A write to a released index reopens the file.
#[derive(Debug)]
pub struct Index<E: IndexEntry> {
    path: PathBuf,
    file: Option<Arc<File>>,
    entries: Vec<E>,
}

fn open_append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(BrokerError::io("opening index", path))
}

impl<E: IndexEntry> Index<E> {
    /// Opens (creating if missing) the index at `path`. Returns the index and whether the file was
    /// whole (false when it was missing or ended in a torn entry: the caller should rebuild).
    pub fn open(path: &Path) -> Result<(Index<E>, bool)> {
        let existed = path.exists();
        let mut file = open_append(path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(BrokerError::io("reading index", path))?;
        let whole = existed && bytes.len() % E::SIZE == 0;
        let entries = bytes.chunks_exact(E::SIZE).map(E::decode).collect();
        Ok((
            Index {
                path: path.to_path_buf(),
                file: Some(Arc::new(file)),
                entries,
            },
            whole,
        ))
    }

    fn handle(&mut self) -> Result<&File> {
        if self.file.is_none() {
            self.file = Some(Arc::new(open_append(&self.path)?));
        }
        match &self.file {
            Some(f) => Ok(f),
            None => Err(BrokerError::Io {
                context: "opening index",
                path: self.path.clone(),
                source: std::io::Error::other("index handle missing"),
            }),
        }
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[E] {
        &self.entries
    }

    /// Appends an entry to the file and the memory copy.
    pub fn append(&mut self, entry: E) -> Result<()> {
        let mut buf = Vec::with_capacity(E::SIZE);
        entry.encode(&mut buf);
        let path = self.path.clone();
        self.handle()?
            .write_all(&buf)
            .map_err(BrokerError::io("writing index", &path))?;
        self.entries.push(entry);
        Ok(())
    }

    /// Replaces the whole index (after a rebuild or a truncation).
    pub fn reset(&mut self, entries: Vec<E>) -> Result<()> {
        let mut buf = Vec::with_capacity(entries.len() * E::SIZE);
        for e in &entries {
            e.encode(&mut buf);
        }
        let path = self.path.clone();
        let mut file = self.handle()?;
        file.set_len(0)
            .map_err(BrokerError::io("truncating index", &path))?;
        file.write_all(&buf)
            .map_err(BrokerError::io("writing index", &path))?;
        self.entries = entries;
        Ok(())
    }

    /// Flushes the index file to disk (nothing to do when the handle was released: whoever took
    /// it syncs it).
    pub fn sync(&self) -> Result<()> {
        match &self.file {
            Some(f) => f
                .sync_all()
                .map_err(BrokerError::io("syncing index", &self.path)),
            None => Ok(()),
        }
    }

    /// Gives up the file handle (see the type's doc).
    pub fn take_handle(&mut self) -> Option<Arc<File>> {
        self.file.take()
    }

    /// Path of the index file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Index<OffsetEntry> {
    /// The last entry whose relative offset is `<= relative_offset`, or None when the target is
    /// before the first entry (then the read starts at position 0).
    pub fn lookup(&self, relative_offset: u32) -> Option<OffsetEntry> {
        let idx = self
            .entries
            .partition_point(|e| e.relative_offset <= relative_offset);
        idx.checked_sub(1).map(|i| self.entries[i])
    }
}

impl Index<TimeEntry> {
    /// The first entry whose timestamp is `>= timestamp` (its batch is the first that may hold a
    /// record at or after the timestamp, since entries record the running maximum).
    pub fn lookup_first_at_or_after(&self, timestamp: i64) -> Option<TimeEntry> {
        let idx = self.entries.partition_point(|e| e.timestamp < timestamp);
        self.entries.get(idx).copied()
    }

    /// The largest timestamp recorded, if any.
    pub fn max_timestamp(&self) -> Option<i64> {
        self.entries.last().map(|e| e.timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_index_lookup_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        let (mut idx, whole) = Index::<OffsetEntry>::open(&path).unwrap();
        assert!(!whole);
        for (o, p) in [(0, 0), (10, 4000), (25, 8200)] {
            idx.append(OffsetEntry {
                relative_offset: o,
                position: p,
            })
            .unwrap();
        }
        assert_eq!(idx.lookup(9).map(|e| e.position), Some(0));
        assert_eq!(idx.lookup(10).map(|e| e.position), Some(4000));
        assert_eq!(idx.lookup(1000).map(|e| e.position), Some(8200));
        drop(idx);
        let (idx, whole) = Index::<OffsetEntry>::open(&path).unwrap();
        assert!(whole);
        assert_eq!(idx.entries().len(), 3);
    }

    #[test]
    fn torn_index_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.timeindex");
        std::fs::write(&path, [0u8; 13]).unwrap();
        let (idx, whole) = Index::<TimeEntry>::open(&path).unwrap();
        assert!(!whole);
        assert_eq!(idx.entries().len(), 1);
    }

    #[test]
    fn time_index_finds_first_batch_at_or_after() {
        let dir = tempfile::tempdir().unwrap();
        let (mut idx, _) = Index::<TimeEntry>::open(&dir.path().join("t")).unwrap();
        for (ts, o) in [(100, 0), (200, 5), (300, 9)] {
            idx.append(TimeEntry {
                timestamp: ts,
                relative_offset: o,
            })
            .unwrap();
        }
        assert_eq!(
            idx.lookup_first_at_or_after(150).map(|e| e.relative_offset),
            Some(5)
        );
        assert_eq!(
            idx.lookup_first_at_or_after(50).map(|e| e.relative_offset),
            Some(0)
        );
        assert_eq!(idx.lookup_first_at_or_after(301), None);
        assert_eq!(idx.max_timestamp(), Some(300));
    }
}
