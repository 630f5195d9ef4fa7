//! [`PersistentQuery`]: one persistent query's plan, offsets and epoch loop body.
//!
//! The plan is built once from SQL in a [`streaming_session`] over one [`TopicTableProvider`]
//! per source, with a [`TopicSinkExec`] on top. Each [`PersistentQuery::run_epoch`] fixes, per
//! source partition, the slice `[committed, min(high-water mark, committed + cap))`, executes the
//! same plan over it, and commits the new source offsets with the sink end offsets in one fsync'd
//! record ([`QueryOffsetsStore`]). Creating a query that committed before resumes from that
//! commit after cutting uncommitted sink records (see [`truncate_sink_partition`]).

use std::sync::Arc;

use datafusion::execution::TaskContext;
use datafusion::physical_plan::execution_plan::reset_plan_states;
use datafusion::physical_plan::{ExecutionPlan, collect};
use sluice_broker::{Broker, PartitionLog};

use crate::exec::scan::DEFAULT_READ_BYTES;
use crate::exec::{
    EpochSlice, ProcessingLog, RecordDecoder, RecordEncoder, SinkOffsets, TopicSinkExec,
    TopicTableProvider, TracingProcessingLog,
};
use crate::query::commit::{QueryCommit, QueryOffsetsStore};
use crate::query::error::QueryError;
use crate::query::session::streaming_session;

/// A source table of a query: the name the SQL uses, the topic and how to decode it.
#[derive(Debug, Clone)]
pub struct QuerySource {
    /// The table name in the query text.
    pub name: String,
    /// The topic behind it.
    pub topic: String,
    /// Turns the topic's records into the table's rows.
    pub decoder: Arc<dyn RecordDecoder>,
}

/// What to run: `CREATE STREAM <sink> AS <sql>` once the catalog resolved names and formats.
#[derive(Debug, Clone)]
pub struct QuerySpec {
    /// The query id (ksqlDB's `CSAS_<SINK>_<n>`); keys the query's commits.
    pub id: String,
    /// The SELECT the query runs, over the sources' names.
    pub sql: String,
    /// The tables the SELECT reads.
    pub sources: Vec<QuerySource>,
    /// The topic the result rows go to (the query is its only writer).
    pub sink_topic: String,
    /// Turns result rows into the sink topic's records.
    pub encoder: Arc<dyn RecordEncoder>,
}

/// Where a query with no commit starts reading (ksqlDB's `auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    /// From the first record still in the log.
    Earliest,
    /// From the records appended after the query was created (ksqlDB's default).
    Latest,
}

/// How a query runs.
#[derive(Debug, Clone)]
pub struct QueryOptions {
    /// The most records one epoch takes from one source partition.
    pub max_records_per_partition: i64,
    /// Where a query without a commit starts.
    pub start_from: StartFrom,
    /// Where records that do not decode are reported.
    pub processing_log: Arc<dyn ProcessingLog>,
    /// Bytes the scans ask the broker for per read (a read returns at least one whole batch).
    pub read_bytes: usize,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            max_records_per_partition: 10_000,
            start_from: StartFrom::Latest,
            processing_log: Arc::new(TracingProcessingLog::default()),
            read_bytes: DEFAULT_READ_BYTES,
        }
    }
}

/// What one call of [`PersistentQuery::run_epoch`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochOutcome {
    /// No source partition had new records; nothing ran, nothing was committed.
    Idle,
    /// An epoch ran and committed.
    Committed {
        /// The epoch number.
        epoch: u64,
        /// Source offsets the epoch covered (records read, including undecodable ones).
        records_in: u64,
        /// Records written to the sink.
        records_out: u64,
    },
}

/// One source topic as the runner sees it.
#[derive(Debug)]
struct SourceState {
    topic: String,
    slice: EpochSlice,
    partitions: Vec<Arc<PartitionLog>>,
}

/// A persistent query: its plan built once, its offsets, and the commit store.
#[derive(Debug)]
pub struct PersistentQuery {
    id: String,
    plan: Arc<dyn ExecutionPlan>,
    reset_each_epoch: bool,
    task_ctx: Arc<TaskContext>,
    sources: Vec<SourceState>,
    sink_topic: String,
    sink_offsets: SinkOffsets,
    store: QueryOffsetsStore,
    commit: QueryCommit,
    options: QueryOptions,
}

