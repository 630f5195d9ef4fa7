//! ksqlDB's numeric functions whose types or rounding differ from DataFusion's: ROUND (ties
//! towards positive infinity, `BIGINT` result without a scale, decimal-exact on `DOUBLE` as
//! Java's `BigDecimal.valueOf` is), TRUNC, CEIL and FLOOR (type-preserving), SIGN (`INT`), POWER
//! (always `DOUBLE`) and LOG (NaN for a base that is not positive or is 1).
//!
//! The decimal-digit rounding lives in [`super::rounding`]; this file is the SQL surface.

use datafusion::arrow::array::{ArrayRef, Decimal128Array, Float64Array, Int32Array, Int64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::ScalarUDF;

use super::args::{bigints, decimals, doubles, ints, out, p, ret};
use super::rounding::{Mode, round_decimal, round_double};
use super::udf::{Category, FunctionSpec, KsqlUdf, Param as P, Sig};

/// Every math function's spec, for the catalog.
pub const SPECS: &[FunctionSpec] = &[ROUND, TRUNC, CEIL, FLOOR, SIGN, POWER, LOG];

/// The math functions as UDFs.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        KsqlUdf::new(&ROUND, round_type, round).into_udf(),
        KsqlUdf::new(&TRUNC, round_type, trunc).into_udf(),
        KsqlUdf::new(&CEIL, whole_type, ceil).into_udf(),
        KsqlUdf::new(&FLOOR, whole_type, floor).into_udf(),
        KsqlUdf::new(&SIGN, ret::int, sign).into_udf(),
        KsqlUdf::new(&POWER, ret::double, power).into_udf(),
        KsqlUdf::new(&LOG, ret::double, log).into_udf(),
    ]
}

const M: Category = Category::Math;
const ROUND_SIGS: &[Sig] = &[
    Sig::new(&[P::Int], "INT"),
    Sig::new(&[P::BigInt], "BIGINT"),
    Sig::new(&[P::Decimal], "DECIMAL"),
    Sig::new(&[P::Double], "BIGINT"),
    Sig::new(&[P::Int, P::Int], "INT"),
    Sig::new(&[P::BigInt, P::Int], "BIGINT"),
    Sig::new(&[P::Decimal, P::Int], "DECIMAL"),
    Sig::new(&[P::Double, P::Int], "DOUBLE"),
];
const ROUND: FunctionSpec = FunctionSpec {
    name: "ROUND",
    aliases: &[],
    category: M,
    description: "Rounds to the nearest whole number (a DOUBLE gives a BIGINT), or to the given number of decimal places (negative: tens, hundreds ...). Ties round towards positive infinity: ROUND(1.5) = 2, ROUND(-1.5) = -1.",
    sigs: ROUND_SIGS,
};
const TRUNC: FunctionSpec = FunctionSpec {
    name: "TRUNC",
    aliases: &[],
    category: M,
    description: "Truncates towards zero to a whole number (a DOUBLE gives a BIGINT), or to the given number of decimal places.",
    sigs: ROUND_SIGS,
};
const WHOLE_SIGS: &[Sig] = &[
    Sig::new(&[P::Int], "INT"),
    Sig::new(&[P::BigInt], "BIGINT"),
    Sig::new(&[P::Decimal], "DECIMAL"),
    Sig::new(&[P::Double], "DOUBLE"),
];
const CEIL: FunctionSpec = FunctionSpec {
    name: "CEIL",
    aliases: &["CEILING"],
    category: M,
    description: "The smallest whole number not less than the argument, of the argument's type.",
    sigs: WHOLE_SIGS,
};
const FLOOR: FunctionSpec = FunctionSpec {
    name: "FLOOR",
    aliases: &[],
    category: M,
    description: "The largest whole number not greater than the argument, of the argument's type.",
    sigs: WHOLE_SIGS,
};
const SIGN: FunctionSpec = FunctionSpec {
    name: "SIGN",
    aliases: &["SIGNUM"],
    category: M,
    description: "-1, 0 or 1 as the argument is negative, zero or positive.",
    sigs: &[
        Sig::new(&[P::Int], "INT"),
        Sig::new(&[P::BigInt], "INT"),
        Sig::new(&[P::Double], "INT"),
    ],
};
const POWER: FunctionSpec = FunctionSpec {
    name: "POWER",
    aliases: &[],
    category: M,
    description: "base raised to the power exponent, as a DOUBLE.",
    sigs: &[Sig::new(&[P::Double, P::Double], "DOUBLE")],
};
const LOG: FunctionSpec = FunctionSpec {
    name: "LOG",
    aliases: &[],
    category: M,
    description: "The natural logarithm of value (as Java's Math.log, what ksqlDB computes), or its logarithm in the given base: LOG(base, value). A value of 0 gives -Infinity; a negative value, or a base that is not positive or is 1, gives NaN.",
    sigs: &[
        Sig::new(&[P::Double], "DOUBLE"),
        Sig::new(&[P::Double, P::Double], "DOUBLE"),
    ],
};

