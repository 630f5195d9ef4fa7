//! [`TxnCoordinator`]: the transaction coordinator of this broker (Kafka's
//! `TransactionCoordinator` + `TransactionStateManager`, for one node).
//!
//! Each transactional id has a [`TxnMetadata`] behind its own async mutex: every operation on one
//! id (InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn, a timeout)
//! runs start to end under it, markers included, so two operations of one id never interleave;
//! different ids run in parallel. The map of ids has a short synchronous lock.
//!
//! Every state change is appended to the compacted topic `__transaction_state` and fsync'd before
//! it takes effect: partitions are recorded before a producer may write to them, and
//! `PrepareCommit`/`PrepareAbort` is durable before the first marker is written. So after a crash
//! [`TxnCoordinator::start`] finds each id's last state and finishes the job: a `Prepare*`
//! transaction gets its remaining markers, an `Ongoing` one is aborted (with the epoch bumped, so
//! the producer that left it is fenced). Partitions rebuild their last stable offset and aborted
//! index from the markers in their own logs.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::future::join_all;
use kafka_protocol::ResponseError;
use parking_lot::Mutex;
use tokio::sync::watch;
use tracing::{info, warn};

use super::metadata::{TxnMetadata, TxnState, decode_key, decode_value, encode_key, encode_value};
use crate::group::{CommittedOffset, GroupCoordinator, OFFSETS_TOPIC, OffsetStoreError};
use crate::log::now_ms;
use crate::log::records::{decode_records, new_record};
use crate::log::transactions::ControlType;
use crate::{Broker, BrokerError, Durability};

/// The compacted topic holding every transactional id's state.
pub const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";

/// Settings of the transaction coordinator, with Kafka's defaults.
#[derive(Debug, Clone)]
pub struct TxnConfig {
    /// Largest `transaction.timeout.ms` a producer may ask for (`transaction.max.timeout.ms`,
    /// 15 minutes).
    pub max_timeout: Duration,
    /// How often open transactions are checked against their timeout
    /// (`transaction.abort.timed.out.transaction.cleanup.interval.ms`, 10 s).
    pub abort_check_interval: Duration,
}

impl Default for TxnConfig {
    fn default() -> Self {
        TxnConfig {
            max_timeout: Duration::from_secs(15 * 60),
            abort_check_interval: Duration::from_secs(10),
        }
    }
}

