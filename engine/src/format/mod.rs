//! Serialization formats: Kafka records to Arrow batches and back.
//!
//! A scan hands [`decode_records`] every record it read from a partition in one go and gets one
//! Arrow [`RecordBatch`] laid out as [`LogicalSchema::arrow_schema`] says (ROWTIME,
//! ROWPARTITION, ROWOFFSET, key columns, value columns, header columns, `__TOMBSTONE`), plus
//! a [`RecordError`] for every record that did not decode. A bad record never fails the
//! batch: it is left out and reported, so the engine can write it to the processing log, as
//! ksqlDB does.
//!
//! The key side and the value side are decoded separately, each into whole columns; the
//! records that failed on either side are dropped at the end with one Arrow `filter`. KAFKA
//! primitives are decoded straight into Arrow buffers; JSON and DELIMITED parse each record
//! (every record is its own document) and build the columns from the parsed rows at once.
//!
//! A sink calls [`encode_batch`] to turn rows back into key and value bytes exactly as ksqlDB
//! writes them (JSON field order = column order, DECIMAL as a plain number with its full scale,
//! DOUBLE as Java prints it), because the ksqlDB conformance tests compare bytes.

pub mod datum;
mod delimited;
mod encode;
mod json;
mod kafka;
mod options;
mod properties;
mod text;
mod validate;
mod window;

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Int32Array, Int64Array, RecordBatch, TimestampMillisecondArray,
};
use arrow::compute::filter_record_batch;
use arrow::error::ArrowError;
use bytes::Bytes;

use crate::types::{Column, ColumnKind, LogicalSchema};
use datum::{Datum, build_array};

pub use encode::encode_batch;
pub use json::compact as compact_json;
pub use options::{FormatKind, FormatOptions, RecordFormat, parse_delimiter};
pub use properties::FormatDefaults;
pub use validate::{validate_key_format, validate_value_format};

/// One Kafka record as read from a partition: the input of [`decode_records`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    /// Partition the record was read from.
    pub partition: i32,
    /// Offset of the record in its partition.
    pub offset: i64,
    /// Record timestamp, epoch milliseconds.
    pub timestamp: i64,
    /// Key bytes; `None` for a null key.
    pub key: Option<Bytes>,
    /// Value bytes; `None` for a null value (a tombstone).
    pub value: Option<Bytes>,
    /// Headers in record order; a header value may be null.
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// A record that could not be decoded: it was left out of the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// Partition of the record.
    pub partition: i32,
    /// Offset of the record.
    pub offset: i64,
    /// What was wrong, in ksqlDB's words where it has them (for the processing log).
    pub message: String,
}

/// The result of decoding a batch of records.
#[derive(Debug, Clone)]
pub struct DecodedBatch {
    /// The records that decoded, in input order.
    pub batch: RecordBatch,
    /// The records that did not, in input order.
    pub errors: Vec<RecordError>,
}

/// One output record of [`encode_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedRecord {
    /// Key bytes, `None` for a null key.
    pub key: Option<Bytes>,
    /// Value bytes, `None` for a null value (tombstone).
    pub value: Option<Bytes>,
    /// The row's ROWTIME when the batch has that column (epoch millis).
    pub timestamp: Option<i64>,
}

/// Errors of the format layer that concern a whole statement or batch (single bad records
/// are [`RecordError`]s instead).
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// `FORMAT='FOO'`.
    #[error("Unknown format: {0}")]
    UnknownFormat(String),
    /// A delimiter that is not one character, `TAB` or `SPACE`.
    #[error("Configuration {property} is invalid: {reason}\nExample valid value: ';'")]
    InvalidDelimiter {
        /// `KEY_DELIMITER` or `VALUE_DELIMITER`.
        property: String,
        /// ksqlDB's explanation.
        reason: String,
    },
    /// The columns cannot be serialized in the chosen format (the message is ksqlDB's).
    #[error("{0}")]
    Unsupported(String),
    /// The batch given to [`encode_batch`] lacks a column the schema needs.
    #[error("the rows to write have no column {0}")]
    MissingColumn(String),
    /// A row could not be serialized.
    #[error("cannot serialize row {row}: {message}")]
    Encode {
        /// Row index in the batch.
        row: usize,
        /// What went wrong.
        message: String,
    },
    /// Building the Arrow batch failed (a bug, not bad input: bad input is a [`RecordError`]).
    #[error("building the decoded batch failed: {0}")]
    Arrow(#[from] ArrowError),
}

