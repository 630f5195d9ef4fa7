//! [`TransactionalProducer`]: the in-process transactional writer (what the engine commits
//! through), the same protocol a Kafka client speaks, without the network.
//!
//! ```text
//! let mut p = coordinator.producer("query-CSAS_T_1", Duration::from_secs(60)).await?; // fences older instances
//! p.begin()?;
//! p.append("T", 0, &records).await?;                // adds T-0 to the transaction, then writes
//! p.add_offsets("query-CSAS_T_1", &[("S".into(), 0, 42)]).await?; // source progress, same txn
//! p.commit().await?;                                 // or p.abort().await?
//! ```
//!
//! Records are written as transactional batches of the producer id and epoch (read_committed
//! readers see them only after `commit`); offsets go to `__consumer_offsets` inside the same
//! transaction and become the group's committed offsets at commit. A second `producer()` for the
//! same transactional id aborts this one's open transaction and fences it: its next call fails
//! with [`TxnError::ProducerFenced`] (or INVALID_PRODUCER_EPOCH from a partition).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::records::Record;

use super::coordinator::{TxnCoordinator, TxnError};
use crate::group::CommittedOffset;
use crate::log::now_ms;
use crate::log::records::encode_transactional_records;
use crate::{AppendResult, Durability};

/// One transactional id's producer, in process.
#[derive(Debug)]
pub struct TransactionalProducer {
    coordinator: Arc<TxnCoordinator>,
    transactional_id: String,
    producer_id: i64,
    epoch: i16,
    in_transaction: bool,
    partitions: BTreeSet<(String, i32)>,
    offsets_added: bool,
}

impl TxnCoordinator {
    /// InitProducerId for `transactional_id` with `timeout` as `transaction.timeout.ms`: a new
    /// epoch, fencing (and aborting the open transaction of) any older producer of the id.
    pub async fn producer(
        self: &Arc<Self>,
        transactional_id: &str,
        timeout: Duration,
    ) -> Result<TransactionalProducer, TxnError> {
        let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        let (producer_id, epoch) = self
            .init_producer_id(transactional_id, timeout_ms, None)
            .await?;
        Ok(TransactionalProducer {
            coordinator: self.clone(),
            transactional_id: transactional_id.to_string(),
            producer_id,
            epoch,
            in_transaction: false,
            partitions: BTreeSet::new(),
            offsets_added: false,
        })
    }
}

impl TransactionalProducer {
    /// The producer id bound to the transactional id.
    pub fn producer_id(&self) -> i64 {
        self.producer_id
    }

    /// This producer's epoch.
    pub fn epoch(&self) -> i16 {
        self.epoch
    }

    /// Starts a transaction (local, as in Kafka's clients: the coordinator learns of it at the
    /// first append or offsets). INVALID_TXN_STATE if one is open already.
    pub fn begin(&mut self) -> Result<(), TxnError> {
        if self.in_transaction {
            return Err(TxnError::InvalidTxnState(
                "a transaction is already open".into(),
            ));
        }
        self.in_transaction = true;
        self.partitions.clear();
        self.offsets_added = false;
        Ok(())
    }

    fn check_open(&self) -> Result<(), TxnError> {
        if !self.in_transaction {
            return Err(TxnError::InvalidTxnState(
                "no transaction is open: call begin() first".into(),
            ));
        }
        Ok(())
    }

    /// Adds partitions to the transaction in one durable state change (appending to a new
    /// partition adds it on its own; this saves a state write per partition, as a Kafka client's
    /// batched AddPartitionsToTxn does).
    pub async fn add_partitions(&mut self, partitions: &[(String, i32)]) -> Result<(), TxnError> {
        self.check_open()?;
        let new: Vec<(String, i32)> = partitions
            .iter()
            .filter(|tp| !self.partitions.contains(*tp))
            .cloned()
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        self.coordinator
            .add_partitions(&self.transactional_id, self.producer_id, self.epoch, &new)
            .await?;
        self.partitions.extend(new);
        Ok(())
    }

    /// Appends `records` to `topic`/`partition` inside the transaction (adding the partition
    /// to it first when new). The write is not fsync'd on its own: the commit marker's fsync
    /// covers it. Keys, values, timestamps and headers of `records` are kept.
    pub async fn append(
        &mut self,
        topic: &str,
        partition: i32,
        records: &[Record],
    ) -> Result<AppendResult, TxnError> {
        self.check_open()?;
        let tp = (topic.to_string(), partition);
        if !self.partitions.contains(&tp) {
            self.coordinator
                .add_partitions(
                    &self.transactional_id,
                    self.producer_id,
                    self.epoch,
                    std::slice::from_ref(&tp),
                )
                .await?;
            self.partitions.insert(tp);
        }
        let batch = encode_transactional_records(records, self.producer_id, self.epoch, -1)?;
        let log = self.coordinator.broker().partition(topic, partition)?;
        Ok(log.append_internal(batch, Durability::Written).await?)
    }

    /// Commits `offsets` (topic, partition, next offset to read) of `group` inside the
    /// transaction: visible to OffsetFetch (and [`crate::group::OffsetStore::fetch`]) only after
    /// the commit.
    pub async fn add_offsets(
        &mut self,
        group: &str,
        offsets: &[(String, i32, i64)],
    ) -> Result<(), TxnError> {
        self.check_open()?;
        if !self.offsets_added {
            self.coordinator
                .add_offsets(&self.transactional_id, self.producer_id, self.epoch, group)
                .await?;
            self.offsets_added = true;
        }
        let now = now_ms();
        let entries = offsets
            .iter()
            .map(|(t, p, o)| {
                (
                    t.clone(),
                    *p,
                    CommittedOffset {
                        offset: *o,
                        leader_epoch: -1,
                        metadata: None,
                        commit_timestamp: now,
                    },
                )
            })
            .collect();
        self.coordinator
            .commit_offsets(
                &self.transactional_id,
                group,
                self.producer_id,
                self.epoch,
                entries,
            )
            .await
    }

    /// Commits the transaction: on return its records are readable by read_committed readers
    /// and its offsets are the groups' committed offsets, durably.
    pub async fn commit(&mut self) -> Result<(), TxnError> {
        self.end(true).await
    }

    /// Aborts the transaction: its records stay in the log but read_committed readers skip
    /// them, and its offsets are dropped.
    pub async fn abort(&mut self) -> Result<(), TxnError> {
        self.end(false).await
    }

    async fn end(&mut self, commit: bool) -> Result<(), TxnError> {
        self.check_open()?;
        let touched = !self.partitions.is_empty() || self.offsets_added;
        if touched {
            self.coordinator
                .end_txn(&self.transactional_id, self.producer_id, self.epoch, commit)
                .await?;
        }
        self.in_transaction = false;
        Ok(())
    }
}
