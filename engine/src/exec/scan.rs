//! [`TopicScanExec`]: a DataFusion leaf that reads one epoch's slice of a topic from the broker.
//!
//! There is one DataFusion output partition per topic partition, so a plan over a topic runs its
//! partitions in parallel with no repartitioning. Each execution reads the offsets the epoch runner
//! put in the shared [`EpochSlice`], in byte-limited reads of whole Kafka batches; every read is
//! decoded at once into one Arrow batch. Records that do not decode go to the processing log and
//! the scan carries on. The plan declares itself bounded: each execution is one finite slice.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    ReplaceChildrenOptions, SendableRecordBatchStream,
};
use sluice_broker::{Broker, BrokerError, PartitionLog, decode_records};

use crate::exec::codec::RecordDecoder;
use crate::exec::processing_log::{ProcessingErrorKind, ProcessingLog, ProcessingLogEntry};
use crate::exec::slice::EpochSlice;

/// Bytes asked of the broker per read unless configured otherwise (a read returns at least one
/// whole batch even when it is larger).
pub const DEFAULT_READ_BYTES: usize = 1024 * 1024;

/// Reads the current epoch's slice of a topic, one output partition per topic partition.
#[derive(Debug, Clone)]
pub struct TopicScanExec {
    broker: Broker,
    topic: String,
    partitions: Vec<i32>,
    decoder: Arc<dyn RecordDecoder>,
    slice: EpochSlice,
    projection: Option<Vec<usize>>,
    processing_log: Arc<dyn ProcessingLog>,
    read_bytes: usize,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl TopicScanExec {
    /// A scan of `partitions` of `topic`, decoding with `decoder` and projecting the decoder's
    /// columns to `projection` (None: all columns).
    pub fn try_new(
        broker: Broker,
        topic: &str,
        partitions: Vec<i32>,
        decoder: Arc<dyn RecordDecoder>,
        slice: EpochSlice,
        projection: Option<Vec<usize>>,
        processing_log: Arc<dyn ProcessingLog>,
    ) -> Result<TopicScanExec> {
        let full = decoder.schema();
        let schema = match &projection {
            Some(p) => Arc::new(full.project(p)?),
            None => full,
        };
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(partitions.len().max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Ok(TopicScanExec {
            broker,
            topic: topic.to_string(),
            partitions,
            decoder,
            slice,
            projection,
            processing_log,
            read_bytes: DEFAULT_READ_BYTES,
            schema,
            properties: Arc::new(properties),
        })
    }

    /// The same scan asking the broker for about `bytes` per read.
    pub fn with_read_bytes(mut self, bytes: usize) -> TopicScanExec {
        self.read_bytes = bytes.max(1);
        self
    }

    /// The topic this scan reads.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The topic partitions, in output-partition order.
    pub fn partitions(&self) -> &[i32] {
        &self.partitions
    }
}

impl DisplayAs for TopicScanExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        match t {
            DisplayFormatType::Default | DisplayFormatType::Verbose => {
                write!(
                    f,
                    "TopicScanExec: topic={}, partitions={:?}",
                    self.topic, self.partitions
                )?;
                if let Some(p) = &self.projection {
                    let names: Vec<&str> = self
                        .schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect();
                    write!(
                        f,
                        ", projection={names:?} ({} of {} columns)",
                        p.len(),
                        self.decoder.schema().fields().len()
                    )?;
                }
                Ok(())
            }
            DisplayFormatType::TreeRender => {
                writeln!(f, "topic={}", self.topic)?;
                write!(f, "partitions={}", self.partitions.len())
            }
        }
    }
}

impl ExecutionPlan for TopicScanExec {
    fn name(&self) -> &str {
        "TopicScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if !children.is_empty() {
            return Err(DataFusionError::Internal(
                "TopicScanExec is a leaf and takes no children".into(),
            ));
        }
        Ok(self)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(
                datafusion::physical_plan::ChildrenPropertiesMode::Recompute,
            ),
        )
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let schema = self.schema.clone();
        let Some(&topic_partition) = self.partitions.get(partition) else {
            // A topic with no partitions still has one (empty) output partition.
            return Ok(Box::pin(RecordBatchStreamAdapter::new(
                schema,
                futures::stream::empty(),
            )));
        };
        let log = self
            .broker
            .partition(&self.topic, topic_partition)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let reader = PartitionReader {
            log,
            range: self.slice.get(topic_partition),
            decoder: self.decoder.clone(),
            projection: self.projection.clone(),
            processing_log: self.processing_log.clone(),
            read_bytes: self.read_bytes,
            span: tracing::debug_span!("scan", topic = %self.topic, partition = topic_partition),
        };
        let stream = futures::stream::unfold(Some(reader), |state| async move {
            let mut reader = state?;
            match reader.next_batch() {
                Ok(Some(batch)) => Some((Ok(batch), Some(reader))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

/// The state of one partition's read during one execution.
struct PartitionReader {
    log: Arc<PartitionLog>,
    /// What is left to read; `start` moves forward as reads return.
    range: Range<i64>,
    decoder: Arc<dyn RecordDecoder>,
    projection: Option<Vec<usize>>,
    processing_log: Arc<dyn ProcessingLog>,
    read_bytes: usize,
    /// `scan{topic, partition}`: log lines of this read say whose they are.
    span: tracing::Span,
}

impl PartitionReader {
    /// Reads and decodes until a read yields at least one row; None at the end of the range.
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        let span = self.span.clone();
        let _entered = span.enter();
        while self.range.start < self.range.end {
            let read = match self.log.read(self.range.start, self.read_bytes) {
                Ok(read) => read,
                // Retention deleted the start of the slice after the epoch fixed it: what is
                // gone cannot be read, the rest of the slice can.
                Err(BrokerError::OffsetOutOfRange {
                    log_start_offset, ..
                }) if log_start_offset > self.range.start => {
                    tracing::warn!(topic = %self.log.topic(), partition = self.log.partition(),
                        skipped = log_start_offset - self.range.start,
                        "retention deleted records of the epoch before they were read");
                    self.range.start = log_start_offset;
                    continue;
                }
                Err(e) => return Err(DataFusionError::External(Box::new(e))),
            };
            if read.records.is_empty() {
                return Ok(None);
            }
            let mut records = decode_records(&read.records)
                .map_err(|e| DataFusionError::External(Box::new(e)))?;
            let Some(last) = records.iter().map(|r| r.offset).max() else {
                return Ok(None);
            };
            let range = self.range.clone();
            records.retain(|r| range.contains(&r.offset));
            // Compacted topics have gaps, so move past what was read, not by the record count.
            self.range.start = last + 1;
            if records.is_empty() {
                continue;
            }
            let decoded = self.decoder.decode(self.log.partition(), &records);
            tracing::trace!(
                records = records.len(),
                rows = decoded.batch.num_rows(),
                failures = decoded.failures.len(),
                "decoded a read"
            );
            for failure in decoded.failures {
                self.processing_log.report(ProcessingLogEntry {
                    kind: ProcessingErrorKind::Deserialization,
                    topic: self.log.topic().to_string(),
                    partition: self.log.partition(),
                    offset: failure.offset,
                    message: failure.message,
                });
            }
            if decoded.batch.num_rows() == 0 {
                continue;
            }
            let batch = match &self.projection {
                Some(p) => decoded.batch.project(p)?,
                None => decoded.batch,
            };
            return Ok(Some(batch));
        }
        Ok(None)
    }
}