fn round_type(args: &[DataType]) -> Result<DataType> {
    Ok(match (args.first(), args.len()) {
        (Some(DataType::Float64), 1) => DataType::Int64,
        (Some(DataType::Decimal128(p, s)), 1) => DataType::Decimal128(whole_precision(*p, *s), 0),
        (Some(t), _) => t.clone(),
        (None, _) => DataType::Int64,
    })
}

fn whole_type(args: &[DataType]) -> Result<DataType> {
    Ok(match args.first() {
        Some(DataType::Decimal128(p, s)) => DataType::Decimal128(whole_precision(*p, *s), 0),
        Some(t) => t.clone(),
        None => DataType::Float64,
    })
}

/// Digits needed for a whole number rounded from `DECIMAL(p, s)` (one more for a carry).
fn whole_precision(p: u8, s: i8) -> u8 {
    let s = u8::try_from(s).unwrap_or(0);
    (p.saturating_sub(s) + 1).clamp(1, 38)
}

fn places(a: &[ArrayRef], i: usize) -> Result<Option<i32>> {
    if a.len() < 2 {
        return Ok(Some(0));
    }
    Ok(p(ints(a, 1)?, i))
}

fn round_like(a: &[ArrayRef], n: usize, rt: &DataType, mode: Mode) -> Result<ArrayRef> {
    let Some(input) = a.first() else {
        return exec_err!("ROUND needs an argument");
    };
    match input.data_type() {
        DataType::Int32 => {
            let v = ints(a, 0)?;
            let r = (0..n)
                .map(|i| {
                    let (x, k) = (p(v, i), places(a, i)?);
                    Ok(x.zip(k)
                        .map(|(x, k)| round_decimal(i128::from(x), 0, k, mode) as i32))
                })
                .collect::<Result<Int32Array>>()?;
            out(r)
        }
        DataType::Int64 => {
            let v = bigints(a, 0)?;
            let r = (0..n)
                .map(|i| {
                    let (x, k) = (p(v, i), places(a, i)?);
                    Ok(x.zip(k)
                        .map(|(x, k)| round_decimal(i128::from(x), 0, k, mode) as i64))
                })
                .collect::<Result<Int64Array>>()?;
            out(r)
        }
        DataType::Decimal128(_, scale) => {
            let (scale, v) = (*scale, decimals(a, 0)?);
            let DataType::Decimal128(rp, rs) = rt.clone() else {
                return exec_err!("ROUND of a DECIMAL must return a DECIMAL, not {rt}");
            };
            let r = (0..n)
                .map(|i| {
                    let (x, k) = (p(v, i), places(a, i)?);
                    Ok(x.zip(k).map(|(x, k)| {
                        let rounded = round_decimal(x, scale, k, mode);
                        if rs == 0 && scale > 0 {
                            rounded / 10_i128.pow(scale as u32)
                        } else {
                            rounded
                        }
                    }))
                })
                .collect::<Result<Decimal128Array>>()?;
            out(r.with_precision_and_scale(rp, rs)?)
        }
        _ => {
            let v = doubles(a, 0)?;
            if a.len() < 2 {
                let r: Int64Array = v
                    .iter()
                    .map(|x| {
                        x.map(|x| match mode {
                            Mode::HalfUp => (x + 0.5).floor() as i64,
                            _ => x.trunc() as i64,
                        })
                    })
                    .collect();
                return out(r);
            }
            let r = (0..n)
                .map(|i| {
                    Ok(p(v, i)
                        .zip(places(a, i)?)
                        .map(|(x, k)| round_double(x, k, mode)))
                })
                .collect::<Result<Float64Array>>()?;
            out(r)
        }
    }
}

