//! ksqlDB's string functions: case, length, SUBSTRING with ksqlDB's 1-based and negative
//! positions, CONCAT/CONCAT_WS that skip NULLs, Java-style TRIM, padding, INSTR, and INITCAP. Functions that also
//! take `BYTES` (LEN, SUBSTRING, CONCAT, LPAD, RPAD) work on bytes exactly as on characters.

use datafusion::arrow::array::{
    ArrayRef, BinaryArray, BinaryBuilder, Int32Array, StringArray, StringBuilder,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::ScalarUDF;

use super::args::{b, binaries, ints, out, p, ret, s, strings};
use super::udf::{Category, FunctionSpec, KsqlUdf, Param as P, Sig};

const C: Category = Category::String;

/// Every string function's spec, for the catalog.
pub const SPECS: &[FunctionSpec] = &[
    UCASE, LCASE, LEN, SUBSTRING, CONCAT, CONCAT_WS, TRIM, LTRIM, RTRIM, LPAD, RPAD, INSTR, INITCAP,
];

/// The string functions as UDFs.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        KsqlUdf::new(&UCASE, ret::string, ucase).into_udf(),
        KsqlUdf::new(&LCASE, ret::string, lcase).into_udf(),
        KsqlUdf::new(&LEN, ret::int, len).into_udf(),
        KsqlUdf::new(&SUBSTRING, ret::first, substring).into_udf(),
        KsqlUdf::new(&CONCAT, ret::first, concat)
            .handles_null()
            .into_udf(),
        KsqlUdf::new(&CONCAT_WS, ret::first, concat_ws).into_udf(),
        KsqlUdf::new(&TRIM, ret::string, trim).into_udf(),
        KsqlUdf::new(&LTRIM, ret::string, ltrim).into_udf(),
        KsqlUdf::new(&RTRIM, ret::string, rtrim).into_udf(),
        KsqlUdf::new(&LPAD, ret::first, lpad).into_udf(),
        KsqlUdf::new(&RPAD, ret::first, rpad).into_udf(),
        KsqlUdf::new(&INSTR, ret::int, instr)
            .handles_null()
            .into_udf(),
        KsqlUdf::new(&INITCAP, ret::string, initcap).into_udf(),
    ]
}

