//! Idempotent-producer state of one partition: for each producer id, its current epoch and the
//! sequence ranges (with the offsets they were written at) of its last five batches.
//!
//! This is what makes a retried Produce harmless: a batch whose sequences match one of the last
//! five is a duplicate and gets its original offsets back without being written again; a batch
//! that skips sequences is OUT_OF_ORDER_SEQUENCE_NUMBER; one with an older epoch is
//! INVALID_PRODUCER_EPOCH. The rules follow Kafka's `ProducerStateManager`: a producer the
//! partition has never seen (or forgot) may start at any sequence; a new epoch must start at 0.
//!
//! The state is derived from batch headers only, so recovery rebuilds it by reading headers
//! ([`ProducerStates::observe`]); a clean shutdown also writes a snapshot to skip that scan.
//!
//! Transactions live here too, as in Kafka's `ProducerStateManager`: each producer's open
//! transaction in this partition (the offset of its first record), which gives the last stable
//! offset, and the aborted transactions, which read_committed Fetch lists. Markers are applied by
//! [`ProducerStates::observe_marker`]; replaying headers plus marker types rebuilds both.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::error::{BrokerError, Result};
use crate::log::batch::BatchHeader;
use crate::log::transactions::{AbortedTxn, ControlType};

/// How many recent batches per producer are remembered for duplicate detection (Kafka's value,
/// matching `max.in.flight.requests.per.connection=5`).
pub const MAX_REMEMBERED_BATCHES: usize = 5;

/// How long an idempotent producer's state is kept after its last write (Kafka's default
/// `producer.id.expiration.ms`, one day). A producer idle for longer that comes back is treated
/// as new: any sequence is accepted.
pub const PRODUCER_ID_EXPIRATION_MS: i64 = 24 * 60 * 60 * 1000;

/// Sequences and offsets of one written batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchMeta {
    /// First sequence in the batch.
    pub first_seq: i32,
    /// Last sequence in the batch.
    pub last_seq: i32,
    /// Offset of the first record.
    pub first_offset: i64,
    /// Offset of the last record.
    pub last_offset: i64,
}

/// One producer's state in this partition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerEntry {
    /// The newest epoch seen.
    pub epoch: i16,
    /// Largest batch timestamp seen from this producer (for `producer.id.expiration.ms`).
    #[serde(default)]
    pub last_timestamp: i64,
    /// The last batches written under that epoch, oldest first.
    pub batches: VecDeque<BatchMeta>,
    /// Offset of the first record of this producer's open transaction in this partition.
    #[serde(default)]
    pub current_txn_first_offset: Option<i64>,
}

/// What to do with an incoming batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Not a duplicate: assign offsets and write it.
    Append,
    /// Already written at these offsets: do not write again.
    Duplicate {
        /// Offset the original batch started at.
        first_offset: i64,
        /// Offset of its last record.
        last_offset: i64,
    },
}

/// Producer states of a partition, keyed by producer id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerStates {
    producers: HashMap<i64, ProducerEntry>,
    /// Aborted transactions, by marker offset (oldest first).
    #[serde(default)]
    aborted: Vec<AbortedTxn>,
}

fn next_seq(seq: i32) -> i32 {
    if seq == i32::MAX { 0 } else { seq + 1 }
}

impl ProducerStates {
    /// Checks an incoming batch against the producer's state (without changing it).
    pub fn check(&self, h: &BatchHeader) -> Result<SequenceCheck> {
        if !h.has_producer_id() || h.base_sequence < 0 {
            return Ok(SequenceCheck::Append);
        }
        let Some(entry) = self.producers.get(&h.producer_id) else {
            return Ok(SequenceCheck::Append);
        };
        if h.producer_epoch < entry.epoch {
            return Err(BrokerError::InvalidProducerEpoch {
                producer_id: h.producer_id,
                current: entry.epoch,
                received: h.producer_epoch,
            });
        }
        if h.producer_epoch > entry.epoch {
            if h.base_sequence != 0 {
                return Err(BrokerError::OutOfOrderSequence {
                    producer_id: h.producer_id,
                    expected: 0,
                    received: h.base_sequence,
                });
            }
            return Ok(SequenceCheck::Append);
        }
        let last_seq = h.last_sequence();
        if let Some(dup) = entry
            .batches
            .iter()
            .find(|b| b.first_seq == h.base_sequence && b.last_seq == last_seq)
        {
            return Ok(SequenceCheck::Duplicate {
                first_offset: dup.first_offset,
                last_offset: dup.last_offset,
            });
        }
        if let Some(last) = entry.batches.back() {
            let expected = next_seq(last.last_seq);
            if h.base_sequence != expected {
                return Err(BrokerError::OutOfOrderSequence {
                    producer_id: h.producer_id,
                    expected,
                    received: h.base_sequence,
                });
            }
        }
        Ok(SequenceCheck::Append)
    }