fn round(a: &[ArrayRef], n: usize, rt: &DataType) -> Result<ArrayRef> {
    round_like(a, n, rt, Mode::HalfUp)
}

fn trunc(a: &[ArrayRef], n: usize, rt: &DataType) -> Result<ArrayRef> {
    round_like(a, n, rt, Mode::Down)
}

fn whole(a: &[ArrayRef], n: usize, rt: &DataType, mode: Mode) -> Result<ArrayRef> {
    match a.first().map(|x| x.data_type()) {
        Some(DataType::Int32 | DataType::Int64) => Ok(a
            .first()
            .cloned()
            .unwrap_or_else(|| datafusion::arrow::array::new_null_array(rt, n))),
        Some(DataType::Decimal128(..)) => round_like(a, n, rt, mode),
        _ => {
            let v = doubles(a, 0)?;
            let r: Float64Array = v
                .iter()
                .map(|x| {
                    x.map(|x| {
                        if mode == Mode::Ceiling {
                            x.ceil()
                        } else {
                            x.floor()
                        }
                    })
                })
                .collect();
            out(r)
        }
    }
}

fn ceil(a: &[ArrayRef], n: usize, rt: &DataType) -> Result<ArrayRef> {
    whole(a, n, rt, Mode::Ceiling)
}

fn floor(a: &[ArrayRef], n: usize, rt: &DataType) -> Result<ArrayRef> {
    whole(a, n, rt, Mode::Floor)
}

fn sign(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    let r: Int32Array = match a.first().map(|x| x.data_type()) {
        Some(DataType::Int32) => ints(a, 0)?.iter().map(|x| x.map(i32::signum)).collect(),
        Some(DataType::Int64) => bigints(a, 0)?
            .iter()
            .map(|x| x.map(|x| x.signum() as i32))
            .collect(),
        _ => doubles(a, 0)?
            .iter()
            .map(|x| {
                x.map(|x| {
                    if x > 0.0 {
                        1
                    } else if x < 0.0 {
                        -1
                    } else {
                        0
                    }
                })
            })
            .collect(),
    };
    out(r)
}

fn power(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let (base, exponent) = (doubles(a, 0)?, doubles(a, 1)?);
    out((0..n)
        .map(|i| p(base, i).zip(p(exponent, i)).map(|(b, e)| b.powf(e)))
        .collect::<Float64Array>())
}

fn log(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    if a.len() == 1 {
        return out(doubles(a, 0)?
            .iter()
            .map(|x| x.map(f64::ln))
            .collect::<Float64Array>());
    }
    let (base, value) = (doubles(a, 0)?, doubles(a, 1)?);
    out((0..n)
        .map(|i| {
            p(base, i).zip(p(value, i)).map(|(b, v)| {
                if b <= 0.0 || b == 1.0 {
                    f64::NAN
                } else {
                    v.ln() / b.ln()
                }
            })
        })
        .collect::<Float64Array>())
}
