//! SPLIT and SPLIT_TO_MAP: breaking a string (or BYTES) into an array, or into a map.

use datafusion::arrow::array::{ArrayRef, BinaryBuilder, ListBuilder, MapBuilder, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::ScalarUDF;

use super::args::{self, b, binaries, out, ret, s, strings};
use super::udf::{Category, FunctionSpec, KsqlUdf, Param as P, Sig};

const C: Category = Category::String;

/// SPLIT's and SPLIT_TO_MAP's specs, for the catalog.
pub const SPECS: &[FunctionSpec] = &[SPLIT, SPLIT_TO_MAP];

/// SPLIT and SPLIT_TO_MAP as UDFs.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        KsqlUdf::new(&SPLIT, split_return, split).into_udf(),
        KsqlUdf::new(&SPLIT_TO_MAP, ret::string_map, split_to_map).into_udf(),
    ]
}

fn is_bytes(a: &[ArrayRef]) -> bool {
    a.first()
        .is_some_and(|a| matches!(a.data_type(), DataType::Binary))
}

const SPLIT: FunctionSpec = FunctionSpec {
    name: "SPLIT",
    aliases: &[],
    category: C,
    description: "Splits a string (or BYTES) on a delimiter into an array, keeping empty parts; an empty delimiter splits into single characters. NULL gives NULL.",
    sigs: &[
        Sig::new(&[P::Str, P::Str], "ARRAY<VARCHAR>"),
        Sig::new(&[P::Bytes, P::Bytes], "ARRAY<BYTES>"),
    ],
};
const SPLIT_TO_MAP: FunctionSpec = FunctionSpec {
    name: "SPLIT_TO_MAP",
    aliases: &[],
    category: C,
    description: "Splits a string into entries on entryDelimiter and each entry into key and value on kvDelimiter; entries without kvDelimiter are dropped. NULL or empty delimiters give NULL.",
    sigs: &[Sig::new(&[P::Str, P::Str, P::Str], "MAP<VARCHAR, VARCHAR>")],
};
fn split_return(args: &[DataType]) -> Result<DataType> {
    Ok(args::list_of(match args.first() {
        Some(DataType::Binary) => DataType::Binary,
        _ => DataType::Utf8,
    }))
}

/// Splits keeping empty parts; an empty delimiter splits into single units.
fn split_parts<'a, T: PartialEq>(x: &'a [T], delim: &[T]) -> Vec<&'a [T]> {
    if delim.is_empty() {
        if x.is_empty() {
            return vec![x];
        }
        return x.chunks(1).collect();
    }
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + delim.len() <= x.len() {
        if &x[i..i + delim.len()] == delim {
            parts.push(&x[start..i]);
            i += delim.len();
            start = i;
        } else {
            i += 1;
        }
    }
    parts.push(&x[start..]);
    parts
}

fn split(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    if is_bytes(a) {
        let (v, d) = (binaries(a, 0)?, binaries(a, 1)?);
        let mut builder = ListBuilder::new(BinaryBuilder::new());
        for i in 0..n {
            match (b(v, i), b(d, i)) {
                (Some(x), Some(d)) => {
                    for part in split_parts(x, d) {
                        builder.values().append_value(part);
                    }
                    builder.append(true);
                }
                _ => builder.append(false),
            }
        }
        return out(builder.finish());
    }
    let (v, d) = (strings(a, 0)?, strings(a, 1)?);
    let mut builder = ListBuilder::new(StringBuilder::new());
    for i in 0..n {
        match (s(v, i), s(d, i)) {
            (Some(x), Some("")) if !x.is_empty() => {
                for c in x.chars() {
                    builder.values().append_value(c.to_string());
                }
                builder.append(true);
            }
            (Some(x), Some(d)) => {
                for part in split_parts(x.as_bytes(), d.as_bytes()) {
                    // Splitting valid UTF-8 on a valid UTF-8 delimiter leaves valid UTF-8.
                    builder.values().append_value(String::from_utf8_lossy(part));
                }
                builder.append(true);
            }
            _ => builder.append(false),
        }
    }
    out(builder.finish())
}

fn split_to_map(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let (v, entry_delim, kv_delim) = (strings(a, 0)?, strings(a, 1)?, strings(a, 2)?);
    let mut builder = MapBuilder::new(
        Some(args::map_field_names()),
        StringBuilder::new(),
        StringBuilder::new(),
    );
    for i in 0..n {
        let (Some(x), Some(ed), Some(kd)) = (s(v, i), s(entry_delim, i), s(kv_delim, i)) else {
            builder.append(false)?;
            continue;
        };
        if ed.is_empty() || kd.is_empty() {
            builder.append(false)?;
            continue;
        }
        let mut entries: Vec<(&str, &str)> = Vec::new();
        for entry in x.split(ed).filter(|e| !e.is_empty()) {
            let kv: Vec<&str> = entry.split(kd).collect();
            if kv.len() >= 2 {
                entries.retain(|(k, _)| *k != kv[0]);
                entries.push((kv[0], kv[1]));
            }
        }
        for (k, val) in entries {
            builder.keys().append_value(k);
            builder.values().append_value(val);
        }
        builder.append(true)?;
    }
    out(builder.finish())
}
