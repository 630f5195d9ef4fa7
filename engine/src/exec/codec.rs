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

use crate::format::{self, RecordFormat, SourceRecord};
use crate::types::LogicalSchema;

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
#[error("could not encode a result row for the sink: {message}")]
pub struct EncodeError {
    /// What was wrong.
    pub message: String,
    /// The row that could not be encoded, when the failure is that row's value (the sink drops
    /// it and logs it); None when no row can be encoded (e.g. a column is missing).
    pub row: Option<usize>,
}

/// Turns result rows into the sink topic's records.
pub trait RecordEncoder: Debug + Send + Sync {
    /// Encodes every row of `batch`, in row order.
    fn encode(&self, batch: &RecordBatch) -> Result<Vec<EncodedRecord>, EncodeError>;
}

/// A [`RecordDecoder`] for a source declared with a [`LogicalSchema`] and key/value formats: the
/// format layer's [`crate::format::decode_records`] behind the scan's trait.
#[derive(Debug, Clone)]
pub struct FormatDecoder {
    schema: LogicalSchema,
    format: RecordFormat,
    arrow_schema: SchemaRef,
}

impl FormatDecoder {
    /// A decoder producing `schema.arrow_schema()` rows from records in `format`.
    pub fn new(schema: LogicalSchema, format: RecordFormat) -> FormatDecoder {
        let arrow_schema = schema.arrow_schema();
        FormatDecoder {
            schema,
            format,
            arrow_schema,
        }
    }
}

impl RecordDecoder for FormatDecoder {
    fn schema(&self) -> SchemaRef {
        self.arrow_schema.clone()
    }

    fn decode(&self, partition: i32, records: &[Record]) -> DecodedBatch {
        let source: Vec<SourceRecord> = records
            .iter()
            .map(|r| SourceRecord {
                partition,
                offset: r.offset,
                timestamp: r.timestamp,
                key: r.key.clone(),
                value: r.value.clone(),
                headers: r
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            })
            .collect();
        match format::decode_records(&self.schema, &self.format, &source) {
            Ok(decoded) => DecodedBatch {
                batch: decoded.batch,
                failures: decoded
                    .errors
                    .into_iter()
                    .map(|e| DecodeFailure {
                        offset: e.offset,
                        message: e.message,
                    })
                    .collect(),
            },
            // Not a bad record but a failure to build the batch: every record is reported so
            // that none is lost silently.
            Err(e) => DecodedBatch {
                batch: RecordBatch::new_empty(self.arrow_schema.clone()),
                failures: records
                    .iter()
                    .map(|r| DecodeFailure {
                        offset: r.offset,
                        message: e.to_string(),
                    })
                    .collect(),
            },
        }
    }
}

/// A [`RecordEncoder`] for a sink declared with a [`LogicalSchema`] and key/value formats: the
/// format layer's [`crate::format::encode_batch`] behind the sink's trait. The record timestamp
/// is the row's ROWTIME when the result rows carry that column, else the time of writing.
#[derive(Debug, Clone)]
pub struct FormatEncoder {
    schema: LogicalSchema,
    format: RecordFormat,
}

impl FormatEncoder {
    /// An encoder writing the key and value columns of `schema` in `format`.
    pub fn new(schema: LogicalSchema, format: RecordFormat) -> FormatEncoder {
        FormatEncoder { schema, format }
    }
}

impl RecordEncoder for FormatEncoder {
    fn encode(&self, batch: &RecordBatch) -> Result<Vec<EncodedRecord>, EncodeError> {
        let now = sluice_broker::log::now_ms();
        let encoded =
            format::encode_batch(&self.schema, &self.format, batch).map_err(|e| match e {
                format::FormatError::Encode { row, message } => EncodeError {
                    message,
                    row: Some(row),
                },
                other => EncodeError {
                    message: other.to_string(),
                    row: None,
                },
            })?;
        Ok(encoded
            .into_iter()
            .map(|r| EncodedRecord {
                key: r.key,
                value: r.value,
                timestamp_ms: r.timestamp.unwrap_or(now),
                partition: None,
            })
            .collect())
    }
}
