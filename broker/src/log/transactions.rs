//! What a partition knows about Kafka transactions: which batches it accepts, the COMMIT/ABORT
//! control batches (markers) the coordinator writes, and the aborted-transactions index entries.
//!
//! A transactional batch (attribute bit 4) may only come from a producer id and epoch whose
//! transaction the coordinator has registered this partition in (AddPartitionsToTxn, or the
//! in-process API); control batches (bit 5) only from the coordinator itself
//! ([`AppendOrigin::Coordinator`]). [`check_transactional_batch`] is that rule, in one place.
//!
//! The last stable offset (LSO) of a partition is the first offset of its oldest open transaction
//! (or the high-water mark when none is open); read_committed consumers never read past it.
//! Each aborted transaction leaves an [`AbortedTxn`] (producer id, first offset, offset of the
//! ABORT marker) that read_committed Fetch responses list, so clients drop those records.
//! Both are derived from batch headers and markers, so recovery rebuilds them by replaying the
//! log (see `producer_state.rs`, where they live, and `recovery.rs`).

use std::collections::HashMap;

use bytes::{Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::records::{Compression, Record, TimestampType};
use serde::{Deserialize, Serialize};

use crate::error::{BrokerError, Result};
use crate::log::batch::{BatchHeader, HEADER_SIZE};

/// Who is appending: a client's Produce (or the engine's in-process writes) or the transaction
/// coordinator writing markers (Kafka's `AppendOrigin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendOrigin {
    /// A producer: control batches are refused; the log validator checks every batch.
    Client,
    /// The broker's own in-process writers (transactional offset commits, the in-process
    /// transactional producer): built by Sluice, so not run through the log validator, and like
    /// Kafka's coordinator-written offset commits they carry no sequence numbers. Transactional
    /// batches are checked as a client's are.
    Internal,
    /// The transaction coordinator: writes COMMIT/ABORT markers.
    Coordinator,
}

/// The two control record types (Kafka's `ControlRecordType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlType {
    /// The transaction was aborted: its records are to be skipped by read_committed readers.
    Abort,
    /// The transaction was committed.
    Commit,
}

/// One aborted transaction of a partition, as Fetch's `aborted_transactions` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbortedTxn {
    /// The producer whose transaction was aborted.
    pub producer_id: i64,
    /// Offset of its first record in this partition.
    pub first_offset: i64,
    /// Offset of the ABORT marker.
    pub last_offset: i64,
}

/// The transaction acceptance rule for one incoming batch (Kafka's transaction verification).
///
/// - A control batch is accepted only from the coordinator.
/// - A transactional data batch must come from a producer (id and epoch) whose
///   current transaction includes this partition: `open` maps each producer id with an open
///   transaction here to the epoch that transaction runs under. An older epoch is
///   INVALID_PRODUCER_EPOCH (the producer was fenced); no registration is INVALID_TXN_STATE.
/// - The coordinator writes nothing but control batches.
///
/// Non-transactional batches are not this function's business (idempotence is checked by
/// [`crate::log::producer_state::ProducerStates::check`]).
pub fn check_transactional_batch(
    h: &BatchHeader,
    origin: AppendOrigin,
    open: &HashMap<i64, i16>,
) -> Result<()> {
    match origin {
        AppendOrigin::Coordinator => {
            if !h.is_control() || !h.is_transactional() {
                return Err(BrokerError::InvalidTxnState(
                    "the coordinator writes only transactional control batches".into(),
                ));
            }
            Ok(())
        }
        AppendOrigin::Client | AppendOrigin::Internal => {
            if h.is_control() {
                return Err(BrokerError::InvalidRecord(
                    "clients may not write control batches (transaction markers)".into(),
                ));
            }
            if !h.is_transactional() {
                return Ok(());
            }
            if h.producer_id < 0 || h.producer_epoch < 0 {
                return Err(BrokerError::InvalidRecord(
                    "a transactional batch needs a producer id and epoch".into(),
                ));
            }
            match open.get(&h.producer_id) {
                Some(epoch) if *epoch == h.producer_epoch => Ok(()),
                Some(epoch) if *epoch > h.producer_epoch => {
                    Err(BrokerError::InvalidProducerEpoch {
                        producer_id: h.producer_id,
                        current: *epoch,
                        received: h.producer_epoch,
                    })
                }
                _ => Err(BrokerError::InvalidTxnState(format!(
                    "producer {} (epoch {}) has no transaction that includes this partition",
                    h.producer_id, h.producer_epoch
                ))),
            }
        }
    }
}

