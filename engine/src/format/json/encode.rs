//! Datums → JSON bytes, byte for byte as ksqlDB's Jackson-based serializer writes them: compact,
//! fields in column order, DECIMAL as a plain number with its full scale, DOUBLE as Java
//! prints it, TIMESTAMP/DATE/TIME as numbers, BYTES as base64.

use std::fmt::Write as _;

use crate::format::datum::Datum;
use crate::format::text::{encode_base64, java_double, plain_decimal};
use crate::types::Column;

/// Encodes one row. `unwrapped`: write the single column's value bare. A null bare value, and
/// a multi-column key whose columns are all null, become a null record part.
pub(crate) fn encode(columns: &[&Column], unwrapped: bool, values: &[Datum]) -> Option<Vec<u8>> {
    let mut out = String::new();
    if unwrapped {
        let value = values.first()?;
        if value.is_null() {
            return None;
        }
        write_datum(&mut out, value);
        return Some(out.into_bytes());
    }
    out.push('{');
    for (i, (column, value)) in columns.iter().zip(values).enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(&mut out, &column.name);
        out.push(':');
        write_datum(&mut out, value);
    }
    out.push('}');
    Some(out.into_bytes())
}

/// Appends `value` as JSON.
pub(crate) fn write_datum(out: &mut String, value: &Datum) {
    match value {
        Datum::Null => out.push_str("null"),
        Datum::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Datum::Int(v) | Datum::Date(v) | Datum::Time(v) => {
            let _ = write!(out, "{v}");
        }
        Datum::BigInt(v) | Datum::Timestamp(v) => {
            let _ = write!(out, "{v}");
        }
        Datum::Double(v) if v.is_finite() => out.push_str(&java_double(*v)),
        // Jackson quotes the non-numeric doubles.
        Datum::Double(v) => write_string(out, &java_double(*v)),
        Datum::Decimal(unscaled, scale) => out.push_str(&plain_decimal(*unscaled, *scale)),
        Datum::String(s) => write_string(out, s),
        Datum::Bytes(b) => write_string(out, &encode_base64(b)),
        Datum::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_datum(out, item);
            }
            out.push(']');
        }
        Datum::Map(entries) => {
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, &key_text(key));
                out.push(':');
                write_datum(out, item);
            }
            out.push('}');
        }
        Datum::Struct(fields) => {
            out.push('{');
            for (i, (name, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, name);
                out.push(':');
                write_datum(out, item);
            }
            out.push('}');
        }
    }
}

/// A map key as JSON object-member text.
fn key_text(key: &Datum) -> String {
    match key {
        Datum::String(s) => s.clone(),
        other => {
            let mut s = String::new();
            write_datum(&mut s, other);
            s
        }
    }
}

/// Appends a JSON string literal with Jackson's escaping (same as serde_json's).
fn write_string(out: &mut String, s: &str) {
    // serde_json never fails to serialize a &str.
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::SqlType;

    fn text(bytes: Option<Vec<u8>>) -> Option<String> {
        bytes.map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn wrapped_rows_keep_column_order_and_names() {
        let (a, b) = (
            Column::value("ZED", SqlType::Int),
            Column::value("ALPHA", SqlType::Double),
        );
        assert_eq!(
            text(encode(&[&a, &b], false, &[Datum::Null, Datum::Double(1.0)])).as_deref(),
            Some(r#"{"ZED":null,"ALPHA":1.0}"#)
        );
    }

    #[test]
    fn values_print_like_jackson() {
        let row = Datum::Struct(vec![
            ("D".into(), Datum::Decimal(100000, 4)),
            ("B".into(), Datum::Bytes(vec![1, 2])),
            ("T".into(), Datum::Timestamp(10)),
            ("S".into(), Datum::String("a\"b\n\u{e9}".into())),
            ("N".into(), Datum::Double(f64::NAN)),
            (
                "M".into(),
                Datum::Map(vec![(Datum::String("k".into()), Datum::Array(vec![]))]),
            ),
        ]);
        let mut out = String::new();
        write_datum(&mut out, &row);
        assert_eq!(
            out,
            r#"{"D":10.0000,"B":"AQI=","T":10,"S":"a\"b\n\u{e9}","N":"NaN","M":{"k":[]}}"#
                .replace("\\u{e9}", "\u{e9}")
        );
    }

    #[test]
    fn unwrapped_null_is_a_null_record() {
        let a = Column::value("A", SqlType::Int);
        assert_eq!(encode(&[&a], true, &[Datum::Null]), None);
        assert_eq!(
            text(encode(&[&a], true, &[Datum::Int(5)])).as_deref(),
            Some("5")
        );
    }
}
