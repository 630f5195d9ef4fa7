//! What persistent and push queries share: planning a SELECT over topics once, and fixing each
//! epoch's slice of every source partition.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::execution::TaskContext;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::execution_plan::reset_plan_states;
use sluice_broker::{Broker, PartitionLog};

use crate::exec::guard::guard_plan;
use crate::exec::{EpochSlice, TopicTableProvider};
use crate::query::error::QueryError;
use crate::query::runner::{QueryOptions, QuerySource, StartFrom};
use crate::query::session::streaming_session;

/// Per source topic, per partition, an offset (the next to read).
pub(crate) type SourceOffsets = BTreeMap<String, BTreeMap<i32, i64>>;

/// One source topic as a running query sees it.
#[derive(Debug)]
pub(crate) struct SourceState {
    pub(crate) topic: String,
    pub(crate) slice: EpochSlice,
    pub(crate) partitions: Vec<Arc<PartitionLog>>,
}

/// A SELECT planned over topic sources, ready to run epoch after epoch.
#[derive(Debug)]
pub(crate) struct StreamingPlan {
    /// The SELECT's physical plan (without a sink).
    pub(crate) select: Arc<dyn ExecutionPlan>,
    pub(crate) sources: Vec<SourceState>,
    pub(crate) task_ctx: Arc<TaskContext>,
}

/// Plans `sql` in a [`streaming_session`] with one [`TopicTableProvider`] per source.
pub(crate) async fn plan_select(
    broker: &Broker,
    id: &str,
    sql: &str,
    sources: &[QuerySource],
    options: &QueryOptions,
) -> Result<StreamingPlan, QueryError> {
    let plan_err = |source| QueryError::Plan {
        query: id.to_string(),
        source,
    };
    let mut max_partitions = 1;
    let mut metas = Vec::new();
    for s in sources {
        let meta = broker
            .topic(&s.topic)
            .ok_or_else(|| QueryError::UnknownTopic {
                query: id.to_string(),
                topic: s.topic.clone(),
            })?;
        max_partitions = max_partitions.max(meta.partitions as usize);
        metas.push(meta);
    }
    let ctx = streaming_session(max_partitions);
    let mut states = Vec::new();
    for (s, meta) in sources.iter().zip(metas) {
        let provider = TopicTableProvider::new(
            broker.clone(),
            &s.topic,
            s.decoder.clone(),
            options.processing_log.clone(),
        )
        .with_read_bytes(options.read_bytes);
        let partitions = (0..meta.partitions)
            .map(|p| broker.partition(&s.topic, p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| QueryError::Broker {
                query: id.to_string(),
                source,
            })?;
        states.push(SourceState {
            topic: s.topic.clone(),
            slice: provider.slice().clone(),
            partitions,
        });
        ctx.register_table(s.name.as_str(), Arc::new(provider))
            .map_err(plan_err)?;
    }
    let select = ctx
        .sql(sql)
        .await
        .map_err(plan_err)?
        .create_physical_plan()
        .await
        .map_err(plan_err)?;
    // A value an expression cannot compute is NULL plus a processing-log entry, never a failed
    // epoch (exec/guard.rs).
    let topic = sources_topic(sources.iter().map(|s| s.topic.as_str()));
    let select = guard_plan(select, &topic, options.processing_log.clone()).map_err(plan_err)?;
    Ok(StreamingPlan {
        select,
        sources: states,
        task_ctx: ctx.task_ctx(),
    })
}

/// The source topic named in processing-log entries (several joined by commas).
fn sources_topic<'a>(topics: impl Iterator<Item = &'a str>) -> String {
    topics.collect::<Vec<_>>().join(",")
}

impl StreamingPlan {
    /// The source topic named in processing-log entries.
    pub(crate) fn sources_topic(&self) -> String {
        sources_topic(self.sources.iter().map(|s| s.topic.as_str()))
    }

    /// Where a query without a commit starts, per source partition.
    pub(crate) fn start_offsets(&self, start_from: StartFrom) -> SourceOffsets {
        let mut offsets = SourceOffsets::new();
        for s in &self.sources {
            let topic = offsets.entry(s.topic.clone()).or_default();
            for log in &s.partitions {
                let start = match start_from {
                    StartFrom::Earliest => log.log_start_offset(),
                    StartFrom::Latest => log.high_watermark(),
                };
                topic.insert(log.partition(), start);
            }
        }
        offsets
    }

