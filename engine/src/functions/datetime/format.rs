//! Formatting and parsing with Java patterns: FORMAT_TIMESTAMP / PARSE_TIMESTAMP, FORMAT_DATE /
//! PARSE_DATE, FORMAT_TIME / PARSE_TIME, and the legacy BIGINT/INT forms TIMESTAMPTOSTRING,
//! STRINGTOTIMESTAMP, DATETOSTRING and STRINGTODATE.
//!
//! Text that does not match the pattern gives NULL for that row (ksqlDB logs the error and
//! emits NULL); an invalid pattern or unknown time zone is a mistake in the query and fails it.

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Timelike};
use datafusion::arrow::array::{
    ArrayRef, Date32Array, Int32Array, Int64Array, StringArray, Time32MillisecondArray,
    TimestampMillisecondArray,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_datafusion_err};
use datafusion::logical_expr::ScalarUDF;

use super::pattern::{JavaPattern, Zone};
use crate::functions::args::{self, out, p, ret, s, strings};
use crate::functions::udf::{Category, FunctionSpec, KsqlUdf, Param as P, Sig};

/// Every formatting function's spec, for the catalog.
pub const SPECS: &[FunctionSpec] = &[
    FORMAT_TIMESTAMP,
    PARSE_TIMESTAMP,
    TIMESTAMPTOSTRING,
    STRINGTOTIMESTAMP,
    FORMAT_DATE,
    PARSE_DATE,
    DATETOSTRING,
    STRINGTODATE,
    FORMAT_TIME,
    PARSE_TIME,
];

/// The formatting functions as UDFs.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        KsqlUdf::new(&FORMAT_TIMESTAMP, ret::string, format_any).into_udf(),
        KsqlUdf::new(&TIMESTAMPTOSTRING, ret::string, format_any).into_udf(),
        KsqlUdf::new(&FORMAT_DATE, ret::string, format_any).into_udf(),
        KsqlUdf::new(&DATETOSTRING, ret::string, format_any).into_udf(),
        KsqlUdf::new(&FORMAT_TIME, ret::string, format_any).into_udf(),
        KsqlUdf::new(&PARSE_TIMESTAMP, ret::timestamp, parse_any).into_udf(),
        KsqlUdf::new(&STRINGTOTIMESTAMP, ret::bigint, parse_any).into_udf(),
        KsqlUdf::new(&PARSE_DATE, ret::date, parse_any).into_udf(),
        KsqlUdf::new(&STRINGTODATE, ret::int, parse_any).into_udf(),
        KsqlUdf::new(&PARSE_TIME, ret::time, parse_any).into_udf(),
    ]
}

