//! ksqlDB's date and time functions.
//!
//! `pattern` maps Java `DateTimeFormatter` patterns and time zones onto chrono; `format` holds the
//! FORMAT_/PARSE_ functions and their legacy BIGINT forms; `arith` the conversions between
//! epoch numbers and DATE/TIME/TIMESTAMP, the *ADD/*SUB functions and CONVERT_TZ.

pub mod arith;
pub mod format;
pub mod pattern;

use datafusion::logical_expr::ScalarUDF;

use super::udf::FunctionSpec;

/// Every date/time function's spec, for the catalog.
pub fn specs() -> impl Iterator<Item = &'static FunctionSpec> {
    format::SPECS.iter().chain(arith::SPECS)
}

/// The date/time functions as UDFs.
pub fn udfs() -> Vec<ScalarUDF> {
    let mut udfs = format::udfs();
    udfs.extend(arith::udfs());
    udfs
}
