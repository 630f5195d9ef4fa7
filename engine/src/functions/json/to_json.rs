//! TO_JSON_STRING: any SQL value as JSON text, written the way ksqlDB's JSON serializer writes
//! it (BYTES as base64, DATE as `yyyy-MM-dd`, TIME as `HH:mm:ss[.SSS]`, TIMESTAMP as
//! `yyyy-MM-ddTHH:mm:ss.SSS`, DOUBLE with a decimal point and NaN / Infinity as Java spells them,
//! DECIMAL exactly).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, NaiveTime};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::DecimalType;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, Time32MillisecondType, TimeUnit, TimestampMillisecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::ScalarUDF;

use crate::functions::args::{out, ret};
use crate::functions::udf::{Category, FunctionSpec, KsqlUdf, Param as P, Sig};

/// TO_JSON_STRING's spec.
pub const TO_JSON_STRING: FunctionSpec = FunctionSpec {
    name: "TO_JSON_STRING",
    aliases: &[],
    category: Category::Json,
    description: "Any value (including ARRAY, MAP and STRUCT) as JSON text; NULL gives the text 'null'.",
    sigs: &[Sig::new(&[P::Any], "VARCHAR")],
};

/// TO_JSON_STRING as a UDF.
pub fn udf() -> ScalarUDF {
    KsqlUdf::new(&TO_JSON_STRING, ret::string, to_json_string)
        .handles_null()
        .into_udf()
}

fn to_json_string(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let Some(input) = a.first() else {
        return exec_err!("TO_JSON_STRING needs one argument");
    };
    let mut result = Vec::with_capacity(n);
    for i in 0..n {
        let mut text = String::new();
        write_json(input.as_ref(), i, &mut text)?;
        result.push(Some(text));
    }
    out(StringArray::from(result))
}

fn quote(text: &str, out: &mut String) {
    // Serializing a &str cannot fail.
    out.push_str(&serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into()));
}

fn double(x: f64, out: &mut String) {
    if x.is_nan() {
        quote("NaN", out);
    } else if x.is_infinite() {
        quote(if x > 0.0 { "Infinity" } else { "-Infinity" }, out);
    } else if x.fract() == 0.0 && x.abs() < 1e16 {
        out.push_str(&format!("{x:.1}"));
    } else {
        out.push_str(&x.to_string());
    }
}

/// Appends row `i` of `array` as JSON.
pub fn write_json(array: &dyn Array, i: usize, out: &mut String) -> Result<()> {
    if array.is_null(i) {
        out.push_str("null");
        return Ok(());
    }
    match array.data_type() {
        DataType::Null => out.push_str("null"),
        DataType::Boolean => out.push_str(&array.as_boolean().value(i).to_string()),
        DataType::Int8 => out.push_str(&array.as_primitive::<Int8Type>().value(i).to_string()),
        DataType::Int16 => out.push_str(&array.as_primitive::<Int16Type>().value(i).to_string()),
        DataType::Int32 => out.push_str(&array.as_primitive::<Int32Type>().value(i).to_string()),
        DataType::Int64 => out.push_str(&array.as_primitive::<Int64Type>().value(i).to_string()),
        DataType::UInt8 => out.push_str(&array.as_primitive::<UInt8Type>().value(i).to_string()),
        DataType::UInt16 => out.push_str(&array.as_primitive::<UInt16Type>().value(i).to_string()),
        DataType::UInt32 => out.push_str(&array.as_primitive::<UInt32Type>().value(i).to_string()),
        DataType::UInt64 => out.push_str(&array.as_primitive::<UInt64Type>().value(i).to_string()),
        DataType::Float32 => double(f64::from(array.as_primitive::<Float32Type>().value(i)), out),
        DataType::Float64 => double(array.as_primitive::<Float64Type>().value(i), out),
        DataType::Decimal128(_, scale) => {
            let v = array.as_primitive::<Decimal128Type>().value(i);
            out.push_str(&Decimal128Type::format_decimal(v, 38, *scale));
        }
        DataType::Utf8 => quote(array.as_string::<i32>().value(i), out),
        DataType::LargeUtf8 => quote(array.as_string::<i64>().value(i), out),
        DataType::Utf8View => quote(array.as_string_view().value(i), out),
        DataType::Binary => quote(&STANDARD.encode(array.as_binary::<i32>().value(i)), out),
        DataType::LargeBinary => quote(&STANDARD.encode(array.as_binary::<i64>().value(i)), out),
        DataType::BinaryView => quote(&STANDARD.encode(array.as_binary_view().value(i)), out),
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(i);
            let date = DateTime::from_timestamp(i64::from(days) * 86_400, 0)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            quote(&date, out);
        }
        DataType::Time32(TimeUnit::Millisecond) => {
            let ms = array.as_primitive::<Time32MillisecondType>().value(i);
            let time = NaiveTime::from_num_seconds_from_midnight_opt(
                (ms / 1000) as u32,
                ((ms % 1000) * 1_000_000) as u32,
            )
            .map(|t| {
                if ms % 1000 == 0 {
                    t.format("%H:%M:%S").to_string()
                } else {
                    t.format("%H:%M:%S%.3f").to_string()
                }
            })
            .unwrap_or_default();
            quote(&time, out);
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            let ms = array.as_primitive::<TimestampMillisecondType>().value(i);
            let ts = DateTime::from_timestamp_millis(ms)
                .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3f").to_string())
                .unwrap_or_default();
            quote(&ts, out);
        }
        DataType::List(_) => {
            let list = array.as_list::<i32>();
            let values = list.value(i);
            out.push('[');
            for j in 0..values.len() {
                if j > 0 {
                    out.push(',');
                }
                write_json(values.as_ref(), j, out)?;
            }
            out.push(']');
        }
        DataType::Map(_, _) => {
            let map = array.as_map();
            let entries = map.value(i);
            let (keys, values) = (entries.column(0), entries.column(1));
            out.push('{');
            for j in 0..entries.len() {
                if j > 0 {
                    out.push(',');
                }
                let mut key = String::new();
                write_json(keys.as_ref(), j, &mut key)?;
                if key.starts_with('"') {
                    out.push_str(&key);
                } else {
                    quote(&key, out);
                }
                out.push(':');
                write_json(values.as_ref(), j, out)?;
            }
            out.push('}');
        }
        DataType::Struct(fields) => {
            let st = array.as_struct();
            out.push('{');
            for (j, field) in fields.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                quote(field.name(), out);
                out.push(':');
                write_json(st.column(j).as_ref(), i, out)?;
            }
            out.push('}');
        }
        other => {
            let cast = datafusion::arrow::compute::cast(&array.slice(i, 1), &DataType::Utf8)
                .map_err(|_| {
                    datafusion::common::DataFusionError::Execution(format!(
                        "TO_JSON_STRING does not support values of type {other}"
                    ))
                })?;
            write_json(cast.as_ref(), 0, out)?;
        }
    }
    Ok(())
}
