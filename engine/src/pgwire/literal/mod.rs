//! One bound parameter value (text or binary, as the client sent it) turned into a ksqlDB SQL
//! literal of the right type.
//!
//! The engine plans SQL text, so `$n` becomes a literal the ksqlDB parser types as the client
//! meant: `TRUE`, `42`, `1.5e0` (a DOUBLE: ksqlDB types a number with a point as DECIMAL),
//! `123.45` (a DECIMAL), `'it''s'`, `CAST('2024-05-01' AS DATE)`,
//! `CAST('2024-05-01T12:00:00.000001' AS TIMESTAMP)`, `TO_BYTES('cafe', 'hex')` (ksqlDB has no
//! BYTES literal; TO_BYTES is how ksqlDB writes one) ... A negative number starts with a space
//! so that `1-$1` never becomes the comment `1--5`.
//!
//! Binary values follow Postgres's send/recv formats (big-endian integers and floats, numeric as
//! base-10000 digits, dates as days and timestamps as microseconds since 2000-01-01, jsonb with a
//! version byte). A value that does not decode is refused for that statement only: SQLSTATE
//! 22P03 (invalid_binary_representation) for binary, 22P02 (invalid_text_representation) for
//! text, 0A000 for a type Sluice has no literal for.

mod datetime;
mod numeric;

use chrono::{Duration, NaiveDate, NaiveTime};
use pgwire::api::Type;
use pgwire::error::PgWireError;

use crate::pgwire::errors::user_error;
use datetime::{
    date_literal, epoch, parse_timestamp, parse_timestamptz, time_literal, timestamp_literal,
};
use numeric::{numeric_binary, numeric_text};

/// Why a parameter value has no literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiteralError {
    /// A binary value that is not what its type's binary format says (22P03).
    Binary(String),
    /// A text value that does not read as its type (22P02).
    Text(String),
    /// A type Sluice has no literal for (0A000).
    Unsupported(String),
}

impl LiteralError {
    /// The error for parameter `$n` (`index` is n - 1) as the client sees it.
    pub fn into_pgwire(self, index: usize) -> PgWireError {
        let n = index + 1;
        match self {
            LiteralError::Binary(m) => user_error(
                "22P03",
                format!("parameter ${n}: invalid binary value: {m}"),
            ),
            LiteralError::Text(m) => user_error("22P02", format!("parameter ${n}: {m}")),
            LiteralError::Unsupported(m) => user_error("0A000", format!("parameter ${n}: {m}")),
        }
    }
}

type Lit = Result<String, LiteralError>;

/// The literal of `value` (None: SQL NULL) bound with type `ty`, in binary format if `binary`.
pub fn literal(ty: &Type, binary: bool, value: Option<&[u8]>) -> Lit {
    let Some(bytes) = value else {
        return Ok("NULL".to_owned());
    };
    if binary {
        binary_literal(ty, bytes)
    } else {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| LiteralError::Text(format!("the {} value is not UTF-8", ty.name())))?;
        text_literal(ty, text)
    }
}