/// The columns one side (key or value) decoded, one entry per input record, and which records
/// failed on that side (index, message). Failed rows hold nulls.
struct SideColumns {
    arrays: Vec<ArrayRef>,
    failures: Vec<(usize, String)>,
}

/// Decodes one side from per-record datum rows (the path of the text formats).
fn side_from_rows(
    columns: &[&Column],
    rows: Vec<Result<Vec<Datum>, String>>,
) -> Result<SideColumns, ArrowError> {
    let mut failures = Vec::new();
    let nulls: Vec<Datum> = vec![Datum::Null; columns.len()];
    let rows: Vec<Vec<Datum>> = rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            row.unwrap_or_else(|message| {
                failures.push((i, message));
                nulls.clone()
            })
        })
        .collect();
    let arrays = columns
        .iter()
        .enumerate()
        .map(|(c, column)| {
            let values: Vec<&Datum> = rows.iter().map(|row| &row[c]).collect();
            build_array(&column.sql_type, &values)
        })
        .collect::<Result<_, _>>()?;
    Ok(SideColumns { arrays, failures })
}

fn decode_side(
    options: &FormatOptions,
    columns: &[&Column],
    is_key: bool,
    payloads: &[Option<&[u8]>],
) -> Result<SideColumns, ArrowError> {
    // Nothing to read: the bytes are ignored, whatever they hold (ksqlDB ignores the key of a
    // stream without key columns).
    if columns.is_empty() {
        return Ok(SideColumns {
            arrays: Vec::new(),
            failures: Vec::new(),
        });
    }
    match options.kind {
        FormatKind::Kafka => kafka::decode(columns, payloads),
        FormatKind::None => side_from_rows(
            columns,
            payloads
                .iter()
                .map(|_| Ok(vec![Datum::Null; columns.len()]))
                .collect(),
        ),
        FormatKind::Json => {
            let unwrapped = single_unwrapped(options, columns, is_key);
            side_from_rows(columns, json::decode(columns, unwrapped, payloads))
        }
        FormatKind::Delimited => side_from_rows(
            columns,
            delimited::decode(columns, options.delimiter, payloads),
        ),
    }
}

/// Whether a side with these columns is written as a bare value rather than an object: keys
/// with one column always are, values when `WRAP_SINGLE_VALUE=false`.
fn single_unwrapped(options: &FormatOptions, columns: &[&Column], is_key: bool) -> bool {
    columns.len() == 1 && (is_key || options.wrap_single_value == Some(false))
}

