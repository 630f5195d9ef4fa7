//! `Datum`: one decoded value of a ksqlDB type, and its conversion to and from Arrow arrays.
//!
//! Text formats (JSON, DELIMITED) decode a record into datums first, because each record is a
//! separate document and a record that fails must be skipped without leaving half a row in the
//! builders. Whole columns are then built at once from the datums ([`build_array`]). Encoding
//! goes the other way, one row at a time ([`datum_at`]), because every output record is its own
//! byte string. `datum_at` reads whatever Arrow type DataFusion produced (any integer width,
//! `Utf8View`, nanosecond timestamps ...), so sinks need not cast first.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Date32Array, Decimal128Array,
    Float64Array, Int32Array, Int64Array, ListArray, MapArray, StringArray, StructArray,
    Time32MillisecondArray, TimestampMillisecondArray,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{
    DataType, Date64Type, Decimal128Type, Field, Float16Type, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, Time32MillisecondType, Time32SecondType,
    Time64MicrosecondType, Time64NanosecondType, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow::error::ArrowError;

use crate::types::SqlType;

/// One value of a ksqlDB type, as decoded from (or about to be encoded to) a record.
#[derive(Debug, Clone, PartialEq)]
pub enum Datum {
    /// SQL NULL.
    Null,
    /// BOOLEAN.
    Boolean(bool),
    /// INT.
    Int(i32),
    /// BIGINT.
    BigInt(i64),
    /// DOUBLE.
    Double(f64),
    /// DECIMAL: unscaled value and scale.
    Decimal(i128, u8),
    /// STRING.
    String(String),
    /// BYTES.
    Bytes(Vec<u8>),
    /// DATE: days since the epoch.
    Date(i32),
    /// TIME: milliseconds since midnight.
    Time(i32),
    /// TIMESTAMP: milliseconds since the epoch.
    Timestamp(i64),
    /// ARRAY.
    Array(Vec<Datum>),
    /// MAP, entries in the order they were read.
    Map(Vec<(Datum, Datum)>),
    /// STRUCT: field names and values in the type's field order.
    Struct(Vec<(String, Datum)>),
}

impl Datum {
    /// True for [`Datum::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Datum::Null)
    }
}

fn mismatch(sql_type: &SqlType, datum: &Datum) -> ArrowError {
    ArrowError::InvalidArgumentError(format!("value {datum:?} does not fit type {sql_type}"))
}

