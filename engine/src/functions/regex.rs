//! ksqlDB's regular-expression functions: REGEXP_EXTRACT, REGEXP_EXTRACT_ALL, REGEXP_REPLACE and
//! REGEXP_SPLIT_TO_ARRAY.
//!
//! Patterns are compiled with the `regex` crate, whose syntax covers what ksqlDB users write with
//! Java's (classes, groups, quantifiers; not look-around or back-references). The pattern is
//! usually a literal, so the last compiled pattern is kept and reused for the next row. An
//! invalid pattern fails the query with the regex error, as in ksqlDB.

use datafusion::arrow::array::{ArrayRef, ListBuilder, StringArray, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::ScalarUDF;
use regex::Regex;

use super::args::{ints, out, p, ret, s, strings};
use super::udf::{Category, FunctionSpec, KsqlUdf, Param as P, Sig};

/// Every regex function's spec, for the catalog.
pub const SPECS: &[FunctionSpec] = &[
    REGEXP_EXTRACT,
    REGEXP_EXTRACT_ALL,
    REGEXP_REPLACE,
    REGEXP_SPLIT_TO_ARRAY,
];

/// The regex functions as UDFs.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        KsqlUdf::new(&REGEXP_EXTRACT, ret::string, regexp_extract).into_udf(),
        KsqlUdf::new(&REGEXP_EXTRACT_ALL, ret::string_array, regexp_extract_all).into_udf(),
        KsqlUdf::new(&REGEXP_REPLACE, ret::string, regexp_replace).into_udf(),
        KsqlUdf::new(&REGEXP_SPLIT_TO_ARRAY, ret::string_array, regexp_split).into_udf(),
    ]
}

const REGEXP_EXTRACT: FunctionSpec = FunctionSpec {
    name: "REGEXP_EXTRACT",
    aliases: &[],
    category: Category::String,
    description: "The first substring of the input that matches the pattern, or the given capture group of that match; NULL if nothing matches.",
    sigs: &[
        Sig::new(&[P::Str, P::Str], "VARCHAR"),
        Sig::new(&[P::Str, P::Str, P::Int], "VARCHAR"),
    ],
};
const REGEXP_EXTRACT_ALL: FunctionSpec = FunctionSpec {
    name: "REGEXP_EXTRACT_ALL",
    aliases: &[],
    category: Category::String,
    description: "Every substring of the input that matches the pattern (or the given capture group of each match), as an array.",
    sigs: &[
        Sig::new(&[P::Str, P::Str], "ARRAY<VARCHAR>"),
        Sig::new(&[P::Str, P::Str, P::Int], "ARRAY<VARCHAR>"),
    ],
};
const REGEXP_REPLACE: FunctionSpec = FunctionSpec {
    name: "REGEXP_REPLACE",
    aliases: &[],
    category: Category::String,
    description: "Replaces every match of the pattern in the input with the replacement ($1 refers to a capture group). Any NULL argument gives NULL.",
    sigs: &[Sig::new(&[P::Str, P::Str, P::Str], "VARCHAR")],
};
const REGEXP_SPLIT_TO_ARRAY: FunctionSpec = FunctionSpec {
    name: "REGEXP_SPLIT_TO_ARRAY",
    aliases: &[],
    category: Category::String,
    description: "Splits the input around matches of the pattern, keeping empty parts.",
    sigs: &[Sig::new(&[P::Str, P::Str], "ARRAY<VARCHAR>")],
};

/// Compiles patterns, reusing the previous one when the pattern repeats (the usual literal).
#[derive(Default)]
struct Compiled {
    last: Option<(String, Regex)>,
}

impl Compiled {
    fn get(&mut self, pattern: &str) -> Result<&Regex> {
        let stale = self.last.as_ref().is_none_or(|(p, _)| p != pattern);
        if stale {
            match Regex::new(pattern) {
                Ok(re) => self.last = Some((pattern.to_string(), re)),
                Err(e) => return exec_err!("Invalid regular expression pattern '{pattern}': {e}"),
            }
        }
        match &self.last {
            Some((_, re)) => Ok(re),
            None => exec_err!("Invalid regular expression pattern '{pattern}'"),
        }
    }
}