    /// Fixes the next epoch's slice of every source partition, `[next, min(hw, next + cap))`,
    /// and moves `offsets` to the end of it; returns the number of offsets the slice covers.
    pub(crate) fn fix_slices(&self, query: &str, offsets: &mut SourceOffsets, cap: i64) -> u64 {
        let mut records_in = 0u64;
        for s in &self.sources {
            let offsets = offsets.entry(s.topic.clone()).or_default();
            for log in &s.partitions {
                let p = log.partition();
                let log_start = log.log_start_offset();
                let hw = log.high_watermark();
                let committed = offsets.get(&p).copied().unwrap_or(log_start);
                if committed < log_start {
                    tracing::warn!(query = %query, topic = %s.topic, partition = p,
                        skipped = log_start - committed,
                        "retention deleted records the query had not read yet; skipping them");
                }
                if committed > hw {
                    // Only a truncation of the source while the query runs gets here (at start-up
                    // `clamp_to_sources` handles a broker that lost records): what was appended
                    // after the cut and before this epoch cannot be told apart, so read on from
                    // the end.
                    tracing::warn!(query = %query, topic = %s.topic, partition = p,
                        committed, high_watermark = hw,
                        "the source partition is shorter than the query's committed offset; \
                         reading on from its end");
                }
                let start = committed.clamp(log_start, hw.max(log_start));
                let end = hw.min(start.saturating_add(cap.max(1))).max(start);
                s.slice.set(p, start..end);
                records_in += (end - start) as u64;
                offsets.insert(p, end);
            }
        }
        records_in
    }

    /// Empties every slice (between epochs nothing should be read).
    pub(crate) fn clear_slices(&self) {
        for s in &self.sources {
            s.slice.clear();
        }
    }

    /// Every source partition.
    pub(crate) fn source_partitions(&self) -> impl Iterator<Item = &Arc<PartitionLog>> {
        self.sources.iter().flat_map(|s| s.partitions.iter())
    }
}

/// The plan to execute this epoch: `plan` itself, or a reset copy when it holds operators with
/// state between executions.
pub(crate) fn plan_for_epoch(
    plan: &Arc<dyn ExecutionPlan>,
    reset: bool,
) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
    if reset {
        reset_plan_states(plan.clone())
    } else {
        Ok(plan.clone())
    }
}

/// Whether the plan holds an operator that keeps state between executions and must be reset
/// (e.g. `RepartitionExec`, join build sides): every node other than the ones known to be
/// stateless per execution.
pub(crate) fn needs_reset(plan: &Arc<dyn ExecutionPlan>) -> bool {
    const STATELESS: &[&str] = &[
        "TopicScanExec",
        "TopicSinkExec",
        "FilterExec",
        "ProjectionExec",
        "CoalesceBatchesExec",
        "CooperativeExec",
        "CoalescePartitionsExec",
        "EmptyExec",
        "PlaceholderRowExec",
    ];
    !STATELESS.contains(&plan.name()) || plan.children().into_iter().any(needs_reset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::{
        FormatDecoder, FormatEncoder, SinkOffsets, TopicScanExec, TopicSinkExec,
        TracingProcessingLog,
    };
    use crate::format::{FormatKind, RecordFormat};
    use crate::types::{Column, LogicalSchema, SqlType};
    use datafusion::physical_plan::Partitioning;
    use datafusion::physical_plan::collect;
    use datafusion::physical_plan::repartition::RepartitionExec;
    use sluice_broker::{BrokerConfig, Durability, new_record};

    /// A plan with a one-shot operator (`RepartitionExec`) is detected, and running reset copies
    /// of it epoch after epoch works and reads each epoch's slice.
    #[tokio::test]
    async fn plans_with_one_shot_operators_run_reset_copies() {
        let dir = tempfile::tempdir().unwrap();
        let broker = Broker::open(BrokerConfig::new(dir.path())).await.unwrap();
        broker.create_topic("in", 1, &Default::default()).unwrap();
        broker.create_topic("out", 1, &Default::default()).unwrap();
        let schema = LogicalSchema::from_columns([Column::value("V", SqlType::Int)]);
        let format = RecordFormat::new(FormatKind::None, FormatKind::Json);
        let slice = EpochSlice::new();
        let scan = TopicScanExec::try_new(
            broker.clone(),
            "in",
            vec![0],
            Arc::new(FormatDecoder::new(schema.clone(), format.clone())),
            slice.clone(),
            None,
            Arc::new(TracingProcessingLog::default()),
        )
        .unwrap();
        let repartition =
            RepartitionExec::try_new(Arc::new(scan), Partitioning::RoundRobinBatch(2)).unwrap();
        let plan: Arc<dyn ExecutionPlan> = Arc::new(TopicSinkExec::new(
            Arc::new(repartition),
            broker.clone(),
            "out",
            Arc::new(FormatEncoder::new(schema, format)),
            SinkOffsets::default(),
        ));
        assert!(needs_reset(&plan));
        let log = broker.partition("in", 0).unwrap();
        let ctx = Arc::new(TaskContext::default());
        for epoch in 0..3i64 {
            let records: Vec<_> = (0..=epoch)
                .map(|i| new_record(None, Some(format!(r#"{{"V":{i}}}"#).as_bytes()), i))
                .collect();
            let first = log.high_watermark();
            log.append_records(&records, Durability::Written)
                .await
                .unwrap();
            slice.set(0, first..log.high_watermark());
            let batches = collect(reset_plan_states(plan.clone()).unwrap(), ctx.clone())
                .await
                .unwrap();
            let counts = batches[0]
                .column(0)
                .as_any()
                .downcast_ref::<arrow::array::UInt64Array>()
                .unwrap();
            assert_eq!(counts.value(0), epoch as u64 + 1);
        }
        assert_eq!(broker.partition("out", 0).unwrap().high_watermark(), 6);
        broker.shutdown().await;
    }
}
