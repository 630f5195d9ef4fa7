//! Test records ↔ Kafka record bytes, in the formats a source declares.
//!
//! The test files give keys and values as JSON; what goes on the wire depends on the format of
//! the source that reads (or writes) the topic, as in ksqlDB's harness: JSON is written as JSON
//! text, DELIMITED and strings as their text, KAFKA primitives big-endian (INT 4 bytes, BIGINT
//! and DOUBLE 8), NONE as no key. Output bytes are read back the same way into JSON so they can
//! be compared by value.

use base64::Engine as _;
use serde_json::Value;

use super::compare::{Field, Window};

/// What the runner knows of a stream or table: enough to write and read its records.
#[derive(Debug, Clone, Default)]
pub struct SourceShape {
    /// The source's name.
    pub name: String,
    /// `STREAM` or `TABLE`.
    pub kind: String,
    /// Its topic.
    pub topic: String,
    /// Key format (`KAFKA`, `JSON`, `DELIMITED`, `NONE`).
    pub key_format: String,
    /// Value format.
    pub value_format: String,
    /// Key columns: name and type as DESCRIBE spells it.
    pub key: Vec<(String, String)>,
    /// Value columns.
    pub value: Vec<(String, String)>,
    /// The statement that created it.
    pub statement: String,
    /// The window its keys carry (None: not windowed), from its statement.
    pub window: Option<WindowShape>,
}

/// Why a test record could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {what} {value} as {format}: {reason}")]
pub struct EncodeError {
    what: &'static str,
    value: String,
    format: String,
    reason: String,
}

/// The bytes of a test key (`None` for a null key).
pub fn encode_key(
    shape: Option<&SourceShape>,
    key: &Value,
) -> Result<Option<Vec<u8>>, EncodeError> {
    let Some(shape) = shape else {
        return Ok(generic_bytes(key));
    };
    let column_type = single_type(&shape.key);
    encode(&shape.key_format, column_type, key).map_err(|reason| EncodeError {
        what: "key",
        value: key.to_string(),
        format: shape.key_format.clone(),
        reason,
    })
}

/// The bytes of a test value (`None`: a tombstone).
pub fn encode_value(
    shape: Option<&SourceShape>,
    value: &Value,
) -> Result<Option<Vec<u8>>, EncodeError> {
    let Some(shape) = shape else {
        return Ok(generic_bytes(value));
    };
    let column_type = single_type(&shape.value);
    encode(&shape.value_format, column_type, value).map_err(|reason| EncodeError {
        what: "value",
        value: value.to_string(),
        format: shape.value_format.clone(),
        reason,
    })
}

fn single_type(columns: &[(String, String)]) -> Option<&str> {
    match columns {
        [(_, ty)] => Some(ty.as_str()),
        _ => None,
    }
}

/// Strings as their bytes, anything else as JSON text.
fn generic_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.as_bytes().to_vec()),
        other => Some(other.to_string().into_bytes()),
    }
}

fn encode(format: &str, column_type: Option<&str>, v: &Value) -> Result<Option<Vec<u8>>, String> {
    if v.is_null() {
        return Ok(None);
    }
    match format.to_uppercase().as_str() {
        "NONE" => Ok(None),
        "JSON" => Ok(Some(v.to_string().into_bytes())),
        "KAFKA" => encode_kafka(column_type, v).map(Some),
        _ => Ok(generic_bytes(v)),
    }
}

fn encode_kafka(column_type: Option<&str>, v: &Value) -> Result<Vec<u8>, String> {
    let ty = column_type.unwrap_or("STRING").to_uppercase();
    let int = || {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .ok_or_else(|| format!("{v} is not an integer"))
    };
    match ty.as_str() {
        "INT" | "INTEGER" => {
            let n = i32::try_from(int()?).map_err(|e| e.to_string())?;
            Ok(n.to_be_bytes().to_vec())
        }
        "BIGINT" => Ok(int()?.to_be_bytes().to_vec()),
        "DOUBLE" => {
            let n = v
                .as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .ok_or_else(|| format!("{v} is not a number"))?;
            Ok(n.to_be_bytes().to_vec())
        }
        "BYTES" => match v {
            Value::String(s) => base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|e| e.to_string()),
            _ => Err("BYTES must be given as base64 text".into()),
        },
        _ => Ok(generic_bytes(v).unwrap_or_default()),
    }
}

