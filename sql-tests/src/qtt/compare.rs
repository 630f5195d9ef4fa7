//! Comparing expected and actual output records.
//!
//! Keys and values are compared as JSON by value: numbers are equal when their values are
//! (`10 == 10.0000`, as ksqlDB's harness compares decimals), objects by their fields regardless
//! of order. Actual bytes that do not read in their topic's format are [`Field::Undecodable`] and
//! equal nothing. The timestamp is compared when the expected record gives one; the window
//! (type, start and end) always: a windowed actual key never matches an expected record without
//! a window, nor the other way round.

use serde_json::Value;

/// A key or value of an output record.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// Read in the topic's format (expected records are always this); null for no bytes.
    Json(Value),
    /// Bytes that are not valid in the topic's format: never equal to anything.
    Undecodable {
        /// The format they were read as.
        format: String,
        /// Why they do not read.
        reason: String,
        /// The bytes, as lossy text.
        text: String,
    },
}

impl Field {
    /// An [`Field::Undecodable`] for `bytes`.
    pub fn undecodable(format: &str, reason: &str, bytes: &[u8]) -> Field {
        Field::Undecodable {
            format: format.to_string(),
            reason: reason.to_string(),
            text: String::from_utf8_lossy(bytes).into_owned(),
        }
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Field::Json(v) => write!(f, "{v}"),
            Field::Undecodable {
                format,
                reason,
                text,
            } => write!(f, "<not {format}: {text:?} ({reason})>"),
        }
    }
}

/// The window of a windowed key, as the test files write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// `time` (tumbling, hopping) or `session`.
    pub kind: String,
    /// Start, ms.
    pub start: i64,
    /// End, ms (None: a time window whose size is not known).
    pub end: Option<i64>,
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.end {
            Some(end) => write!(f, "{}[{},{end}]", self.kind, self.start),
            None => write!(f, "{}[{},?]", self.kind, self.start),
        }
    }
}

/// One output record as the runner sees it (expected or actual).
#[derive(Debug, Clone, PartialEq)]
pub struct OutRecord {
    /// Key (without its window).
    pub key: Field,
    /// Value (null: a tombstone).
    pub value: Field,
    /// Timestamp in ms (None: not given, not compared).
    pub timestamp: Option<i64>,
    /// The key's window (None: not windowed).
    pub window: Option<Window>,
    /// Headers in order: key and base64 value (expected: `[]` when the test gives none).
    pub headers: Vec<(String, Option<String>)>,
}

impl std::fmt::Display for OutRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "key={} value={}", self.key, self.value)?;
        if let Some(ts) = self.timestamp {
            write!(f, " ts={ts}")?;
        }
        if let Some(w) = &self.window {
            write!(f, " window={w}")?;
        }
        if !self.headers.is_empty() {
            write!(f, " headers={:?}", self.headers)?;
        }
        Ok(())
    }
}

/// Whether an actual field equals an expected one (undecodable bytes equal nothing).
pub fn field_equal(expected: &Field, actual: &Field) -> bool {
    match (expected, actual) {
        (Field::Json(e), Field::Json(a)) => json_equal(e, a),
        _ => false,
    }
}

/// Whether two JSON values are equal by value (numbers numerically).
pub fn json_equal(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x == y || (x - y).abs() <= f64::EPSILON * x.abs().max(1.0),
                _ => a == b,
            },
        },
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| json_equal(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| json_equal(v, w)))
        }
        (a, b) => a == b,
    }
}

/// Whether `actual` matches `expected`: key, value, window and headers always, the timestamp
/// when expected gives one (as ksqlDB's `TestExecutor.validateCreatedMessage`).
pub fn record_matches(expected: &OutRecord, actual: &OutRecord) -> bool {
    expected.headers == actual.headers
        && field_equal(&expected.key, &actual.key)
        && field_equal(&expected.value, &actual.value)
        && expected
            .timestamp
            .is_none_or(|ts| actual.timestamp == Some(ts))
        && match (&expected.window, &actual.window) {
            (None, None) => true,
            (Some(e), Some(a)) => {
                e.kind.eq_ignore_ascii_case(&a.kind) && e.start == a.start && e.end == a.end
            }
            _ => false,
        }
}

