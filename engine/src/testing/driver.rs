//! [`TestDriver`]: feed records one at a time, run exactly one epoch per record, read the output.
//!
//! Unlike the query task (which batches whatever arrived), the driver makes every step
//! deterministic: `pipe` appends one record to a source topic and runs one epoch, which covers
//! exactly that record because every earlier record was already committed. `read_output`
//! returns the records appended to a sink topic since the last call, with their partition,
//! offset, key, value and timestamp, ordered by partition and then offset.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use sluice_broker::{Broker, BrokerError, Durability, Record, decode_records, new_record};

use crate::exec::processing_log::ProcessingLog;
use crate::exec::{CollectingProcessingLog, ProcessingLogEntry};
use crate::query::{EpochOutcome, PersistentQuery, QueryError, QueryOptions, QuerySpec, StartFrom};

/// Bytes per read when collecting output.
const READ_BYTES: usize = 1024 * 1024;

/// Why a driver step failed.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The query failed to plan, recover or run an epoch.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// Appending input or reading output failed.
    #[error("broker: {0}")]
    Broker(#[from] BrokerError),
}

/// A record the query wrote to a sink topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRecord {
    /// The sink partition.
    pub partition: i32,
    /// Its offset there.
    pub offset: i64,
    /// The key (None: no key).
    pub key: Option<Bytes>,
    /// The value (None: a tombstone).
    pub value: Option<Bytes>,
    /// The record timestamp in ms.
    pub timestamp_ms: i64,
}

/// Runs persistent queries deterministically over a broker the caller owns (their topics must
/// exist). Queries start from the earliest offsets and take at most one record per source
/// partition per epoch. Each `pipe` runs one epoch of the first query, then lets the queries
/// added after it catch up.
#[derive(Debug)]
pub struct TestDriver {
    broker: Broker,
    query: PersistentQuery,
    /// Queries added with [`TestDriver::add_query`], run after `query` in the order added.
    downstream: Vec<PersistentQuery>,
    processing_log: Arc<CollectingProcessingLog>,
    read_positions: BTreeMap<(String, i32), i64>,
}

impl TestDriver {
    /// Plans `spec` over `broker` and positions it (from its last commit if it has one, else at
    /// the earliest offsets).
    pub async fn start(broker: Broker, spec: QuerySpec) -> Result<TestDriver, DriverError> {
        let processing_log = Arc::new(CollectingProcessingLog::default());
        let query =
            PersistentQuery::create(broker.clone(), spec, Self::options(&processing_log)).await?;
        Ok(TestDriver {
            broker,
            query,
            downstream: Vec::new(),
            processing_log,
            read_positions: BTreeMap::new(),
        })
    }

    fn options(processing_log: &Arc<CollectingProcessingLog>) -> QueryOptions {
        QueryOptions {
            max_records_per_partition: 1,
            start_from: StartFrom::Earliest,
            processing_log: processing_log.clone(),
            ..QueryOptions::default()
        }
    }

    /// Adds a query that reads what earlier queries write (a ksqlDB script's later CSAS): after
    /// each epoch of the first query, the added queries run in the order added, each until it
    /// has nothing left, so one piped record flows through the whole chain in one step.
    pub async fn add_query(&mut self, spec: QuerySpec) -> Result<(), DriverError> {
        let options = Self::options(&self.processing_log);
        let query = PersistentQuery::create(self.broker.clone(), spec, options).await?;
        self.downstream.push(query);
        Ok(())
    }

    /// One step: one epoch of the first query, then every added query until idle. Returns the
    /// first query's outcome.
    async fn step(&mut self) -> Result<EpochOutcome, DriverError> {
        let outcome = self.query.run_epoch().await?;
        for q in &mut self.downstream {
            while q.run_epoch().await? != EpochOutcome::Idle {}
        }
        Ok(outcome)
    }

    /// Appends one record to `topic` (partition by murmur2 of the key, round robin without one)
    /// and runs one epoch.
    pub async fn pipe(
        &mut self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        timestamp_ms: i64,
    ) -> Result<EpochOutcome, DriverError> {
        let partition = self.broker.partition_for_key(topic, key)?;
        self.pipe_to_partition(topic, partition, key, value, timestamp_ms)
            .await
    }

    /// Appends one record to `partition` of `topic` and runs one epoch.
    pub async fn pipe_to_partition(
        &mut self,
        topic: &str,
        partition: i32,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        timestamp_ms: i64,
    ) -> Result<EpochOutcome, DriverError> {
        let log = self.broker.partition(topic, partition)?;
        log.append_records(&[new_record(key, value, timestamp_ms)], Durability::Written)
            .await?;
        self.step().await
    }

    /// Appends `record` as it is (headers included) to `partition` of `topic`, or to the
    /// partition its key maps to when `partition` is None, and runs one epoch.
    pub async fn pipe_record(
        &mut self,
        topic: &str,
        partition: Option<i32>,
        record: Record,
    ) -> Result<EpochOutcome, DriverError> {
        let partition = match partition {
            Some(p) => p,
            None => self
                .broker
                .partition_for_key(topic, record.key.as_deref())?,
        };
        let log = self.broker.partition(topic, partition)?;
        log.append_records(&[record], Durability::Written).await?;
        self.step().await
    }

    /// Runs one epoch without new input (Idle unless records were appended by other means).
    pub async fn advance(&mut self) -> Result<EpochOutcome, DriverError> {
        self.step().await
    }

    /// The records appended to `topic` since the last call for that topic (by anyone), ordered
    /// by partition, then offset.
    pub fn read_output(&mut self, topic: &str) -> Result<Vec<TestRecord>, DriverError> {
        let partitions = self
            .broker
            .topic(topic)
            .ok_or_else(|| BrokerError::UnknownTopic(topic.to_string()))?
            .partitions;
        let mut out = Vec::new();
        for p in 0..partitions {
            let log = self.broker.partition(topic, p)?;
            let position = self
                .read_positions
                .entry((topic.to_string(), p))
                .or_insert_with(|| log.log_start_offset());
            let end = log.high_watermark();
            while *position < end {
                let read = log.read(*position, READ_BYTES)?;
                let records = decode_records(&read.records)?;
                let Some(last) = records.iter().map(|r| r.offset).max() else {
                    break;
                };
                out.extend(
                    records
                        .into_iter()
                        .filter(|r| r.offset >= *position)
                        .map(|r| TestRecord {
                            partition: p,
                            offset: r.offset,
                            key: r.key,
                            value: r.value,
                            timestamp_ms: r.timestamp,
                        }),
                );
                *position = last + 1;
            }
        }
        Ok(out)
    }

    /// The records the query could not process so far (most recent 1000).
    pub fn processing_log(&self) -> Vec<ProcessingLogEntry> {
        self.processing_log.entries()
    }

    /// How many records the query could not process so far.
    pub fn processing_log_count(&self) -> u64 {
        self.processing_log.count()
    }

    /// The queries added with [`TestDriver::add_query`], in the order added.
    pub fn added_queries(&self) -> &[PersistentQuery] {
        &self.downstream
    }

    /// The query under test (its plan, its last commit).
    pub fn query(&self) -> &PersistentQuery {
        &self.query
    }

    /// The broker the driver runs on.
    pub fn broker(&self) -> &Broker {
        &self.broker
    }
}