/// Reads record bytes back in the format of the topic's source, as ksqlDB's harness
/// deserializes them: JSON must be one whole JSON document, KAFKA primitives must have their
/// exact width, text must be UTF-8 and NONE must have no bytes. Bytes that do not read are
/// [`Field::Undecodable`], which equals nothing: an unquoted `k` never matches the JSON string
/// `"k"`. Without a known format (`None`) nothing can be read.
pub fn decode(format: Option<&str>, columns: &[(String, String)], bytes: Option<&[u8]>) -> Field {
    let Some(bytes) = bytes else {
        return Field::Json(Value::Null);
    };
    let Some(format) = format.map(str::to_uppercase) else {
        return Field::undecodable(
            "no known format",
            "the topic is not a source's topic",
            bytes,
        );
    };
    let text = || {
        std::str::from_utf8(bytes)
            .map(|s| Field::Json(Value::String(s.to_string())))
            .unwrap_or_else(|e| Field::undecodable(&format, &e.to_string(), bytes))
    };
    match format.as_str() {
        "JSON" => serde_json::from_slice(bytes)
            .map(Field::Json)
            .unwrap_or_else(|e| Field::undecodable(&format, &e.to_string(), bytes)),
        "KAFKA" => decode_kafka(single_type(columns), bytes),
        "NONE" => Field::undecodable(&format, "NONE has no bytes", bytes),
        _ => text(),
    }
}

fn decode_kafka(column_type: Option<&str>, bytes: &[u8]) -> Field {
    let ty = column_type.unwrap_or("STRING").to_uppercase();
    let width = |n: usize| -> Result<[u8; 8], Field> {
        if bytes.len() != n {
            return Err(Field::undecodable(
                "KAFKA",
                &format!("{ty} takes {n} bytes, got {}", bytes.len()),
                bytes,
            ));
        }
        let mut b = [0u8; 8];
        b[8 - n..].copy_from_slice(bytes);
        Ok(b)
    };
    let read = || -> Result<Value, Field> {
        Ok(match ty.as_str() {
            "INT" | "INTEGER" => {
                let b = width(4)?;
                Value::from(i32::from_be_bytes([b[4], b[5], b[6], b[7]]))
            }
            "BIGINT" => Value::from(i64::from_be_bytes(width(8)?)),
            "DOUBLE" => serde_json::Number::from_f64(f64::from_be_bytes(width(8)?))
                .map_or(Value::Null, Value::Number),
            "BYTES" => Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
            _ => Value::String(
                std::str::from_utf8(bytes)
                    .map_err(|e| Field::undecodable("KAFKA", &e.to_string(), bytes))?
                    .to_string(),
            ),
        })
    };
    read().map_or_else(|f| f, Field::Json)
}

/// How a windowed key carries its window, as Kafka Streams serializes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowShape {
    /// TUMBLING and HOPPING: the key, then the 8-byte start; the end is start + size (the
    /// size in ms, when known).
    Time(Option<i64>),
    /// SESSION: the key, then the 8-byte end, then the 8-byte start.
    Session,
}

/// Splits a windowed key into the inner key and its window, or None when it is too short.
pub fn split_window(key: &[u8], shape: WindowShape) -> Option<(&[u8], Window)> {
    let long = |b: &[u8]| {
        let mut x = [0u8; 8];
        x.copy_from_slice(b);
        i64::from_be_bytes(x)
    };
    match shape {
        WindowShape::Time(size) => {
            let cut = key.len().checked_sub(8)?;
            let start = long(&key[cut..]);
            Some((
                &key[..cut],
                Window {
                    kind: "time".into(),
                    start,
                    end: size.map(|s| start + s),
                },
            ))
        }
        WindowShape::Session => {
            let cut = key.len().checked_sub(16)?;
            Some((
                &key[..cut],
                Window {
                    kind: "session".into(),
                    start: long(&key[cut + 8..]),
                    end: Some(long(&key[cut..cut + 8])),
                },
            ))
        }
    }
}

