//! JSON record → datums, following ksqlDB's `KsqlJsonDeserializer` coercion rules.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::format::datum::Datum;
use crate::format::json::compact;
use crate::format::text::{decode_base64, parse_decimal};
use crate::types::{Column, SqlType, StructField};

/// Decodes each payload into one datum per column; `unwrapped` means the payload is the single
/// column's value rather than an object holding it.
pub(crate) fn decode(
    columns: &[&Column],
    unwrapped: bool,
    payloads: &[Option<&[u8]>],
) -> Vec<Result<Vec<Datum>, String>> {
    payloads
        .iter()
        .map(|payload| match payload {
            None => Ok(vec![Datum::Null; columns.len()]),
            Some(bytes) => decode_one(columns, unwrapped, bytes),
        })
        .collect()
}

fn decode_one(columns: &[&Column], unwrapped: bool, bytes: &[u8]) -> Result<Vec<Datum>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("Invalid UTF-8 in JSON: {e}"))?;
    let raw: &RawValue = serde_json::from_str(text).map_err(|e| format!("Invalid JSON: {e}"))?;
    if unwrapped {
        return Ok(vec![
            convert(raw, &columns[0].sql_type).map_err(|e| e.at("$"))?,
        ]);
    }
    match node(raw)? {
        Node::Object(entries) => columns
            .iter()
            .map(|c| match lookup(&entries, &c.name) {
                Some(v) => convert(v, &c.sql_type).map_err(|e| e.at(&format!("$.{}", c.name))),
                None => Ok(Datum::Null),
            })
            .collect(),
        Node::Null => Ok(vec![Datum::Null; columns.len()]),
        // A bare value for a source with one column is that column's value.
        _ if columns.len() == 1 => Ok(vec![
            convert(raw, &columns[0].sql_type).map_err(|e| e.at("$"))?,
        ]),
        other => {
            let fields = columns
                .iter()
                .map(|c| StructField::new(&c.name, c.sql_type.clone()))
                .collect();
            Err(cannot_convert(&other, &SqlType::Struct(fields)).at("$"))
        }
    }
}

/// A conversion failure and where in the document it happened.
struct Failure {
    message: String,
    path: String,
}

impl Failure {
    fn new(message: String) -> Self {
        Failure {
            message,
            path: String::new(),
        }
    }

    fn nested(mut self, step: &str) -> Self {
        self.path = format!("{step}{}", self.path);
        self
    }

    fn at(self, root: &str) -> String {
        format!("{}, path: {root}{}", self.message, self.path)
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::new(message)
    }
}

/// The top level of one JSON value; nested values stay raw until their type asks for them.
enum Node<'a> {
    Null,
    Bool(bool),
    Number(&'a str),
    Text(String),
    Array(Vec<&'a RawValue>),
    Object(Vec<(Cow<'a, str>, &'a RawValue)>),
}

impl Node<'_> {
    /// Jackson's node class name, which ksqlDB's messages quote.
    fn kind(&self) -> &'static str {
        match self {
            Node::Null => "NullNode",
            Node::Bool(_) => "BooleanNode",
            Node::Number(t) if t.contains(['.', 'e', 'E']) => "DecimalNode",
            Node::Number(_) => "IntNode",
            Node::Text(_) => "TextNode",
            Node::Array(_) => "ArrayNode",
            Node::Object(_) => "ObjectNode",
        }
    }
}

/// Object entries in document order, values left raw.
struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((k, v)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    entries.push((k.0, v));
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

/// An object key, borrowed from the record when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

fn node(raw: &RawValue) -> Result<Node<'_>, String> {
    let text = raw.get().trim();
    let invalid = |e: serde_json::Error| format!("Invalid JSON: {e}");
    Ok(match text.as_bytes().first() {
        Some(b'n') => Node::Null,
        Some(b't') => Node::Bool(true),
        Some(b'f') => Node::Bool(false),
        Some(b'"') => Node::Text(serde_json::from_str(text).map_err(invalid)?),
        Some(b'[') => Node::Array(serde_json::from_str(text).map_err(invalid)?),
        Some(b'{') => Node::Object(serde_json::from_str::<Entries>(text).map_err(invalid)?.0),
        _ => Node::Number(text),
    })
}

