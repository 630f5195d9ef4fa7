//! Committed consumer offsets, kept in memory and durably in the compacted topic
//! `__consumer_offsets`.
//!
//! Each commit appends one record per partition, keyed as Kafka keys them (OffsetCommitKey v1:
//! group, topic, partition) with an OffsetCommitValue v3 value, and waits for fsync before the
//! commit is acknowledged. Compaction keeps the latest record per key, so replaying the topic at
//! start-up ([`OffsetStore::open`]) rebuilds the map. Group membership itself is not stored: after
//! a restart members simply rejoin, as they would after a coordinator move in Kafka.
//!
//! Offsets committed inside a transaction (TxnOffsetCommit, or the transaction coordinator's
//! in-process API) are written as transactional records of the producer and stay pending,
//! invisible to OffsetFetch, until the transaction's marker: COMMIT makes them the group's
//! offsets, ABORT discards them. Replaying the topic does the same with the markers it finds.

use std::collections::{BTreeMap, HashMap};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use parking_lot::Mutex;
use tracing::{info, warn};

use crate::log::records::{
    encode_transactional_records, get_str16 as get_str, new_record, put_str16 as put_str,
};
use crate::{Broker, BrokerError, Durability, Record};

/// The internal topic holding committed offsets.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Why committed offsets could not be stored or loaded.
#[derive(Debug, thiserror::Error)]
pub enum OffsetStoreError {
    /// The broker refused to create, write or read `__consumer_offsets`.
    #[error("{0}")]
    Broker(#[from] BrokerError),
}

/// One committed offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    /// The next offset the group will consume.
    pub offset: i64,
    /// Leader epoch the consumer saw, -1 if unknown.
    pub leader_epoch: i32,
    /// Free-form metadata from the client.
    pub metadata: Option<String>,
    /// When the commit was made (ms since the epoch).
    pub commit_timestamp: i64,
}

type Key = (String, String, i32);

/// The offsets of every group, by (group, topic, partition).
#[derive(Debug)]
pub struct OffsetStore {
    broker: Broker,
    offsets: Mutex<BTreeMap<Key, CommittedOffset>>,
    /// Offsets committed in transactions not yet ended, by producer id.
    pending: Mutex<HashMap<i64, Vec<(Key, CommittedOffset)>>>,
    /// Serialises appends so the map is updated in the order records reach the log.
    write: tokio::sync::Mutex<()>,
}