/// Builds one Arrow array of `sql_type.to_arrow()` from `values` (one per row).
pub fn build_array(sql_type: &SqlType, values: &[&Datum]) -> Result<ArrayRef, ArrowError> {
    macro_rules! primitive {
        ($array:ty, $variant:ident) => {{
            let column = values
                .iter()
                .map(|d| match d {
                    Datum::Null => Ok(None),
                    Datum::$variant(v) => Ok(Some(v.clone())),
                    other => Err(mismatch(sql_type, other)),
                })
                .collect::<Result<$array, ArrowError>>()?;
            Arc::new(column) as ArrayRef
        }};
    }
    Ok(match sql_type {
        SqlType::Boolean => primitive!(BooleanArray, Boolean),
        SqlType::Int => primitive!(Int32Array, Int),
        SqlType::BigInt => primitive!(Int64Array, BigInt),
        SqlType::Double => primitive!(Float64Array, Double),
        SqlType::Date => primitive!(Date32Array, Date),
        SqlType::Time => primitive!(Time32MillisecondArray, Time),
        SqlType::Timestamp => primitive!(TimestampMillisecondArray, Timestamp),
        SqlType::String => primitive!(StringArray, String),
        SqlType::Bytes => {
            let column: BinaryArray = values
                .iter()
                .map(|d| match d {
                    Datum::Null => Ok(None),
                    Datum::Bytes(b) => Ok(Some(b.as_slice())),
                    other => Err(mismatch(sql_type, other)),
                })
                .collect::<Result<_, ArrowError>>()?;
            Arc::new(column)
        }
        SqlType::Decimal { precision, scale } => {
            let column: Decimal128Array = values
                .iter()
                .map(|d| match d {
                    Datum::Null => Ok(None),
                    Datum::Decimal(v, s) if s == scale => Ok(Some(*v)),
                    other => Err(mismatch(sql_type, other)),
                })
                .collect::<Result<_, ArrowError>>()?;
            Arc::new(column.with_precision_and_scale(*precision, *scale as i8)?)
        }
        SqlType::Array(element) => {
            let mut offsets = Vec::with_capacity(values.len() + 1);
            offsets.push(0i32);
            let mut children: Vec<&Datum> = Vec::new();
            let mut valid = Vec::with_capacity(values.len());
            for d in values {
                match d {
                    Datum::Null => valid.push(false),
                    Datum::Array(items) => {
                        valid.push(true);
                        children.extend(items.iter());
                    }
                    other => return Err(mismatch(sql_type, other)),
                }
                offsets.push(offset(children.len())?);
            }
            let child = build_array(element, &children)?;
            let field = Arc::new(Field::new("item", element.to_arrow(), true));
            Arc::new(ListArray::try_new(
                field,
                OffsetBuffer::new(offsets.into()),
                child,
                nulls(valid),
            )?)
        }
        SqlType::Map(key, value) => {
            let mut offsets = Vec::with_capacity(values.len() + 1);
            offsets.push(0i32);
            let (mut keys, mut vals): (Vec<&Datum>, Vec<&Datum>) = (Vec::new(), Vec::new());
            let mut valid = Vec::with_capacity(values.len());
            for d in values {
                match d {
                    Datum::Null => valid.push(false),
                    Datum::Map(entries) => {
                        valid.push(true);
                        for (k, v) in entries {
                            keys.push(k);
                            vals.push(v);
                        }
                    }
                    other => return Err(mismatch(sql_type, other)),
                }
                offsets.push(offset(keys.len())?);
            }
            let DataType::Map(entries_field, _) = sql_type.to_arrow() else {
                return Err(ArrowError::SchemaError(format!(
                    "{sql_type} is not an Arrow map"
                )));
            };
            let DataType::Struct(entry_fields) = entries_field.data_type().clone() else {
                return Err(ArrowError::SchemaError(format!(
                    "{sql_type} has no map entries"
                )));
            };
            let entries = StructArray::try_new(
                entry_fields,
                vec![build_array(key, &keys)?, build_array(value, &vals)?],
                None,
            )?;
            Arc::new(MapArray::try_new(
                entries_field,
                OffsetBuffer::new(offsets.into()),
                entries,
                nulls(valid),
                false,
            )?)
        }
        SqlType::Struct(fields) => {
            let mut valid = Vec::with_capacity(values.len());
            let mut columns: Vec<Vec<&Datum>> =
                vec![Vec::with_capacity(values.len()); fields.len()];
            for d in values {
                match d {
                    Datum::Null => {
                        valid.push(false);
                        for column in &mut columns {
                            column.push(&Datum::Null);
                        }
                    }
                    Datum::Struct(items) if items.len() == fields.len() => {
                        valid.push(true);
                        for (column, (_, item)) in columns.iter_mut().zip(items) {
                            column.push(item);
                        }
                    }
                    other => return Err(mismatch(sql_type, other)),
                }
            }
            let DataType::Struct(arrow_fields) = sql_type.to_arrow() else {
                return Err(ArrowError::SchemaError(format!(
                    "{sql_type} is not an Arrow struct"
                )));
            };
            let children = fields
                .iter()
                .zip(&columns)
                .map(|(f, column)| build_array(&f.sql_type, column))
                .collect::<Result<Vec<_>, _>>()?;
            if fields.is_empty() {
                Arc::new(StructArray::new_empty_fields(values.len(), nulls(valid)))
            } else {
                Arc::new(StructArray::try_new(arrow_fields, children, nulls(valid))?)
            }
        }
    })
}

fn offset(len: usize) -> Result<i32, ArrowError> {
    i32::try_from(len).map_err(|_| ArrowError::ComputeError("list offset overflow".to_string()))
}

fn nulls(valid: Vec<bool>) -> Option<NullBuffer> {
    if valid.iter().all(|v| *v) {
        None
    } else {
        Some(NullBuffer::from(valid))
    }
}