fn binary_literal(ty: &Type, b: &[u8]) -> Lit {
    match *ty {
        Type::BOOL => match fixed::<1>(ty, b)? {
            [0] => Ok("FALSE".to_owned()),
            [1] => Ok("TRUE".to_owned()),
            [other] => Err(LiteralError::Binary(format!(
                "a boolean is the byte 0 or 1, not {other}"
            ))),
        },
        Type::INT2 => Ok(integer(i16::from_be_bytes(fixed(ty, b)?).into())),
        Type::INT4 => Ok(integer(i32::from_be_bytes(fixed(ty, b)?).into())),
        Type::INT8 => Ok(integer(i64::from_be_bytes(fixed(ty, b)?))),
        Type::FLOAT4 => Ok(float(f32::from_be_bytes(fixed(ty, b)?))),
        Type::FLOAT8 => Ok(float(f64::from_be_bytes(fixed(ty, b)?))),
        Type::NUMERIC => numeric_binary(b),
        Type::DATE => {
            let days = i32::from_be_bytes(fixed(ty, b)?);
            let date = epoch()
                .date()
                .checked_add_signed(Duration::days(days.into()))
                .ok_or_else(|| out_of_range("date", days))?;
            Ok(date_literal(date))
        }
        Type::TIME => {
            let micros = i64::from_be_bytes(fixed(ty, b)?);
            let time = u32::try_from(micros.div_euclid(1_000_000))
                .ok()
                .filter(|_| (0..86_400_000_000).contains(&micros))
                .and_then(|secs| {
                    let nanos = micros.rem_euclid(1_000_000) as u32 * 1000;
                    NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos)
                })
                .ok_or_else(|| out_of_range("time", micros))?;
            Ok(time_literal(time))
        }
        Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            let micros = i64::from_be_bytes(fixed(ty, b)?);
            let at = epoch()
                .checked_add_signed(Duration::microseconds(micros))
                .ok_or_else(|| out_of_range(ty.name(), micros))?;
            Ok(timestamp_literal(at))
        }
        Type::BYTEA => Ok(bytes_literal(b)),
        Type::UUID => {
            let raw: [u8; 16] = fixed(ty, b)?;
            Ok(string(&uuid_text(&raw)))
        }
        Type::JSONB => match b.split_first() {
            Some((1, json)) => json_literal(utf8(ty, json)?).map_err(LiteralError::Binary),
            Some((version, _)) => Err(LiteralError::Binary(format!(
                "jsonb version {version} (only version 1 exists)"
            ))),
            None => Err(LiteralError::Binary(
                "an empty jsonb value (it starts with its version byte)".to_owned(),
            )),
        },
        Type::JSON => json_literal(utf8(ty, b)?).map_err(LiteralError::Binary),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
            Ok(string(utf8(ty, b)?))
        }
        ref other => Err(unsupported(other)),
    }
}

fn text_literal(ty: &Type, text: &str) -> Lit {
    let t = text.trim();
    let bad =
        |what: &str| LiteralError::Text(format!("invalid input syntax for type {what}: {text:?}"));
    match *ty {
        Type::BOOL => match t.to_ascii_lowercase().as_str() {
            "t" | "true" | "y" | "yes" | "on" | "1" => Ok("TRUE".to_owned()),
            "f" | "false" | "n" | "no" | "off" | "0" => Ok("FALSE".to_owned()),
            _ => Err(bad("boolean")),
        },
        Type::INT2 => t
            .parse::<i16>()
            .map(|v| integer(v.into()))
            .map_err(|_| bad("smallint")),
        Type::INT4 => t
            .parse::<i32>()
            .map(|v| integer(v.into()))
            .map_err(|_| bad("integer")),
        Type::INT8 => t.parse::<i64>().map(integer).map_err(|_| bad("bigint")),
        Type::FLOAT4 => parse_float(t)
            .map(|v| float(v as f32))
            .ok_or_else(|| bad("real")),
        Type::FLOAT8 => parse_float(t)
            .map(float)
            .ok_or_else(|| bad("double precision")),
        Type::NUMERIC => numeric_text(t).ok_or_else(|| bad("numeric")),
        Type::DATE => NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map(date_literal)
            .map_err(|_| bad("date")),
        Type::TIME => ["%H:%M:%S%.f", "%H:%M"]
            .iter()
            .find_map(|f| NaiveTime::parse_from_str(t, f).ok())
            .map(time_literal)
            .ok_or_else(|| bad("time")),
        Type::TIMESTAMP => parse_timestamp(t)
            .map(timestamp_literal)
            .ok_or_else(|| bad("timestamp")),
        Type::TIMESTAMPTZ => parse_timestamptz(t)
            .map(timestamp_literal)
            .ok_or_else(|| bad("timestamp with time zone")),
        Type::BYTEA => bytea_text(text)
            .map(|b| bytes_literal(&b))
            .ok_or_else(|| bad("bytea")),
        Type::UUID => uuid_from_text(t)
            .map(|u| string(&uuid_text(&u)))
            .ok_or_else(|| bad("uuid")),
        Type::JSON | Type::JSONB => json_literal(text).map_err(LiteralError::Text),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => Ok(string(text)),
        ref other => Err(unsupported(other)),
    }
}