/// Decodes `records` into one batch with the layout of `schema.arrow_schema()`, skipping and
/// reporting every record whose key or value does not decode.
pub fn decode_records(
    schema: &LogicalSchema,
    format: &RecordFormat,
    records: &[SourceRecord],
) -> Result<DecodedBatch, FormatError> {
    let key_columns: Vec<&Column> = schema.key.iter().collect();
    let value_columns: Vec<&Column> = schema.value.iter().collect();
    let values: Vec<Option<&[u8]>> = records.iter().map(|r| r.value.as_deref()).collect();
    let mut window_failures = Vec::new();
    let mut bounds: Option<(Vec<i64>, Vec<i64>)> = None;
    let keys: Vec<Option<&[u8]>> = match schema.window {
        None => records.iter().map(|r| r.key.as_deref()).collect(),
        Some(kind) => {
            let (mut starts, mut ends) = (Vec::new(), Vec::new());
            let keys = records
                .iter()
                .enumerate()
                .map(|(i, r)| match window::split(kind, r.key.as_deref()) {
                    Ok(key) => {
                        starts.push(key.start);
                        ends.push(key.end);
                        Some(key.inner)
                    }
                    Err(message) => {
                        window_failures.push((i, message));
                        starts.push(0);
                        ends.push(0);
                        None
                    }
                })
                .collect();
            bounds = Some((starts, ends));
            keys
        }
    };

    let key_side = decode_side(&format.key, &key_columns, true, &keys)?;
    let value_side = decode_side(&format.value, &value_columns, false, &values)?;

    let mut arrays: Vec<ArrayRef> = vec![
        Arc::new(TimestampMillisecondArray::from_iter_values(
            records.iter().map(|r| r.timestamp),
        )),
        Arc::new(Int32Array::from_iter_values(
            records.iter().map(|r| r.partition),
        )),
        Arc::new(Int64Array::from_iter_values(
            records.iter().map(|r| r.offset),
        )),
    ];
    if let Some((starts, ends)) = bounds {
        arrays.push(Arc::new(Int64Array::from(starts)));
        arrays.push(Arc::new(Int64Array::from(ends)));
    }
    arrays.extend(key_side.arrays);
    arrays.extend(value_side.arrays);
    for column in &schema.headers {
        arrays.push(header_column(column, records)?);
    }
    let json_value = format.value.kind == FormatKind::Json;
    arrays.push(Arc::new(BooleanArray::from_iter(
        records
            .iter()
            .map(|r| Some(is_null_value(r.value.as_deref(), json_value))),
    )));
    let batch = RecordBatch::try_new(schema.arrow_schema(), arrays)?;

    let mut failures: Vec<(usize, String)> = window_failures
        .into_iter()
        .chain(key_side.failures)
        .map(|(i, m)| (i, format!("Failed to deserialise key: {m}")))
        .chain(
            value_side
                .failures
                .into_iter()
                .map(|(i, m)| (i, format!("Failed to deserialise value: {m}"))),
        )
        .collect();
    if failures.is_empty() {
        return Ok(DecodedBatch {
            batch,
            errors: Vec::new(),
        });
    }
    failures.sort_by_key(|(i, _)| *i);
    failures.dedup_by_key(|(i, _)| *i);
    let mut keep = vec![true; records.len()];
    for (i, _) in &failures {
        keep[*i] = false;
    }
    let batch = filter_record_batch(&batch, &BooleanArray::from(keep))?;
    let errors = failures
        .into_iter()
        .map(|(i, message)| RecordError {
            partition: records[i].partition,
            offset: records[i].offset,
            message,
        })
        .collect();
    Ok(DecodedBatch { batch, errors })
}

/// A null value, or (for JSON) the text `null`, which ksqlDB also reads as a null row.
fn is_null_value(value: Option<&[u8]>, json: bool) -> bool {
    match value {
        None => true,
        Some(bytes) => json && bytes.trim_ascii() == b"null",
    }
}

