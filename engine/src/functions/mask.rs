//! ksqlDB's masking functions: MASK, MASK_KEEP_LEFT, MASK_KEEP_RIGHT, MASK_LEFT, MASK_RIGHT.
//!
//! Upper-case letters become `X`, lower-case `x`, digits `n` and anything else `-`, unless the
//! optional replacement arguments say otherwise; a NULL replacement leaves that class unmasked.

use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::ScalarUDF;

use super::args::{ints, out, p, ret, s, strings};
use super::udf::{Category, FunctionSpec, KsqlUdf, Param as P, Sig};

/// Every mask function's spec, for the catalog.
pub const SPECS: &[FunctionSpec] = &[MASK, MASK_KEEP_LEFT, MASK_KEEP_RIGHT, MASK_LEFT, MASK_RIGHT];

/// The mask functions as UDFs.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        KsqlUdf::new(&MASK, ret::string, mask)
            .handles_null()
            .into_udf(),
        KsqlUdf::new(&MASK_KEEP_LEFT, ret::string, mask_keep_left)
            .handles_null()
            .into_udf(),
        KsqlUdf::new(&MASK_KEEP_RIGHT, ret::string, mask_keep_right)
            .handles_null()
            .into_udf(),
        KsqlUdf::new(&MASK_LEFT, ret::string, mask_left)
            .handles_null()
            .into_udf(),
        KsqlUdf::new(&MASK_RIGHT, ret::string, mask_right)
            .handles_null()
            .into_udf(),
    ]
}

const S: P = P::Str;
const MASK: FunctionSpec = FunctionSpec {
    name: "MASK",
    aliases: &[],
    category: Category::String,
    description: "Masks every character: upper-case letters as 'X', lower-case as 'x', digits as 'n', others as '-', or as the given replacements (a NULL replacement keeps that class).",
    sigs: &[
        Sig::new(&[S], "VARCHAR"),
        Sig::new(&[S, S, S, S, S], "VARCHAR"),
    ],
};
const N_SIGS: &[Sig] = &[
    Sig::new(&[S, P::Int], "VARCHAR"),
    Sig::new(&[S, P::Int, S, S, S, S], "VARCHAR"),
];
const MASK_KEEP_LEFT: FunctionSpec = FunctionSpec {
    name: "MASK_KEEP_LEFT",
    aliases: &[],
    category: Category::String,
    description: "Masks all but the first numChars characters, as MASK does.",
    sigs: N_SIGS,
};
const MASK_KEEP_RIGHT: FunctionSpec = FunctionSpec {
    name: "MASK_KEEP_RIGHT",
    aliases: &[],
    category: Category::String,
    description: "Masks all but the last numChars characters, as MASK does.",
    sigs: N_SIGS,
};
const MASK_LEFT: FunctionSpec = FunctionSpec {
    name: "MASK_LEFT",
    aliases: &[],
    category: Category::String,
    description: "Masks the first numChars characters, as MASK does.",
    sigs: N_SIGS,
};
const MASK_RIGHT: FunctionSpec = FunctionSpec {
    name: "MASK_RIGHT",
    aliases: &[],
    category: Category::String,
    description: "Masks the last numChars characters, as MASK does.",
    sigs: N_SIGS,
};

/// The replacement for each character class; `None` keeps the class unmasked.
struct Masker {
    upper: Option<char>,
    lower: Option<char>,
    digit: Option<char>,
    other: Option<char>,
}

impl Masker {
    fn mask(&self, c: char) -> char {
        let replacement = if c.is_uppercase() {
            self.upper
        } else if c.is_lowercase() {
            self.lower
        } else if c.is_numeric() {
            self.digit
        } else {
            self.other
        };
        replacement.unwrap_or(c)
    }
}

/// Which characters to mask, given the string's length and the count argument.
#[derive(Clone, Copy)]
enum Region {
    All,
    KeepLeft,
    KeepRight,
    Left,
    Right,
}

fn run(a: &[ArrayRef], n: usize, region: Region, name: &str) -> Result<ArrayRef> {
    let has_count = !matches!(region, Region::All);
    let first_repl = if has_count { 2 } else { 1 };
    let typed = |i: usize| -> Result<Option<&StringArray>> {
        match a.get(i) {
            Some(x) if matches!(x.data_type(), DataType::Null) => Ok(None),
            Some(_) => strings(a, i).map(Some),
            None => Ok(None),
        }
    };
    let input = typed(0)?;
    let count = match (has_count, a.get(1)) {
        (true, Some(x)) if !matches!(x.data_type(), DataType::Null) => Some(ints(a, 1)?),
        _ => None,
    };
    let given = a.len() > first_repl;
    let repl: Vec<Option<&StringArray>> = (first_repl..first_repl + 4)
        .map(typed)
        .collect::<Result<_>>()?;
    let mut result = Vec::with_capacity(n);
    for i in 0..n {
        let Some(x) = input.and_then(|v| s(v, i)) else {
            result.push(None);
            continue;
        };
        let num = match count {
            Some(c) => match p(c, i) {
                Some(k) if k < 0 => {
                    return exec_err!("function {name} requires a non-negative number, got {k}");
                }
                Some(k) => k as usize,
                None => {
                    result.push(None);
                    continue;
                }
            },
            None if has_count => {
                result.push(None);
                continue;
            }
            None => 0,
        };
        let pick = |k: usize, default: char| -> Option<char> {
            if !given {
                return Some(default);
            }
            repl[k].and_then(|r| s(r, i)).and_then(|r| r.chars().next())
        };
        let masker = Masker {
            upper: pick(0, 'X'),
            lower: pick(1, 'x'),
            digit: pick(2, 'n'),
            other: pick(3, '-'),
        };
        let len = x.chars().count();
        let masked: String = x
            .chars()
            .enumerate()
            .map(|(j, c)| {
                let hide = match region {
                    Region::All => true,
                    Region::KeepLeft => j >= num,
                    Region::KeepRight => j + num < len,
                    Region::Left => j < num,
                    Region::Right => j + num >= len,
                };
                if hide { masker.mask(c) } else { c }
            })
            .collect();
        result.push(Some(masked));
    }
    out(StringArray::from(result))
}

fn mask(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    run(a, n, Region::All, "MASK")
}

fn mask_keep_left(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    run(a, n, Region::KeepLeft, "MASK_KEEP_LEFT")
}

fn mask_keep_right(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    run(a, n, Region::KeepRight, "MASK_KEEP_RIGHT")
}

fn mask_left(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    run(a, n, Region::Left, "MASK_LEFT")
}

fn mask_right(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    run(a, n, Region::Right, "MASK_RIGHT")
}
