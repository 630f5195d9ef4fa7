//! ksqlDB's JSON functions over JSON text in STRING columns: EXTRACTJSONFIELD, IS_JSON_STRING,
//! JSON_ARRAY_LENGTH, JSON_ARRAY_CONTAINS, JSON_KEYS, JSON_RECORDS, JSON_ITEMS, JSON_CONCAT, and
//! TO_JSON_STRING, which turns any SQL value into JSON text.
//!
//! Invalid JSON is not an error: the functions return NULL (or `false` for the predicates), as
//! ksqlDB does, so one bad record never stops a query.

pub mod scan;
pub mod to_json;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Int32Array, ListBuilder, MapBuilder, StringArray, StringBuilder,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::ScalarUDF;

use super::args::{self, out, ret, s, strings};
use super::udf::{Category, FunctionSpec, KsqlUdf, Param as P, Sig};
use scan::{Kind, Span};

/// Every JSON function's spec, for the catalog.
pub const SPECS: &[FunctionSpec] = &[
    EXTRACTJSONFIELD,
    IS_JSON_STRING,
    JSON_ARRAY_LENGTH,
    JSON_ARRAY_CONTAINS,
    JSON_KEYS,
    JSON_RECORDS,
    JSON_ITEMS,
    JSON_CONCAT,
    to_json::TO_JSON_STRING,
];

/// The JSON functions as UDFs.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        KsqlUdf::new(&EXTRACTJSONFIELD, ret::string, extract).into_udf(),
        KsqlUdf::new(&IS_JSON_STRING, ret::boolean, is_json)
            .handles_null()
            .into_udf(),
        KsqlUdf::new(&JSON_ARRAY_LENGTH, ret::int, array_length).into_udf(),
        KsqlUdf::new(&JSON_ARRAY_CONTAINS, ret::boolean, array_contains)
            .handles_null()
            .into_udf(),
        KsqlUdf::new(&JSON_KEYS, ret::string_array, keys).into_udf(),
        KsqlUdf::new(&JSON_RECORDS, ret::string_map, records).into_udf(),
        KsqlUdf::new(&JSON_ITEMS, ret::string_array, items).into_udf(),
        KsqlUdf::new(&JSON_CONCAT, ret::string, concat).into_udf(),
        to_json::udf(),
    ]
}

const J: Category = Category::Json;
const EXTRACTJSONFIELD: FunctionSpec = FunctionSpec {
    name: "EXTRACTJSONFIELD",
    aliases: &[],
    category: J,
    description: "The value at a JSONPath ($.a.b[0], $['a']) in a JSON string: strings unquoted, anything else as JSON text. NULL if the path is absent or the JSON invalid.",
    sigs: &[Sig::new(&[P::Str, P::Str], "VARCHAR")],
};
const IS_JSON_STRING: FunctionSpec = FunctionSpec {
    name: "IS_JSON_STRING",
    aliases: &[],
    category: J,
    description: "True if the string is one valid JSON value; false otherwise, including for NULL.",
    sigs: &[Sig::new(&[P::Str], "BOOLEAN")],
};
const JSON_ARRAY_LENGTH: FunctionSpec = FunctionSpec {
    name: "JSON_ARRAY_LENGTH",
    aliases: &[],
    category: J,
    description: "The number of elements of a JSON array; NULL if the string is not a JSON array.",
    sigs: &[Sig::new(&[P::Str], "INT")],
};
const JSON_ARRAY_CONTAINS: FunctionSpec = FunctionSpec {
    name: "JSON_ARRAY_CONTAINS",
    aliases: &[],
    category: J,
    description: "True if a JSON array contains the value (a STRING, number, BOOLEAN or NULL); false if not or if the string is not a JSON array.",
    sigs: &[Sig::new(&[P::Str, P::Any], "BOOLEAN")],
};
const JSON_KEYS: FunctionSpec = FunctionSpec {
    name: "JSON_KEYS",
    aliases: &[],
    category: J,
    description: "The keys of a JSON object, in document order; NULL if the string is not a JSON object.",
    sigs: &[Sig::new(&[P::Str], "ARRAY<VARCHAR>")],
};
const JSON_RECORDS: FunctionSpec = FunctionSpec {
    name: "JSON_RECORDS",
    aliases: &[],
    category: J,
    description: "The members of a JSON object as a map from key to value text; NULL if the string is not a JSON object.",
    sigs: &[Sig::new(&[P::Str], "MAP<VARCHAR, VARCHAR>")],
};
const JSON_ITEMS: FunctionSpec = FunctionSpec {
    name: "JSON_ITEMS",
    aliases: &[],
    category: J,
    description: "The elements of a JSON array, each as JSON text; NULL if the string is not a JSON array.",
    sigs: &[Sig::new(&[P::Str], "ARRAY<VARCHAR>")],
};
const JSON_CONCAT: FunctionSpec = FunctionSpec {
    name: "JSON_CONCAT",
    aliases: &[],
    category: J,
    description: "Merges JSON objects (later keys win), or concatenates arrays, appending non-array values. NULL if any argument is NULL or not valid JSON.",
    sigs: &[Sig::variadic(&[P::Str, P::Str], "VARCHAR")],
};

