//! CHR: the character with a given Unicode code point.

use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::ScalarUDF;

use super::args::{self, ints, out, p, ret, s, strings};
use super::udf::{Category, FunctionSpec, KsqlUdf, Param as P, Sig};

const C: Category = Category::String;

/// CHR's spec, for the catalog.
pub const SPECS: &[FunctionSpec] = &[CHR];

/// CHR as a UDF.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![KsqlUdf::new(&CHR, ret::string, chr).into_udf()]
}

const CHR: FunctionSpec = FunctionSpec {
    name: "CHR",
    aliases: &[],
    category: C,
    description: "The character with the given Unicode code point, given as an INT or as a '\\uXXXX' escape (a surrogate pair for code points above U+FFFF). Invalid input gives NULL.",
    sigs: &[
        Sig::new(&[P::Int], "VARCHAR"),
        Sig::new(&[P::Str], "VARCHAR"),
    ],
};

/// Decodes `\uXXXX` escapes (one, or a surrogate pair) into one character.
fn decode_unicode_escape(x: &str) -> Option<String> {
    let units: Vec<u16> = x
        .split("\\u")
        .skip(1)
        .map(|h| {
            if h.len() == 4 {
                u16::from_str_radix(h, 16).ok()
            } else {
                None
            }
        })
        .collect::<Option<_>>()?;
    if units.is_empty() || !x.starts_with("\\u") {
        return None;
    }
    let decoded = String::from_utf16(&units).ok()?;
    (decoded.chars().count() == 1).then_some(decoded)
}

fn chr(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    if matches!(args::arg(a, 0)?.data_type(), DataType::Int32) {
        let v = ints(a, 0)?;
        return out((0..n)
            .map(|i| {
                let code = u32::try_from(p(v, i)?).ok()?;
                char::from_u32(code).map(String::from)
            })
            .collect::<StringArray>());
    }
    let v = strings(a, 0)?;
    out((0..n)
        .map(|i| decode_unicode_escape(s(v, i)?))
        .collect::<StringArray>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_escapes() {
        assert_eq!(decode_unicode_escape("\\u004b").as_deref(), Some("K"));
        assert_eq!(
            decode_unicode_escape("\\ud820\\udeb8").as_deref(),
            Some("𘊸")
        );
        assert_eq!(decode_unicode_escape("004b"), None);
        assert_eq!(decode_unicode_escape("75"), None);
        assert_eq!(decode_unicode_escape(""), None);
    }
}
