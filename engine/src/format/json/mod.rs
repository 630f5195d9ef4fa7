//! The JSON format, with ksqlDB's rules rather than arrow-json's.
//!
//! arrow-json cannot be used for decoding because ksqlDB's JSON is lenient in ways Arrow's
//! reader is not, and one bad record must not fail the batch: object fields match column names
//! exactly or upper-cased, numbers and numeric strings are coerced to the column's type,
//! DECIMAL comes from numbers or strings without rounding, STRING accepts any JSON value (an
//! object becomes its JSON text), and a single column may be written bare (unwrapped).
//! Decoding parses only the top level of each record eagerly and converts just the fields the
//! schema names, keeping every number's original text (so DECIMAL and STRING see exactly what
//! was written, not a float).

mod decode;
mod encode;

pub(super) use decode::decode;
pub(super) use encode::{encode, write_datum};

/// JSON text without insignificant whitespace, numbers and strings left exactly as written:
/// how Jackson re-serializes an object read into a STRING column, and how ksqlDB prints a JSON
/// value the JSON functions extract (`functions::json::scan::compact` is this function).
pub fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::compact;

    #[test]
    fn compact_drops_whitespace_outside_strings_only() {
        assert_eq!(
            compact(" { \"a b\" : [ 1.50 , \"x \\\" y\" ] }\n"),
            "{\"a b\":[1.50,\"x \\\" y\"]}"
        );
    }
}
