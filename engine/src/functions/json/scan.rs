//! A small JSON scanner that works on the text itself.
//!
//! ksqlDB's JSON functions (backed by Jackson) keep numbers exactly as written (`1.23450` stays
//! `1.23450`) and keep object keys in document order. `serde_json::Value` does neither without
//! crate features that would change serde_json for every crate in the build, so these functions
//! navigate the text: a value is a byte range of the input, and objects and arrays are walked in
//! order. Like Jackson's `readTree`, a document is its first value; trailing text is ignored
//! where ksqlDB ignores it.

/// A JSON value found in the input: its kind and its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span<'a> {
    /// What the value is.
    pub kind: Kind,
    /// The value's text, exactly as in the input.
    pub text: &'a str,
}

/// The kind of a JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `{...}`.
    Object,
    /// `[...]`.
    Array,
    /// `"..."`.
    String,
    /// A number.
    Number,
    /// `true` or `false`.
    Bool,
    /// `null`.
    Null,
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The end of the string starting at `i` (which holds `"`), just past the closing quote.
fn string_end(s: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Parses one value starting at or after `i`; returns it and the index just past it.
fn value_at(text: &str, i: usize) -> Option<(Span<'_>, usize)> {
    let s = text.as_bytes();
    let start = skip_ws(s, i);
    let (kind, end) = match *s.get(start)? {
        b'{' => (Kind::Object, container_end(text, start, b'}')?),
        b'[' => (Kind::Array, container_end(text, start, b']')?),
        b'"' => (Kind::String, string_end(s, start)?),
        b't' if s[start..].starts_with(b"true") => (Kind::Bool, start + 4),
        b'f' if s[start..].starts_with(b"false") => (Kind::Bool, start + 5),
        b'n' if s[start..].starts_with(b"null") => (Kind::Null, start + 4),
        b'-' | b'0'..=b'9' => {
            let mut e = start + 1;
            while e < s.len() && matches!(s[e], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
                e += 1;
            }
            let number = &text[start..e];
            number.parse::<f64>().ok()?;
            (Kind::Number, e)
        }
        _ => return None,
    };
    Some((
        Span {
            kind,
            text: &text[start..end],
        },
        end,
    ))
}

/// The index just past the container opened at `start`, checking every member.
fn container_end(text: &str, start: usize, close: u8) -> Option<usize> {
    let s = text.as_bytes();
    let mut i = skip_ws(s, start + 1);
    if s.get(i) == Some(&close) {
        return Some(i + 1);
    }
    loop {
        if close == b'}' {
            if s.get(i) != Some(&b'"') {
                return None;
            }
            i = skip_ws(s, string_end(s, i)?);
            if s.get(i) != Some(&b':') {
                return None;
            }
            i += 1;
        }
        let (_, end) = value_at(text, i)?;
        i = skip_ws(s, end);
        match s.get(i) {
            Some(b',') => i = skip_ws(s, i + 1),
            Some(c) if *c == close => return Some(i + 1),
            _ => return None,
        }
    }
}

/// The first JSON value of `text`, ignoring anything after it (as Jackson's `readTree` does).
pub fn first_value(text: &str) -> Option<Span<'_>> {
    value_at(text, 0).map(|(v, _)| v)
}

/// The value if `text` is exactly one JSON value (whitespace around it allowed).
pub fn whole_value(text: &str) -> Option<Span<'_>> {
    let (v, end) = value_at(text, 0)?;
    (skip_ws(text.as_bytes(), end) == text.len()).then_some(v)
}

/// The members of an object, in document order, keys still quoted.
pub fn object_entries(object: Span<'_>) -> Vec<(Span<'_>, Span<'_>)> {
    let text = object.text;
    let s = text.as_bytes();
    let mut entries = Vec::new();
    if object.kind != Kind::Object {
        return entries;
    }
    let mut i = skip_ws(s, 1);
    while let Some(b'"') = s.get(i) {
        let Some(key_end) = string_end(s, i) else {
            break;
        };
        let key = Span {
            kind: Kind::String,
            text: &text[i..key_end],
        };
        let colon = skip_ws(s, key_end);
        let Some((value, end)) = value_at(text, colon + 1) else {
            break;
        };
        entries.push((key, value));
        i = skip_ws(s, end);
        if s.get(i) == Some(&b',') {
            i = skip_ws(s, i + 1);
        }
    }
    entries
}

/// The items of an array, in order.
pub fn array_items(array: Span<'_>) -> Vec<Span<'_>> {
    let text = array.text;
    let s = text.as_bytes();
    let mut items = Vec::new();
    if array.kind != Kind::Array {
        return items;
    }
    let mut i = skip_ws(s, 1);
    while s.get(i).is_some_and(|c| *c != b']') {
        let Some((item, end)) = value_at(text, i) else {
            break;
        };
        items.push(item);
        i = skip_ws(s, end);
        if s.get(i) == Some(&b',') {
            i += 1;
        }
    }
    items
}

/// The content of a JSON string value, unescaped.
pub fn unescape(string: Span<'_>) -> Option<String> {
    serde_json::from_str::<String>(string.text).ok()
}

/// The value as ksqlDB prints an extracted field: strings unquoted, anything else as compact
/// JSON with numbers as written.
pub fn as_text(value: Span<'_>) -> Option<String> {
    match value.kind {
        Kind::String => unescape(value),
        _ => Some(compact(value.text)),
    }
}

/// JSON text without insignificant whitespace (numbers and strings untouched); the JSON
/// format's decoder uses the same function for objects read into a STRING column.
pub use crate::format::compact_json as compact;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_objects_and_arrays_in_order() {
        let v = first_value("{\"b\": 1.50, \"a\": [1, {\"x\": null}], \"c\": \"s\\\"q\"}}")
            .expect("json");
        let entries = object_entries(v);
        let keys: Vec<_> = entries.iter().filter_map(|(k, _)| unescape(*k)).collect();
        assert_eq!(keys, ["b", "a", "c"]);
        assert_eq!(entries[0].1.text, "1.50");
        assert_eq!(array_items(entries[1].1).len(), 2);
        assert_eq!(as_text(entries[1].1).as_deref(), Some("[1,{\"x\":null}]"));
        assert_eq!(as_text(entries[2].1).as_deref(), Some("s\"q"));
    }

    #[test]
    fn rejects_invalid_documents() {
        assert!(whole_value("").is_none());
        assert!(whole_value("abc").is_none());
        assert!(whole_value("[1, 2").is_none());
        assert!(whole_value("{\"a\" 1}").is_none());
        assert!(whole_value("{\"a\": 1}}").is_none());
        assert!(whole_value(" [1, 2, 3] ").is_some());
        assert!(whole_value("\"abc\"").is_some());
    }
}
