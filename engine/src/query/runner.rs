//! [`PersistentQuery`]: one persistent query's plan, offsets and epoch loop body.
//!
//! The plan is built once from SQL in a streaming session over one `TopicTableProvider`
//! per source (`streaming_plan.rs`), with a [`TopicSinkExec`] on top. Each [`PersistentQuery::run_epoch`] fixes, per
//! source partition, the slice `[committed, min(high-water mark, committed + cap))`, executes the
//! same plan over it, and commits the new source offsets with the sink end offsets in one fsync'd
//! record ([`QueryOffsetsStore`]). Creating a query that committed before resumes from that
//! commit after cutting the sink records that commit does not cover (see `recovery.rs`).

use std::sync::Arc;

use datafusion::physical_plan::{ExecutionPlan, collect};
use sluice_broker::{Broker, PartitionLog};
use tracing::Instrument;

use crate::exec::scan::DEFAULT_READ_BYTES;
use crate::exec::{
    ProcessingLog, RecordDecoder, RecordEncoder, SinkOffsets, TopicSinkExec, TracingProcessingLog,
};
use crate::query::commit::{QueryCommit, QueryOffsetsStore};
use crate::query::error::QueryError;
use crate::query::recovery::{clamp_to_sources, recover_sink};
use crate::query::streaming_plan::{StreamingPlan, needs_reset, plan_for_epoch, plan_select};

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

/// Where a query being created resumes from.
#[derive(Debug, Clone)]
pub enum Progress {
    /// From scratch (`QueryOptions::start_from`), whatever the offsets topic holds for its id:
    /// a new query, also one that reuses the id of a terminated query.
    Fresh,
    /// From its last commit in the offsets topic, if any.
    Load,
    /// From this commit (already read from the offsets topic), or from scratch if None.
    Given(Option<QueryCommit>),
}

/// How [`PersistentQuery::create_with`] recovers a query.
#[derive(Debug, Clone)]
pub struct Recovery {
    /// The query is its sink's only writer: sink records past its last commit are its own
    /// uncommitted output and are cut.
    pub exclusive_sink: bool,
    /// Where it resumes from.
    pub progress: Progress,
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

/// A persistent query: its plan built once, its offsets, and the commit store.
#[derive(Debug)]
pub struct PersistentQuery {
    id: String,
    plan: Arc<dyn ExecutionPlan>,
    reset_each_epoch: bool,
    streaming: StreamingPlan,
    sink_topic: String,
    sink_offsets: SinkOffsets,
    store: QueryOffsetsStore,
    commit: QueryCommit,
    options: QueryOptions,
    /// Set when an epoch failed: its sink writes may be uncommitted, so running on would write
    /// them twice. Only a new `create` (which recovers the sink) runs the query again.
    failed: Option<String>,
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
        let recovery = Recovery {
            exclusive_sink: true,
            progress: Progress::Load,
        };
        Self::create_with(broker, spec, options, recovery).await
    }

    /// Like [`PersistentQuery::create`], for a sink other writers append to as well (INSERT
    /// INTO, or a CREATE ... AS SELECT sink that INSERT INTO queries also write): records past
    /// the last commit are left in place, since they may be other writers' (the epoch that
    /// wrote its own runs again: at-least-once for that epoch until stable offsets land).
    pub async fn create_shared(
        broker: Broker,
        spec: QuerySpec,
        options: QueryOptions,
    ) -> Result<PersistentQuery, QueryError> {
        let recovery = Recovery {
            exclusive_sink: false,
            progress: Progress::Load,
        };
        Self::create_with(broker, spec, options, recovery).await
    }

