//! One partition's log on disk and the types its API speaks.
//!
//! A partition is a directory of segments (`segment.rs`) holding Kafka RecordBatch v2 bytes
//! (`batch.rs`) with sparse offset and time indexes (`index.rs`). [`PartitionLog`]
//! (`partition.rs`) appends and reads; `recovery.rs` opens a partition after a clean or an unclean
//! stop; `flush.rs` is the group-commit fsync; `producer_state.rs` the idempotent-producer
//! bookkeeping; `retention.rs` and `compaction.rs` the cleanup policies; `truncate.rs` cuts a log
//! back to an offset; `records.rs` encodes and decodes records for in-process users; `replay.rs`
//! reads a partition back as records, skipping what does not decode.

pub mod batch;
pub mod compaction;

pub mod flush;
pub mod index;
pub mod inflate;
pub mod partition;
pub mod producer_state;
pub mod records;
pub mod recovery;
pub mod replay;
pub mod retention;
pub mod segment;
pub mod transactions;
pub mod truncate;
pub mod validator;

use std::io::Write;
use std::path::Path;

use bytes::Bytes;

pub use partition::PartitionLog;

/// The leader epoch of every partition: Sluice is a single broker that is always the leader, so
/// the epoch never changes. Appended batches are stamped with it, and Metadata, ListOffsets and
/// Fetch should report the same value.
pub const LEADER_EPOCH: i32 = 0;

/// How durable an append must be before it returns (the producer's `acks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `acks=0`: the caller does not wait for anything (the write still happens before return).
    None,
    /// `acks=1`: return once the bytes are written to the file (in the page cache).
    Written,
    /// `acks=all` / `-1`: return once the bytes are fsync'd (shared fsync, see `flush.rs`).
    Fsynced,
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    /// Offset given to the first record (for a duplicate, the original offset).
    pub base_offset: i64,
    /// Offset of the last record.
    pub last_offset: i64,
    /// The broker's append time when the topic uses LogAppendTime, else -1 (Produce's `log_append_time_ms`).
    pub log_append_time_ms: i64,
    /// The partition's log start offset after the append.
    pub log_start_offset: i64,
    /// True when every batch was a retried duplicate and nothing was written.
    pub duplicate: bool,
}

/// What a read returns: whole batches plus the partition's bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResult {
    /// Concatenated record batches, starting with the batch holding the requested offset; empty
    /// when reading at the high-water mark.
    pub records: Bytes,
    /// The next offset to be written.
    pub high_watermark: i64,
    /// The first offset still in the log.
    pub log_start_offset: i64,
    /// The last stable offset (first offset of the oldest open transaction, else the
    /// high-water mark).
    pub last_stable_offset: i64,
}

/// Which records a read may return (Fetch's and ListOffsets' `isolation_level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// Everything up to the high-water mark, open and aborted transactions included.
    #[default]
    ReadUncommitted,
    /// Only up to the last stable offset; aborted transactions are listed for the reader to skip.
    ReadCommitted,
}

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Replaces `path` with `contents` durably: temp file, fsync, rename, fsync of the directory.
pub fn write_file_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Fsyncs a directory so that file creations, renames and deletions in it are durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}
