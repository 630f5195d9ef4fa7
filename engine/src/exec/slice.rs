//! [`EpochSlice`]: the offsets an epoch reads, shared between the epoch runner and the scans.
//!
//! A persistent query's physical plan is built once and executed again every epoch, so the plan
//! object cannot carry the offsets to read. The runner writes each epoch's bounded range per
//! partition into an `EpochSlice`, and the [`crate::exec::TopicScanExec`] holding a clone of it
//! reads that range when executed.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use parking_lot::RwLock;

/// Per partition of one source topic, the half-open offset range `[start, end)` of the current
/// epoch. Cheap to clone: clones share the same ranges.
#[derive(Debug, Clone, Default)]
pub struct EpochSlice {
    ranges: Arc<RwLock<BTreeMap<i32, Range<i64>>>>,
}

impl EpochSlice {
    /// An empty slice: every partition reads nothing.
    pub fn new() -> EpochSlice {
        EpochSlice::default()
    }

    /// Sets the range `partition` reads in the current epoch.
    pub fn set(&self, partition: i32, range: Range<i64>) {
        self.ranges.write().insert(partition, range);
    }

    /// The range `partition` reads in the current epoch (empty when none was set).
    pub fn get(&self, partition: i32) -> Range<i64> {
        self.ranges.read().get(&partition).cloned().unwrap_or(0..0)
    }

    /// Forgets every range: until set again, scans read nothing.
    pub fn clear(&self) {
        self.ranges.write().clear();
    }

    /// Whether no partition has anything to read.
    pub fn is_empty(&self) -> bool {
        self.ranges.read().values().all(|r| r.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_ranges() {
        let a = EpochSlice::new();
        let b = a.clone();
        assert!(b.is_empty());
        a.set(2, 5..9);
        assert_eq!(b.get(2), 5..9);
        assert_eq!(b.get(0), 0..0);
        assert!(!b.is_empty());
        b.clear();
        assert!(a.is_empty());
        assert_eq!(a.get(2), 0..0);
    }
}
