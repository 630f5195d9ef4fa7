//! Conversions between strings and bytes: ENCODE, TO_BYTES, FROM_BYTES, and the big/little
//! endian readers INT_FROM_BYTES, BIGINT_FROM_BYTES and DOUBLE_FROM_BYTES.
//!
//! Encodings are ksqlDB's four: `hex` (accepting `0x...` and `X'...'` forms), `utf8`, `ascii`
//! (unmappable characters become `?`, bytes above 127 become U+FFFD) and `base64`. Input that does
//! not decode, or an unknown encoding name, gives NULL.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use datafusion::arrow::array::{
    ArrayRef, BinaryArray, Float64Array, Int32Array, Int64Array, StringArray,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::ScalarUDF;

use super::args::{b, binaries, out, ret, s, strings};
use super::udf::{Category, FunctionSpec, KsqlUdf, Param as P, Sig};

/// Every encoding function's spec, for the catalog.
pub const SPECS: &[FunctionSpec] = &[
    ENCODE,
    TO_BYTES,
    FROM_BYTES,
    INT_FROM_BYTES,
    BIGINT_FROM_BYTES,
    DOUBLE_FROM_BYTES,
];

/// The encoding functions as UDFs.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        KsqlUdf::new(&ENCODE, ret::string, encode).into_udf(),
        KsqlUdf::new(&TO_BYTES, ret::bytes, to_bytes).into_udf(),
        KsqlUdf::new(&FROM_BYTES, ret::string, from_bytes).into_udf(),
        KsqlUdf::new(&INT_FROM_BYTES, ret::int, int_from_bytes).into_udf(),
        KsqlUdf::new(&BIGINT_FROM_BYTES, ret::bigint, bigint_from_bytes).into_udf(),
        KsqlUdf::new(&DOUBLE_FROM_BYTES, ret::double, double_from_bytes).into_udf(),
    ]
}

const ENCODE: FunctionSpec = FunctionSpec {
    name: "ENCODE",
    aliases: &[],
    category: Category::String,
    description: "Re-encodes a string from inputEncoding to outputEncoding; the encodings are hex, utf8, ascii and base64. Undecodable input or an unknown encoding gives NULL.",
    sigs: &[Sig::new(&[P::Str, P::Str, P::Str], "VARCHAR")],
};
const TO_BYTES: FunctionSpec = FunctionSpec {
    name: "TO_BYTES",
    aliases: &[],
    category: Category::Bytes,
    description: "Decodes a string in the given encoding (hex, utf8, ascii, base64) into BYTES.",
    sigs: &[Sig::new(&[P::Str, P::Str], "BYTES")],
};
const FROM_BYTES: FunctionSpec = FunctionSpec {
    name: "FROM_BYTES",
    aliases: &[],
    category: Category::Bytes,
    description: "Encodes BYTES as a string in the given encoding (hex, utf8, ascii, base64).",
    sigs: &[Sig::new(&[P::Bytes, P::Str], "VARCHAR")],
};
const INT_FROM_BYTES: FunctionSpec = FunctionSpec {
    name: "INT_FROM_BYTES",
    aliases: &[],
    category: Category::Bytes,
    description: "Reads 4 bytes as an INT, big endian unless 'LITTLE_ENDIAN' is given. Any other length gives NULL.",
    sigs: &[
        Sig::new(&[P::Bytes], "INT"),
        Sig::new(&[P::Bytes, P::Str], "INT"),
    ],
};
const BIGINT_FROM_BYTES: FunctionSpec = FunctionSpec {
    name: "BIGINT_FROM_BYTES",
    aliases: &[],
    category: Category::Bytes,
    description: "Reads 8 bytes as a BIGINT, big endian unless 'LITTLE_ENDIAN' is given. Any other length gives NULL.",
    sigs: &[
        Sig::new(&[P::Bytes], "BIGINT"),
        Sig::new(&[P::Bytes, P::Str], "BIGINT"),
    ],
};
const DOUBLE_FROM_BYTES: FunctionSpec = FunctionSpec {
    name: "DOUBLE_FROM_BYTES",
    aliases: &[],
    category: Category::Bytes,
    description: "Reads 8 bytes as a DOUBLE, big endian unless 'LITTLE_ENDIAN' is given. Any other length gives NULL.",
    sigs: &[
        Sig::new(&[P::Bytes], "DOUBLE"),
        Sig::new(&[P::Bytes, P::Str], "DOUBLE"),
    ],
};

/// Decodes text in `encoding` into bytes.
pub fn decode(text: &str, encoding: &str) -> Option<Vec<u8>> {
    match encoding.to_ascii_lowercase().as_str() {
        "hex" => decode_hex(text),
        "utf8" => Some(text.as_bytes().to_vec()),
        "ascii" => Some(
            text.chars()
                .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
                .collect(),
        ),
        "base64" => STANDARD.decode(text).ok(),
        _ => None,
    }
}