/// The field for `name`: an exact match, else a field whose upper-cased name matches (ksqlDB's
/// case-insensitive rule for unquoted column names). The last duplicate wins, as in Jackson.
fn lookup<'a>(entries: &[(Cow<'a, str>, &'a RawValue)], name: &str) -> Option<&'a RawValue> {
    entries
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .or_else(|| entries.iter().rev().find(|(k, _)| upper_eq(k, name)))
        .map(|(_, v)| *v)
}

/// `key.to_uppercase() == name`, without allocating for ASCII keys.
fn upper_eq(key: &str, name: &str) -> bool {
    if key.is_ascii() {
        key.len() == name.len()
            && key
                .bytes()
                .zip(name.bytes())
                .all(|(k, n)| k.to_ascii_uppercase() == n)
    } else {
        key.to_uppercase() == name
    }
}

fn cannot_convert(node: &Node<'_>, sql_type: &SqlType) -> Failure {
    Failure::new(format!(
        "Can't convert type. sourceType: {}, requiredType: {sql_type}",
        node.kind()
    ))
}

fn cannot_coerce(sql_type: &SqlType) -> Failure {
    Failure::new(format!(
        "Can't coerce string to type. targetType: {sql_type}"
    ))
}

/// An integer from a JSON number's text the way Jackson's `asLong` reads it: integers wrap to
/// 64 bits, fractions truncate toward zero.
fn number_as_i64(text: &str) -> Option<i64> {
    if let Ok(v) = text.parse::<i64>() {
        return Some(v);
    }
    if let Ok(v) = text.parse::<i128>() {
        return Some(v as i64);
    }
    text.parse::<f64>().ok().map(|f| f as i64)
}

fn convert(raw: &RawValue, sql_type: &SqlType) -> Result<Datum, Failure> {
    let node = node(raw)?;
    if matches!(node, Node::Null) {
        return Ok(Datum::Null);
    }
    Ok(match (sql_type, node) {
        (SqlType::Boolean, Node::Bool(b)) => Datum::Boolean(b),
        (SqlType::Int, Node::Number(t)) => {
            Datum::Int(number_as_i64(t).ok_or_else(|| cannot_coerce(sql_type))? as i32)
        }
        (SqlType::Int, Node::Text(s)) => {
            Datum::Int(s.parse().map_err(|_| cannot_coerce(sql_type))?)
        }
        (SqlType::BigInt, Node::Number(t)) => {
            Datum::BigInt(number_as_i64(t).ok_or_else(|| cannot_coerce(sql_type))?)
        }
        (SqlType::BigInt, Node::Text(s)) => {
            Datum::BigInt(s.parse().map_err(|_| cannot_coerce(sql_type))?)
        }
        (SqlType::Double, Node::Number(t)) => {
            Datum::Double(t.parse().map_err(|_| cannot_coerce(sql_type))?)
        }
        (SqlType::Double, Node::Text(s)) => {
            Datum::Double(parse_java_double(&s).ok_or_else(|| cannot_coerce(sql_type))?)
        }
        (SqlType::Decimal { precision, scale }, Node::Number(t)) => {
            Datum::Decimal(parse_decimal(t, *precision, *scale)?, *scale)
        }
        (SqlType::Decimal { precision, scale }, Node::Text(s)) => {
            Datum::Decimal(parse_decimal(&s, *precision, *scale)?, *scale)
        }
        (SqlType::String, Node::Text(s)) => Datum::String(s),
        (SqlType::String, Node::Number(t)) => Datum::String(t.to_string()),
        (SqlType::String, Node::Bool(b)) => Datum::String(b.to_string()),
        (SqlType::String, Node::Object(_)) => Datum::String(compact(raw.get())),
        (SqlType::String, Node::Array(items)) => {
            let parts = items
                .iter()
                .map(|item| match convert(item, &SqlType::String)? {
                    Datum::String(s) => Ok(s),
                    _ => Ok("null".to_string()),
                })
                .collect::<Result<Vec<_>, Failure>>()?;
            Datum::String(format!("[{}]", parts.join(", ")))
        }
        (SqlType::Bytes, Node::Text(s)) => Datum::Bytes(decode_base64(&s)?),
        (SqlType::Date, Node::Number(t)) => {
            Datum::Date(number_as_i64(t).ok_or_else(|| cannot_coerce(sql_type))? as i32)
        }
        (SqlType::Date, Node::Text(s)) => {
            Datum::Date(s.parse().map_err(|_| cannot_coerce(sql_type))?)
        }
        (SqlType::Time, Node::Number(t)) => {
            Datum::Time(number_as_i64(t).ok_or_else(|| cannot_coerce(sql_type))? as i32)
        }
        (SqlType::Time, Node::Text(s)) => {
            Datum::Time(s.parse().map_err(|_| cannot_coerce(sql_type))?)
        }
        (SqlType::Timestamp, Node::Number(t)) => {
            Datum::Timestamp(number_as_i64(t).ok_or_else(|| cannot_coerce(sql_type))?)
        }
        (SqlType::Timestamp, Node::Text(s)) => {
            Datum::Timestamp(s.parse().map_err(|_| cannot_coerce(sql_type))?)
        }
        (SqlType::Array(element), Node::Array(items)) => Datum::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| convert(item, element).map_err(|e| e.nested(&format!("[{i}]"))))
                .collect::<Result<_, _>>()?,
        ),
        (SqlType::Map(key_type, value_type), Node::Object(entries)) => Datum::Map(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = map_key(k, key_type).map_err(|e| e.nested(&format!(".{k}.key")))?;
                    let value =
                        convert(v, value_type).map_err(|e| e.nested(&format!(".{k}.value")))?;
                    Ok((key, value))
                })
                .collect::<Result<_, Failure>>()?,
        ),
        (SqlType::Struct(fields), Node::Object(entries)) => Datum::Struct(
            fields
                .iter()
                .map(|f| {
                    let value = match lookup(&entries, &f.name) {
                        Some(v) => convert(v, &f.sql_type)
                            .map_err(|e| e.nested(&format!(".{}", f.name)))?,
                        None => Datum::Null,
                    };
                    Ok((f.name.clone(), value))
                })
                .collect::<Result<_, Failure>>()?,
        ),
        (_, other) => return Err(cannot_convert(&other, sql_type)),
    })
}