const D: Category = Category::DateTime;
const FORMAT_TIMESTAMP: FunctionSpec = FunctionSpec {
    name: "FORMAT_TIMESTAMP",
    aliases: &[],
    category: D,
    description: "Formats a TIMESTAMP with a Java DateTimeFormatter pattern, in UTC or the given time zone.",
    sigs: &[
        Sig::new(&[P::Timestamp, P::Str], "VARCHAR"),
        Sig::new(&[P::Timestamp, P::Str, P::Str], "VARCHAR"),
    ],
};
const TIMESTAMPTOSTRING: FunctionSpec = FunctionSpec {
    name: "TIMESTAMPTOSTRING",
    aliases: &[],
    category: D,
    description: "Formats milliseconds since the epoch with a Java DateTimeFormatter pattern, in UTC or the given time zone.",
    sigs: &[
        Sig::new(&[P::BigInt, P::Str], "VARCHAR"),
        Sig::new(&[P::BigInt, P::Str, P::Str], "VARCHAR"),
    ],
};
const PARSE_TIMESTAMP: FunctionSpec = FunctionSpec {
    name: "PARSE_TIMESTAMP",
    aliases: &[],
    category: D,
    description: "Parses a string with a Java DateTimeFormatter pattern into a TIMESTAMP; local times are read in UTC or the given time zone. Unparseable text gives NULL.",
    sigs: &[
        Sig::new(&[P::Str, P::Str], "TIMESTAMP"),
        Sig::new(&[P::Str, P::Str, P::Str], "TIMESTAMP"),
    ],
};
const STRINGTOTIMESTAMP: FunctionSpec = FunctionSpec {
    name: "STRINGTOTIMESTAMP",
    aliases: &[],
    category: D,
    description: "Parses a string with a Java DateTimeFormatter pattern into milliseconds since the epoch. Unparseable text gives NULL.",
    sigs: &[
        Sig::new(&[P::Str, P::Str], "BIGINT"),
        Sig::new(&[P::Str, P::Str, P::Str], "BIGINT"),
    ],
};
const FORMAT_DATE: FunctionSpec = FunctionSpec {
    name: "FORMAT_DATE",
    aliases: &[],
    category: D,
    description: "Formats a DATE with a Java DateTimeFormatter pattern.",
    sigs: &[Sig::new(&[P::Date, P::Str], "VARCHAR")],
};
const DATETOSTRING: FunctionSpec = FunctionSpec {
    name: "DATETOSTRING",
    aliases: &[],
    category: D,
    description: "Formats days since the epoch with a Java DateTimeFormatter pattern.",
    sigs: &[Sig::new(&[P::Int, P::Str], "VARCHAR")],
};
const PARSE_DATE: FunctionSpec = FunctionSpec {
    name: "PARSE_DATE",
    aliases: &[],
    category: D,
    description: "Parses a string with a Java DateTimeFormatter pattern into a DATE. Unparseable text gives NULL.",
    sigs: &[Sig::new(&[P::Str, P::Str], "DATE")],
};
const STRINGTODATE: FunctionSpec = FunctionSpec {
    name: "STRINGTODATE",
    aliases: &[],
    category: D,
    description: "Parses a string with a Java DateTimeFormatter pattern into days since the epoch. Unparseable text gives NULL.",
    sigs: &[Sig::new(&[P::Str, P::Str], "INT")],
};
const FORMAT_TIME: FunctionSpec = FunctionSpec {
    name: "FORMAT_TIME",
    aliases: &[],
    category: D,
    description: "Formats a TIME with a Java DateTimeFormatter pattern.",
    sigs: &[Sig::new(&[P::Time, P::Str], "VARCHAR")],
};
const PARSE_TIME: FunctionSpec = FunctionSpec {
    name: "PARSE_TIME",
    aliases: &[],
    category: D,
    description: "Parses a string with a Java DateTimeFormatter pattern into a TIME. Unparseable text gives NULL.",
    sigs: &[Sig::new(&[P::Str, P::Str], "TIME")],
};

const MS_PER_DAY: i64 = 86_400_000;

/// Compiles each distinct pattern and zone once per batch (they are usually literals).
#[derive(Default)]
pub(crate) struct Cache {
    pattern: Option<(String, Arc<JavaPattern>)>,
    zone: Option<(String, Zone)>,
}

impl Cache {
    pub(crate) fn pattern(&mut self, text: &str) -> Result<Arc<JavaPattern>> {
        if let Some((t, p)) = &self.pattern
            && t == text
        {
            return Ok(Arc::clone(p));
        }
        let compiled =
            Arc::new(JavaPattern::compile(text).map_err(|e| exec_datafusion_err!("{e}"))?);
        self.pattern = Some((text.to_string(), Arc::clone(&compiled)));
        Ok(compiled)
    }

    pub(crate) fn zone(&mut self, text: &str) -> Result<Zone> {
        if let Some((t, z)) = &self.zone
            && t == text
        {
            return Ok(z.clone());
        }
        let zone = Zone::parse(text).map_err(|e| exec_datafusion_err!("{e}"))?;
        self.zone = Some((text.to_string(), zone.clone()));
        Ok(zone)
    }
}

