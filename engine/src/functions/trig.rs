//! ksqlDB's floating-point math: square and cube roots, exponentials and logarithms, and the
//! trigonometric functions. All return DOUBLE and, as in Java, give NaN or ±Infinity for
//! arguments outside their domain instead of failing (DataFusion's `sqrt` fails on a negative
//! integer, which would stop a streaming query on one bad record).

use std::f64::consts::PI as PI_VALUE;

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::ScalarUDF;

use super::args::{doubles, out, p, ret};
use super::udf::{Category, FunctionSpec, KsqlUdf, Param as P, Sig};

const D1: &[Sig] = &[Sig::new(&[P::Double], "DOUBLE")];

/// Declares a one-argument DOUBLE function: its spec, and its invoke function applying `$op`.
macro_rules! unary {
    ($spec:ident, $invoke:ident, $name:literal, $desc:literal, $op:expr) => {
        const $spec: FunctionSpec = FunctionSpec {
            name: $name,
            aliases: &[],
            category: Category::Math,
            description: $desc,
            sigs: D1,
        };
        fn $invoke(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
            let op: fn(f64) -> f64 = $op;
            out(doubles(a, 0)?
                .iter()
                .map(|x| x.map(op))
                .collect::<Float64Array>())
        }
    };
}

unary!(
    SQRT,
    sqrt,
    "SQRT",
    "The square root. A negative value gives NaN.",
    f64::sqrt
);
unary!(CBRT, cbrt, "CBRT", "The cube root.", f64::cbrt);
unary!(
    EXP,
    exp,
    "EXP",
    "e raised to the power of the argument.",
    f64::exp
);
unary!(
    LN,
    ln,
    "LN",
    "The natural logarithm. 0 gives -Infinity, a negative value NaN.",
    f64::ln
);
unary!(
    SIN,
    sin,
    "SIN",
    "The sine of an angle in radians.",
    f64::sin
);
unary!(
    COS,
    cos,
    "COS",
    "The cosine of an angle in radians.",
    f64::cos
);
unary!(
    TAN,
    tan,
    "TAN",
    "The tangent of an angle in radians.",
    f64::tan
);
unary!(
    COT,
    cot,
    "COT",
    "The cotangent of an angle in radians.",
    |x| 1.0 / x.tan()
);
unary!(
    ASIN,
    asin,
    "ASIN",
    "The arc sine in radians. Outside [-1, 1] gives NaN.",
    f64::asin
);
unary!(
    ACOS,
    acos,
    "ACOS",
    "The arc cosine in radians. Outside [-1, 1] gives NaN.",
    f64::acos
);
unary!(ATAN, atan, "ATAN", "The arc tangent in radians.", f64::atan);
unary!(SINH, sinh, "SINH", "The hyperbolic sine.", f64::sinh);
unary!(COSH, cosh, "COSH", "The hyperbolic cosine.", f64::cosh);
unary!(TANH, tanh, "TANH", "The hyperbolic tangent.", f64::tanh);
unary!(
    DEGREES,
    degrees,
    "DEGREES",
    "Converts radians to degrees.",
    f64::to_degrees
);
unary!(
    RADIANS,
    radians,
    "RADIANS",
    "Converts degrees to radians.",
    f64::to_radians
);

const ATAN2: FunctionSpec = FunctionSpec {
    name: "ATAN2",
    aliases: &[],
    category: Category::Math,
    description: "The angle in radians of the point (x, y), given y then x.",
    sigs: &[Sig::new(&[P::Double, P::Double], "DOUBLE")],
};
const PI: FunctionSpec = FunctionSpec {
    name: "PI",
    aliases: &[],
    category: Category::Math,
    description: "The constant pi.",
    sigs: &[Sig::new(&[], "DOUBLE")],
};

/// Every function here, for the catalog.
pub const SPECS: &[FunctionSpec] = &[
    SQRT, CBRT, EXP, LN, SIN, COS, TAN, COT, ASIN, ACOS, ATAN, SINH, COSH, TANH, DEGREES, RADIANS,
    ATAN2, PI,
];

/// The functions as UDFs.
pub fn udfs() -> Vec<ScalarUDF> {
    let pairs: [(&'static FunctionSpec, super::udf::InvokeFn); 18] = [
        (&SQRT, sqrt),
        (&CBRT, cbrt),
        (&EXP, exp),
        (&LN, ln),
        (&SIN, sin),
        (&COS, cos),
        (&TAN, tan),
        (&COT, cot),
        (&ASIN, asin),
        (&ACOS, acos),
        (&ATAN, atan),
        (&SINH, sinh),
        (&COSH, cosh),
        (&TANH, tanh),
        (&DEGREES, degrees),
        (&RADIANS, radians),
        (&ATAN2, atan2),
        (&PI, pi),
    ];
    pairs
        .into_iter()
        .map(|(spec, invoke)| KsqlUdf::new(spec, ret::double, invoke).into_udf())
        .collect()
}

fn atan2(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let (y, x) = (doubles(a, 0)?, doubles(a, 1)?);
    out((0..n)
        .map(|i| p(y, i).zip(p(x, i)).map(|(y, x)| y.atan2(x)))
        .collect::<Float64Array>())
}

fn pi(_: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    out(Float64Array::from(vec![PI_VALUE; n]))
}