/// Reads row `row` of `array` as a datum. Accepts every Arrow type [`SqlType::from_arrow`]
/// accepts; timestamps and times of any unit come back in milliseconds.
pub fn datum_at(array: &dyn Array, row: usize) -> Result<Datum, ArrowError> {
    if array.is_null(row) {
        return Ok(Datum::Null);
    }
    Ok(match array.data_type() {
        DataType::Null => Datum::Null,
        DataType::Boolean => Datum::Boolean(array.as_boolean().value(row)),
        DataType::Int8 => Datum::Int(array.as_primitive::<Int8Type>().value(row).into()),
        DataType::Int16 => Datum::Int(array.as_primitive::<Int16Type>().value(row).into()),
        DataType::Int32 => Datum::Int(array.as_primitive::<Int32Type>().value(row)),
        DataType::UInt8 => Datum::Int(array.as_primitive::<UInt8Type>().value(row).into()),
        DataType::UInt16 => Datum::Int(array.as_primitive::<UInt16Type>().value(row).into()),
        DataType::UInt32 => Datum::BigInt(array.as_primitive::<UInt32Type>().value(row).into()),
        DataType::Int64 => Datum::BigInt(array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt64 => Datum::BigInt(array.as_primitive::<UInt64Type>().value(row) as i64),
        DataType::Float16 => Datum::Double(array.as_primitive::<Float16Type>().value(row).to_f64()),
        DataType::Float32 => Datum::Double(array.as_primitive::<Float32Type>().value(row).into()),
        DataType::Float64 => Datum::Double(array.as_primitive::<Float64Type>().value(row)),
        DataType::Decimal128(_, scale) if *scale >= 0 => Datum::Decimal(
            array.as_primitive::<Decimal128Type>().value(row),
            *scale as u8,
        ),
        DataType::Utf8 => Datum::String(array.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => Datum::String(array.as_string::<i64>().value(row).to_string()),
        DataType::Utf8View => Datum::String(array.as_string_view().value(row).to_string()),
        DataType::Binary => Datum::Bytes(array.as_binary::<i32>().value(row).to_vec()),
        DataType::LargeBinary => Datum::Bytes(array.as_binary::<i64>().value(row).to_vec()),
        DataType::BinaryView => Datum::Bytes(array.as_binary_view().value(row).to_vec()),
        DataType::Date32 => Datum::Date(
            array
                .as_primitive::<arrow::datatypes::Date32Type>()
                .value(row),
        ),
        DataType::Date64 => {
            let millis = array.as_primitive::<Date64Type>().value(row);
            Datum::Date(millis.div_euclid(86_400_000) as i32)
        }
        DataType::Time32(TimeUnit::Second) => {
            Datum::Time(array.as_primitive::<Time32SecondType>().value(row) * 1000)
        }
        DataType::Time32(_) => {
            Datum::Time(array.as_primitive::<Time32MillisecondType>().value(row))
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            Datum::Time((array.as_primitive::<Time64MicrosecondType>().value(row) / 1000) as i32)
        }
        DataType::Time64(_) => Datum::Time(
            (array.as_primitive::<Time64NanosecondType>().value(row) / 1_000_000) as i32,
        ),
        DataType::Timestamp(unit, _) => Datum::Timestamp(match unit {
            TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(row) * 1000,
            TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().value(row),
            TimeUnit::Microsecond => array
                .as_primitive::<TimestampMicrosecondType>()
                .value(row)
                .div_euclid(1000),
            TimeUnit::Nanosecond => array
                .as_primitive::<TimestampNanosecondType>()
                .value(row)
                .div_euclid(1_000_000),
        }),
        DataType::List(_) => list_datum(&array.as_list::<i32>().value(row))?,
        DataType::LargeList(_) => list_datum(&array.as_list::<i64>().value(row))?,
        DataType::Map(_, _) => {
            let entries = array.as_map().value(row);
            let (keys, values) = (entries.column(0), entries.column(1));
            Datum::Map(
                (0..entries.len())
                    .map(|i| Ok((datum_at(keys, i)?, datum_at(values, i)?)))
                    .collect::<Result<_, ArrowError>>()?,
            )
        }
        DataType::Struct(fields) => {
            let structs = array.as_struct();
            Datum::Struct(
                fields
                    .iter()
                    .zip(structs.columns())
                    .map(|(f, c)| Ok((f.name().clone(), datum_at(c, row)?)))
                    .collect::<Result<_, ArrowError>>()?,
            )
        }
        DataType::Dictionary(_, _) => {
            let values = arrow::compute::cast(&array.slice(row, 1), &dictionary_value(array))?;
            datum_at(&values, 0)?
        }
        other => {
            return Err(ArrowError::NotYetImplemented(format!(
                "cannot serialize Arrow type {other}"
            )));
        }
    })
}

fn dictionary_value(array: &dyn Array) -> DataType {
    match array.data_type() {
        DataType::Dictionary(_, value) => value.as_ref().clone(),
        other => other.clone(),
    }
}

fn list_datum(items: &ArrayRef) -> Result<Datum, ArrowError> {
    Ok(Datum::Array(
        (0..items.len())
            .map(|i| datum_at(items, i))
            .collect::<Result<_, _>>()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::StructField;

    #[test]
    fn nested_values_round_trip_through_arrow() {
        let sql_type = SqlType::Struct(vec![
            StructField::new("A", SqlType::array(SqlType::Int)),
            StructField::new(
                "M",
                SqlType::map(SqlType::String, SqlType::decimal(4, 2).unwrap()),
            ),
        ]);
        let rows = [
            Datum::Struct(vec![
                ("A".into(), Datum::Array(vec![Datum::Int(1), Datum::Null])),
                (
                    "M".into(),
                    Datum::Map(vec![(Datum::String("x".into()), Datum::Decimal(1234, 2))]),
                ),
            ]),
            Datum::Null,
            Datum::Struct(vec![
                ("A".into(), Datum::Null),
                ("M".into(), Datum::Map(vec![])),
            ]),
        ];
        let refs: Vec<&Datum> = rows.iter().collect();
        let array = build_array(&sql_type, &refs).unwrap();
        assert_eq!(array.data_type(), &sql_type.to_arrow());
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(&datum_at(&array, i).unwrap(), row);
        }
    }

    #[test]
    fn wrong_datum_for_type_is_an_error() {
        let d = Datum::String("x".into());
        assert!(build_array(&SqlType::Int, &[&d]).is_err());
    }

    #[test]
    fn nanosecond_timestamps_read_as_millis() {
        let array = arrow::array::TimestampNanosecondArray::from(vec![1_500_000_000i64]);
        assert_eq!(datum_at(&array, 0).unwrap(), Datum::Timestamp(1500));
    }
}