impl PersistentQuery {
    /// Plans `spec` and positions it: from its last commit when it has one (after cutting sink
    /// records that commit does not cover), else from `options.start_from` (and commits that
    /// starting point, so a restart before the first epoch loses nothing).
    pub async fn create(
        broker: Broker,
        spec: QuerySpec,
        options: QueryOptions,
    ) -> Result<PersistentQuery, QueryError> {
        let id = spec.id.clone();
        let unknown = |topic: &str| QueryError::UnknownTopic {
            query: id.clone(),
            topic: topic.to_string(),
        };
        let broker_err = |source| QueryError::Broker {
            query: id.clone(),
            source,
        };
        let sink_meta = broker
            .topic(&spec.sink_topic)
            .ok_or_else(|| unknown(&spec.sink_topic))?;
        let mut max_partitions = 1;
        for s in &spec.sources {
            let meta = broker.topic(&s.topic).ok_or_else(|| unknown(&s.topic))?;
            max_partitions = max_partitions.max(meta.partitions as usize);
        }
        let store = QueryOffsetsStore::open(broker.clone()).map_err(broker_err)?;

        let ctx = streaming_session(max_partitions);
        let mut sources = Vec::new();
        for s in &spec.sources {
            let provider = TopicTableProvider::new(
                broker.clone(),
                &s.topic,
                s.decoder.clone(),
                options.processing_log.clone(),
            )
            .with_read_bytes(options.read_bytes);
            let partitions = (0..broker.topic(&s.topic).map_or(0, |m| m.partitions))
                .map(|p| broker.partition(&s.topic, p))
                .collect::<Result<Vec<_>, _>>()
                .map_err(broker_err)?;
            sources.push(SourceState {
                topic: s.topic.clone(),
                slice: provider.slice().clone(),
                partitions,
            });
            ctx.register_table(s.name.as_str(), Arc::new(provider))
                .map_err(|source| QueryError::Plan {
                    query: id.clone(),
                    source,
                })?;
        }
        let plan_err = |source| QueryError::Plan {
            query: id.clone(),
            source,
        };
        let select = ctx
            .sql(&spec.sql)
            .await
            .map_err(plan_err)?
            .create_physical_plan()
            .await
            .map_err(plan_err)?;
        let sink_offsets = SinkOffsets::default();
        let plan: Arc<dyn ExecutionPlan> = Arc::new(TopicSinkExec::new(
            select,
            broker.clone(),
            &spec.sink_topic,
            spec.encoder.clone(),
            sink_offsets.clone(),
        ));
        let reset_each_epoch = needs_reset(&plan);
        tracing::debug!(query = %id, reset_each_epoch, plan = %datafusion::physical_plan::displayable(plan.as_ref()).indent(false), "planned");

        let commit = match store.load(&id)? {
            Some(commit) => {
                recover_sink(&broker, &id, &spec.sink_topic, &commit).map_err(broker_err)?;
                tracing::info!(query = %id, epoch = commit.epoch, "resuming from the last commit");
                commit
            }
            None => {
                let mut commit = QueryCommit::default();
                for s in &sources {
                    let offsets = commit.sources.entry(s.topic.clone()).or_default();
                    for log in &s.partitions {
                        let start = match options.start_from {
                            StartFrom::Earliest => log.log_start_offset(),
                            StartFrom::Latest => log.high_watermark(),
                        };
                        offsets.insert(log.partition(), start);
                    }
                }
                let sinks = commit.sinks.entry(spec.sink_topic.clone()).or_default();
                for p in 0..sink_meta.partitions {
                    let log = broker.partition(&spec.sink_topic, p).map_err(broker_err)?;
                    sinks.insert(p, log.high_watermark());
                }
                store.commit(&id, &commit).await?;
                commit
            }
        };
        Ok(PersistentQuery {
            id,
            plan,
            reset_each_epoch,
            task_ctx: ctx.task_ctx(),
            sources,
            sink_topic: spec.sink_topic,
            sink_offsets,
            store,
            commit,
            options,
        })
    }

    /// The query id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The physical plan every epoch executes (what EXPLAIN shows).
    pub fn plan(&self) -> &Arc<dyn ExecutionPlan> {
        &self.plan
    }

    /// The last commit: how far the query read and wrote.
    pub fn last_commit(&self) -> &QueryCommit {
        &self.commit
    }

    /// Every source partition, for waiting on their high-water marks.
    pub fn source_partitions(&self) -> impl Iterator<Item = &Arc<PartitionLog>> {
        self.sources.iter().flat_map(|s| s.partitions.iter())
    }