/// Compares one topic's records in order; the first difference as a short text, or None.
pub fn diff_topic(topic: &str, expected: &[OutRecord], actual: &[OutRecord]) -> Option<String> {
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        if !record_matches(e, a) {
            return Some(format!(
                "topic {topic}, record #{i}:\n      expected {e}\n      actual   {a}"
            ));
        }
    }
    if expected.len() != actual.len() {
        let mut text = format!(
            "topic {topic}: expected {} records, got {}",
            expected.len(),
            actual.len()
        );
        let n = expected.len().min(actual.len());
        if let Some(e) = expected.get(n) {
            text.push_str(&format!("\n      first missing: {e}"));
        }
        if let Some(a) = actual.get(n) {
            text.push_str(&format!("\n      first extra:   {a}"));
        }
        return Some(text);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(key: Value, value: Value, ts: Option<i64>) -> OutRecord {
        OutRecord {
            key: Field::Json(key),
            value: Field::Json(value),
            timestamp: ts,
            window: None,
            headers: Vec::new(),
        }
    }

    fn window(kind: &str, start: i64, end: Option<i64>) -> Option<Window> {
        Some(Window {
            kind: kind.into(),
            start,
            end,
        })
    }

    #[test]
    fn windows_compare_by_type_start_and_end() {
        let mut e = rec(json!("k"), json!(1), None);
        e.window = window("time", 0, Some(10));
        let mut a = e.clone();
        assert!(record_matches(&e, &a));
        a.window = window("session", 0, Some(10));
        assert!(!record_matches(&e, &a), "type");
        a.window = window("time", 1, Some(10));
        assert!(!record_matches(&e, &a), "start");
        a.window = window("time", 0, Some(11));
        assert!(!record_matches(&e, &a), "end");
        a.window = window("time", 0, None);
        assert!(!record_matches(&e, &a), "unknown end");
        a.window = None;
        assert!(!record_matches(&e, &a), "not windowed");
        assert!(!record_matches(&a, &e), "windowed but not expected");
    }

    #[test]
    fn undecodable_bytes_match_nothing() {
        let e = rec(json!("k"), json!(1), None);
        let mut a = e.clone();
        a.key = Field::undecodable("JSON", "expected value", b"k");
        assert!(!record_matches(&e, &a));
        assert!(!field_equal(&a.key, &a.key));
    }

    #[test]
    fn numbers_compare_by_value_and_objects_by_fields() {
        assert!(json_equal(
            &json!({"A": 10, "B": "x"}),
            &json!({"B": "x", "A": 10.0})
        ));
        assert!(json_equal(&json!(0.1), &json!(0.1)));
        assert!(!json_equal(&json!(10), &json!("10")));
        assert!(!json_equal(&json!({"A": 1}), &json!({"A": 1, "B": null})));
        assert!(!json_equal(&json!([1, 2]), &json!([2, 1])));
    }

    #[test]
    fn timestamps_count_only_when_expected() {
        let e = rec(json!("k"), json!(1), None);
        assert!(record_matches(&e, &rec(json!("k"), json!(1), Some(5))));
        let e = rec(json!("k"), json!(1), Some(4));
        assert!(!record_matches(&e, &rec(json!("k"), json!(1), Some(5))));
    }

    #[test]
    fn a_missing_or_different_record_is_reported() {
        let a = rec(json!("k"), json!(1), None);
        let b = rec(json!("k"), json!(2), None);
        let one = std::slice::from_ref(&a);
        assert!(diff_topic("T", one, one).is_none());
        let d = diff_topic("T", one, &[b]).unwrap();
        assert!(d.contains("record #0"), "{d}");
        let d = diff_topic("T", &[a.clone(), a.clone()], &[a]).unwrap();
        assert!(d.contains("expected 2 records, got 1"), "{d}");
    }
}
