//! Arrow types as Postgres types, and rows as DataRows.
//!
//! Query results are Arrow batches; `arrow-pg` maps each Arrow type to its Postgres type (Int32 ->
//! int4, Utf8 -> text, Timestamp(ms) -> timestamp, Decimal128 -> numeric, List -> arrays, Struct
//! and Map -> composite/json text ...) and encodes values in the text or binary format the client
//! asked for per column. Rows that are already text (SHOW, DESCRIBE) are `text` columns.

use std::sync::Arc;

use arrow::datatypes::Schema;
use arrow::record_batch::RecordBatch;
use pgwire::api::Type;
use pgwire::api::portal::Format;
use pgwire::api::results::{DataRowEncoder, FieldInfo};
use pgwire::error::PgWireResult;
use pgwire::messages::data::DataRow;

/// The Postgres columns of `schema`, each in the format `format` asks for.
pub fn schema_fields(schema: &Schema, format: &Format) -> PgWireResult<Vec<FieldInfo>> {
    arrow_pg::datatypes::arrow_schema_to_pg_fields(schema, format, None)
}

/// Every row of `batch` as a DataRow of `fields`.
pub fn batch_rows(
    fields: &Arc<Vec<FieldInfo>>,
    batch: RecordBatch,
) -> impl Iterator<Item = PgWireResult<DataRow>> {
    arrow_pg::encode_recordbatch(fields.clone(), batch)
}

/// `text` columns named `names`, each in the format `format` asks for.
pub fn text_fields(names: &[String], format: &Format) -> Vec<FieldInfo> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| FieldInfo::new(name.clone(), None, None, Type::TEXT, format.format_for(i)))
        .collect()
}

/// One row of text values as a DataRow of `fields`.
pub fn text_row(fields: &Arc<Vec<FieldInfo>>, row: &[String]) -> PgWireResult<DataRow> {
    let mut encoder = DataRowEncoder::new(fields.clone());
    for value in row {
        encoder.encode_field(&Some(value.as_str()))?;
    }
    Ok(encoder.take_row())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, TimeUnit};

    #[test]
    fn arrow_types_map_to_postgres_types() {
        let schema = Schema::new(vec![
            Field::new("ID", DataType::Utf8, true),
            Field::new("N", DataType::Int32, true),
            Field::new("BIG", DataType::Int64, true),
            Field::new("D", DataType::Float64, true),
            Field::new("B", DataType::Boolean, true),
            Field::new("T", DataType::Timestamp(TimeUnit::Millisecond, None), true),
            Field::new("DEC", DataType::Decimal128(10, 2), true),
        ]);
        let fields = schema_fields(&schema, &Format::UnifiedText).unwrap();
        let types: Vec<Type> = fields.iter().map(|f| f.datatype().clone()).collect();
        assert_eq!(
            types,
            vec![
                Type::TEXT,
                Type::INT4,
                Type::INT8,
                Type::FLOAT8,
                Type::BOOL,
                Type::TIMESTAMP,
                Type::NUMERIC
            ]
        );
        assert_eq!(fields[0].name(), "ID");
    }

    #[test]
    fn batches_encode_one_data_row_per_row() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("ID", DataType::Utf8, true),
            Field::new("N", DataType::Int32, true),
            Field::new("BIG", DataType::Int64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![Some("a"), None])),
                Arc::new(Int32Array::from(vec![1, 2])),
                Arc::new(Int64Array::from(vec![10, 20])),
            ],
        )
        .unwrap();
        let fields = Arc::new(schema_fields(&schema, &Format::UnifiedText).unwrap());
        let rows: Vec<DataRow> = batch_rows(&fields, batch)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].field_count, 3);
    }
}