/// Appends a window to key bytes as Kafka Streams does (see [`WindowShape`]).
pub fn append_window(key: &mut Vec<u8>, window: &Window) {
    if window.kind.eq_ignore_ascii_case("session") {
        key.extend(window.end.unwrap_or(window.start).to_be_bytes());
        key.extend(window.start.to_be_bytes());
    } else {
        key.extend(window.start.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shape(format: &str, ty: &str) -> SourceShape {
        SourceShape {
            key_format: format.into(),
            value_format: format.into(),
            key: vec![("K".into(), ty.into())],
            value: vec![("V".into(), ty.into())],
            ..SourceShape::default()
        }
    }

    #[test]
    fn kafka_primitives_round_trip_big_endian() {
        let s = shape("KAFKA", "INTEGER");
        let bytes = encode_key(Some(&s), &json!(8)).unwrap().unwrap();
        assert_eq!(bytes, vec![0, 0, 0, 8]);
        assert_eq!(
            decode(Some("KAFKA"), &s.key, Some(&bytes)),
            Field::Json(json!(8))
        );
        let s = shape("KAFKA", "BIGINT");
        let bytes = encode_value(Some(&s), &json!(-2)).unwrap().unwrap();
        assert_eq!(bytes.len(), 8);
        assert_eq!(
            decode(Some("KAFKA"), &s.value, Some(&bytes)),
            Field::Json(json!(-2))
        );
        assert!(encode_key(Some(&shape("KAFKA", "INTEGER")), &json!("x")).is_err());
    }

    #[test]
    fn json_is_written_as_json_text_and_delimited_as_text() {
        let s = shape("JSON", "STRING");
        assert_eq!(
            encode_key(Some(&s), &json!("0")).unwrap().unwrap(),
            b"\"0\""
        );
        let s = shape("DELIMITED", "STRING");
        assert_eq!(
            encode_value(Some(&s), &json!("1,a")).unwrap().unwrap(),
            b"1,a"
        );
        assert_eq!(encode_value(Some(&s), &Value::Null).unwrap(), None);
    }

    #[test]
    fn windows_are_cut_from_the_key_tail_as_kafka_streams_writes_them() {
        // Session keys: the key, the end, then the start.
        let mut key = b"k".to_vec();
        key.extend(20i64.to_be_bytes());
        key.extend(10i64.to_be_bytes());
        let (inner, w) = split_window(&key, WindowShape::Session).unwrap();
        assert_eq!(
            (inner, w.kind.as_str(), w.start, w.end),
            (&b"k"[..], "session", 10, Some(20))
        );
        let mut again = b"k".to_vec();
        append_window(&mut again, &w);
        assert_eq!(again, key);
        // Time windows: the key and the start; the end comes from the size.
        let (inner, w) = split_window(&key[..9], WindowShape::Time(Some(5))).unwrap();
        assert_eq!(
            (inner, w.kind.as_str(), w.start, w.end),
            (&b"k"[..], "time", 20, Some(25))
        );
        assert!(split_window(b"short", WindowShape::Time(None)).is_none());
    }

    #[test]
    fn bytes_that_do_not_read_in_the_format_match_nothing() {
        let none: &[(String, String)] = &[];
        // An unquoted key is not the JSON string "k".
        let f = decode(Some("JSON"), none, Some(b"k"));
        assert!(matches!(f, Field::Undecodable { .. }), "{f:?}");
        assert_eq!(
            decode(Some("JSON"), none, Some(b"\"k\"")),
            Field::Json(json!("k"))
        );
        assert!(matches!(
            decode(Some("JSON"), none, Some(b"{\"A\":1} x")),
            Field::Undecodable { .. }
        ));
        // KAFKA primitives have their exact width; text is UTF-8; NONE has no bytes.
        let int = [("K".to_string(), "INTEGER".to_string())];
        assert!(matches!(
            decode(Some("KAFKA"), &int, Some(&[0, 0, 0, 0, 8])),
            Field::Undecodable { .. }
        ));
        assert!(matches!(
            decode(Some("KAFKA"), none, Some(&[0xff])),
            Field::Undecodable { .. }
        ));
        assert!(matches!(
            decode(Some("DELIMITED"), none, Some(&[0xff])),
            Field::Undecodable { .. }
        ));
        assert!(matches!(
            decode(Some("NONE"), none, Some(b"x")),
            Field::Undecodable { .. }
        ));
        assert_eq!(decode(Some("NONE"), none, None), Field::Json(Value::Null));
        assert!(matches!(
            decode(None, none, Some(b"1")),
            Field::Undecodable { .. }
        ));
    }
}