const UCASE: FunctionSpec = FunctionSpec {
    name: "UCASE",
    aliases: &[],
    category: C,
    description: "Converts a string to upper case. NULL gives NULL.",
    sigs: &[Sig::new(&[P::Str], "VARCHAR")],
};
const LCASE: FunctionSpec = FunctionSpec {
    name: "LCASE",
    aliases: &[],
    category: C,
    description: "Converts a string to lower case. NULL gives NULL.",
    sigs: &[Sig::new(&[P::Str], "VARCHAR")],
};
const LEN: FunctionSpec = FunctionSpec {
    name: "LEN",
    aliases: &[],
    category: C,
    description: "The number of characters in a string, or of bytes in a BYTES value. NULL gives NULL.",
    sigs: &[Sig::new(&[P::Str], "INT"), Sig::new(&[P::Bytes], "INT")],
};
const SUBSTRING: FunctionSpec = FunctionSpec {
    name: "SUBSTRING",
    aliases: &["SUBSTR"],
    category: C,
    description: "The part of a string (or BYTES) from position pos (1-based; a negative pos counts back from the end) to the end, or of at most len characters. Any NULL argument gives NULL.",
    sigs: &[
        Sig::new(&[P::Str, P::Int], "VARCHAR"),
        Sig::new(&[P::Str, P::Int, P::Int], "VARCHAR"),
        Sig::new(&[P::Bytes, P::Int], "BYTES"),
        Sig::new(&[P::Bytes, P::Int, P::Int], "BYTES"),
    ],
};
const CONCAT: FunctionSpec = FunctionSpec {
    name: "CONCAT",
    aliases: &[],
    category: C,
    description: "Concatenates strings (or BYTES values). NULL arguments are skipped, so the result is never NULL.",
    sigs: &[
        Sig::variadic(&[P::Str], "VARCHAR"),
        Sig::variadic(&[P::Bytes], "BYTES"),
    ],
};
const CONCAT_WS: FunctionSpec = FunctionSpec {
    name: "CONCAT_WS",
    aliases: &[],
    category: C,
    description: "Concatenates strings (or BYTES values) with a separator between them. NULL values are skipped; a NULL separator gives NULL.",
    sigs: &[
        Sig::variadic(&[P::Str, P::Str], "VARCHAR"),
        Sig::variadic(&[P::Bytes, P::Bytes], "BYTES"),
    ],
};
const TRIM: FunctionSpec = FunctionSpec {
    name: "TRIM",
    // DataFusion plans the `TRIM(x)` syntax to a function named `btrim`.
    aliases: &["BTRIM"],
    category: C,
    description: "Removes whitespace and control characters (code points up to U+0020) from both ends.",
    sigs: &[Sig::new(&[P::Str], "VARCHAR")],
};
const LTRIM: FunctionSpec = FunctionSpec {
    name: "LTRIM",
    aliases: &[],
    category: C,
    description: "Removes whitespace and control characters from the start of a string.",
    sigs: &[Sig::new(&[P::Str], "VARCHAR")],
};
const RTRIM: FunctionSpec = FunctionSpec {
    name: "RTRIM",
    aliases: &[],
    category: C,
    description: "Removes whitespace and control characters from the end of a string.",
    sigs: &[Sig::new(&[P::Str], "VARCHAR")],
};
const LPAD: FunctionSpec = FunctionSpec {
    name: "LPAD",
    aliases: &[],
    category: C,
    description: "Pads the input on the left with repetitions of padding until it is len long, or truncates it to len. NULL arguments, a negative len or an empty padding give NULL.",
    sigs: &[
        Sig::new(&[P::Str, P::Int, P::Str], "VARCHAR"),
        Sig::new(&[P::Bytes, P::Int, P::Bytes], "BYTES"),
    ],
};
const RPAD: FunctionSpec = FunctionSpec {
    name: "RPAD",
    aliases: &[],
    category: C,
    description: "Pads the input on the right with repetitions of padding until it is len long, or truncates it to len. NULL arguments, a negative len or an empty padding give NULL.",
    sigs: &[
        Sig::new(&[P::Str, P::Int, P::Str], "VARCHAR"),
        Sig::new(&[P::Bytes, P::Int, P::Bytes], "BYTES"),
    ],
};
const INSTR: FunctionSpec = FunctionSpec {
    name: "INSTR",
    aliases: &[],
    category: C,
    description: "The 1-based position of the occurrence-th occurrence of substring in string, searching from position (backwards from the end if negative); 0 if not found or if an input is NULL.",
    sigs: &[
        Sig::new(&[P::Str, P::Str], "INT"),
        Sig::new(&[P::Str, P::Str, P::Int], "INT"),
        Sig::new(&[P::Str, P::Str, P::Int, P::Int], "INT"),
    ],
};
const INITCAP: FunctionSpec = FunctionSpec {
    name: "INITCAP",
    aliases: &[],
    category: C,
    description: "Capitalizes the first letter of each whitespace-separated word and lower-cases the rest.",
    sigs: &[Sig::new(&[P::Str], "VARCHAR")],
};
fn is_bytes(a: &[ArrayRef]) -> bool {
    a.first()
        .is_some_and(|a| matches!(a.data_type(), DataType::Binary))
}

fn map_str(a: &[ArrayRef], f: impl Fn(&str) -> String) -> Result<ArrayRef> {
    let v = strings(a, 0)?;
    out(v.iter().map(|x| x.map(&f)).collect::<StringArray>())
}

fn ucase(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    map_str(a, str::to_uppercase)
}

fn lcase(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    map_str(a, str::to_lowercase)
}

fn len(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    if is_bytes(a) {
        let v = binaries(a, 0)?;
        return out(v
            .iter()
            .map(|x| x.map(|x| x.len() as i32))
            .collect::<Int32Array>());
    }
    let v = strings(a, 0)?;
    out(v
        .iter()
        .map(|x| x.map(|x| x.chars().count() as i32))
        .collect::<Int32Array>())
}

/// ksqlDB's SUBSTRING bounds over a value of `length` units: `[start, end)`.
fn substring_range(length: usize, pos: i32, len: Option<i32>) -> (usize, usize) {
    let length = length as i64;
    let pos = i64::from(pos);
    let start = if pos >= 0 {
        (pos - 1).clamp(0, length)
    } else {
        (length + pos).max(0)
    };
    let end = match len {
        None => length,
        Some(l) if l < 0 => start,
        Some(l) => (start + i64::from(l)).clamp(start, length),
    };
    (start as usize, end as usize)
}

