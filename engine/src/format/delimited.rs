//! The DELIMITED format: one line of fields, one per column, with CSV quoting.
//!
//! ksqlDB reads and writes it with Apache Commons CSV (`CSVFormat.DEFAULT` with the chosen
//! delimiter), so the quoting rules here are Commons CSV's "minimal" ones, including its
//! quirk of quoting a line's first field when that field starts with anything but a letter or
//! digit (`"-12345.12"`). Empty fields read as NULL; NULL writes as an empty field. A direct
//! parser is used rather than arrow-csv, because each record is its own line that must fail
//! alone and types need ksqlDB's parsing (DECIMAL without rounding, base64 BYTES).

use crate::format::datum::Datum;
use crate::format::text::{
    decode_base64, encode_base64, java_double, parse_decimal, plain_decimal,
};
use crate::types::{Column, SqlType};

const QUOTE: char = '"';

/// Decodes each payload into one datum per column.
pub(crate) fn decode(
    columns: &[&Column],
    delimiter: char,
    payloads: &[Option<&[u8]>],
) -> Vec<Result<Vec<Datum>, String>> {
    payloads
        .iter()
        .map(|payload| match payload {
            None => Ok(vec![Datum::Null; columns.len()]),
            Some(bytes) => decode_one(columns, delimiter, bytes),
        })
        .collect()
}

fn decode_one(columns: &[&Column], delimiter: char, bytes: &[u8]) -> Result<Vec<Datum>, String> {
    let line = std::str::from_utf8(bytes).map_err(|e| format!("Invalid UTF-8: {e}"))?;
    let fields = split_line(line, delimiter)?;
    if fields.is_empty() {
        return Err("No fields in record".to_string());
    }
    if fields.len() != columns.len() {
        return Err(format!(
            "Unexpected field count, csvFields:{} schemaFields:{}",
            fields.len(),
            columns.len()
        ));
    }
    columns
        .iter()
        .zip(fields)
        .map(|(c, field)| parse_field(&c.sql_type, &field))
        .collect()
}

