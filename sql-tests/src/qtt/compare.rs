//! Comparing expected and actual output records.
//!
//! Keys and values are compared as JSON by value: numbers are equal when their values are
//! (`10 == 10.0000`, as ksqlDB's harness compares decimals), objects by their fields regardless
//! of order. The timestamp is compared when the expected record gives one, and the window
//! (`start`, `end` for session windows, `type`) when it gives one.

use serde_json::Value;

/// One output record as the runner sees it (expected or actual).
#[derive(Debug, Clone, PartialEq)]
pub struct OutRecord {
    /// Key as JSON.
    pub key: Value,
    /// Value as JSON (null: a tombstone).
    pub value: Value,
    /// Timestamp in ms (None: not given, not compared).
    pub timestamp: Option<i64>,
    /// Window start and end (end None when the key does not carry it).
    pub window: Option<(i64, Option<i64>)>,
}

impl std::fmt::Display for OutRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "key={} value={}", self.key, self.value)?;
        if let Some(ts) = self.timestamp {
            write!(f, " ts={ts}")?;
        }
        if let Some((start, end)) = self.window {
            match end {
                Some(end) => write!(f, " window=[{start},{end}]")?,
                None => write!(f, " window=[{start},..]")?,
            }
        }
        Ok(())
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

/// Whether `actual` matches `expected` (timestamp and window only when expected gives them).
pub fn record_matches(expected: &OutRecord, actual: &OutRecord) -> bool {
    json_equal(&expected.key, &actual.key)
        && json_equal(&expected.value, &actual.value)
        && expected
            .timestamp
            .is_none_or(|ts| actual.timestamp == Some(ts))
        && match (expected.window, actual.window) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some((s1, e1)), Some((s2, e2))) => {
                s1 == s2 && (e1.is_none() || e2.is_none() || e1 == e2)
            }
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
            key,
            value,
            timestamp: ts,
            window: None,
        }
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