/// A map key (always text in JSON) as the map's key type.
fn map_key(text: &str, key_type: &SqlType) -> Result<Datum, Failure> {
    match key_type {
        SqlType::String => Ok(Datum::String(text.to_string())),
        SqlType::Int => text
            .parse()
            .map(Datum::Int)
            .map_err(|_| cannot_coerce(key_type)),
        SqlType::BigInt => text
            .parse()
            .map(Datum::BigInt)
            .map_err(|_| cannot_coerce(key_type)),
        other => Err(Failure::new(format!(
            "JSON map keys cannot be read as {other}"
        ))),
    }
}

/// Java's `Double.parseDouble`: surrounding whitespace allowed, `NaN`, `Infinity`, and a
/// trailing `d`/`f` type suffix.
fn parse_java_double(text: &str) -> Option<f64> {
    let t = text.trim();
    let t = t.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(t);
    match t {
        "NaN" => Some(f64::NAN),
        "Infinity" | "+Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ if t
            .chars()
            .any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E') =>
        {
            None
        }
        _ => t.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql_type: SqlType, json: &str) -> Result<Datum, String> {
        let column = Column::value("C", sql_type);
        decode(&[&column], true, &[Some(json.as_bytes())])
            .remove(0)
            .map(|mut r| r.remove(0))
    }

    #[test]
    fn numbers_and_strings_coerce_like_ksqldb() {
        assert_eq!(one(SqlType::Int, "12"), Ok(Datum::Int(12)));
        assert_eq!(one(SqlType::Int, "\"12\""), Ok(Datum::Int(12)));
        assert_eq!(one(SqlType::Int, "1.9"), Ok(Datum::Int(1)));
        assert_eq!(
            one(SqlType::BigInt, "998877665544332200"),
            Ok(Datum::BigInt(998877665544332200))
        );
        assert_eq!(one(SqlType::Double, "10"), Ok(Datum::Double(10.0)));
        assert_eq!(one(SqlType::Double, "\" 1.5 \""), Ok(Datum::Double(1.5)));
        assert_eq!(
            one(SqlType::String, "10.50"),
            Ok(Datum::String("10.50".into()))
        );
        assert_eq!(
            one(SqlType::String, "true"),
            Ok(Datum::String("true".into()))
        );
        assert_eq!(
            one(SqlType::String, r#"{ "a" : [1, "x y"] }"#),
            Ok(Datum::String(r#"{"a":[1,"x y"]}"#.into()))
        );
        assert_eq!(
            one(SqlType::String, r#"["a", 1, null]"#),
            Ok(Datum::String("[a, 1, null]".into()))
        );
        assert_eq!(one(SqlType::Timestamp, "\"10\""), Ok(Datum::Timestamp(10)));
        assert!(
            one(SqlType::Int, "\"x\"")
                .unwrap_err()
                .contains("Can't coerce string")
        );
        assert!(
            one(SqlType::Boolean, "1")
                .unwrap_err()
                .contains("sourceType: IntNode")
        );
    }

    #[test]
    fn decimals_read_from_numbers_or_strings_exactly() {
        let t = SqlType::decimal(21, 19).unwrap();
        assert_eq!(
            one(t.clone(), "10.123451234512345"),
            Ok(Datum::Decimal(101_234_512_345_123_450_000, 19))
        );
        assert_eq!(
            one(t, "\"1.5\""),
            Ok(Datum::Decimal(15_000_000_000_000_000_000, 19))
        );
        assert!(one(SqlType::decimal(4, 2).unwrap(), "1.234").is_err());
    }

    #[test]
    fn nested_struct_fields_match_case_insensitively() {
        let t = SqlType::Struct(vec![
            StructField::new("F0", SqlType::String),
            StructField::new("Name", SqlType::Int),
            StructField::new("MISSING", SqlType::Int),
        ]);
        assert_eq!(
            one(t, r#"{"f0":"bob","Name":1,"NAME":2}"#),
            Ok(Datum::Struct(vec![
                ("F0".into(), Datum::String("bob".into())),
                ("Name".into(), Datum::Int(1)),
                ("MISSING".into(), Datum::Null),
            ]))
        );
    }

    #[test]
    fn escaped_field_names_match() {
        let a = Column::value("NAME", SqlType::Int);
        let rows = decode(&[&a], false, &[Some(br#"{"N\u0041ME":5}"#)]);
        assert_eq!(rows[0], Ok(vec![Datum::Int(5)]));
    }

    #[test]
    fn upper_case_matching_handles_non_ascii() {
        assert!(upper_eq("name", "NAME"));
        assert!(!upper_eq("nam", "NAME"));
        assert!(upper_eq("straße", "STRASSE"));
        assert!(!upper_eq("Name", "Name2"));
    }

    #[test]
    fn errors_name_the_path() {
        let t = SqlType::array(SqlType::map(SqlType::String, SqlType::Int));
        let err = one(t, r#"[{"a":1},{"b":"x"}]"#).unwrap_err();
        assert!(err.ends_with("path: $[1].b.value"), "{err}");
    }

    #[test]
    fn wrapped_rows_find_columns_and_accept_bare_single_values() {
        let a = Column::value("A", SqlType::Int);
        let b = Column::value("B", SqlType::String);
        let rows = decode(
            &[&a, &b],
            false,
            &[
                Some(br#"{"a":1,"B":"x","c":3}"#),
                Some(b"{}"),
                Some(b"[1]"),
                None,
            ],
        );
        assert_eq!(rows[0], Ok(vec![Datum::Int(1), Datum::String("x".into())]));
        assert_eq!(rows[1], Ok(vec![Datum::Null, Datum::Null]));
        assert!(
            rows[2]
                .as_ref()
                .unwrap_err()
                .contains("requiredType: STRUCT<A INTEGER, B STRING>")
        );
        assert_eq!(rows[3], Ok(vec![Datum::Null, Datum::Null]));
        let single = decode(&[&a], false, &[Some(b"7")]);
        assert_eq!(single[0], Ok(vec![Datum::Int(7)]));
    }
}