fn header_column(column: &Column, records: &[SourceRecord]) -> Result<ArrayRef, ArrowError> {
    let rows: Vec<Datum> = records
        .iter()
        .map(|r| match &column.kind {
            ColumnKind::Header(key) => r
                .headers
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| v.as_ref())
                .map_or(Datum::Null, |v| Datum::Bytes(v.to_vec())),
            _ => Datum::Array(
                r.headers
                    .iter()
                    .map(|(k, v)| {
                        Datum::Struct(vec![
                            ("KEY".to_string(), Datum::String(k.clone())),
                            (
                                "VALUE".to_string(),
                                v.as_ref().map_or(Datum::Null, |v| Datum::Bytes(v.to_vec())),
                            ),
                        ])
                    })
                    .collect(),
            ),
        })
        .collect();
    let refs: Vec<&Datum> = rows.iter().collect();
    build_array(&column.sql_type, &refs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::datum::datum_at;
    use crate::types::schema::TOMBSTONE_COLUMN;
    use crate::types::{SqlType, WindowKind};

    fn record(offset: i64, key: Option<&str>, value: Option<&str>) -> SourceRecord {
        SourceRecord {
            partition: 3,
            offset,
            timestamp: 1000 + offset,
            key: key.map(|k| Bytes::copy_from_slice(k.as_bytes())),
            value: value.map(|v| Bytes::copy_from_slice(v.as_bytes())),
            headers: vec![("h".to_string(), Some(Bytes::from_static(b"\x01")))],
        }
    }

    #[test]
    fn bad_record_in_the_middle_is_reported_and_skipped() {
        let schema = LogicalSchema::from_columns([
            Column::key("K", SqlType::String),
            Column::value("V", SqlType::Int),
            Column::header("H", "h"),
        ]);
        let format = RecordFormat::new(FormatKind::Kafka, FormatKind::Json);
        let records = vec![
            record(0, Some("a"), Some(r#"{"V": 1}"#)),
            record(1, Some("b"), Some("{not json")),
            record(2, Some("c"), None),
        ];
        let decoded = decode_records(&schema, &format, &records).unwrap();
        assert_eq!(decoded.batch.num_rows(), 2);
        assert_eq!(decoded.errors.len(), 1);
        assert_eq!(
            (decoded.errors[0].partition, decoded.errors[0].offset),
            (3, 1)
        );
        assert!(
            decoded.errors[0]
                .message
                .starts_with("Failed to deserialise value")
        );
        let offsets = decoded.batch.column_by_name("ROWOFFSET").unwrap();
        assert_eq!(datum_at(offsets, 1).unwrap(), Datum::BigInt(2));
        let tomb = decoded.batch.column_by_name(TOMBSTONE_COLUMN).unwrap();
        assert_eq!(datum_at(tomb, 1).unwrap(), Datum::Boolean(true));
        let h = decoded.batch.column_by_name("H").unwrap();
        assert_eq!(datum_at(h, 0).unwrap(), Datum::Bytes(vec![1]));

        let encoded = encode_batch(&schema, &format, &decoded.batch).unwrap();
        assert_eq!(encoded[0].key.as_deref(), Some(&b"a"[..]));
        assert_eq!(encoded[0].value.as_deref(), Some(&br#"{"V":1}"#[..]));
        assert_eq!(encoded[0].timestamp, Some(1000));
        assert_eq!(encoded[1].value, None);
    }

    #[test]
    fn windowed_keys_fill_window_bounds_and_round_trip() {
        let mut schema = LogicalSchema::from_columns([
            Column::key("K", SqlType::String),
            Column::value("COUNT", SqlType::BigInt),
        ]);
        schema.window = Some(WindowKind::Tumbling { size_ms: 1000 });
        let format = RecordFormat::new(FormatKind::Kafka, FormatKind::Json);
        let mut key = b"k".to_vec();
        key.extend_from_slice(&5000i64.to_be_bytes());
        let mut good = record(0, None, Some(r#"{"COUNT":2}"#));
        good.key = Some(Bytes::from(key.clone()));
        let bad = record(1, Some("k"), Some(r#"{"COUNT":3}"#));
        let decoded = decode_records(&schema, &format, &[good, bad]).unwrap();
        assert_eq!(decoded.batch.num_rows(), 1);
        assert_eq!(decoded.errors[0].offset, 1);
        let start = decoded.batch.column_by_name("WINDOWSTART").unwrap();
        let end = decoded.batch.column_by_name("WINDOWEND").unwrap();
        assert_eq!(datum_at(start, 0).unwrap(), Datum::BigInt(5000));
        assert_eq!(datum_at(end, 0).unwrap(), Datum::BigInt(6000));
        let k = decoded.batch.column_by_name("K").unwrap();
        assert_eq!(datum_at(k, 0).unwrap(), Datum::String("k".into()));
        let encoded = encode_batch(&schema, &format, &decoded.batch).unwrap();
        assert_eq!(encoded[0].key.as_deref(), Some(key.as_slice()));
    }

    #[test]
    fn headers_column_holds_every_header() {
        let schema = LogicalSchema::from_columns([Column::headers("HS")]);
        let format = RecordFormat::new(FormatKind::None, FormatKind::Json);
        let decoded = decode_records(&schema, &format, &[record(0, None, Some("{}"))]).unwrap();
        let hs = decoded.batch.column_by_name("HS").unwrap();
        assert_eq!(
            datum_at(hs, 0).unwrap(),
            Datum::Array(vec![Datum::Struct(vec![
                ("KEY".into(), Datum::String("h".into())),
                ("VALUE".into(), Datum::Bytes(vec![1])),
            ])])
        );
    }
}