fn unsupported(ty: &Type) -> LiteralError {
    LiteralError::Unsupported(format!(
        "Sluice takes parameters of type boolean, smallint, integer, bigint, real, double \
         precision, numeric, text, varchar, char, name, date, time, timestamp, timestamptz, \
         bytea, json, jsonb and uuid, not {}",
        ty.name()
    ))
}

/// The `N` bytes of a fixed-size binary value.
fn fixed<const N: usize>(ty: &Type, b: &[u8]) -> Result<[u8; N], LiteralError> {
    b.try_into().map_err(|_| {
        LiteralError::Binary(format!(
            "{} bytes for a {} (it takes {N})",
            b.len(),
            ty.name()
        ))
    })
}

fn utf8<'a>(ty: &Type, b: &'a [u8]) -> Result<&'a str, LiteralError> {
    std::str::from_utf8(b)
        .map_err(|_| LiteralError::Binary(format!("the {} value is not UTF-8", ty.name())))
}

fn out_of_range(ty: &str, value: impl std::fmt::Display) -> LiteralError {
    LiteralError::Binary(format!("{value} is out of range for a {ty}"))
}

/// A quoted string literal (a quote inside is doubled; backslashes are plain characters).
fn string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// An integer; a negative one starts with a space (`1-$1` must not read as a comment).
fn integer(v: i64) -> String {
    if v < 0 {
        format!(" {v}")
    } else {
        v.to_string()
    }
}

/// A DOUBLE: with an exponent, which is how ksqlDB tells a DOUBLE from a DECIMAL literal. NaN
/// and the infinities have no literal and are cast from text.
fn float<F: Into<f64> + std::fmt::LowerExp + Copy>(v: F) -> String {
    let wide: f64 = v.into();
    if wide.is_nan() {
        "CAST('NaN' AS DOUBLE)".to_owned()
    } else if wide.is_infinite() {
        let sign = if wide < 0.0 { "-" } else { "" };
        format!("CAST('{sign}Infinity' AS DOUBLE)")
    } else if wide < 0.0 {
        format!(" {v:e}")
    } else {
        format!("{v:e}")
    }
}

/// Postgres's text forms of a float: a number, `NaN`, `Infinity`, `-Infinity` (`inf` too).
fn parse_float(t: &str) -> Option<f64> {
    match t.to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        "infinity" | "+infinity" | "inf" | "+inf" => Some(f64::INFINITY),
        "-infinity" | "-inf" => Some(f64::NEG_INFINITY),
        _ if t.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c)) => t.parse().ok(),
        _ => None,
    }
}

/// A DECIMAL literal of `negative`, integer digits `whole` and fraction digits `fraction`:
/// `123.45`; an integer too large for BIGINT is cast so that it stays a DECIMAL.
fn bytes_literal(b: &[u8]) -> String {
    format!("TO_BYTES('{}', 'hex')", hex::encode(b))
}

/// Postgres's text bytea: `\x` and hex digits, or the escape format (`\\`, `\nnn` octal).
fn bytea_text(text: &str) -> Option<Vec<u8>> {
    if let Some(digits) = text.strip_prefix("\\x") {
        return hex::decode(digits).ok();
    }
    let raw = text.as_bytes();
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != b'\\' {
            out.push(raw[i]);
            i += 1;
        } else if raw.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            let octal = std::str::from_utf8(raw.get(i + 1..i + 4)?).ok()?;
            out.push(u8::from_str_radix(octal, 8).ok()?);
            i += 4;
        }
    }
    Some(out)
}