fn substring(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let pos = ints(a, 1)?;
    let len = if a.len() > 2 { Some(ints(a, 2)?) } else { None };
    let len_at = |i: usize| -> Option<Option<i32>> {
        match len {
            None => Some(None),
            Some(l) => p(l, i).map(Some),
        }
    };
    if is_bytes(a) {
        let v = binaries(a, 0)?;
        return out((0..n)
            .map(|i| {
                let (x, pos, len) = (b(v, i)?, p(pos, i)?, len_at(i)?);
                let (start, end) = substring_range(x.len(), pos, len);
                Some(x[start..end].to_vec())
            })
            .collect::<BinaryArray>());
    }
    let v = strings(a, 0)?;
    out((0..n)
        .map(|i| {
            let (x, pos, len) = (s(v, i)?, p(pos, i)?, len_at(i)?);
            let (start, end) = substring_range(x.chars().count(), pos, len);
            Some(x.chars().skip(start).take(end - start).collect::<String>())
        })
        .collect::<StringArray>())
}

fn concat(a: &[ArrayRef], n: usize, rt: &DataType) -> Result<ArrayRef> {
    let typed: Vec<&ArrayRef> = a
        .iter()
        .filter(|x| !matches!(x.data_type(), DataType::Null))
        .collect();
    if matches!(rt, DataType::Binary) {
        let cols: Vec<&BinaryArray> = typed
            .iter()
            .filter_map(|x| x.as_any().downcast_ref())
            .collect();
        let mut builder = BinaryBuilder::new();
        for i in 0..n {
            let mut buf = Vec::new();
            cols.iter()
                .filter_map(|c| b(c, i))
                .for_each(|x| buf.extend_from_slice(x));
            builder.append_value(buf);
        }
        return out(builder.finish());
    }
    let cols: Vec<&StringArray> = typed
        .iter()
        .filter_map(|x| x.as_any().downcast_ref())
        .collect();
    let mut builder = StringBuilder::new();
    for i in 0..n {
        let mut buf = String::new();
        cols.iter()
            .filter_map(|c| s(c, i))
            .for_each(|x| buf.push_str(x));
        builder.append_value(buf);
    }
    out(builder.finish())
}

fn concat_ws(a: &[ArrayRef], n: usize, rt: &DataType) -> Result<ArrayRef> {
    if matches!(rt, DataType::Binary) {
        let sep = binaries(a, 0)?;
        let cols = (1..a.len())
            .map(|i| binaries(a, i))
            .collect::<Result<Vec<_>>>()?;
        return out((0..n)
            .map(|i| {
                let sep = b(sep, i)?;
                let parts: Vec<&[u8]> = cols.iter().filter_map(|c| b(c, i)).collect();
                Some(parts.join(sep))
            })
            .collect::<BinaryArray>());
    }
    let sep = strings(a, 0)?;
    let cols = (1..a.len())
        .map(|i| strings(a, i))
        .collect::<Result<Vec<_>>>()?;
    out((0..n)
        .map(|i| {
            let sep = s(sep, i)?;
            let parts: Vec<&str> = cols.iter().filter_map(|c| s(c, i)).collect();
            Some(parts.join(sep))
        })
        .collect::<StringArray>())
}

/// Java's `String.trim` removes every character up to U+0020.
fn java_space(c: char) -> bool {
    c <= ' '
}

fn trim(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    map_str(a, |x| x.trim_matches(java_space).to_string())
}

fn ltrim(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    map_str(a, |x| x.trim_start_matches(java_space).to_string())
}

fn rtrim(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    map_str(a, |x| x.trim_end_matches(java_space).to_string())
}

/// Pads or truncates `input` to `len` units; `None` for a negative `len` or empty padding.
fn pad<T: Clone>(input: &[T], len: i32, padding: &[T], left: bool) -> Option<Vec<T>> {
    let len = usize::try_from(len).ok()?;
    if padding.is_empty() {
        return None;
    }
    if input.len() >= len {
        return Some(input[..len].to_vec());
    }
    let fill: Vec<T> = padding
        .iter()
        .cycle()
        .take(len - input.len())
        .cloned()
        .collect();
    Some(if left {
        [fill.as_slice(), input].concat()
    } else {
        [input, fill.as_slice()].concat()
    })
}

fn pad_fn(a: &[ArrayRef], n: usize, left: bool) -> Result<ArrayRef> {
    let len = ints(a, 1)?;
    if is_bytes(a) {
        let (v, padding) = (binaries(a, 0)?, binaries(a, 2)?);
        return out((0..n)
            .map(|i| pad(b(v, i)?, p(len, i)?, b(padding, i)?, left))
            .collect::<BinaryArray>());
    }
    let (v, padding) = (strings(a, 0)?, strings(a, 2)?);
    out((0..n)
        .map(|i| {
            let x: Vec<char> = s(v, i)?.chars().collect();
            let padding: Vec<char> = s(padding, i)?.chars().collect();
            pad(&x, p(len, i)?, &padding, left).map(|c| c.into_iter().collect::<String>())
        })
        .collect::<StringArray>())
}

