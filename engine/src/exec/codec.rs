//! The seam between the execution nodes and the record formats.
//!
//! A scan hands a whole read of records to a [`RecordDecoder`] and gets back one Arrow batch plus
//! the records that did not decode; a sink hands each result batch to a [`RecordEncoder`] and gets
//! back Kafka records. Decoding a whole read at once is what makes the scan fast (one Arrow batch
//! per read, not per record), and reporting failures per record is what lets a bad record go to
//! the processing log while the rest of the read still flows.

use std::fmt::Debug;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use sluice_broker::Record;

/// A record that could not be decoded, with enough context for the processing log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeFailure {
    /// The record's offset in its partition.
    pub offset: i64,
    /// What was wrong with it, in the user's terms (e.g. "value is not valid JSON: ...").
    pub message: String,
}

/// The result of decoding one read: the rows that decoded and the records that did not.
#[derive(Debug, Clone)]
pub struct DecodedBatch {
    /// One row per record that decoded, in offset order, with the decoder's schema.
    pub batch: RecordBatch,
    /// One entry per record that did not decode.
    pub failures: Vec<DecodeFailure>,
}

/// Turns a topic's records into Arrow rows of a fixed schema (the source's columns, including the
/// pseudo columns ROWTIME, ROWPARTITION and ROWOFFSET when the format provides them).
pub trait RecordDecoder: Debug + Send + Sync {
    /// The schema of every batch [`RecordDecoder::decode`] returns.
    fn schema(&self) -> SchemaRef;

    /// Decodes records read from `partition`. Never fails as a whole: a record that does not
    /// decode is reported in [`DecodedBatch::failures`] and left out of the batch.
    fn decode(&self, partition: i32, records: &[Record]) -> DecodedBatch;
}

/// One record a sink writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedRecord {
    /// The record key (None: no key).
    pub key: Option<Bytes>,
    /// The record value (None: a tombstone).
    pub value: Option<Bytes>,
    /// The record timestamp in ms (ksqlDB writes the row's ROWTIME).
    pub timestamp_ms: i64,
    /// A partition the row asks for; None lets the sink pick by key (murmur2).
    pub partition: Option<i32>,
}

/// Why a batch of result rows could not be encoded.
#[derive(Debug, thiserror::Error)]
#[error("could not encode a result row for the sink: {0}")]
pub struct EncodeError(pub String);

/// Turns result rows into the sink topic's records.
pub trait RecordEncoder: Debug + Send + Sync {
    /// Encodes every row of `batch`, in row order.
    fn encode(&self, batch: &RecordBatch) -> Result<Vec<EncodedRecord>, EncodeError>;
}