    /// Plans `spec` and positions it as `recovery` says.
    ///
    /// With a commit to resume from, only the sources the plan reads keep their offsets (a
    /// source the commit does not know starts at `options.start_from`), so CREATE OR REPLACE
    /// keeps progress exactly where the new plan reads the same sources.
    pub async fn create_with(
        broker: Broker,
        spec: QuerySpec,
        options: QueryOptions,
        recovery: Recovery,
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
        let store = QueryOffsetsStore::open(broker.clone()).map_err(broker_err)?;
        let streaming = plan_select(&broker, &id, &spec.sql, &spec.sources, &options).await?;
        let sink_offsets = SinkOffsets::default();
        let plan: Arc<dyn ExecutionPlan> = Arc::new(
            TopicSinkExec::new(
                streaming.select.clone(),
                broker.clone(),
                &spec.sink_topic,
                spec.encoder.clone(),
                sink_offsets.clone(),
            )
            .with_processing_log(options.processing_log.clone(), &streaming.sources_topic()),
        );
        let reset_each_epoch = needs_reset(&plan);
        tracing::debug!(query = %id, reset_each_epoch, plan = %datafusion::physical_plan::displayable(plan.as_ref()).indent(false), "planned");

        let previous = match recovery.progress {
            Progress::Fresh => None,
            Progress::Load => store.load(&id)?,
            Progress::Given(commit) => commit,
        };
        let commit = match previous {
            Some(mut commit) => {
                if recovery.exclusive_sink {
                    recover_sink(&broker, &id, &spec.sink_topic, &commit)
                        .await
                        .map_err(broker_err)?;
                }
                let start = streaming.start_offsets(options.start_from);
                commit.sources.retain(|topic, _| start.contains_key(topic));
                for (topic, offsets) in start {
                    commit.sources.entry(topic).or_insert(offsets);
                }
                clamp_to_sources(&id, &streaming.sources, &mut commit);
                tracing::info!(query = %id, epoch = commit.epoch, "resuming from the last commit");
                commit
            }
            None => {
                let mut commit = QueryCommit {
                    sources: streaming.start_offsets(options.start_from),
                    ..QueryCommit::default()
                };
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
            streaming,
            sink_topic: spec.sink_topic,
            sink_offsets,
            store,
            commit,
            options,
            failed: None,
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

    /// Whether the plan holds operators with state between executions, so that every epoch
    /// runs a reset copy of it (`reset_plan_states`) instead of the plan itself.
    pub fn resets_each_epoch(&self) -> bool {
        self.reset_each_epoch
    }

    /// The last commit: how far the query read and wrote.
    pub fn last_commit(&self) -> &QueryCommit {
        &self.commit
    }

    /// Every source partition, for waiting on their high-water marks.
    pub fn source_partitions(&self) -> impl Iterator<Item = &Arc<PartitionLog>> {
        self.streaming.source_partitions()
    }

    /// Runs one epoch over what the sources hold now (up to the cap per partition) and commits
    /// it; [`EpochOutcome::Idle`] when there is nothing new. On an error nothing is committed and
    /// the query must not run further epochs (its sink may hold uncommitted records that only a
    /// restart cuts back).
    pub async fn run_epoch(&mut self) -> Result<EpochOutcome, QueryError> {
        if let Some(message) = &self.failed {
            return Err(QueryError::Failed {
                query: self.id.clone(),
                message: message.clone(),
            });
        }
        let result = self.try_epoch().await;
        if let Err(e) = &result {
            self.failed = Some(e.to_string());
        }
        result
    }

    async fn try_epoch(&mut self) -> Result<EpochOutcome, QueryError> {
        let epoch = self.commit.epoch + 1;
        let mut next = self.commit.clone();
        next.epoch = epoch;
        let records_in = self.streaming.fix_slices(
            &self.id,
            &mut next.sources,
            self.options.max_records_per_partition,
        );
        if records_in == 0 {
            return Ok(EpochOutcome::Idle);
        }
        let span = tracing::debug_span!("epoch", query = %self.id, epoch, records_in);
        let result = self.execute(epoch).instrument(span).await;
        self.streaming.clear_slices();
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
        let plan = plan_for_epoch(&self.plan, self.reset_each_epoch).map_err(exec_err)?;
        let batches = collect(plan, self.streaming.task_ctx.clone())
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