/// Encodes bytes as text in `encoding`; `upper_hex` picks the hex digits' case.
pub fn encode_bytes(bytes: &[u8], encoding: &str, upper_hex: bool) -> Option<String> {
    match encoding.to_ascii_lowercase().as_str() {
        "hex" if upper_hex => Some(hex::encode_upper(bytes)),
        "hex" => Some(hex::encode(bytes)),
        "utf8" => Some(String::from_utf8_lossy(bytes).into_owned()),
        "ascii" => Some(
            bytes
                .iter()
                .map(|&x| if x.is_ascii() { x as char } else { '\u{FFFD}' })
                .collect(),
        ),
        "base64" => Some(STANDARD.encode(bytes)),
        _ => None,
    }
}

/// Hex in ksqlDB's accepted forms: `abcd`, `0xabcd` (odd length padded with a leading 0) and
/// `X'abcd'`.
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if let Some(rest) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        if rest.len() % 2 == 1 {
            return hex::decode(format!("0{rest}")).ok();
        }
        return hex::decode(rest).ok();
    }
    if let Some(rest) = text.strip_prefix("X'").or_else(|| text.strip_prefix("x'")) {
        return hex::decode(rest.strip_suffix('\'')?).ok();
    }
    hex::decode(text).ok()
}

fn encode(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let (v, from, to) = (strings(a, 0)?, strings(a, 1)?, strings(a, 2)?);
    out((0..n)
        .map(|i| encode_bytes(&decode(s(v, i)?, s(from, i)?)?, s(to, i)?, false))
        .collect::<StringArray>())
}

fn to_bytes(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let (v, enc) = (strings(a, 0)?, strings(a, 1)?);
    let mut result = Vec::with_capacity(n);
    for i in 0..n {
        let (Some(x), Some(e)) = (s(v, i), s(enc, i)) else {
            result.push(None);
            continue;
        };
        match decode(x, e) {
            Some(bytes) => result.push(Some(bytes)),
            None if !matches!(
                e.to_ascii_lowercase().as_str(),
                "hex" | "utf8" | "ascii" | "base64"
            ) =>
            {
                return exec_err!(
                    "TO_BYTES: unknown encoding '{e}'; use hex, utf8, ascii or base64"
                );
            }
            None => result.push(None),
        }
    }
    out(BinaryArray::from_iter(result))
}

fn from_bytes(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let (v, enc) = (binaries(a, 0)?, strings(a, 1)?);
    out((0..n)
        .map(|i| encode_bytes(b(v, i)?, s(enc, i)?, true))
        .collect::<StringArray>())
}

/// The bytes of row `i` as a fixed-size array in big-endian order, or `None` if NULL or of the
/// wrong length.
fn fixed<const N: usize>(a: &[ArrayRef], i: usize) -> Result<Option<[u8; N]>> {
    let v = binaries(a, 0)?;
    let little = if a.len() > 1 {
        match s(strings(a, 1)?, i) {
            None => return Ok(None),
            Some(order) => match order.to_ascii_uppercase().as_str() {
                "BIG_ENDIAN" => false,
                "LITTLE_ENDIAN" => true,
                other => {
                    return exec_err!(
                        "byte order must be BIG_ENDIAN or LITTLE_ENDIAN, not '{other}'"
                    );
                }
            },
        }
    } else {
        false
    };
    Ok(b(v, i)
        .and_then(|x| <[u8; N]>::try_from(x).ok())
        .map(|mut x| {
            if little {
                x.reverse();
            }
            x
        }))
}

fn int_from_bytes(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let values = (0..n)
        .map(|i| Ok(fixed::<4>(a, i)?.map(i32::from_be_bytes)))
        .collect::<Result<Vec<_>>>()?;
    out(Int32Array::from(values))
}

fn bigint_from_bytes(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let values = (0..n)
        .map(|i| Ok(fixed::<8>(a, i)?.map(i64::from_be_bytes)))
        .collect::<Result<Vec<_>>>()?;
    out(Int64Array::from(values))
}

fn double_from_bytes(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let values = (0..n)
        .map(|i| Ok(fixed::<8>(a, i)?.map(f64::from_be_bytes)))
        .collect::<Result<Vec<_>>>()?;
    out(Float64Array::from(values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_forms() {
        assert_eq!(decode_hex("4578").as_deref(), Some(&b"Ex"[..]));
        assert_eq!(decode_hex("0x578").as_deref(), Some(&[0x05, 0x78][..]));
        assert_eq!(decode_hex("X'4578'").as_deref(), Some(&b"Ex"[..]));
        assert_eq!(decode_hex("X''").as_deref(), Some(&b""[..]));
        assert_eq!(decode_hex("578"), None);
        assert_eq!(decode_hex("0x0x"), None);
        assert_eq!(decode_hex("X'"), None);
        assert_eq!(decode_hex("x'4578"), None);
    }
}
