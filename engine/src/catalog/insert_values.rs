//! `INSERT INTO source [(columns)] VALUES (...)`: one record, encoded in the source's formats
//! and appended (fsync'd) to its topic, in the partition murmur2 of the key picks.
//!
//! The values are SQL expressions: DataFusion evaluates them (so `'a' || 'b'` or `1 + 2` work),
//! each result is cast to its column's type, and the format layer writes the key and value bytes
//! exactly as a query's sink would. ROWTIME may be given; otherwise the record gets the current
//! time.

use std::sync::Arc;

use arrow::array::{ArrayRef, new_null_array};
use arrow::compute::cast;
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use sluice_broker::{Broker, Durability, new_record};

use crate::catalog::error::{EngineError, Result};
use crate::catalog::plan::quoted;
use crate::catalog::source::SourceInfo;
use crate::format::encode_batch;
use crate::query::streaming_session;
use crate::sql::InsertValues;
use crate::types::schema::rowtime_arrow_type;
use crate::types::{ColumnKind, PseudoColumn};

/// Encodes and appends the record `insert` describes; returns (partition, offset).
pub async fn insert_values(
    broker: &Broker,
    source: &SourceInfo,
    insert: &InsertValues,
) -> Result<(i32, i64)> {
    let columns: Vec<String> = if insert.columns.is_empty() {
        source
            .schema
            .key
            .iter()
            .chain(&source.schema.value)
            .map(|c| c.name.clone())
            .collect()
    } else {
        insert.columns.iter().map(|c| c.value.clone()).collect()
    };
    if columns.len() != insert.values.len() {
        return Err(EngineError::invalid(format!(
            "Expected a value for each column. Expected Columns: [{}]. Got {} value{}.",
            columns.join(", "),
            insert.values.len(),
            if insert.values.len() == 1 { "" } else { "s" }
        )));
    }
    let mut targets = Vec::new();
    for name in &columns {
        let data_type = if name == PseudoColumn::RowTime.name() {
            rowtime_arrow_type()
        } else {
            match source.schema.find(name) {
                Some(c) if matches!(c.kind, ColumnKind::Key | ColumnKind::Value) => {
                    c.sql_type.to_arrow()
                }
                Some(_) => {
                    return Err(EngineError::invalid(format!(
                        "Cannot insert into HEADER columns: `{name}`"
                    )));
                }
                None => {
                    return Err(EngineError::invalid(format!(
                        "Column name `{name}` does not exist."
                    )));
                }
            }
        };
        targets.push(data_type);
    }

    let select: Vec<String> = insert
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{} AS \"c{i}\"", quoted(v.clone(), false)))
        .collect();
    // The streaming session has ksqlDB's functions, so `VALUES (UCASE('a'), ...)` works.
    let ctx = streaming_session(1);
    let batches = ctx
        .sql(&format!("SELECT {}", select.join(", ")))
        .await?
        .collect()
        .await?;
    let Some(row) = batches.into_iter().find(|b| b.num_rows() == 1) else {
        return Err(EngineError::invalid(
            "The VALUES did not evaluate to one row.",
        ));
    };
    let mut values: Vec<(String, ArrayRef)> = Vec::new();
    for (i, name) in columns.iter().enumerate() {
        let array = cast(row.column(i), &targets[i]).map_err(|e| {
            EngineError::invalid(format!(
                "Expected type {} for field `{name}` but got {}: {e}",
                targets[i],
                row.column(i).data_type()
            ))
        })?;
        values.push((name.clone(), array));
    }

    let now = sluice_broker::log::now_ms();
    let rowtime_given = values
        .iter()
        .any(|(n, _)| n == PseudoColumn::RowTime.name());
    let mut fields = Vec::new();
    let mut arrays = Vec::new();
    if !rowtime_given {
        fields.push(Field::new(
            PseudoColumn::RowTime.name(),
            rowtime_arrow_type(),
            false,
        ));
        arrays.push(Arc::new(arrow::array::TimestampMillisecondArray::from(vec![now])) as ArrayRef);
    } else if let Some((_, a)) = values
        .iter()
        .find(|(n, _)| n == PseudoColumn::RowTime.name())
    {
        fields.push(Field::new(
            PseudoColumn::RowTime.name(),
            rowtime_arrow_type(),
            true,
        ));
        arrays.push(a.clone());
    }
    for column in source.schema.key.iter().chain(&source.schema.value) {
        let data_type = column.sql_type.to_arrow();
        fields.push(Field::new(&column.name, data_type.clone(), true));
        arrays.push(
            values
                .iter()
                .find(|(n, _)| n == &column.name)
                .map(|(_, a)| a.clone())
                .unwrap_or_else(|| new_null_array(&data_type, 1)),
        );
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|e| EngineError::invalid(format!("Cannot build the row to insert: {e}")))?;
    let encoded = encode_batch(&source.schema, &source.format, &batch)?;
    let Some(record) = encoded.into_iter().next() else {
        return Err(EngineError::invalid(
            "The VALUES did not encode to a record.",
        ));
    };
    let partition = broker.partition_for_key(&source.topic, record.key.as_deref())?;
    let log = broker.partition(&source.topic, partition)?;
    let result = log
        .append_records(
            &[new_record(
                record.key.as_deref(),
                record.value.as_deref(),
                record.timestamp.unwrap_or(now),
            )],
            Durability::Fsynced,
        )
        .await?;
    Ok((partition, result.base_offset))
}