/// Milliseconds since the epoch as a UTC date-time.
pub(crate) fn from_millis(ms: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_millis(ms).map(|d| d.naive_utc())
}

/// Row `i` of the first argument as milliseconds since the epoch, whatever its temporal type.
fn instant_ms(a: &ArrayRef, i: usize) -> Result<Option<i64>> {
    let args = std::slice::from_ref(a);
    Ok(match a.data_type() {
        DataType::Int64 => p(args::bigints(args, 0)?, i),
        DataType::Int32 => p(args::ints(args, 0)?, i).map(|d| i64::from(d) * MS_PER_DAY),
        DataType::Date32 => p(args::dates(args, 0)?, i).map(|d| i64::from(d) * MS_PER_DAY),
        DataType::Time32(_) => p(args::times(args, 0)?, i).map(i64::from),
        _ => p(args::timestamps(args, 0)?, i),
    })
}

fn format_any(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let input = args::arg(a, 0)?;
    let pattern = strings(a, 1)?;
    let zone = if a.len() > 2 {
        Some(strings(a, 2)?)
    } else {
        None
    };
    let mut cache = Cache::default();
    let mut result = Vec::with_capacity(n);
    for i in 0..n {
        let (Some(ms), Some(pat)) = (instant_ms(input, i)?, s(pattern, i)) else {
            result.push(None);
            continue;
        };
        let zone = match zone.map(|z| s(z, i)) {
            None => Zone::utc(),
            Some(None) => {
                result.push(None);
                continue;
            }
            Some(Some(z)) => cache.zone(z)?,
        };
        let pattern = cache.pattern(pat)?;
        result.push(from_millis(ms).map(|t| pattern.format(t, &zone)));
    }
    out(StringArray::from(result))
}

fn parse_any(a: &[ArrayRef], n: usize, rt: &DataType) -> Result<ArrayRef> {
    let (text, pattern) = (strings(a, 0)?, strings(a, 1)?);
    let zone = if a.len() > 2 {
        Some(strings(a, 2)?)
    } else {
        None
    };
    let mut cache = Cache::default();
    let mut millis: Vec<Option<i64>> = Vec::with_capacity(n);
    for i in 0..n {
        let (Some(x), Some(pat)) = (s(text, i), s(pattern, i)) else {
            millis.push(None);
            continue;
        };
        let zone = match zone.map(|z| s(z, i)) {
            None => Zone::utc(),
            Some(None) => {
                millis.push(None);
                continue;
            }
            Some(Some(z)) => cache.zone(z)?,
        };
        let pattern = cache.pattern(pat)?;
        let value = match rt {
            DataType::Date32 | DataType::Int32 => pattern.parse_date(x).map(|d| {
                d.and_hms_opt(0, 0, 0)
                    .unwrap_or_default()
                    .and_utc()
                    .timestamp_millis()
            }),
            DataType::Time32(_) => pattern.parse_time(x).map(|t| {
                i64::from(t.num_seconds_from_midnight()) * 1000
                    + i64::from(t.nanosecond() / 1_000_000)
            }),
            _ => pattern
                .parse_instant(x, &zone)
                .map(|t| t.and_utc().timestamp_millis()),
        };
        millis.push(value);
    }
    let days = |ms: &Option<i64>| ms.map(|m| m.div_euclid(MS_PER_DAY) as i32);
    match rt {
        DataType::Date32 => out(Date32Array::from_iter(millis.iter().map(days))),
        DataType::Int32 => out(Int32Array::from_iter(millis.iter().map(days))),
        DataType::Time32(_) => out(Time32MillisecondArray::from_iter(
            millis.iter().map(|m| m.map(|m| m as i32)),
        )),
        DataType::Int64 => out(Int64Array::from(millis)),
        _ => out(TimestampMillisecondArray::from(millis)),
    }
}