fn lpad(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    pad_fn(a, n, true)
}

fn rpad(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    pad_fn(a, n, false)
}

/// Oracle-style INSTR over characters; 1-based result, 0 when not found.
fn instr_one(hay: &str, needle: &str, position: i32, occurrence: i32) -> i32 {
    let hay: Vec<char> = hay.chars().collect();
    let needle: Vec<char> = needle.chars().collect();
    let n = hay.len() as i64;
    let matches_at = |i: i64| -> bool {
        i >= 0 && (i as usize) + needle.len() <= hay.len() && hay[i as usize..].starts_with(&needle)
    };
    if occurrence <= 0 {
        return 0;
    }
    let mut found = 0;
    if position >= 0 {
        let mut i = i64::from(position.max(1)) - 1;
        while i <= n {
            if matches_at(i) {
                found += 1;
                if found == occurrence {
                    return (i + 1) as i32;
                }
            }
            i += 1;
        }
    } else {
        let mut i = n + i64::from(position);
        while i >= 0 {
            if matches_at(i) {
                found += 1;
                if found == occurrence {
                    return (i + 1) as i32;
                }
            }
            i -= 1;
        }
    }
    0
}

fn instr(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let typed = |i: usize| {
        a.get(i)
            .filter(|x| !matches!(x.data_type(), DataType::Null))
    };
    let hay = typed(0).and_then(|x| x.as_any().downcast_ref::<StringArray>());
    let needle = typed(1).and_then(|x| x.as_any().downcast_ref::<StringArray>());
    let position = if a.len() > 2 { Some(ints(a, 2)?) } else { None };
    let occurrence = if a.len() > 3 { Some(ints(a, 3)?) } else { None };
    out((0..n)
        .map(|i| {
            let (Some(h), Some(nd)) = (hay.and_then(|h| s(h, i)), needle.and_then(|x| s(x, i)))
            else {
                return 0;
            };
            let pos = position.map_or(Some(1), |x| p(x, i));
            let occ = occurrence.map_or(Some(1), |x| p(x, i));
            match (pos, occ) {
                (Some(pos), Some(occ)) => instr_one(h, nd, pos, occ),
                _ => 0,
            }
        })
        .collect::<Int32Array>())
}

fn initcap(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    map_str(a, |x| {
        let mut result = String::with_capacity(x.len());
        let mut word_start = true;
        for c in x.chars() {
            if c.is_whitespace() {
                word_start = true;
                result.push(c);
            } else if word_start {
                result.extend(c.to_uppercase());
                word_start = false;
            } else {
                result.extend(c.to_lowercase());
            }
        }
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_bounds_follow_ksqldb() {
        assert_eq!(substring_range(11, 6, None), (5, 11));
        assert_eq!(substring_range(5, 6, None), (5, 5));
        assert_eq!(substring_range(5, -3, None), (2, 5));
        assert_eq!(substring_range(5, -10, Some(2)), (0, 2));
        assert_eq!(substring_range(5, 0, Some(2)), (0, 2));
        assert_eq!(substring_range(5, 2, Some(-1)), (1, 1));
        assert_eq!(substring_range(5, 4, Some(10)), (3, 5));
    }

    #[test]
    fn instr_counts_occurrences_both_ways() {
        assert_eq!(instr_one("corporate floor", "or", 1, 1), 2);
        assert_eq!(instr_one("corporate floor", "or", 4, 1), 5);
        assert_eq!(instr_one("corporate floor", "or", 4, 2), 14);
        assert_eq!(instr_one("corporate floor", "or", -4, 2), 2);
        assert_eq!(instr_one("short", "or", -4, 2), 0);
        assert_eq!(instr_one("short", "or", 1, 1), 3);
    }

    #[test]
    fn pad_truncates_and_repeats() {
        let f = |x: &str, n, p: &str| {
            pad(
                &x.chars().collect::<Vec<_>>(),
                n,
                &p.chars().collect::<Vec<_>>(),
                true,
            )
            .map(|v| v.into_iter().collect::<String>())
        };
        assert_eq!(f("foo", 7, "Bar").as_deref(), Some("BarBfoo"));
        assert_eq!(f("foo", 2, "Bar").as_deref(), Some("fo"));
        assert_eq!(f("foo", -1, "Bar"), None);
        assert_eq!(f("foo", 7, ""), None);
    }
}