/// Why a transactional request was refused, with the Kafka error it is answered with.
#[derive(Debug, thiserror::Error)]
pub enum TxnError {
    /// A newer producer with the same transactional id exists (PRODUCER_FENCED).
    #[error("producer {producer_id} with epoch {epoch} is fenced: epoch {current} is current")]
    ProducerFenced {
        /// The producer id.
        producer_id: i64,
        /// The epoch the request used.
        epoch: i16,
        /// The coordinator's epoch.
        current: i16,
    },
    /// The producer id is not the one bound to the transactional id.
    #[error("transactional id '{0}' is not bound to this producer id")]
    InvalidProducerIdMapping(String),
    /// The operation does not fit the transaction's state.
    #[error("invalid transaction state: {0}")]
    InvalidTxnState(String),
    /// `transaction.timeout.ms` is not in `1..=transaction.max.timeout.ms`.
    #[error("transaction timeout {0} ms is not allowed")]
    InvalidTimeout(i32),
    /// The partition does not exist.
    #[error("unknown topic or partition {0}-{1}")]
    UnknownPartition(String, i32),
    /// Writing state or markers failed.
    #[error("{0}")]
    Broker(#[from] BrokerError),
    /// Storing offsets failed.
    #[error("{0}")]
    Offsets(#[from] OffsetStoreError),
}

impl TxnError {
    /// The Kafka error this is answered with.
    pub fn response_error(&self) -> ResponseError {
        match self {
            TxnError::ProducerFenced { .. } => ResponseError::ProducerFenced,
            TxnError::InvalidProducerIdMapping(_) => ResponseError::InvalidProducerIdMapping,
            TxnError::InvalidTxnState(_) => ResponseError::InvalidTxnState,
            TxnError::InvalidTimeout(_) => ResponseError::InvalidTransactionTimeout,
            TxnError::UnknownPartition(..) => ResponseError::UnknownTopicOrPartition,
            TxnError::Broker(e) => match e {
                BrokerError::Io { .. } | BrokerError::ShuttingDown => {
                    ResponseError::CoordinatorNotAvailable
                }
                e => e.response_error(),
            },
            TxnError::Offsets(OffsetStoreError::Broker(e)) => e.response_error(),
        }
    }

    /// The Kafka error code.
    pub fn code(&self) -> i16 {
        self.response_error().code()
    }
}

type Entry = Arc<tokio::sync::Mutex<TxnMetadata>>;

/// The transaction coordinator: shared by the Kafka handlers and in-process producers.
#[derive(Debug)]
pub struct TxnCoordinator {
    broker: Broker,
    groups: Arc<GroupCoordinator>,
    config: TxnConfig,
    txns: Mutex<HashMap<String, Entry>>,
    stop: watch::Sender<bool>,
}

impl TxnCoordinator {
    /// Creates `__transaction_state` if needed (one partition, compacted), loads every id's
    /// last state, finishes the transactions a crash interrupted (`Prepare*` completes,
    /// `Ongoing` is aborted) and starts the timeout task. Committed offsets (`groups`) must be
    /// loaded already: completing a transaction may make offsets visible.
    pub async fn start(
        broker: Broker,
        groups: Arc<GroupCoordinator>,
        config: TxnConfig,
    ) -> Result<Arc<TxnCoordinator>, TxnError> {
        if broker.topic(TRANSACTION_STATE_TOPIC).is_none() {
            let configs = BTreeMap::from([("cleanup.policy".to_string(), "compact".to_string())]);
            match broker.create_topic(TRANSACTION_STATE_TOPIC, 1, &configs) {
                Ok(_) | Err(BrokerError::TopicAlreadyExists(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let loaded = load(&broker)?;
        let (stop, mut stopped) = watch::channel(false);
        let coordinator = Arc::new(TxnCoordinator {
            broker,
            groups,
            config,
            txns: Mutex::new(HashMap::new()),
            stop,
        });
        let mut unfinished = 0;
        for (id, meta) in loaded {
            let state = meta.state;
            let entry: Entry = Arc::new(tokio::sync::Mutex::new(meta));
            coordinator.txns.lock().insert(id.clone(), entry.clone());
            if state.is_idle() {
                continue;
            }
            unfinished += 1;
            let mut m = entry.lock().await;
            let result = match state {
                TxnState::PrepareCommit => coordinator.complete(&mut m, true).await,
                TxnState::PrepareAbort => coordinator.complete(&mut m, false).await,
                _ => coordinator.abort_with_bump(&mut m).await,
            };
            if let Err(e) = result {
                warn!(transactional_id = %id, %e, "could not finish a transaction at start-up; retried by the timeout task");
            }
        }
        info!(
            unfinished,
            "transaction coordinator loaded __transaction_state"
        );
        let weak: Weak<TxnCoordinator> = Arc::downgrade(&coordinator);
        let every = coordinator.config.abort_check_interval;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stopped.wait_for(|s| *s) => break,
                    _ = tokio::time::sleep(every) => {}
                }
                let Some(c) = weak.upgrade() else { break };
                c.abort_timed_out(now_ms()).await;
            }
        });
        Ok(coordinator)
    }

    /// Stops the timeout task.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// The broker this coordinator writes to.
    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    /// A copy of one transactional id's state (for tests and tools).
    pub async fn describe(&self, transactional_id: &str) -> Option<TxnMetadata> {
        let entry = self.txns.lock().get(transactional_id).cloned()?;
        let m = entry.lock().await;
        Some(m.clone())
    }

    fn entry(&self, transactional_id: &str) -> Result<Entry, TxnError> {
        self.txns
            .lock()
            .get(transactional_id)
            .cloned()
            .ok_or_else(|| TxnError::InvalidProducerIdMapping(transactional_id.to_string()))
    }

    /// Checks a request's producer id and epoch against the id's state.
    fn check_producer(m: &TxnMetadata, producer_id: i64, epoch: i16) -> Result<(), TxnError> {
        if m.producer_id != producer_id {
            return Err(TxnError::InvalidProducerIdMapping(
                m.transactional_id.clone(),
            ));
        }
        if m.epoch != epoch {
            return Err(TxnError::ProducerFenced {
                producer_id,
                epoch,
                current: m.epoch,
            });
        }
        Ok(())
    }

    /// InitProducerId with a transactional id: binds (or re-binds) the id to a producer id and
    /// a new epoch. An open transaction of the previous epoch is aborted first, which fences
    /// the producer that left it (its next request gets PRODUCER_FENCED, its batches
    /// INVALID_PRODUCER_EPOCH). `expected` is the producer id and epoch a v3+ client sends to
    /// bump its own epoch (KIP-360); a mismatch is PRODUCER_FENCED.
    pub async fn init_producer_id(
        &self,
        transactional_id: &str,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
    ) -> Result<(i64, i16), TxnError> {
        if timeout_ms <= 0 || i64::from(timeout_ms) > self.config.max_timeout.as_millis() as i64 {
            return Err(TxnError::InvalidTimeout(timeout_ms));
        }
        let existing = self.txns.lock().get(transactional_id).cloned();
        let Some(entry) = existing else {
            let producer_id = self.broker.allocate_producer_id()?;
            let meta = TxnMetadata {
                transactional_id: transactional_id.to_string(),
                producer_id,
                epoch: 0,
                timeout_ms,
                state: TxnState::Empty,
                partitions: BTreeSet::new(),
                start_ms: -1,
                last_update_ms: now_ms(),
            };
            let entry: Entry = Arc::new(tokio::sync::Mutex::new(meta));
            let guard = entry.lock().await;
            // Two first-time InitProducerIds of one id: the second one waits for the first.
            let raced = {
                let mut txns = self.txns.lock();
                match txns.get(transactional_id) {
                    Some(other) => Some(other.clone()),
                    None => {
                        txns.insert(transactional_id.to_string(), entry.clone());
                        None
                    }
                }
            };
            if raced.is_some() {
                drop(guard);
                return Box::pin(self.init_producer_id(transactional_id, timeout_ms, expected))
                    .await;
            }
            self.persist(&guard).await?;
            return Ok((producer_id, 0));
        };
        let mut m = entry.lock().await;
        if let Some((pid, epoch)) = expected
            && pid >= 0
            && (pid != m.producer_id || epoch != m.epoch)
        {
            return Err(TxnError::ProducerFenced {
                producer_id: pid,
                epoch,
                current: m.epoch,
            });
        }
        match m.state {
            TxnState::PrepareCommit => self.complete(&mut m, true).await?,
            TxnState::PrepareAbort => self.complete(&mut m, false).await?,
            TxnState::Ongoing => self.abort_with_bump(&mut m).await?,
            _ => {}
        }
        let mut next = m.clone();
        if next.epoch >= i16::MAX - 1 {
            next.producer_id = self.broker.allocate_producer_id()?;
            next.epoch = 0;
        } else {
            next.epoch += 1;
        }
        next.timeout_ms = timeout_ms;
        next.state = TxnState::Empty;
        next.partitions.clear();
        next.start_ms = -1;
        next.last_update_ms = now_ms();
        self.persist(&next).await?;
        *m = next;
        Ok((m.producer_id, m.epoch))
    }

    /// AddPartitionsToTxn: records the partitions in the transaction (durably) and lets the
    /// producer write transactional batches to them. All or nothing: an unknown partition
    /// refuses the whole request.
    pub async fn add_partitions(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: &[(String, i32)],
    ) -> Result<(), TxnError> {
        let mut logs = Vec::with_capacity(partitions.len());
        for (t, p) in partitions {
            match self.broker.partition(t, *p) {
                Ok(log) => logs.push(log),
                Err(_) => return Err(TxnError::UnknownPartition(t.clone(), *p)),
            }
        }
        let entry = self.entry(transactional_id)?;
        let mut m = entry.lock().await;
        Self::check_producer(&m, producer_id, epoch)?;
        if matches!(m.state, TxnState::PrepareCommit | TxnState::PrepareAbort) {
            return Err(TxnError::InvalidTxnState(format!(
                "transaction of '{transactional_id}' is ending ({:?})",
                m.state
            )));
        }
        let new: Vec<&(String, i32)> = partitions
            .iter()
            .filter(|tp| !m.partitions.contains(*tp) || m.state != TxnState::Ongoing)
            .collect();
        if !new.is_empty() {
            let mut next = m.clone();
            if next.state != TxnState::Ongoing {
                next.state = TxnState::Ongoing;
                next.partitions.clear();
                next.start_ms = now_ms();
            }
            next.partitions.extend(new.into_iter().cloned());
            next.last_update_ms = now_ms();
            self.persist(&next).await?;
            *m = next;
        }
        for log in logs {
            log.register_transaction(producer_id, epoch);
        }
        Ok(())
    }

    /// AddOffsetsToTxn: adds `__consumer_offsets` (where `group`'s offsets live) to the
    /// transaction, so TxnOffsetCommit may follow.
    pub async fn add_offsets(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        _group: &str,
    ) -> Result<(), TxnError> {
        let tp = [(OFFSETS_TOPIC.to_string(), 0)];
        self.add_partitions(transactional_id, producer_id, epoch, &tp)
            .await
    }

    /// TxnOffsetCommit: stores `group`'s offsets inside the transaction; they become visible
    /// when it commits and are discarded if it aborts.
    pub async fn commit_offsets(
        &self,
        transactional_id: &str,
        group: &str,
        producer_id: i64,
        epoch: i16,
        offsets: Vec<(String, i32, CommittedOffset)>,
    ) -> Result<(), TxnError> {
        let entry = self.entry(transactional_id)?;
        let m = entry.lock().await;
        Self::check_producer(&m, producer_id, epoch)?;
        if m.state != TxnState::Ongoing || !m.partitions.contains(&(OFFSETS_TOPIC.to_string(), 0)) {
            return Err(TxnError::InvalidTxnState(format!(
                "TxnOffsetCommit of '{transactional_id}' without AddOffsetsToTxn"
            )));
        }
        self.groups
            .offsets
            .commit_transactional(group, producer_id, epoch, offsets)
            .await?;
        Ok(())
    }

    /// EndTxn: commits or aborts the open transaction. `PrepareCommit`/`PrepareAbort` is made
    /// durable, the markers are written to every partition of the transaction (fsync'd), the
    /// transaction's offsets are applied or dropped, and `CompleteCommit`/`CompleteAbort` is
    /// recorded; only then is the call answered. A retry of an EndTxn that already completed
    /// succeeds again.
    pub async fn end_txn(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
    ) -> Result<(), TxnError> {
        let entry = self.entry(transactional_id)?;
        let mut m = entry.lock().await;
        Self::check_producer(&m, producer_id, epoch)?;
        match (m.state, commit) {
            (TxnState::Ongoing, _) => {
                let mut next = m.clone();
                next.state = if commit {
                    TxnState::PrepareCommit
                } else {
                    TxnState::PrepareAbort
                };
                next.last_update_ms = now_ms();
                self.persist(&next).await?;
                *m = next;
                self.complete(&mut m, commit).await
            }
            (TxnState::PrepareCommit, true) | (TxnState::PrepareAbort, false) => {
                self.complete(&mut m, commit).await
            }
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => Ok(()),
            // librdkafka aborts an empty transaction after a failed init; Kafka accepts that.
            (TxnState::Empty, false) => Ok(()),
            (state, _) => Err(TxnError::InvalidTxnState(format!(
                "cannot {} the transaction of '{transactional_id}' in state {state:?}",
                if commit { "commit" } else { "abort" }
            ))),
        }
    }

    /// Aborts every open transaction older than its timeout (bumping the epoch, as Kafka
    /// does, so the producer that left it is fenced) and retries unfinished markers; returns how
    /// many transactions it ended.
    pub async fn abort_timed_out(&self, now: i64) -> usize {
        let entries: Vec<Entry> = self.txns.lock().values().cloned().collect();
        let mut ended = 0;
        for entry in entries {
            let Ok(mut m) = entry.try_lock() else {
                continue; // busy: an operation is running on it right now
            };
            let result = match m.state {
                TxnState::Ongoing if now - m.start_ms > i64::from(m.timeout_ms) => {
                    info!(transactional_id = %m.transactional_id, producer_id = m.producer_id,
                        timeout_ms = m.timeout_ms, "aborting a transaction past its timeout");
                    self.abort_with_bump(&mut m).await
                }
                TxnState::PrepareCommit => self.complete(&mut m, true).await,
                TxnState::PrepareAbort => self.complete(&mut m, false).await,
                _ => continue,
            };
            match result {
                Ok(()) => ended += 1,
                Err(e) => {
                    warn!(transactional_id = %m.transactional_id, %e, "could not end a transaction")
                }
            }
        }
        ended
    }

    /// Aborts an `Ongoing` transaction under a bumped epoch (fencing its producer).
    async fn abort_with_bump(&self, m: &mut TxnMetadata) -> Result<(), TxnError> {
        let mut next = m.clone();
        if next.epoch < i16::MAX - 1 {
            next.epoch += 1;
        }
        next.state = TxnState::PrepareAbort;
        next.last_update_ms = now_ms();
        self.persist(&next).await?;
        *m = next;
        self.complete(m, false).await
    }

    /// From `Prepare*`: writes the markers, applies or drops the offsets, records `Complete*`.
    async fn complete(&self, m: &mut TxnMetadata, commit: bool) -> Result<(), TxnError> {
        let control = if commit {
            ControlType::Commit
        } else {
            ControlType::Abort
        };
        let (pid, epoch) = (m.producer_id, m.epoch);
        let writes = m.partitions.iter().map(|(t, p)| {
            let log = self.broker.partition(t, *p);
            async move {
                match log {
                    Ok(log) => log.write_marker(pid, epoch, control, 0).await.map(|_| ()),
                    // The topic was deleted meanwhile: nothing to mark.
                    Err(BrokerError::UnknownTopic(_) | BrokerError::UnknownPartition { .. }) => {
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
        });
        for result in join_all(writes).await {
            result?;
        }
        if m.partitions.contains(&(OFFSETS_TOPIC.to_string(), 0)) {
            self.groups.offsets.complete_transaction(pid, commit);
        }
        let mut next = m.clone();
        next.state = if commit {
            TxnState::CompleteCommit
        } else {
            TxnState::CompleteAbort
        };
        next.partitions.clear();
        next.start_ms = -1;
        next.last_update_ms = now_ms();
        // Not fsync'd on its own: if it is lost, recovery finds `Prepare*` and writes the
        // markers again, which is harmless (a marker without open records changes nothing).
        self.persist_with(&next, Durability::Written).await?;
        *m = next;
        Ok(())
    }

    /// Appends the id's state to `__transaction_state` and waits for the fsync.
    async fn persist(&self, m: &TxnMetadata) -> Result<(), TxnError> {
        self.persist_with(m, Durability::Fsynced).await
    }

    async fn persist_with(&self, m: &TxnMetadata, durability: Durability) -> Result<(), TxnError> {
        let key = encode_key(&m.transactional_id);
        let value = encode_value(m);
        let record = new_record(Some(&key), Some(&value), now_ms());
        let log = self.broker.partition(TRANSACTION_STATE_TOPIC, 0)?;
        log.append_records(&[record], durability).await?;
        Ok(())
    }
}

/// The last state of every transactional id in `__transaction_state`.
fn load(broker: &Broker) -> Result<HashMap<String, TxnMetadata>, TxnError> {
    let log = broker.partition(TRANSACTION_STATE_TOPIC, 0)?;
    let mut out = HashMap::new();
    let mut next = log.log_start_offset();
    let end = log.high_watermark();
    while next < end {
        let read = log.read(next, 1024 * 1024)?;
        if read.records.is_empty() {
            break;
        }
        let records = decode_records(&read.records)?;
        let Some(last) = records.last() else { break };
        next = last.offset + 1;
        for r in records {
            let Some(id) = r.key.clone().and_then(decode_key) else {
                continue;
            };
            match r.value.clone() {
                None => {
                    out.remove(&id);
                }
                Some(v) => match decode_value(&id, v) {
                    Some(m) => {
                        out.insert(id, m);
                    }
                    None => warn!(transactional_id = %id, "unreadable transaction state skipped"),
                },
            }
        }
    }
    Ok(out)
}
