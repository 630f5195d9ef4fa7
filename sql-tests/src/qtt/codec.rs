//! Test records ↔ Kafka record bytes, in the formats a source declares.
//!
//! The test files give keys and values as JSON; what goes on the wire depends on the format of
//! the source that reads (or writes) the topic, as in ksqlDB's harness: JSON is written as JSON
//! text, DELIMITED and strings as their text, KAFKA primitives big-endian (INT 4 bytes, BIGINT
//! and DOUBLE 8), NONE as no key. Output bytes are read back the same way into JSON so they can
//! be compared by value.

use base64::Engine as _;
use serde_json::Value;

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

/// Reads record bytes back into JSON: the shape's format and column types when known, else
/// JSON if it parses, else text.
pub fn decode(format: Option<&str>, columns: &[(String, String)], bytes: Option<&[u8]>) -> Value {
    let Some(bytes) = bytes else {
        return Value::Null;
    };
    let text = || String::from_utf8_lossy(bytes).into_owned();
    match format.map(str::to_uppercase).as_deref() {
        Some("JSON") => serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(text())),
        Some("KAFKA") => decode_kafka(single_type(columns), bytes),
        Some("NONE") => Value::Null,
        Some(_) => Value::String(text()),
        None => serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(text())),
    }
}

fn decode_kafka(column_type: Option<&str>, bytes: &[u8]) -> Value {
    let ty = column_type.unwrap_or("STRING").to_uppercase();
    match (ty.as_str(), bytes.len()) {
        ("INT" | "INTEGER", 4) => {
            let mut b = [0u8; 4];
            b.copy_from_slice(bytes);
            Value::from(i32::from_be_bytes(b))
        }
        ("BIGINT", 8) => {
            let mut b = [0u8; 8];
            b.copy_from_slice(bytes);
            Value::from(i64::from_be_bytes(b))
        }
        ("DOUBLE", 8) => {
            let mut b = [0u8; 8];
            b.copy_from_slice(bytes);
            serde_json::Number::from_f64(f64::from_be_bytes(b)).map_or(Value::Null, Value::Number)
        }
        ("BYTES", _) => Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
        _ => Value::String(String::from_utf8_lossy(bytes).into_owned()),
    }
}

/// A window from the tail of a windowed key: 8 bytes of start (time windows) or start and end
/// (session windows), big-endian milliseconds, as Kafka Streams writes them.
pub fn split_window(key: &[u8], session: bool) -> Option<(&[u8], i64, Option<i64>)> {
    let tail = if session { 16 } else { 8 };
    let cut = key.len().checked_sub(tail)?;
    let (inner, window) = key.split_at(cut);
    let mut start = [0u8; 8];
    start.copy_from_slice(&window[..8]);
    let end = session.then(|| {
        let mut end = [0u8; 8];
        end.copy_from_slice(&window[8..16]);
        i64::from_be_bytes(end)
    });
    Some((inner, i64::from_be_bytes(start), end))
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
        assert_eq!(decode(Some("KAFKA"), &s.key, Some(&bytes)), json!(8));
        let s = shape("KAFKA", "BIGINT");
        let bytes = encode_value(Some(&s), &json!(-2)).unwrap().unwrap();
        assert_eq!(bytes.len(), 8);
        assert_eq!(decode(Some("KAFKA"), &s.value, Some(&bytes)), json!(-2));
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
    fn windows_are_cut_from_the_key_tail() {
        let mut key = b"k".to_vec();
        key.extend(10i64.to_be_bytes());
        key.extend(20i64.to_be_bytes());
        assert_eq!(split_window(&key, true), Some((&b"k"[..], 10, Some(20))));
        assert_eq!(split_window(&key[..9], false), Some((&b"k"[..], 10, None)));
        assert_eq!(split_window(b"short", false), None);
    }
}