fn group_arg(a: &[ArrayRef], i: usize) -> Result<Option<Option<usize>>> {
    if a.len() < 3 {
        return Ok(Some(Some(0)));
    }
    Ok(p(ints(a, 2)?, i).map(|g| usize::try_from(g).ok()))
}

fn regexp_extract(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let (pattern, input) = (strings(a, 0)?, strings(a, 1)?);
    let mut compiled = Compiled::default();
    let mut result = Vec::with_capacity(n);
    for i in 0..n {
        let (Some(pat), Some(x), Some(group)) = (s(pattern, i), s(input, i), group_arg(a, i)?)
        else {
            result.push(None);
            continue;
        };
        let re = compiled.get(pat)?;
        let value = group.and_then(|g| {
            re.captures(x)
                .and_then(|c| c.get(g))
                .map(|m| m.as_str().to_string())
        });
        result.push(value);
    }
    out(StringArray::from(result))
}

fn regexp_extract_all(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let (pattern, input) = (strings(a, 0)?, strings(a, 1)?);
    let mut compiled = Compiled::default();
    let mut builder = ListBuilder::new(StringBuilder::new());
    for i in 0..n {
        let (Some(pat), Some(x), Some(group)) = (s(pattern, i), s(input, i), group_arg(a, i)?)
        else {
            builder.append(false);
            continue;
        };
        let re = compiled.get(pat)?;
        if let Some(g) = group {
            for caps in re.captures_iter(x) {
                builder
                    .values()
                    .append_option(caps.get(g).map(|m| m.as_str()));
            }
        }
        builder.append(true);
    }
    out(builder.finish())
}

/// Java's `$1` / `${name}` replacement syntax is the regex crate's, except that Java reads `$1a`
/// as group 1 followed by `a`; braces make that explicit.
fn java_replacement(replacement: &str) -> String {
    let mut result = String::with_capacity(replacement.len());
    let mut chars = replacement.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => result.push_str("$$"),
                Some(other) => result.push(other),
                None => {}
            },
            '$' if chars.peek().is_some_and(|d| d.is_ascii_digit()) => {
                result.push_str("${");
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    result.push(*d);
                    chars.next();
                }
                result.push('}');
            }
            other => result.push(other),
        }
    }
    result
}

fn regexp_replace(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let (input, pattern, replacement) = (strings(a, 0)?, strings(a, 1)?, strings(a, 2)?);
    let mut compiled = Compiled::default();
    let mut result = Vec::with_capacity(n);
    for i in 0..n {
        let (Some(x), Some(pat), Some(r)) = (s(input, i), s(pattern, i), s(replacement, i)) else {
            result.push(None);
            continue;
        };
        let re = compiled.get(pat)?;
        result.push(Some(
            re.replace_all(x, java_replacement(r).as_str()).into_owned(),
        ));
    }
    out(StringArray::from(result))
}

fn regexp_split(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let (input, pattern) = (strings(a, 0)?, strings(a, 1)?);
    let mut compiled = Compiled::default();
    let mut builder = ListBuilder::new(StringBuilder::new());
    for i in 0..n {
        let (Some(x), Some(pat)) = (s(input, i), s(pattern, i)) else {
            builder.append(false);
            continue;
        };
        let re = compiled.get(pat)?;
        for part in re.split(x) {
            builder.values().append_value(part);
        }
        builder.append(true);
    }
    out(builder.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacement_groups_are_delimited() {
        assert_eq!(java_replacement("$1a"), "${1}a");
        assert_eq!(java_replacement("cat"), "cat");
        assert_eq!(java_replacement("\\$x"), "$$x");
    }
}
