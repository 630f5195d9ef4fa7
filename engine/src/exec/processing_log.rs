//! The processing log: where records that a query cannot process are reported, as in ksqlDB.
//!
//! A record that does not decode must never stop a query: the scan reports it here and moves on.
//! [`CollectingProcessingLog`] keeps entries in memory (tests, `DESCRIBE` counters);
//! [`TracingProcessingLog`] writes them as `tracing` warnings. A topic-backed log (ksqlDB's
//! `KSQL_PROCESSING_LOG` stream) can implement the same trait.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

/// What went wrong with a record (ksqlDB's processing log message types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProcessingErrorKind {
    /// The record did not decode (type 0): it is skipped.
    #[default]
    Deserialization,
    /// An expression failed on the record (type 2): the expression is NULL for it (a WHERE
    /// that fails drops it), the rest of the row goes on.
    RecordProcessing,
    /// A result row could not be encoded for the sink (type 3): the record is not written.
    Serialization,
}

/// One record a query could not process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessingLogEntry {
    /// What kind of failure it was.
    pub kind: ProcessingErrorKind,
    /// The topic the record came from.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// What went wrong.
    pub message: String,
}

/// Receives records a query could not process.
pub trait ProcessingLog: Debug + Send + Sync {
    /// Reports one record.
    fn report(&self, entry: ProcessingLogEntry);

    /// How many records were reported so far.
    fn count(&self) -> u64;
}

/// Keeps the most recent entries in memory (up to a limit) and counts all of them.
#[derive(Debug)]
pub struct CollectingProcessingLog {
    entries: Mutex<Vec<ProcessingLogEntry>>,
    limit: usize,
    count: AtomicU64,
}

impl CollectingProcessingLog {
    /// A log keeping at most `limit` entries (older ones are dropped; the count keeps going).
    pub fn new(limit: usize) -> CollectingProcessingLog {
        CollectingProcessingLog {
            entries: Mutex::new(Vec::new()),
            limit: limit.max(1),
            count: AtomicU64::new(0),
        }
    }

    /// The entries kept, oldest first.
    pub fn entries(&self) -> Vec<ProcessingLogEntry> {
        self.entries.lock().clone()
    }
}

impl Default for CollectingProcessingLog {
    fn default() -> Self {
        CollectingProcessingLog::new(1000)
    }
}

impl ProcessingLog for CollectingProcessingLog {
    fn report(&self, entry: ProcessingLogEntry) {
        self.count.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.entries.lock();
        if entries.len() == self.limit {
            entries.remove(0);
        }
        entries.push(entry);
    }

    fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// Writes each entry as a `tracing` warning and counts them.
#[derive(Debug, Default)]
pub struct TracingProcessingLog {
    count: AtomicU64,
}

impl ProcessingLog for TracingProcessingLog {
    fn report(&self, entry: ProcessingLogEntry) {
        self.count.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(topic = %entry.topic, partition = entry.partition, offset = entry.offset,
            "record skipped: {}", entry.message);
    }

    fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(offset: i64) -> ProcessingLogEntry {
        ProcessingLogEntry {
            kind: ProcessingErrorKind::Deserialization,
            topic: "t".into(),
            partition: 0,
            offset,
            message: "bad".into(),
        }
    }

    #[test]
    fn collecting_log_keeps_the_newest_and_counts_all() {
        let log = CollectingProcessingLog::new(2);
        for o in 0..3 {
            log.report(entry(o));
        }
        assert_eq!(log.count(), 3);
        let offsets: Vec<i64> = log.entries().iter().map(|e| e.offset).collect();
        assert_eq!(offsets, vec![1, 2]);
    }
}
