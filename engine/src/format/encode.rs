//! Rows of an Arrow batch → key and value bytes, for sinks: the columns named by the sink's
//! schema are read by name, each side is written in its format, windowed keys get their window
//! suffix and a row marked `__TOMBSTONE` gets a null value.

use arrow::array::{ArrayRef, RecordBatch};
use bytes::Bytes;

use super::datum::{Datum, datum_at};
use super::{
    EncodedRecord, FormatError, FormatKind, FormatOptions, RecordFormat, delimited, json, kafka,
    single_unwrapped, window,
};
use crate::types::schema::TOMBSTONE_COLUMN;
use crate::types::{Column, LogicalSchema, PseudoColumn, WindowKind};

/// Encodes every row of `batch` into key and value bytes. Key and value columns are found in
/// `batch` by name; other columns are ignored. A row whose `__TOMBSTONE` column is true gets a
/// null value.
pub fn encode_batch(
    schema: &LogicalSchema,
    format: &RecordFormat,
    batch: &RecordBatch,
) -> Result<Vec<EncodedRecord>, FormatError> {
    let find = |name: &str| {
        batch
            .column_by_name(name)
            .cloned()
            .ok_or_else(|| FormatError::MissingColumn(name.to_string()))
    };
    let key_arrays = schema
        .key
        .iter()
        .map(|c| find(&c.name))
        .collect::<Result<Vec<_>, _>>()?;
    let value_arrays = schema
        .value
        .iter()
        .map(|c| find(&c.name))
        .collect::<Result<Vec<_>, _>>()?;
    let tombstones = batch.column_by_name(TOMBSTONE_COLUMN).cloned();
    let rowtime = batch.column_by_name(PseudoColumn::RowTime.name()).cloned();
    let key_columns: Vec<&Column> = schema.key.iter().collect();
    let value_columns: Vec<&Column> = schema.value.iter().collect();
    let window_bounds = match schema.window {
        Some(kind) => Some((
            kind,
            find(PseudoColumn::WindowStart.name())?,
            batch
                .column_by_name(PseudoColumn::WindowEnd.name())
                .cloned(),
        )),
        None => None,
    };
    let millis = |array: &ArrayRef, row: usize| match datum_at(array, row) {
        Ok(Datum::BigInt(ms) | Datum::Timestamp(ms)) => Some(ms),
        _ => None,
    };

    (0..batch.num_rows())
        .map(|row| {
            let err = |message: String| FormatError::Encode { row, message };
            let read = |arrays: &[ArrayRef]| {
                arrays
                    .iter()
                    .map(|a| datum_at(a, row))
                    .collect::<Result<Vec<_>, _>>()
            };
            let keys = read(&key_arrays).map_err(|e| err(e.to_string()))?;
            let mut key = encode_side(&format.key, &key_columns, true, &keys).map_err(err)?;
            if let Some((kind, starts, ends)) = &window_bounds {
                let start =
                    millis(starts, row).ok_or_else(|| err("WINDOWSTART is null".to_string()))?;
                let end = match (kind, ends) {
                    (WindowKind::Session, Some(ends)) => {
                        millis(ends, row).ok_or_else(|| err("WINDOWEND is null".to_string()))?
                    }
                    (WindowKind::Session, None) => {
                        return Err(FormatError::MissingColumn("WINDOWEND".to_string()));
                    }
                    // Time windows store only the start.
                    _ => start,
                };
                key = Some(window::join(*kind, key.as_deref(), start, end));
            }
            let tombstone = match &tombstones {
                Some(t) => matches!(datum_at(t, row), Ok(Datum::Boolean(true))),
                None => false,
            };
            let value = if tombstone {
                None
            } else {
                let values = read(&value_arrays).map_err(|e| err(e.to_string()))?;
                encode_side(&format.value, &value_columns, false, &values).map_err(err)?
            };
            let timestamp = rowtime.as_ref().and_then(|t| millis(t, row));
            Ok(EncodedRecord {
                key: key.map(Bytes::from),
                value: value.map(Bytes::from),
                timestamp,
            })
        })
        .collect()
}

fn encode_side(
    options: &FormatOptions,
    columns: &[&Column],
    is_key: bool,
    values: &[Datum],
) -> Result<Option<Vec<u8>>, String> {
    // A key whose columns are all null (or that has none) is a null key in every format.
    if is_key && values.iter().all(Datum::is_null) {
        return Ok(None);
    }
    match options.kind {
        FormatKind::None => Ok(None),
        FormatKind::Kafka => kafka::encode(columns, values),
        FormatKind::Json => {
            let unwrapped = single_unwrapped(options, columns, is_key);
            Ok(json::encode(columns, unwrapped, values))
        }
        FormatKind::Delimited => Ok(delimited::encode(columns, options.delimiter, values)),
    }
}
