//! [`TopicTableProvider`]: a topic seen as a table by DataFusion's SQL planner.
//!
//! Its `scan` returns a [`TopicScanExec`] over every partition of the topic with the projection
//! pushed down, sharing the provider's [`EpochSlice`] so the epoch runner controls what each
//! execution of the plan reads.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use sluice_broker::Broker;

use crate::exec::codec::RecordDecoder;
use crate::exec::processing_log::ProcessingLog;
use crate::exec::scan::{DEFAULT_READ_BYTES, TopicScanExec};
use crate::exec::slice::EpochSlice;

/// A topic as a DataFusion table; scans read the current epoch's slice.
#[derive(Debug, Clone)]
pub struct TopicTableProvider {
    broker: Broker,
    topic: String,
    decoder: Arc<dyn RecordDecoder>,
    slice: EpochSlice,
    processing_log: Arc<dyn ProcessingLog>,
    read_bytes: usize,
}

impl TopicTableProvider {
    /// A table over `topic` whose rows `decoder` produces.
    pub fn new(
        broker: Broker,
        topic: &str,
        decoder: Arc<dyn RecordDecoder>,
        processing_log: Arc<dyn ProcessingLog>,
    ) -> TopicTableProvider {
        TopicTableProvider {
            broker,
            topic: topic.to_string(),
            decoder,
            slice: EpochSlice::new(),
            processing_log,
            read_bytes: DEFAULT_READ_BYTES,
        }
    }

    /// The same provider asking the broker for about `bytes` per read.
    pub fn with_read_bytes(mut self, bytes: usize) -> TopicTableProvider {
        self.read_bytes = bytes.max(1);
        self
    }

    /// The topic read.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The slice every scan planned from this provider reads.
    pub fn slice(&self) -> &EpochSlice {
        &self.slice
    }
}

#[async_trait]
impl TableProvider for TopicTableProvider {
    fn schema(&self) -> SchemaRef {
        self.decoder.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let meta = self.broker.topic(&self.topic).ok_or_else(|| {
            DataFusionError::Plan(format!("topic '{}' does not exist", self.topic))
        })?;
        let scan = TopicScanExec::try_new(
            self.broker.clone(),
            &self.topic,
            (0..meta.partitions).collect(),
            self.decoder.clone(),
            self.slice.clone(),
            projection.cloned(),
            self.processing_log.clone(),
        )?
        .with_read_bytes(self.read_bytes);
        Ok(Arc::new(scan))
    }
}
