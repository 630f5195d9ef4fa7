//! [`TopicSinkExec`]: the root of a persistent query's plan; writes the result rows to a topic.
//!
//! It runs its input's partitions in parallel, one task each, and then takes their rows in
//! input-partition order (so the output is deterministic for a given epoch), encodes each batch through the [`RecordEncoder`], groups the records by sink
//! partition (the row's own partition if it names one, else murmur2 of the key through
//! [`Broker::partition_for_key`]), appends each partition's records fsync'd, and returns one row
//! with the number of records written. The end offsets it wrote are kept in [`SinkOffsets`] so the
//! epoch runner can commit them together with the source offsets.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use arrow::array::UInt64Array;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning,
    PlanProperties, ReplaceChildrenOptions, SendableRecordBatchStream,
};
use parking_lot::Mutex;
use sluice_broker::{Broker, Durability, Record, new_record};

use crate::exec::codec::{EncodeError, EncodedRecord, RecordEncoder};
use crate::exec::guard::RowOrigin;
use crate::exec::partitions::collect_partitions_in_order;
use crate::exec::processing_log::{ProcessingErrorKind, ProcessingLog, ProcessingLogEntry};

/// Bytes of framing counted per record when splitting appends below `max.message.bytes`.
const RECORD_OVERHEAD: usize = 64;

/// The end offset (next offset after the last record written) per sink partition, for what a
/// sink wrote since the last [`SinkOffsets::take`]. Shared between the sink and the epoch runner.
#[derive(Debug, Clone, Default)]
pub struct SinkOffsets {
    ends: Arc<Mutex<BTreeMap<i32, i64>>>,
}

impl SinkOffsets {
    /// Notes that `partition` now ends at `end`.
    pub fn record(&self, partition: i32, end: i64) {
        let mut ends = self.ends.lock();
        let e = ends.entry(partition).or_insert(end);
        *e = (*e).max(end);
    }

    /// The end offsets written since the last call, and forgets them.
    pub fn take(&self) -> BTreeMap<i32, i64> {
        std::mem::take(&mut *self.ends.lock())
    }
}

/// Writes its input's rows to a topic and returns the number written.
#[derive(Debug, Clone)]
pub struct TopicSinkExec {
    input: Arc<dyn ExecutionPlan>,
    broker: Broker,
    topic: String,
    encoder: Arc<dyn RecordEncoder>,
    offsets: SinkOffsets,
    /// Where rows that cannot be encoded are reported (and dropped); without one, such a row
    /// fails the epoch.
    processing_log: Option<(Arc<dyn ProcessingLog>, String)>,
    properties: Arc<PlanProperties>,
}

impl TopicSinkExec {
    /// A sink of `input` into `topic`, noting the end offsets it writes in `offsets`.
    pub fn new(
        input: Arc<dyn ExecutionPlan>,
        broker: Broker,
        topic: &str,
        encoder: Arc<dyn RecordEncoder>,
        offsets: SinkOffsets,
    ) -> TopicSinkExec {
        let schema = Self::count_schema();
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        TopicSinkExec {
            input,
            broker,
            topic: topic.to_string(),
            encoder,
            offsets,
            processing_log: None,
            properties: Arc::new(properties),
        }
    }

    /// Drops rows whose values the sink format cannot encode, reporting each to `log` as a
    /// record of source topic `source_topic` (as ksqlDB does with serialization errors).
    pub fn with_processing_log(
        mut self,
        log: Arc<dyn ProcessingLog>,
        source_topic: &str,
    ) -> TopicSinkExec {
        self.processing_log = Some((log, source_topic.to_string()));
        self
    }

    /// The output schema: one `count` column (UInt64).
    pub fn count_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new(
            "count",
            DataType::UInt64,
            false,
        )]))
    }

    /// The sink topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The plan whose rows are written.
    pub fn input(&self) -> &Arc<dyn ExecutionPlan> {
        &self.input
    }
}

impl DisplayAs for TopicSinkExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        match t {
            DisplayFormatType::Default | DisplayFormatType::Verbose => {
                write!(f, "TopicSinkExec: topic={}", self.topic)
            }
            DisplayFormatType::TreeRender => write!(f, "topic={}", self.topic),
        }
    }
}

impl ExecutionPlan for TopicSinkExec {
    fn name(&self) -> &str {
        "TopicSinkExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let (Some(input), true) = (children.pop(), children.is_empty()) else {
            return Err(DataFusionError::Internal(
                "TopicSinkExec takes exactly one child".into(),
            ));
        };
        let mut sink = (*self).clone();
        sink.input = input;
        Ok(Arc::new(sink))
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        if partition != 0 {
            return Err(DataFusionError::Internal(format!(
                "TopicSinkExec has one output partition, asked for {partition}"
            )));
        }
        let sink = self.clone();
        let stream = futures::stream::once(async move {
            let count = sink.write_all(context).await?;
            RecordBatch::try_new(
                Self::count_schema(),
                vec![Arc::new(UInt64Array::from(vec![count]))],
            )
            .map_err(DataFusionError::from)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Self::count_schema(),
            stream,
        )))
    }
}