    /// Records a batch that was written (its header carries the assigned base offset). Used on the
    /// append path after [`ProducerStates::check`] and by recovery when replaying headers.
    /// A control batch seen here without its marker type closes the producer's transaction as
    /// a commit would; callers that know the type use [`ProducerStates::observe_marker`].
    pub fn observe(&mut self, h: &BatchHeader) {
        if !h.has_producer_id() {
            return;
        }
        if h.is_control() {
            self.observe_marker(h, ControlType::Commit);
            return;
        }
        let entry = self.producers.entry(h.producer_id).or_default();
        if h.producer_epoch != entry.epoch {
            entry.epoch = h.producer_epoch;
            entry.batches.clear();
        }
        entry.last_timestamp = entry.last_timestamp.max(h.max_timestamp);
        if h.is_transactional() && entry.current_txn_first_offset.is_none() {
            entry.current_txn_first_offset = Some(h.base_offset);
        }
        if h.base_sequence < 0 {
            return;
        }
        entry.batches.push_back(BatchMeta {
            first_seq: h.base_sequence,
            last_seq: h.last_sequence(),
            first_offset: h.base_offset,
            last_offset: h.last_offset(),
        });
        while entry.batches.len() > MAX_REMEMBERED_BATCHES {
            entry.batches.pop_front();
        }
    }

    /// Applies a COMMIT/ABORT marker written at `h.base_offset`: the producer's open transaction
    /// here ends; an aborted one is added to the aborted index. The marker's epoch becomes the
    /// producer's epoch (a marker written after fencing fences the old epoch here too).
    pub fn observe_marker(&mut self, h: &BatchHeader, control: ControlType) {
        let entry = self.producers.entry(h.producer_id).or_default();
        if h.producer_epoch > entry.epoch {
            entry.epoch = h.producer_epoch;
            entry.batches.clear();
        }
        entry.last_timestamp = entry.last_timestamp.max(h.max_timestamp);
        if let Some(first) = entry.current_txn_first_offset.take()
            && control == ControlType::Abort
        {
            self.aborted.push(AbortedTxn {
                producer_id: h.producer_id,
                first_offset: first,
                last_offset: h.base_offset,
            });
        }
    }