    /// Runs one epoch over what the sources hold now (up to the cap per partition) and commits
    /// it; [`EpochOutcome::Idle`] when there is nothing new. On an error nothing is committed and
    /// the query must not run further epochs (its sink may hold uncommitted records that only a
    /// restart cuts back).
    pub async fn run_epoch(&mut self) -> Result<EpochOutcome, QueryError> {
        let epoch = self.commit.epoch + 1;
        let mut next = self.commit.clone();
        next.epoch = epoch;
        let mut records_in = 0u64;
        for s in &self.sources {
            let offsets = next.sources.entry(s.topic.clone()).or_default();
            for log in &s.partitions {
                let p = log.partition();
                let log_start = log.log_start_offset();
                let committed = offsets.get(&p).copied().unwrap_or(log_start);
                if committed < log_start {
                    tracing::warn!(query = %self.id, topic = %s.topic, partition = p,
                        skipped = log_start - committed,
                        "retention deleted records the query had not read yet; skipping them");
                }
                let start = committed.max(log_start);
                let end = log
                    .high_watermark()
                    .min(start.saturating_add(self.options.max_records_per_partition.max(1)));
                let end = end.max(start);
                s.slice.set(p, start..end);
                records_in += (end - start) as u64;
                offsets.insert(p, end);
            }
        }
        if records_in == 0 {
            return Ok(EpochOutcome::Idle);
        }
        let result = self.execute(epoch).await;
        for s in &self.sources {
            s.slice.clear();
        }
        let written = self.sink_offsets.take();
        let records_out = result?;
        let sinks = next.sinks.entry(self.sink_topic.clone()).or_default();
        for (p, end) in written {
            sinks.insert(p, end);
        }
        self.store.commit(&self.id, &next).await?;
        self.commit = next;
        Ok(EpochOutcome::Committed {
            epoch,
            records_in,
            records_out,
        })
    }

    /// Executes the plan once over the slices set; returns the records written.
    async fn execute(&self, epoch: u64) -> Result<u64, QueryError> {
        let exec_err = |source| QueryError::Execution {
            query: self.id.clone(),
            epoch,
            source,
        };
        let plan = if self.reset_each_epoch {
            reset_plan_states(self.plan.clone()).map_err(exec_err)?
        } else {
            self.plan.clone()
        };
        let batches = collect(plan, self.task_ctx.clone())
            .await
            .map_err(exec_err)?;
        let mut written = 0u64;
        for b in &batches {
            if let Some(counts) = b
                .column(0)
                .as_any()
                .downcast_ref::<arrow::array::UInt64Array>()
            {
                written += counts.iter().flatten().sum::<u64>();
            }
        }
        Ok(written)
    }
}

/// Whether the plan holds an operator that keeps state between executions and must be reset
/// (e.g. `RepartitionExec`, join build sides): every node other than the ones known to be
/// stateless per execution.
fn needs_reset(plan: &Arc<dyn ExecutionPlan>) -> bool {
    const STATELESS: &[&str] = &[
        "TopicScanExec",
        "TopicSinkExec",
        "FilterExec",
        "ProjectionExec",
        "CoalesceBatchesExec",
        "CoalescePartitionsExec",
        "EmptyExec",
        "PlaceholderRowExec",
    ];
    !STATELESS.contains(&plan.name()) || plan.children().into_iter().any(needs_reset)
}

/// Cuts sink records the last commit does not cover, partition by partition.
fn recover_sink(
    broker: &Broker,
    query: &str,
    sink_topic: &str,
    commit: &QueryCommit,
) -> Result<(), sluice_broker::BrokerError> {
    let Some(ends) = commit.sinks.get(sink_topic) else {
        return Ok(());
    };
    for (&p, &end) in ends {
        let log = broker.partition(sink_topic, p)?;
        if log.high_watermark() > end {
            truncate_sink_partition(query, &log, end);
        }
    }
    Ok(())
}

/// Cuts a single-writer sink partition back to `committed_end`, the end offset the query last
/// committed, so that records of an epoch that crashed before its commit are not seen twice.
///
/// LIMITATION: the broker (branch `log`) has no truncate API yet. Until `PartitionLog` gets one
/// (it must fsync the cut and move the high-water mark back, as recovery does for torn writes),
/// this leaves the records in place and says so: after a crash between an epoch's sink write
/// and its commit, the re-run epoch writes those records again (at-least-once for that epoch).
pub fn truncate_sink_partition(query: &str, log: &PartitionLog, committed_end: i64) {
    let extra = log.high_watermark() - committed_end;
    tracing::warn!(query = %query, topic = %log.topic(), partition = log.partition(),
        committed_end, uncommitted_records = extra,
        "the sink holds records written after the last commit and the broker cannot truncate \
         yet; they stay and the epoch that wrote them runs again");
}
