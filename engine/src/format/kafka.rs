//! The KAFKA format: Kafka's own primitive serializers, one column at most.
//!
//! INT is 4 bytes big-endian, BIGINT 8 bytes big-endian, DOUBLE 8 bytes IEEE 754 big-endian,
//! STRING UTF-8 and BYTES the raw bytes. Other types are refused when the source is created
//! (see `validate`). Decoding is columnar: each payload is written straight into an Arrow
//! builder.

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, BinaryBuilder, Float64Builder, Int32Builder, Int64Builder,
    StringBuilder, new_null_array,
};
use arrow::error::ArrowError;

use super::SideColumns;
use crate::format::datum::Datum;
use crate::types::{Column, SqlType};

/// Decodes the payloads into the (at most one) column.
pub(super) fn decode(
    columns: &[&Column],
    payloads: &[Option<&[u8]>],
) -> Result<SideColumns, ArrowError> {
    let mut failures = Vec::new();
    let arrays: Vec<ArrayRef> = match columns {
        [] => Vec::new(),
        [column] => vec![decode_column(&column.sql_type, payloads, &mut failures)],
        _ => {
            let message = only_single_field(columns);
            failures.extend((0..payloads.len()).map(|i| (i, message.clone())));
            columns
                .iter()
                .map(|c| new_null_array(&c.sql_type.to_arrow(), payloads.len()))
                .collect()
        }
    };
    Ok(SideColumns { arrays, failures })
}

fn only_single_field(columns: &[&Column]) -> String {
    let list: Vec<String> = columns
        .iter()
        .map(|c| format!("`{}` {}", c.name, c.sql_type))
        .collect();
    format!(
        "The 'KAFKA' format only supports a single field. Got: [{}]",
        list.join(", ")
    )
}

fn fixed<const N: usize>(bytes: &[u8], deserializer: &str) -> Result<[u8; N], String> {
    bytes
        .try_into()
        .map_err(|_| format!("Size of data received by {deserializer} is not {N}"))
}

fn decode_column(
    sql_type: &SqlType,
    payloads: &[Option<&[u8]>],
    failures: &mut Vec<(usize, String)>,
) -> ArrayRef {
    /// Runs `parse` on every non-null payload, appending to `builder`; failures append null.
    fn fill<'a, B: ArrayBuilder, T>(
        mut builder: B,
        payloads: &[Option<&'a [u8]>],
        failures: &mut Vec<(usize, String)>,
        parse: impl Fn(&'a [u8]) -> Result<T, String>,
        append: impl Fn(&mut B, Option<T>),
    ) -> ArrayRef {
        for (i, payload) in payloads.iter().enumerate() {
            match payload.map(&parse).transpose() {
                Ok(v) => append(&mut builder, v),
                Err(message) => {
                    failures.push((i, message));
                    append(&mut builder, None);
                }
            }
        }
        Arc::new(builder.finish())
    }
    let n = payloads.len();
    match sql_type {
        SqlType::Int => fill(
            Int32Builder::with_capacity(n),
            payloads,
            failures,
            |b| fixed::<4>(b, "IntegerDeserializer").map(i32::from_be_bytes),
            |b, v| b.append_option(v),
        ),
        SqlType::BigInt => fill(
            Int64Builder::with_capacity(n),
            payloads,
            failures,
            |b| fixed::<8>(b, "LongDeserializer").map(i64::from_be_bytes),
            |b, v| b.append_option(v),
        ),
        SqlType::Double => fill(
            Float64Builder::with_capacity(n),
            payloads,
            failures,
            |b| fixed::<8>(b, "DoubleDeserializer").map(f64::from_be_bytes),
            |b, v| b.append_option(v),
        ),
        SqlType::String => fill(
            StringBuilder::with_capacity(n, payloads.iter().flatten().map(|p| p.len()).sum()),
            payloads,
            failures,
            |b| std::str::from_utf8(b).map_err(|e| format!("Invalid UTF-8 in STRING: {e}")),
            |b, v| b.append_option(v),
        ),
        SqlType::Bytes => fill(
            BinaryBuilder::with_capacity(n, payloads.iter().flatten().map(|p| p.len()).sum()),
            payloads,
            failures,
            Ok,
            |b, v| b.append_option(v),
        ),
        other => {
            let message = unsupported(other);
            failures.extend(
                payloads
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.is_some())
                    .map(|(i, _)| (i, message.clone())),
            );
            new_null_array(&other.to_arrow(), n)
        }
    }
}