    /// The first offset of the oldest open transaction (None when none is open): the last stable
    /// offset, when lower than the high-water mark.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        self.producers
            .values()
            .filter_map(|e| e.current_txn_first_offset)
            .min()
    }

    /// Producers with an open transaction here, with its first offset.
    pub fn open_transactions(&self) -> Vec<(i64, i64)> {
        self.producers
            .iter()
            .filter_map(|(id, e)| e.current_txn_first_offset.map(|f| (*id, f)))
            .collect()
    }

    /// The aborted transactions that overlap the offsets `[from, to)` (what a read_committed
    /// Fetch returning those offsets must list).
    pub fn aborted_between(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        self.aborted
            .iter()
            .filter(|a| a.last_offset >= from && a.first_offset < to)
            .copied()
            .collect()
    }

    /// Every aborted transaction still indexed.
    pub fn aborted(&self) -> &[AbortedTxn] {
        &self.aborted
    }

    /// A copy of just the given producers' state: appends check a request's batches against this
    /// scratch copy and [`ProducerStates::absorb`] it once the write succeeded, so the hot path
    /// never copies the state of every producer.
    pub fn subset(&self, producer_ids: impl IntoIterator<Item = i64>) -> ProducerStates {
        let producers = producer_ids
            .into_iter()
            .filter_map(|id| self.producers.get(&id).map(|e| (id, e.clone())))
            .collect();
        ProducerStates {
            producers,
            aborted: Vec::new(),
        }
    }

    /// Takes over every producer entry of `other` (see [`ProducerStates::subset`]).
    pub fn absorb(&mut self, other: ProducerStates) {
        self.producers.extend(other.producers);
    }

    /// Forgets producers whose last batch is below `log_start_offset` (their batches were
    /// deleted by retention; a later append from them starts afresh).
    pub fn retain_active(&mut self, log_start_offset: i64) {
        self.producers.retain(|_, e| {
            e.current_txn_first_offset.is_some()
                || e.batches
                    .back()
                    .is_some_and(|b| b.last_offset >= log_start_offset)
        });
        self.aborted.retain(|a| a.last_offset >= log_start_offset);
    }

    /// Forgets producers that wrote nothing with a timestamp after `cutoff_ms` (Kafka's
    /// `producer.id.expiration.ms`, see [`PRODUCER_ID_EXPIRATION_MS`]); returns how many.
    pub fn expire(&mut self, cutoff_ms: i64) -> usize {
        let before = self.producers.len();
        self.producers
            .retain(|_, e| e.last_timestamp >= cutoff_ms || e.current_txn_first_offset.is_some());
        before - self.producers.len()
    }

    /// Number of producers with state.
    pub fn len(&self) -> usize {
        self.producers.len()
    }

    /// Whether no producer has state.
    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    /// The state of one producer.
    pub fn get(&self, producer_id: i64) -> Option<&ProducerEntry> {
        self.producers.get(&producer_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(pid: i64, epoch: i16, seq: i32, count: i32, base_offset: i64) -> BatchHeader {
        BatchHeader {
            base_offset,
            batch_length: 100,
            partition_leader_epoch: 0,
            magic: 2,
            crc: 0,
            attributes: 0,
            last_offset_delta: count - 1,
            base_timestamp: 0,
            max_timestamp: 0,
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            records_count: count,
        }
    }

    #[test]
    fn duplicates_gaps_and_epochs() {
        let mut s = ProducerStates::default();
        let b0 = header(7, 0, 0, 3, 10);
        assert_eq!(s.check(&b0).unwrap(), SequenceCheck::Append);
        s.observe(&b0);
        // A retry of the same batch (any offset in the header) is a duplicate.
        assert_eq!(
            s.check(&header(7, 0, 0, 3, -1)).unwrap(),
            SequenceCheck::Duplicate {
                first_offset: 10,
                last_offset: 12
            }
        );
        // Next in sequence appends; a gap is out of order.
        assert_eq!(
            s.check(&header(7, 0, 3, 1, 0)).unwrap(),
            SequenceCheck::Append
        );
        assert_eq!(
            s.check(&header(7, 0, 5, 1, 0)).map_err(|e| e.code()),
            Err(45)
        );
        // Old epoch is fenced; a new epoch must start at 0.
        s.observe(&header(7, 1, 0, 1, 13));
        assert_eq!(
            s.check(&header(7, 0, 1, 1, 0)).map_err(|e| e.code()),
            Err(47)
        );
        assert_eq!(
            s.check(&header(7, 2, 4, 1, 0)).map_err(|e| e.code()),
            Err(45)
        );
        assert_eq!(
            s.check(&header(7, 2, 0, 1, 0)).unwrap(),
            SequenceCheck::Append
        );
        // Unknown producers may start anywhere; non-idempotent batches are never checked.
        assert_eq!(
            s.check(&header(8, 0, 42, 1, 0)).unwrap(),
            SequenceCheck::Append
        );
        assert_eq!(
            s.check(&header(-1, -1, -1, 1, 0)).unwrap(),
            SequenceCheck::Append
        );
    }

    #[test]
    fn only_last_five_batches_are_remembered() {
        let mut s = ProducerStates::default();
        for i in 0..7 {
            s.observe(&header(1, 0, i, 1, i as i64));
        }
        let e = s.get(1).unwrap();
        assert_eq!(e.batches.len(), MAX_REMEMBERED_BATCHES);
        assert_eq!(e.batches.front().map(|b| b.first_seq), Some(2));
        // Idle producers expire.
        s.observe(&BatchHeader {
            max_timestamp: 5_000,
            ..header(2, 0, 0, 1, 9)
        });
        assert_eq!(s.expire(1_000), 1, "producer 1 wrote at timestamp 0");
        assert!(s.get(1).is_none() && s.get(2).is_some());
        // Sequence wraps after i32::MAX.
        let mut s = ProducerStates::default();
        s.observe(&header(1, 0, i32::MAX, 1, 0));
        assert_eq!(
            s.check(&header(1, 0, 0, 1, 0)).unwrap(),
            SequenceCheck::Append
        );
    }
}