impl TopicSinkExec {
    /// Encodes `batch`; a row whose value cannot be encoded is dropped and logged when the sink
    /// has a processing log (the rows around it are still written).
    fn encode(&self, batch: RecordBatch) -> Result<Vec<EncodedRecord>> {
        let fail = |e: EncodeError| DataFusionError::External(Box::new(e));
        let mut out = Vec::new();
        let mut rest = batch;
        while rest.num_rows() > 0 {
            match self.encoder.encode(&rest) {
                Ok(records) => {
                    out.extend(records);
                    break;
                }
                Err(EncodeError {
                    message,
                    row: Some(row),
                }) if row < rest.num_rows() && self.processing_log.is_some() => {
                    if row > 0 {
                        out.extend(self.encoder.encode(&rest.slice(0, row)).map_err(fail)?);
                    }
                    if let Some((log, topic)) = &self.processing_log {
                        let (partition, offset) =
                            RowOrigin::new(topic, rest.schema().as_ref()).locate(&rest, row);
                        log.report(ProcessingLogEntry {
                            kind: ProcessingErrorKind::Serialization,
                            topic: topic.clone(),
                            partition,
                            offset,
                            message: format!(
                                "Error serializing message to topic: {}. {message}",
                                self.topic
                            ),
                        });
                    }
                    rest = rest.slice(row + 1, rest.num_rows() - row - 1);
                }
                Err(e) => return Err(fail(e)),
            }
        }
        Ok(out)
    }

    /// Runs every input partition, encodes and appends; returns the number of records written.
    async fn write_all(&self, context: Arc<TaskContext>) -> Result<u64> {
        let meta = self.broker.topic(&self.topic).ok_or_else(|| {
            DataFusionError::Execution(format!("sink topic '{}' does not exist", self.topic))
        })?;
        let mut by_partition: BTreeMap<i32, Vec<Record>> = BTreeMap::new();
        for batches in collect_partitions_in_order(&self.input, context).await? {
            for batch in batches {
                if batch.num_rows() == 0 {
                    continue;
                }
                for rec in self.encode(batch)? {
                    let p = match rec.partition {
                        Some(p) if (0..meta.partitions).contains(&p) => p,
                        Some(p) => {
                            return Err(DataFusionError::Execution(format!(
                                "a result row asks for partition {p} of sink topic '{}', which has {} partitions",
                                self.topic, meta.partitions
                            )));
                        }
                        None => self
                            .broker
                            .partition_for_key(&self.topic, rec.key.as_deref())
                            .map_err(|e| DataFusionError::External(Box::new(e)))?,
                    };
                    by_partition.entry(p).or_default().push(new_record(
                        rec.key.as_deref(),
                        rec.value.as_deref(),
                        rec.timestamp_ms,
                    ));
                }
            }
        }
        let max_batch = (meta.config.max_message_bytes * 3 / 4).max(1);
        let appends = by_partition
            .into_iter()
            .map(|(p, records)| self.append_partition(p, records, max_batch));
        let counts = futures::future::try_join_all(appends).await?;
        Ok(counts.into_iter().sum())
    }

    /// Appends `records` to one partition in batches below `max_batch` bytes, fsync'd.
    async fn append_partition(
        &self,
        partition: i32,
        records: Vec<Record>,
        max_batch: usize,
    ) -> Result<u64> {
        let log = self
            .broker
            .partition(&self.topic, partition)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let mut written = 0u64;
        for chunk in chunks_by_size(&records, max_batch) {
            let result = log
                .append_records(chunk, Durability::Fsynced)
                .await
                .map_err(|e| DataFusionError::External(Box::new(e)))?;
            self.offsets.record(partition, result.last_offset + 1);
            written += chunk.len() as u64;
        }
        Ok(written)
    }
}

/// Splits records into runs whose estimated encoded size stays below `max_bytes` (a single larger
/// record still gets a run of its own, and the broker judges it).
fn chunks_by_size(records: &[Record], max_bytes: usize) -> Vec<&[Record]> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut size = 0;
    for (i, r) in records.iter().enumerate() {
        let len = RECORD_OVERHEAD
            + r.key.as_ref().map_or(0, |k| k.len())
            + r.value.as_ref().map_or(0, |v| v.len());
        if i > start && size + len > max_bytes {
            chunks.push(&records[start..i]);
            start = i;
            size = 0;
        }
        size += len;
    }
    if start < records.len() {
        chunks.push(&records[start..]);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_stay_below_the_limit_and_keep_every_record() {
        let records: Vec<Record> = (0..10)
            .map(|i| new_record(None, Some(&[0u8; 36]), i))
            .collect();
        // 100 bytes per record with the overhead: two per chunk under 250.
        let chunks = chunks_by_size(&records, 250);
        assert_eq!(
            chunks.iter().map(|c| c.len()).collect::<Vec<_>>(),
            vec![2; 5]
        );
        // A record larger than the limit still goes out, alone.
        let chunks = chunks_by_size(&records[..2], 10);
        assert_eq!(chunks.len(), 2);
        assert!(chunks_by_size(&[], 10).is_empty());
    }

    #[test]
    fn sink_offsets_keep_the_largest_end_until_taken() {
        let o = SinkOffsets::default();
        o.record(1, 5);
        o.record(1, 3);
        o.record(0, 7);
        assert_eq!(o.take(), BTreeMap::from([(0, 7), (1, 5)]));
        assert!(o.take().is_empty());
    }
}