fn uuid_text(u: &[u8; 16]) -> String {
    let h = hex::encode(u);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A uuid as Postgres reads it: 32 hex digits, dashes and braces anywhere Postgres allows.
fn uuid_from_text(t: &str) -> Option<[u8; 16]> {
    let inner = t
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or(t);
    let digits: String = inner.chars().filter(|c| *c != '-').collect();
    let mut out = [0u8; 16];
    hex::decode_to_slice(digits, &mut out).ok()?;
    Some(out)
}

/// ksqlDB has no JSON type: a JSON value is its text, checked to be JSON.
fn json_literal(text: &str) -> Result<String, String> {
    serde_json::from_str::<serde_json::Value>(text)
        .map(|_| string(text))
        .map_err(|e| format!("invalid input syntax for type json: {e}"))
}

/// What the tests of every literal module call: a value in binary or text, and its literal.
#[cfg(test)]
pub(super) mod test_support {
    use super::{Lit, literal};
    use pgwire::api::Type;

    /// The literal of `bytes` sent in binary as `ty`.
    pub fn bin(ty: &Type, bytes: &[u8]) -> Lit {
        literal(ty, true, Some(bytes))
    }

    /// The literal of `value` sent as text as `ty`.
    pub fn text(ty: &Type, value: &str) -> Lit {
        literal(ty, false, Some(value.as_bytes()))
    }

    /// The literal, failing the test if there is none.
    pub fn ok(lit: Lit) -> String {
        lit.unwrap_or_else(|e| panic!("no literal: {e:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{bin, ok, text};
    use super::*;

    #[test]
    fn null_is_null_in_every_type_and_format() {
        for ty in [Type::INT4, Type::TEXT, Type::BYTEA, Type::TIMESTAMPTZ] {
            assert_eq!(literal(&ty, true, None), Ok("NULL".to_owned()));
            assert_eq!(literal(&ty, false, None), Ok("NULL".to_owned()));
        }
    }

    #[test]
    fn booleans() {
        assert_eq!(ok(bin(&Type::BOOL, &[1])), "TRUE");
        assert_eq!(ok(bin(&Type::BOOL, &[0])), "FALSE");
        assert_eq!(ok(text(&Type::BOOL, "t")), "TRUE");
        assert_eq!(ok(text(&Type::BOOL, " off ")), "FALSE");
        assert!(matches!(
            bin(&Type::BOOL, &[2]),
            Err(LiteralError::Binary(_))
        ));
        assert!(matches!(
            text(&Type::BOOL, "maybe"),
            Err(LiteralError::Text(_))
        ));
    }

    #[test]
    fn integers_and_negative_ones_never_make_a_comment() {
        assert_eq!(ok(bin(&Type::INT2, &(-7i16).to_be_bytes())), " -7");
        assert_eq!(ok(bin(&Type::INT4, &42i32.to_be_bytes())), "42");
        assert_eq!(
            ok(bin(&Type::INT8, &i64::MAX.to_be_bytes())),
            "9223372036854775807"
        );
        assert_eq!(ok(text(&Type::INT8, "-12")), " -12");
        // `1-$1` with -12 stays a subtraction.
        let sql = crate::pgwire::params::substitute("SELECT 1-$1", &[ok(text(&Type::INT4, "-12"))]);
        assert_eq!(sql.as_deref(), Some("SELECT 1- -12"));
        // A value of the wrong width is malformed, not misread.
        assert_eq!(
            bin(&Type::INT4, &[0, 1]),
            Err(LiteralError::Binary(
                "2 bytes for a int4 (it takes 4)".to_owned()
            ))
        );
        assert!(matches!(
            text(&Type::INT2, "70000"),
            Err(LiteralError::Text(_))
        ));
    }

    #[test]
    fn floats_are_doubles_and_nan_is_cast() {
        assert_eq!(ok(bin(&Type::FLOAT8, &100.5f64.to_be_bytes())), "1.005e2");
        assert_eq!(ok(bin(&Type::FLOAT4, &0.1f32.to_be_bytes())), "1e-1");
        assert_eq!(ok(bin(&Type::FLOAT8, &(-2.5f64).to_be_bytes())), " -2.5e0");
        assert_eq!(
            ok(bin(&Type::FLOAT8, &f64::NAN.to_be_bytes())),
            "CAST('NaN' AS DOUBLE)"
        );
        assert_eq!(ok(text(&Type::FLOAT8, "NaN")), "CAST('NaN' AS DOUBLE)");
        assert_eq!(
            ok(text(&Type::FLOAT8, "-Infinity")),
            "CAST('-Infinity' AS DOUBLE)"
        );
        assert_eq!(ok(text(&Type::FLOAT8, "1e3")), "1e3");
        assert!(matches!(
            text(&Type::FLOAT8, "1,5"),
            Err(LiteralError::Text(_))
        ));
    }

    #[test]
    fn strings_are_quoted_with_quotes_doubled() {
        assert_eq!(ok(text(&Type::TEXT, "it's")), "'it''s'");
        assert_eq!(ok(bin(&Type::VARCHAR, b"a''b")), "'a''''b'");
        // A backslash is a plain character in ksqlDB strings.
        assert_eq!(ok(bin(&Type::TEXT, br"C:\dir")), r"'C:\dir'");
        assert_eq!(ok(bin(&Type::NAME, b"$1")), "'$1'");
        assert!(matches!(
            bin(&Type::TEXT, &[0xff, 0xfe]),
            Err(LiteralError::Binary(_))
        ));
    }

    #[test]
    fn bytes_uuids_and_json() {
        assert_eq!(
            ok(bin(&Type::BYTEA, &[0xca, 0xfe, 0x00])),
            "TO_BYTES('cafe00', 'hex')"
        );
        assert_eq!(ok(text(&Type::BYTEA, r"\xCAFE")), "TO_BYTES('cafe', 'hex')");
        assert_eq!(
            ok(text(&Type::BYTEA, r"a\\\000")),
            "TO_BYTES('615c00', 'hex')"
        );
        let uuid = [
            0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17,
            0x40, 0x00,
        ];
        assert_eq!(
            ok(bin(&Type::UUID, &uuid)),
            "'123e4567-e89b-12d3-a456-426614174000'"
        );
        assert_eq!(
            ok(text(&Type::UUID, "{123E4567E89B12D3A456426614174000}")),
            "'123e4567-e89b-12d3-a456-426614174000'"
        );
        assert!(matches!(
            bin(&Type::UUID, &uuid[..15]),
            Err(LiteralError::Binary(_))
        ));
        assert_eq!(
            ok(bin(&Type::JSONB, b"\x01{\"a\":\"it's\"}")),
            "'{\"a\":\"it''s\"}'"
        );
        assert_eq!(ok(text(&Type::JSON, "[1, 2]")), "'[1, 2]'");
        assert!(matches!(
            bin(&Type::JSONB, b"\x02{}"),
            Err(LiteralError::Binary(_))
        ));
        assert!(matches!(
            text(&Type::JSON, "{a:1}"),
            Err(LiteralError::Text(_))
        ));
    }

    #[test]
    fn errors_carry_their_sqlstate_and_parameter_number() {
        let code = |e: LiteralError| match e.into_pgwire(1) {
            PgWireError::UserError(info) => (info.code.clone(), info.message.clone()),
            other => panic!("{other:?}"),
        };
        let (code_b, message) = code(LiteralError::Binary("x".into()));
        assert_eq!(code_b, "22P03");
        assert!(message.contains("$2"), "{message}");
        assert_eq!(code(LiteralError::Text("x".into())).0, "22P02");
        assert_eq!(code(text(&Type::INTERVAL, "1 day").unwrap_err()).0, "0A000");
    }
}
