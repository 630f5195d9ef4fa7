//! Execution nodes that connect DataFusion plans to the broker.
//!
//! [`TopicScanExec`] reads one bounded slice of a topic per epoch (the slice lives in a shared
//! [`EpochSlice`] so the plan object never changes), [`TopicSinkExec`] writes a plan's rows to a
//! topic and remembers where it stopped, and [`TopicTableProvider`] lets the SQL planner see a
//! topic as a table. Turning records into Arrow rows and back is behind the [`RecordDecoder`] and
//! [`RecordEncoder`] traits so that the formats (JSON, DELIMITED, KAFKA, ...) stay in `format/`.

pub mod codec;
pub mod guard;
pub mod partitions;
pub mod processing_log;
pub mod provider;
pub mod scan;
pub mod sink;
pub mod slice;

pub use codec::{
    DecodeFailure, DecodedBatch, EncodeError, EncodedRecord, FormatDecoder, FormatEncoder,
    RecordDecoder, RecordEncoder,
};
pub use partitions::collect_partitions_in_order;
pub use processing_log::{
    CollectingProcessingLog, ProcessingErrorKind, ProcessingLog, ProcessingLogEntry,
    TracingProcessingLog,
};
pub use provider::TopicTableProvider;
pub use scan::TopicScanExec;
pub use sink::{SinkOffsets, TopicSinkExec};
pub use slice::EpochSlice;