/// One step of a JSONPath.
#[derive(Debug, PartialEq)]
enum Step {
    Key(String),
    Index(i64),
}

/// `$.a.b[0]['c']` → steps; `None` for a path ksqlDB would reject.
fn parse_path(path: &str) -> Option<Vec<Step>> {
    let rest = path.trim().strip_prefix('$')?;
    let chars: Vec<char> = rest.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && chars[end] != '.' && chars[end] != '[' {
                    end += 1;
                }
                if end == start {
                    return None;
                }
                steps.push(Step::Key(chars[start..end].iter().collect()));
                i = end;
            }
            '[' => {
                let close = (i..chars.len()).find(|&j| chars[j] == ']')?;
                let inner: String = chars[i + 1..close].iter().collect();
                let inner = inner.trim();
                if let Some(quoted) = inner
                    .strip_prefix('\'')
                    .and_then(|x| x.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|x| x.strip_suffix('"')))
                {
                    steps.push(Step::Key(quoted.to_string()));
                } else {
                    steps.push(Step::Index(inner.parse().ok()?));
                }
                i = close + 1;
            }
            _ => return None,
        }
    }
    Some(steps)
}

fn navigate<'a>(mut value: Span<'a>, steps: &[Step]) -> Option<Span<'a>> {
    for step in steps {
        value = match step {
            Step::Key(key) => {
                scan::object_entries(value)
                    .into_iter()
                    .find(|(k, _)| scan::unescape(*k).as_deref() == Some(key))?
                    .1
            }
            Step::Index(index) => {
                let index = usize::try_from(*index).ok()?;
                scan::array_items(value).into_iter().nth(index)?
            }
        };
    }
    Some(value)
}

fn extract(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let (json, path) = (strings(a, 0)?, strings(a, 1)?);
    let mut cached: Option<(String, Option<Vec<Step>>)> = None;
    let mut result = Vec::with_capacity(n);
    for i in 0..n {
        let (Some(text), Some(p)) = (s(json, i), s(path, i)) else {
            result.push(None);
            continue;
        };
        if cached.as_ref().is_none_or(|(c, _)| c != p) {
            cached = Some((p.to_string(), parse_path(p)));
        }
        let steps = cached.as_ref().and_then(|(_, steps)| steps.as_deref());
        let value = steps.and_then(|steps| {
            let found = navigate(scan::first_value(text)?, steps)?;
            if found.kind == Kind::Null {
                return None;
            }
            scan::as_text(found)
        });
        result.push(value);
    }
    out(StringArray::from(result))
}

/// The typed first argument, or `None` when it is the untyped NULL literal.
fn json_arg(a: &[ArrayRef]) -> Result<Option<&StringArray>> {
    match a.first() {
        Some(x) if matches!(x.data_type(), DataType::Null) => Ok(None),
        _ => strings(a, 0).map(Some),
    }
}

fn is_json(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let json = json_arg(a)?;
    out((0..n)
        .map(|i| {
            Some(
                json.and_then(|j| s(j, i))
                    .and_then(scan::whole_value)
                    .is_some(),
            )
        })
        .collect::<BooleanArray>())
}

fn array_length(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    out(strings(a, 0)?
        .iter()
        .map(|x| {
            let v = scan::whole_value(x?)?;
            (v.kind == Kind::Array).then(|| scan::array_items(v).len() as i32)
        })
        .collect::<Int32Array>())
}

/// Whether a JSON array element equals row `i` of `needle`.
fn element_matches(item: Span<'_>, needle: &ArrayRef, i: usize) -> Result<bool> {
    if matches!(needle.data_type(), DataType::Null) || needle.is_null(i) {
        return Ok(item.kind == Kind::Null);
    }
    let one = std::slice::from_ref(needle);
    Ok(match needle.data_type() {
        DataType::Utf8 => {
            item.kind == Kind::String && scan::unescape(item).as_deref() == s(strings(one, 0)?, i)
        }
        DataType::Boolean => {
            item.kind == Kind::Bool && item.text == args::booleans(one, 0)?.value(i).to_string()
        }
        DataType::Int32 => {
            item.kind == Kind::Number
                && item.text.parse::<i64>().ok() == Some(i64::from(args::ints(one, 0)?.value(i)))
        }
        DataType::Int64 => {
            item.kind == Kind::Number
                && item.text.parse::<i64>().ok() == Some(args::bigints(one, 0)?.value(i))
        }
        DataType::Float64 => {
            item.kind == Kind::Number
                && item.text.parse::<f64>().ok() == Some(args::doubles(one, 0)?.value(i))
        }
        _ => false,
    })
}