fn unsupported(sql_type: &SqlType) -> String {
    format!(
        "The 'KAFKA' format does not support type '{}'",
        sql_type.base_name()
    )
}

/// Encodes one row's single column. A null value is a null record part.
pub(super) fn encode(columns: &[&Column], values: &[Datum]) -> Result<Option<Vec<u8>>, String> {
    let (column, value) = match (columns, values) {
        ([], _) => return Ok(None),
        ([column], [value]) => (column, value),
        _ => return Err(only_single_field(columns)),
    };
    let out_of_range = || {
        format!(
            "value {value:?} does not fit column {} {}",
            column.name, column.sql_type
        )
    };
    Ok(Some(match (&column.sql_type, value) {
        (_, Datum::Null) => return Ok(None),
        (SqlType::Int, Datum::Int(v)) => v.to_be_bytes().to_vec(),
        (SqlType::Int, Datum::BigInt(v)) => i32::try_from(*v)
            .map_err(|_| out_of_range())?
            .to_be_bytes()
            .to_vec(),
        (SqlType::BigInt, Datum::BigInt(v)) => v.to_be_bytes().to_vec(),
        (SqlType::BigInt, Datum::Int(v)) => i64::from(*v).to_be_bytes().to_vec(),
        (SqlType::Double, Datum::Double(v)) => v.to_be_bytes().to_vec(),
        (SqlType::Double, Datum::Int(v)) => f64::from(*v).to_be_bytes().to_vec(),
        (SqlType::Double, Datum::BigInt(v)) => (*v as f64).to_be_bytes().to_vec(),
        (SqlType::String, Datum::String(s)) => s.as_bytes().to_vec(),
        (SqlType::Bytes, Datum::Bytes(b)) => b.clone(),
        (
            SqlType::Int | SqlType::BigInt | SqlType::Double | SqlType::String | SqlType::Bytes,
            _,
        ) => {
            return Err(out_of_range());
        }
        (other, _) => return Err(unsupported(other)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::datum::datum_at;

    fn decode_one(
        sql_type: SqlType,
        payloads: &[Option<&[u8]>],
    ) -> (Vec<Datum>, Vec<(usize, String)>) {
        let column = Column::value("V", sql_type);
        let side = decode(&[&column], payloads).unwrap();
        let values = (0..payloads.len())
            .map(|i| datum_at(&side.arrays[0], i).unwrap())
            .collect();
        (values, side.failures)
    }

    #[test]
    fn primitives_decode_big_endian() {
        let (values, failures) = decode_one(
            SqlType::Int,
            &[Some(&[0, 0, 0, 2]), None, Some(&[1, 2]), Some(&[255; 4])],
        );
        assert_eq!(
            values,
            [Datum::Int(2), Datum::Null, Datum::Null, Datum::Int(-1)]
        );
        assert_eq!(
            failures,
            [(
                2,
                "Size of data received by IntegerDeserializer is not 4".to_string()
            )]
        );
        let (values, _) = decode_one(SqlType::Double, &[Some(&2.2f64.to_be_bytes())]);
        assert_eq!(values, [Datum::Double(2.2)]);
        let (values, failures) = decode_one(SqlType::String, &[Some(b""), Some(&[0xff])]);
        assert_eq!(values[0], Datum::String(String::new()));
        assert_eq!(failures.len(), 1);
    }

    #[test]
    fn encode_round_trips_and_widens() {
        let column = Column::value("V", SqlType::BigInt);
        let bytes = encode(&[&column], &[Datum::Int(7)]).unwrap().unwrap();
        assert_eq!(bytes, 7i64.to_be_bytes());
        assert_eq!(encode(&[&column], &[Datum::Null]).unwrap(), None);
        let int = Column::value("V", SqlType::Int);
        assert!(encode(&[&int], &[Datum::BigInt(1 << 40)]).is_err());
        let b = Column::value("B", SqlType::Boolean);
        assert!(
            encode(&[&b], &[Datum::Boolean(true)])
                .unwrap_err()
                .contains("'BOOLEAN'")
        );
    }

    #[test]
    fn several_columns_fail_every_record() {
        let (a, b) = (
            Column::value("V0", SqlType::Int),
            Column::value("V1", SqlType::String),
        );
        let side = decode(&[&a, &b], &[Some(b"x")]).unwrap();
        assert_eq!(
            side.failures[0].1,
            "The 'KAFKA' format only supports a single field. Got: [`V0` INTEGER, `V1` STRING]"
        );
    }
}