/// Splits the first record of `line` into fields (quotes removed, doubled quotes undone).
fn split_line(line: &str, delimiter: char) -> Result<Vec<String>, String> {
    let line = line.split(['\n', '\r']).next().unwrap_or("");
    let mut fields = Vec::new();
    if line.is_empty() {
        return Ok(fields);
    }
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&QUOTE) {
            chars.next();
            loop {
                match chars.next() {
                    Some(QUOTE) if chars.peek() == Some(&QUOTE) => {
                        chars.next();
                        field.push(QUOTE);
                    }
                    Some(QUOTE) => break,
                    Some(c) => field.push(c),
                    None => return Err("EOF reached before encapsulated token finished".into()),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(c) if c == delimiter => fields.push(field),
                Some(_) => {
                    return Err("invalid char between encapsulated token and delimiter".into());
                }
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(c) if c == delimiter => break,
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}

fn parse_field(sql_type: &SqlType, field: &str) -> Result<Datum, String> {
    if field.is_empty() {
        return Ok(Datum::Null);
    }
    let invalid = || format!("Invalid {sql_type} value: '{field}'");
    Ok(match sql_type {
        SqlType::Boolean => Datum::Boolean(field.eq_ignore_ascii_case("true")),
        SqlType::Int => Datum::Int(field.parse().map_err(|_| invalid())?),
        SqlType::BigInt => Datum::BigInt(field.parse().map_err(|_| invalid())?),
        SqlType::Double => Datum::Double(field.trim().parse().map_err(|_| invalid())?),
        SqlType::Decimal { precision, scale } => {
            Datum::Decimal(parse_decimal(field, *precision, *scale)?, *scale)
        }
        SqlType::String => Datum::String(field.to_string()),
        SqlType::Bytes => Datum::Bytes(decode_base64(field)?),
        SqlType::Date => Datum::Date(field.parse().map_err(|_| invalid())?),
        SqlType::Time => Datum::Time(field.parse().map_err(|_| invalid())?),
        SqlType::Timestamp => Datum::Timestamp(field.parse().map_err(|_| invalid())?),
        nested => {
            return Err(format!(
                "The 'DELIMITED' format does not support type '{}'",
                nested.base_name()
            ));
        }
    })
}

/// Encodes one row as a delimited line; `None` never happens for a row but keeps the
/// signature of the other formats.
pub(crate) fn encode(columns: &[&Column], delimiter: char, values: &[Datum]) -> Option<Vec<u8>> {
    let mut out = String::new();
    for (i, value) in values.iter().enumerate().take(columns.len()) {
        if i > 0 {
            out.push(delimiter);
        }
        if let Some(text) = field_text(value) {
            write_field(&mut out, &text, delimiter, i == 0);
        }
    }
    Some(out.into_bytes())
}

/// The text of one field, `None` for NULL.
fn field_text(value: &Datum) -> Option<String> {
    Some(match value {
        Datum::Null => return None,
        Datum::Boolean(b) => b.to_string(),
        Datum::Int(v) | Datum::Date(v) | Datum::Time(v) => v.to_string(),
        Datum::BigInt(v) | Datum::Timestamp(v) => v.to_string(),
        Datum::Double(v) => java_double(*v),
        Datum::Decimal(unscaled, scale) => plain_decimal(*unscaled, *scale),
        Datum::String(s) => s.clone(),
        Datum::Bytes(b) => encode_base64(b),
        nested => {
            let mut s = String::new();
            crate::format::json::write_datum(&mut s, nested);
            s
        }
    })
}

/// Appends `text`, quoted when Commons CSV's minimal quoting would quote it.
fn write_field(out: &mut String, text: &str, delimiter: char, first_in_line: bool) {
    if needs_quotes(text, delimiter, first_in_line) {
        out.push(QUOTE);
        for c in text.chars() {
            if c == QUOTE {
                out.push(QUOTE);
            }
            out.push(c);
        }
        out.push(QUOTE);
    } else {
        out.push_str(text);
    }
}

fn needs_quotes(text: &str, delimiter: char, first_in_line: bool) -> bool {
    let Some(first) = text.chars().next() else {
        // An empty first field is quoted so that the line is not empty.
        return first_in_line;
    };
    if first_in_line && !first.is_ascii_alphanumeric() {
        return true;
    }
    if first <= '#' {
        return true;
    }
    if text
        .chars()
        .any(|c| c == '\n' || c == '\r' || c == QUOTE || c == delimiter)
    {
        return true;
    }
    text.chars().last().is_some_and(|c| c <= ' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(types: &[SqlType]) -> Vec<Column> {
        types
            .iter()
            .enumerate()
            .map(|(i, t)| Column::value(format!("C{i}"), t.clone()))
            .collect()
    }

    fn decode_line(types: &[SqlType], delimiter: char, line: &str) -> Result<Vec<Datum>, String> {
        let cols = columns(types);
        let refs: Vec<&Column> = cols.iter().collect();
        decode(&refs, delimiter, &[Some(line.as_bytes())]).remove(0)
    }

    fn encode_row(types: &[SqlType], delimiter: char, values: &[Datum]) -> String {
        let cols = columns(types);
        let refs: Vec<&Column> = cols.iter().collect();
        String::from_utf8(encode(&refs, delimiter, values).unwrap()).unwrap()
    }

    #[test]
    fn fields_are_split_and_unquoted() {
        let t = [SqlType::BigInt, SqlType::String, SqlType::Int];
        assert_eq!(
            decode_line(&t, ',', "0,zero,0"),
            Ok(vec![
                Datum::BigInt(0),
                Datum::String("zero".into()),
                Datum::Int(0)
            ])
        );
        assert_eq!(
            decode_line(&t, '\t', "1\t\"a\"\"b\tc\"\t"),
            Ok(vec![
                Datum::BigInt(1),
                Datum::String("a\"b\tc".into()),
                Datum::Null
            ])
        );
        assert!(
            decode_line(&t, ',', "1,2")
                .unwrap_err()
                .contains("csvFields:2 schemaFields:3")
        );
        assert!(
            decode_line(&t, ',', "x,a,1")
                .unwrap_err()
                .contains("Invalid BIGINT")
        );
        assert!(decode_line(&t, ',', "").unwrap_err().contains("No fields"));
    }

    #[test]
    fn decimals_keep_their_scale() {
        let t = [SqlType::decimal(33, 16).unwrap()];
        for (input, output) in [
            (
                "12345678987654321.2345678987654321",
                "12345678987654321.2345678987654321",
            ),
            (".12", "0.1200000000000000"),
            ("-12345.12", "\"-12345.1200000000000000\""),
            ("\"-12345.12\"", "\"-12345.1200000000000000\""),
            ("0", "0.0000000000000000"),
        ] {
            let row = decode_line(&t, ',', input).unwrap();
            assert_eq!(encode_row(&t, ',', &row), output, "{input}");
        }
    }

    #[test]
    fn quoting_matches_commons_csv() {
        let t = [SqlType::String, SqlType::String, SqlType::String];
        let s = |v: &str| Datum::String(v.into());
        assert_eq!(
            encode_row(&t, ',', &[s("a"), s("b,c"), s("d\"e")]),
            "a,\"b,c\",\"d\"\"e\""
        );
        assert_eq!(encode_row(&t, ',', &[s(""), s(""), Datum::Null]), "\"\",,");
        assert_eq!(
            encode_row(&t, ',', &[s("x"), s("#y"), s("z ")]),
            "x,\"#y\",\"z \""
        );
        assert_eq!(
            encode_row(&t, '$', &[s("0"), s("zero"), s("a,b")]),
            "0$zero$a,b"
        );
    }

    #[test]
    fn booleans_read_like_java() {
        let t = [SqlType::Boolean];
        assert_eq!(decode_line(&t, ',', "TRUE"), Ok(vec![Datum::Boolean(true)]));
        assert_eq!(decode_line(&t, ',', "yes"), Ok(vec![Datum::Boolean(false)]));
    }
}