fn array_contains(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let json = json_arg(a)?;
    let needle = args::arg(a, 1)?;
    let needle = match needle.data_type() {
        DataType::Utf8View | DataType::LargeUtf8 => {
            datafusion::arrow::compute::cast(needle, &DataType::Utf8)?
        }
        DataType::Int8 | DataType::Int16 | DataType::UInt8 | DataType::UInt16 => {
            datafusion::arrow::compute::cast(needle, &DataType::Int32)?
        }
        DataType::Float32 | DataType::Decimal128(..) => {
            datafusion::arrow::compute::cast(needle, &DataType::Float64)?
        }
        _ => needle.clone(),
    };
    let mut result = Vec::with_capacity(n);
    for i in 0..n {
        let array = json
            .and_then(|j| s(j, i))
            .and_then(scan::whole_value)
            .filter(|v| v.kind == Kind::Array);
        let mut found = false;
        if let Some(array) = array {
            for item in scan::array_items(array) {
                if element_matches(item, &needle, i)? {
                    found = true;
                    break;
                }
            }
        }
        result.push(Some(found));
    }
    out(BooleanArray::from(result))
}

fn keys(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    let mut builder = ListBuilder::new(StringBuilder::new());
    for x in strings(a, 0)?.iter() {
        match x
            .and_then(scan::whole_value)
            .filter(|v| v.kind == Kind::Object)
        {
            Some(object) => {
                for (key, _) in scan::object_entries(object) {
                    builder.values().append_option(scan::unescape(key));
                }
                builder.append(true);
            }
            None => builder.append(false),
        }
    }
    out(builder.finish())
}

fn records(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    let mut builder = MapBuilder::new(
        Some(args::map_field_names()),
        StringBuilder::new(),
        StringBuilder::new(),
    );
    for x in strings(a, 0)?.iter() {
        match x
            .and_then(scan::whole_value)
            .filter(|v| v.kind == Kind::Object)
        {
            Some(object) => {
                for (key, value) in scan::object_entries(object) {
                    let Some(key) = scan::unescape(key) else {
                        continue;
                    };
                    builder.keys().append_value(key);
                    builder.values().append_option(match value.kind {
                        Kind::Null => None,
                        _ => scan::as_text(value),
                    });
                }
                builder.append(true)?;
            }
            None => builder.append(false)?,
        }
    }
    out(builder.finish())
}

fn items(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    let mut builder = ListBuilder::new(StringBuilder::new());
    for x in strings(a, 0)?.iter() {
        match x
            .and_then(scan::whole_value)
            .filter(|v| v.kind == Kind::Array)
        {
            Some(array) => {
                for item in scan::array_items(array) {
                    builder.values().append_value(scan::compact(item.text));
                }
                builder.append(true);
            }
            None => builder.append(false),
        }
    }
    out(builder.finish())
}

/// JSON_CONCAT of already-parsed documents.
fn concat_values(values: &[Span<'_>]) -> String {
    if values.iter().all(|v| v.kind == Kind::Object) {
        let mut merged: Vec<(String, String)> = Vec::new();
        for object in values {
            for (key, value) in scan::object_entries(*object) {
                let (key, value) = (scan::compact(key.text), scan::compact(value.text));
                match merged.iter_mut().find(|(k, _)| *k == key) {
                    Some(entry) => entry.1 = value,
                    None => merged.push((key, value)),
                }
            }
        }
        let members: Vec<String> = merged
            .into_iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect();
        return format!("{{{}}}", members.join(","));
    }
    let mut elements = Vec::new();
    for value in values {
        if value.kind == Kind::Array {
            elements.extend(
                scan::array_items(*value)
                    .into_iter()
                    .map(|x| scan::compact(x.text)),
            );
        } else {
            elements.push(scan::compact(value.text));
        }
    }
    format!("[{}]", elements.join(","))
}

fn concat(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let columns = (0..a.len())
        .map(|i| strings(a, i))
        .collect::<Result<Vec<_>>>()?;
    out((0..n)
        .map(|i| {
            let values = columns
                .iter()
                .map(|c| s(c, i).and_then(scan::whole_value))
                .collect::<Option<Vec<_>>>()?;
            Some(concat_values(&values))
        })
        .collect::<StringArray>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            parse_path("$.a['b c'][2]"),
            Some(vec![
                Step::Key("a".into()),
                Step::Key("b c".into()),
                Step::Index(2)
            ])
        );
        assert_eq!(parse_path("$.@type"), Some(vec![Step::Key("@type".into())]));
        assert_eq!(parse_path("a.b"), None);
        assert_eq!(parse_path("$..a"), None);
    }
}
