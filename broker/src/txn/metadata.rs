//! One transactional id's coordinator state and its record in `__transaction_state`.
//!
//! The record layout is Kafka's: key = TransactionLogKey v0 (version INT16 0, transactional id
//! STRING), value = TransactionLogValue v0 (producer id, epoch, timeout, status, partitions, last
//! update and start timestamps). The topic is compacted, so the latest record per id is the id's
//! state; replaying it at start-up rebuilds every transaction.

use std::collections::BTreeSet;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::log::records::{get_str16 as get_str, put_str16 as put_str};

/// Where a transaction is (Kafka's `TransactionState`, same numbering as the status byte stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnState {
    /// A producer id and epoch but no transaction open.
    Empty,
    /// Partitions were added: the transaction is open.
    Ongoing,
    /// EndTxn(commit) is durable: markers are being written; a restart finishes the commit.
    PrepareCommit,
    /// EndTxn(abort), a timeout or a fencing: markers are being written; a restart finishes it.
    PrepareAbort,
    /// Every COMMIT marker is written.
    CompleteCommit,
    /// Every ABORT marker is written.
    CompleteAbort,
}

impl TxnState {
    fn code(self) -> i8 {
        match self {
            TxnState::Empty => 0,
            TxnState::Ongoing => 1,
            TxnState::PrepareCommit => 2,
            TxnState::PrepareAbort => 3,
            TxnState::CompleteCommit => 4,
            TxnState::CompleteAbort => 5,
        }
    }

    fn from_code(code: i8) -> Option<TxnState> {
        Some(match code {
            0 => TxnState::Empty,
            1 => TxnState::Ongoing,
            2 => TxnState::PrepareCommit,
            3 => TxnState::PrepareAbort,
            4 => TxnState::CompleteCommit,
            5 => TxnState::CompleteAbort,
            _ => return None,
        })
    }

    /// Whether no transaction is open or ending.
    pub fn is_idle(self) -> bool {
        matches!(
            self,
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort
        )
    }
}

/// The coordinator's view of one transactional id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnMetadata {
    /// The producer's `transactional.id`.
    pub transactional_id: String,
    /// Producer id bound to it.
    pub producer_id: i64,
    /// Current epoch; older epochs are fenced.
    pub epoch: i16,
    /// `transaction.timeout.ms` the producer asked for.
    pub timeout_ms: i32,
    /// Where the transaction is.
    pub state: TxnState,
    /// Partitions of the open (or ending) transaction.
    pub partitions: BTreeSet<(String, i32)>,
    /// When the open transaction started (ms), -1 when none.
    pub start_ms: i64,
    /// When the state last changed (ms).
    pub last_update_ms: i64,
}

/// TransactionLogKey v0.
pub fn encode_key(transactional_id: &str) -> BytesMut {
    let mut buf = BytesMut::with_capacity(4 + transactional_id.len());
    buf.put_i16(0);
    put_str(&mut buf, transactional_id);
    buf
}

/// The transactional id of a TransactionLogKey.
pub fn decode_key(mut buf: Bytes) -> Option<String> {
    if buf.remaining() < 2 || buf.get_i16() != 0 {
        return None;
    }
    get_str(&mut buf)
}

/// TransactionLogValue v0.
pub fn encode_value(m: &TxnMetadata) -> BytesMut {
    let mut buf = BytesMut::with_capacity(64);
    buf.put_i16(0);
    buf.put_i64(m.producer_id);
    buf.put_i16(m.epoch);
    buf.put_i32(m.timeout_ms);
    buf.put_i8(m.state.code());
    let mut topics: Vec<(&str, Vec<i32>)> = Vec::new();
    for (t, p) in &m.partitions {
        match topics.last_mut() {
            Some((name, ps)) if *name == t.as_str() => ps.push(*p),
            _ => topics.push((t.as_str(), vec![*p])),
        }
    }
    buf.put_i32(topics.len() as i32);
    for (t, ps) in topics {
        put_str(&mut buf, t);
        buf.put_i32(ps.len() as i32);
        for p in ps {
            buf.put_i32(p);
        }
    }
    buf.put_i64(m.last_update_ms);
    buf.put_i64(m.start_ms);
    buf
}

/// Decodes a TransactionLogValue v0 for `transactional_id`; None when unreadable.
pub fn decode_value(transactional_id: &str, mut buf: Bytes) -> Option<TxnMetadata> {
    if buf.remaining() < 2 + 8 + 2 + 4 + 1 + 4 || buf.get_i16() != 0 {
        return None;
    }
    let producer_id = buf.get_i64();
    let epoch = buf.get_i16();
    let timeout_ms = buf.get_i32();
    let state = TxnState::from_code(buf.get_i8())?;
    let topics = buf.get_i32();
    let mut partitions = BTreeSet::new();
    for _ in 0..topics.max(0) {
        let topic = get_str(&mut buf)?;
        if buf.remaining() < 4 {
            return None;
        }
        let n = buf.get_i32();
        for _ in 0..n.max(0) {
            if buf.remaining() < 4 {
                return None;
            }
            partitions.insert((topic.clone(), buf.get_i32()));
        }
    }
    if buf.remaining() < 16 {
        return None;
    }
    let last_update_ms = buf.get_i64();
    let start_ms = buf.get_i64();
    Some(TxnMetadata {
        transactional_id: transactional_id.to_string(),
        producer_id,
        epoch,
        timeout_ms,
        state,
        partitions,
        start_ms,
        last_update_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_round_trips_and_truncation_is_refused() {
        let m = TxnMetadata {
            transactional_id: "t".into(),
            producer_id: 9,
            epoch: 4,
            timeout_ms: 60_000,
            state: TxnState::PrepareCommit,
            partitions: [
                ("a".to_string(), 0),
                ("a".to_string(), 2),
                ("b".to_string(), 1),
            ]
            .into_iter()
            .collect(),
            start_ms: 5,
            last_update_ms: 7,
        };
        let v = encode_value(&m).freeze();
        assert_eq!(decode_value("t", v.clone()), Some(m));
        for cut in 0..v.len() {
            assert_eq!(decode_value("t", v.slice(..cut)), None, "cut {cut}");
        }
        assert_eq!(decode_key(encode_key("abc").freeze()), Some("abc".into()));
    }
}