/// Encodes a COMMIT or ABORT marker batch for `producer_id`/`epoch` (one control record: key =
/// version 0 + type, value = EndTxnMarker v0 with the coordinator epoch), uncompressed.
pub fn encode_marker(
    producer_id: i64,
    producer_epoch: i16,
    control: ControlType,
    coordinator_epoch: i32,
    timestamp_ms: i64,
) -> Result<BytesMut> {
    let kind: i16 = match control {
        ControlType::Abort => 0,
        ControlType::Commit => 1,
    };
    let mut key = Vec::with_capacity(4);
    key.extend_from_slice(&0i16.to_be_bytes());
    key.extend_from_slice(&kind.to_be_bytes());
    let mut value = Vec::with_capacity(6);
    value.extend_from_slice(&0i16.to_be_bytes());
    value.extend_from_slice(&coordinator_epoch.to_be_bytes());
    let record = Record {
        transactional: true,
        control: true,
        delete_horizon: false,
        partition_leader_epoch: crate::log::LEADER_EPOCH,
        producer_id,
        producer_epoch,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: timestamp_ms,
        key: Some(Bytes::from(key)),
        value: Some(Bytes::from(value)),
        headers: IndexMap::new(),
    };
    crate::log::records::encode_with(&[record], Compression::None)
}

/// Reads a zigzag varint at `pos`, advancing it.
fn varint(b: &[u8], pos: &mut usize) -> Option<i64> {
    let mut raw: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos)?;
        *pos += 1;
        raw |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(((raw >> 1) as i64) ^ -((raw & 1) as i64));
        }
    }
    None
}

/// The type of the control record starting a control batch (`batch` begins at the batch header
/// and holds at least the first record); None when it is not an uncompressed control batch
/// with a readable key. Markers are only ever written uncompressed, by the coordinator.
pub fn parse_control_type(batch: &[u8]) -> Option<ControlType> {
    let h = BatchHeader::parse(batch).ok()?;
    if !h.is_control() || h.attributes & 0x7 != 0 {
        return None;
    }
    let mut pos = HEADER_SIZE;
    let _len = varint(batch, &mut pos)?;
    pos += 1; // record attributes
    let _ts = varint(batch, &mut pos)?;
    let _offset_delta = varint(batch, &mut pos)?;
    let key_len = varint(batch, &mut pos)?;
    if key_len < 4 {
        return None;
    }
    let kind = i16::from_be_bytes([*batch.get(pos + 2)?, *batch.get(pos + 3)?]);
    match kind {
        0 => Some(ControlType::Abort),
        1 => Some(ControlType::Commit),
        _ => None,
    }
}

/// How many bytes of a control batch [`parse_control_type`] needs at most.
pub const CONTROL_PREFIX: usize = HEADER_SIZE + 32;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::validate_batch;

    #[test]
    fn markers_round_trip() {
        for kind in [ControlType::Abort, ControlType::Commit] {
            let b = encode_marker(42, 3, kind, 0, 1000).unwrap();
            let h = validate_batch(&b).unwrap();
            assert!(h.is_control() && h.is_transactional());
            assert_eq!(
                (h.producer_id, h.producer_epoch, h.base_sequence),
                (42, 3, -1)
            );
            assert_eq!(parse_control_type(&b), Some(kind));
            let recs = crate::log::records::decode_records(&b).unwrap();
            assert!(recs[0].control);
        }
    }

    #[test]
    fn acceptance_rule() {
        let marker =
            BatchHeader::parse(&encode_marker(1, 0, ControlType::Commit, 0, 0).unwrap()).unwrap();
        let open = HashMap::from([(7i64, 2i16)]);
        assert!(check_transactional_batch(&marker, AppendOrigin::Client, &open).is_err());
        assert!(check_transactional_batch(&marker, AppendOrigin::Coordinator, &open).is_ok());
        let mut data = marker;
        data.attributes = 1 << 4;
        data.base_sequence = 0;
        data.producer_id = 7;
        data.producer_epoch = 2;
        assert!(check_transactional_batch(&data, AppendOrigin::Client, &open).is_ok());
        assert!(check_transactional_batch(&data, AppendOrigin::Coordinator, &open).is_err());
        data.producer_epoch = 1;
        assert_eq!(
            check_transactional_batch(&data, AppendOrigin::Client, &open).map_err(|e| e.code()),
            Err(47)
        );
        data.producer_id = 8;
        assert_eq!(
            check_transactional_batch(&data, AppendOrigin::Client, &open).map_err(|e| e.code()),
            Err(48)
        );
    }
}