impl OffsetStore {
    /// Create `__consumer_offsets` if needed (one partition, compacted) and replay it.
    pub async fn open(broker: Broker) -> Result<OffsetStore, OffsetStoreError> {
        if broker.topic(OFFSETS_TOPIC).is_none() {
            let configs = BTreeMap::from([("cleanup.policy".to_string(), "compact".to_string())]);
            match broker.create_topic(OFFSETS_TOPIC, 1, &configs) {
                Ok(_) | Err(BrokerError::TopicAlreadyExists(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let mut offsets = BTreeMap::new();
        let mut pending: HashMap<i64, Vec<(Key, CommittedOffset)>> = HashMap::new();
        let log = broker.partition(OFFSETS_TOPIC, 0)?;
        let mut loaded = 0usize;
        let mut unreadable = 0usize;
        // Whatever does not decode is logged, counted and skipped: the server always starts.
        let stats = log.replay(0, |r| {
            if r.control {
                // A transaction marker: key = version (0) + type (0 abort, 1 commit).
                let commit = r.key.as_ref().is_some_and(|k| k.len() >= 4 && k[3] == 1);
                let done = pending.remove(&r.producer_id).unwrap_or_default();
                if commit {
                    offsets.extend(done);
                }
                return;
            }
            let Some(raw_key) = r.key.as_ref() else {
                unreadable += 1;
                return;
            };
            let Some(key) = decode_key(raw_key.clone()) else {
                // Group metadata (key version 2) is not stored by Sluice; anything else is junk.
                if !is_group_metadata_key(raw_key) {
                    unreadable += 1;
                }
                return;
            };
            if r.transactional {
                // TxnOffsetCommit: pending until the producer's marker says commit or abort.
                match r.value.as_ref().and_then(|v| decode_value(v.clone())) {
                    Some(value) => pending.entry(r.producer_id).or_default().push((key, value)),
                    None => unreadable += 1,
                }
                return;
            }
            match r.value.as_ref() {
                None => {
                    offsets.remove(&key);
                }
                Some(v) => match decode_value(v.clone()) {
                    Some(value) => {
                        offsets.insert(key, value);
                        loaded += 1;
                    }
                    None => {
                        warn!(group = %key.0, offset = r.offset, "unreadable committed offset skipped");
                        unreadable += 1;
                    }
                },
            }
        })?;
        let skipped = unreadable + stats.skipped_records;
        if skipped > 0 || stats.skipped_batches > 0 {
            warn!(
                skipped_records = skipped,
                skipped_batches = stats.skipped_batches,
                "records in __consumer_offsets that do not decode were skipped"
            );
        }
        info!(records = loaded, "committed offsets loaded");
        Ok(OffsetStore {
            broker,
            offsets: Mutex::new(offsets),
            pending: Mutex::new(pending),
            write: tokio::sync::Mutex::new(()),
        })
    }

    /// Store offsets of `group` durably (fsynced) and then make them visible.
    pub async fn commit(
        &self,
        group: &str,
        entries: Vec<(String, i32, CommittedOffset)>,
    ) -> Result<(), OffsetStoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let records = commit_records(group, &entries);
        let _guard = self.write.lock().await;
        let log = self.broker.partition(OFFSETS_TOPIC, 0)?;
        log.append_records(&records, Durability::Fsynced).await?;
        let mut map = self.offsets.lock();
        for (topic, partition, value) in entries {
            map.insert((group.to_string(), topic, partition), value);
        }
        Ok(())
    }

    /// Store offsets of `group` inside the open transaction of `producer_id`/`epoch`: written as
    /// transactional records (fsynced), visible only once the transaction commits
    /// ([`OffsetStore::complete_transaction`]). The partition refuses the write (INVALID_TXN_STATE)
    /// unless the coordinator added `__consumer_offsets` to that transaction.
    pub async fn commit_transactional(
        &self,
        group: &str,
        producer_id: i64,
        producer_epoch: i16,
        entries: Vec<(String, i32, CommittedOffset)>,
    ) -> Result<(), OffsetStoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let records = commit_records(group, &entries);
        let batch = encode_transactional_records(&records, producer_id, producer_epoch, -1)?;
        let _guard = self.write.lock().await;
        let log = self.broker.partition(OFFSETS_TOPIC, 0)?;
        log.append_internal(batch, Durability::Fsynced).await?;
        let mut pending = self.pending.lock();
        let list = pending.entry(producer_id).or_default();
        for (topic, partition, value) in entries {
            list.push(((group.to_string(), topic, partition), value));
        }
        Ok(())
    }

    /// The transaction of `producer_id` ended (its marker is in `__consumer_offsets`): its
    /// pending offsets become the groups' offsets on commit, or are dropped on abort.
    pub fn complete_transaction(&self, producer_id: i64, commit: bool) {
        let done = self.pending.lock().remove(&producer_id).unwrap_or_default();
        if commit {
            self.offsets.lock().extend(done);
        }
    }

    /// Offsets committed by `producer_id`'s open transaction (not visible yet).
    pub fn pending_offsets(&self, producer_id: i64) -> Vec<(String, String, i32, i64)> {
        self.pending
            .lock()
            .get(&producer_id)
            .map(|l| {
                l.iter()
                    .map(|((g, t, p), v)| (g.clone(), t.clone(), *p, v.offset))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Delete every committed offset of `group` (tombstones in `__consumer_offsets`, fsynced);
    /// returns how many were deleted.
    pub async fn delete_group(&self, group: &str) -> Result<usize, OffsetStoreError> {
        self.delete_where(|(g, _, _)| g == group).await
    }

    /// Delete every group's offsets for `topic` (the topic was deleted, as Kafka does).
    pub async fn delete_topic(&self, topic: &str) -> Result<usize, OffsetStoreError> {
        self.delete_where(|(_, t, _)| t == topic).await
    }

    async fn delete_where(
        &self,
        matches: impl Fn(&Key) -> bool,
    ) -> Result<usize, OffsetStoreError> {
        let _guard = self.write.lock().await;
        let keys: Vec<Key> = self
            .offsets
            .lock()
            .keys()
            .filter(|k| matches(k))
            .cloned()
            .collect();
        if keys.is_empty() {
            return Ok(0);
        }
        let now = crate::log::now_ms();
        let records: Vec<_> = keys
            .iter()
            .map(|(g, t, p)| new_record(Some(&encode_key(g, t, *p)), None, now))
            .collect();
        let log = self.broker.partition(OFFSETS_TOPIC, 0)?;
        log.append_records(&records, Durability::Fsynced).await?;
        let mut map = self.offsets.lock();
        for k in &keys {
            map.remove(k);
        }
        Ok(keys.len())
    }

    /// The committed offset of one partition.
    pub fn fetch(&self, group: &str, topic: &str, partition: i32) -> Option<CommittedOffset> {
        self.offsets
            .lock()
            .get(&(group.to_string(), topic.to_string(), partition))
            .cloned()
    }

    /// Every committed offset of `group`, by topic and partition.
    pub fn group_offsets(&self, group: &str) -> Vec<(String, i32, CommittedOffset)> {
        self.offsets
            .lock()
            .iter()
            .filter(|((g, _, _), _)| g == group)
            .map(|((_, t, p), v)| (t.clone(), *p, v.clone()))
            .collect()
    }

    /// Groups that have committed offsets.
    pub fn groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = self
            .offsets
            .lock()
            .keys()
            .map(|(g, _, _)| g.clone())
            .collect();
        groups.dedup();
        groups
    }
}

/// The `__consumer_offsets` records of one commit of `group`.
fn commit_records(group: &str, entries: &[(String, i32, CommittedOffset)]) -> Vec<Record> {
    entries
        .iter()
        .map(|(topic, partition, value)| {
            let key = encode_key(group, topic, *partition);
            let value = encode_value(value);
            new_record(Some(&key), Some(&value), value_timestamp(entries))
        })
        .collect()
}

fn value_timestamp(entries: &[(String, i32, CommittedOffset)]) -> i64 {
    entries
        .first()
        .map(|(_, _, v)| v.commit_timestamp)
        .unwrap_or(0)
}

/// Kafka's OffsetCommitKey, version 1.
pub fn encode_key(group: &str, topic: &str, partition: i32) -> BytesMut {
    let mut buf = BytesMut::with_capacity(8 + group.len() + topic.len());
    buf.put_i16(1);
    put_str(&mut buf, group);
    put_str(&mut buf, topic);
    buf.put_i32(partition);
    buf
}

/// A Kafka group-metadata key (version 2), which Sluice neither writes nor needs.
fn is_group_metadata_key(key: &[u8]) -> bool {
    key.len() >= 2 && i16::from_be_bytes([key[0], key[1]]) == 2
}

fn decode_key(mut buf: Bytes) -> Option<Key> {
    if buf.remaining() < 2 {
        return None;
    }
    // Versions 0 and 1 are offset keys; 2 is group metadata, which Sluice does not store.
    if !matches!(buf.get_i16(), 0 | 1) {
        return None;
    }
    let group = get_str(&mut buf)?;
    let topic = get_str(&mut buf)?;
    if buf.remaining() < 4 {
        return None;
    }
    Some((group, topic, buf.get_i32()))
}

/// Kafka's OffsetCommitValue, version 3.
pub fn encode_value(v: &CommittedOffset) -> BytesMut {
    let metadata = v.metadata.as_deref().unwrap_or("");
    let mut buf = BytesMut::with_capacity(24 + metadata.len());
    buf.put_i16(3);
    buf.put_i64(v.offset);
    buf.put_i32(v.leader_epoch);
    put_str(&mut buf, metadata);
    buf.put_i64(v.commit_timestamp);
    buf
}

fn decode_value(mut buf: Bytes) -> Option<CommittedOffset> {
    if buf.remaining() < 2 {
        return None;
    }
    let version = buf.get_i16();
    if buf.remaining() < 8 {
        return None;
    }
    let offset = buf.get_i64();
    let leader_epoch = if version >= 3 && buf.remaining() >= 4 {
        buf.get_i32()
    } else {
        -1
    };
    let metadata = get_str(&mut buf)?;
    let commit_timestamp = if buf.remaining() >= 8 {
        buf.get_i64()
    } else {
        0
    };
    Some(CommittedOffset {
        offset,
        leader_epoch,
        metadata: (!metadata.is_empty()).then_some(metadata),
        commit_timestamp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_and_value_round_trip() {
        let key = encode_key("g", "orders", 3).freeze();
        assert_eq!(
            decode_key(key),
            Some(("g".to_string(), "orders".to_string(), 3))
        );
        let v = CommittedOffset {
            offset: 42,
            leader_epoch: 7,
            metadata: Some("m".to_string()),
            commit_timestamp: 1_700_000_000_000,
        };
        assert_eq!(decode_value(encode_value(&v).freeze()), Some(v));
    }

    #[test]
    fn truncated_records_are_rejected_not_panicking() {
        let key = encode_key("group", "topic", 1).freeze();
        for cut in 0..key.len() {
            assert_eq!(decode_key(key.slice(..cut)), None, "cut {cut}");
        }
        assert_eq!(decode_value(Bytes::from_static(&[0, 3, 1])), None);
    }
}
