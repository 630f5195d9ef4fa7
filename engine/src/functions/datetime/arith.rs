//! Conversions between epoch numbers and DATE / TIME / TIMESTAMP (UNIX_TIMESTAMP, UNIX_DATE,
//! FROM_UNIXTIME, FROM_DAYS), interval arithmetic (DATEADD, DATESUB, TIMEADD, TIMESUB,
//! TIMESTAMPADD, TIMESTAMPSUB) and CONVERT_TZ.
//!
//! The interval functions take the unit first, as ksqlDB does: `DATEADD(DAYS, 10, d)`. The unit
//! arrives as a string (`'DAYS'`); the ksqlDB parser passes a bare unit keyword as a string
//! literal. Units are Java's `TimeUnit` names, singular or plural: NANOSECONDS ... DAYS.

use datafusion::arrow::array::{
    ArrayRef, Date32Array, Int32Array, Int64Array, Time32MillisecondArray,
    TimestampMillisecondArray,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::ScalarUDF;

use super::format::{Cache, from_millis};
use crate::functions::args::{
    self, bigints, dates, ints, out, p, ret, s, strings, times, timestamps,
};
use crate::functions::udf::{Category, FunctionSpec, KsqlUdf, Param as P, Sig};

/// Every date/time arithmetic function's spec, for the catalog.
pub const SPECS: &[FunctionSpec] = &[
    UNIX_TIMESTAMP,
    UNIX_DATE,
    FROM_UNIXTIME,
    FROM_DAYS,
    DATEADD,
    DATESUB,
    TIMEADD,
    TIMESUB,
    TIMESTAMPADD,
    TIMESTAMPSUB,
    CONVERT_TZ,
];

/// The date/time arithmetic functions as UDFs.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        KsqlUdf::new(&UNIX_TIMESTAMP, ret::bigint, unix_timestamp)
            .volatile()
            .into_udf(),
        KsqlUdf::new(&UNIX_DATE, ret::int, unix_date)
            .volatile()
            .into_udf(),
        KsqlUdf::new(&FROM_UNIXTIME, ret::timestamp, from_unixtime).into_udf(),
        KsqlUdf::new(&FROM_DAYS, ret::date, from_days).into_udf(),
        KsqlUdf::new(&DATEADD, ret::date, dateadd).into_udf(),
        KsqlUdf::new(&DATESUB, ret::date, datesub).into_udf(),
        KsqlUdf::new(&TIMEADD, ret::time, timeadd).into_udf(),
        KsqlUdf::new(&TIMESUB, ret::time, timesub).into_udf(),
        KsqlUdf::new(&TIMESTAMPADD, ret::timestamp, timestampadd).into_udf(),
        KsqlUdf::new(&TIMESTAMPSUB, ret::timestamp, timestampsub).into_udf(),
        KsqlUdf::new(&CONVERT_TZ, ret::timestamp, convert_tz).into_udf(),
    ]
}

const D: Category = Category::DateTime;
const UNIX_TIMESTAMP: FunctionSpec = FunctionSpec {
    name: "UNIX_TIMESTAMP",
    aliases: &[],
    category: D,
    description: "Milliseconds since the epoch: now, or of the given TIMESTAMP.",
    sigs: &[Sig::new(&[], "BIGINT"), Sig::new(&[P::Timestamp], "BIGINT")],
};
const UNIX_DATE: FunctionSpec = FunctionSpec {
    name: "UNIX_DATE",
    aliases: &[],
    category: D,
    description: "Days since the epoch: today (UTC), or of the given DATE.",
    sigs: &[Sig::new(&[], "INT"), Sig::new(&[P::Date], "INT")],
};
const FROM_UNIXTIME: FunctionSpec = FunctionSpec {
    name: "FROM_UNIXTIME",
    aliases: &[],
    category: D,
    description: "The TIMESTAMP that is the given number of milliseconds after the epoch.",
    sigs: &[Sig::new(&[P::BigInt], "TIMESTAMP")],
};
const FROM_DAYS: FunctionSpec = FunctionSpec {
    name: "FROM_DAYS",
    aliases: &[],
    category: D,
    description: "The DATE that is the given number of days after the epoch.",
    sigs: &[Sig::new(&[P::Int], "DATE")],
};
const DATEADD: FunctionSpec = FunctionSpec {
    name: "DATEADD",
    aliases: &[],
    category: D,
    description: "Adds interval units (DAYS, HOURS, ...) to a DATE. Any NULL argument gives NULL.",
    sigs: &[Sig::new(&[P::Str, P::Int, P::Date], "DATE")],
};
const DATESUB: FunctionSpec = FunctionSpec {
    name: "DATESUB",
    aliases: &[],
    category: D,
    description: "Subtracts interval units (DAYS, HOURS, ...) from a DATE. Any NULL argument gives NULL.",
    sigs: &[Sig::new(&[P::Str, P::Int, P::Date], "DATE")],
};
const TIMEADD: FunctionSpec = FunctionSpec {
    name: "TIMEADD",
    aliases: &[],
    category: D,
    description: "Adds interval units to a TIME, wrapping around midnight. Any NULL argument gives NULL.",
    sigs: &[Sig::new(&[P::Str, P::Int, P::Time], "TIME")],
};
const TIMESUB: FunctionSpec = FunctionSpec {
    name: "TIMESUB",
    aliases: &[],
    category: D,
    description: "Subtracts interval units from a TIME, wrapping around midnight. Any NULL argument gives NULL.",
    sigs: &[Sig::new(&[P::Str, P::Int, P::Time], "TIME")],
};
const TIMESTAMPADD: FunctionSpec = FunctionSpec {
    name: "TIMESTAMPADD",
    aliases: &[],
    category: D,
    description: "Adds interval units to a TIMESTAMP. Any NULL argument gives NULL.",
    sigs: &[Sig::new(&[P::Str, P::BigInt, P::Timestamp], "TIMESTAMP")],
};
const TIMESTAMPSUB: FunctionSpec = FunctionSpec {
    name: "TIMESTAMPSUB",
    aliases: &[],
    category: D,
    description: "Subtracts interval units from a TIMESTAMP. Any NULL argument gives NULL.",
    sigs: &[Sig::new(&[P::Str, P::BigInt, P::Timestamp], "TIMESTAMP")],
};
const CONVERT_TZ: FunctionSpec = FunctionSpec {
    name: "CONVERT_TZ",
    aliases: &[],
    category: D,
    description: "Reads a TIMESTAMP as wall-clock time in fromTz and returns the same instant as wall-clock time in toTz. Zones are tz names (America/Los_Angeles) or offsets (+0200).",
    sigs: &[Sig::new(&[P::Timestamp, P::Str, P::Str], "TIMESTAMP")],
};

const MS_PER_DAY: i64 = 86_400_000;

/// Milliseconds in one `unit`; units below a millisecond give fractions, kept as a divisor.
fn unit_millis(unit: &str) -> Result<(i64, i64)> {
    let upper = unit.to_ascii_uppercase();
    let singular = upper.strip_suffix('S').unwrap_or(&upper);
    Ok(match singular {
        "NANOSECOND" => (1, 1_000_000),
        "MICROSECOND" => (1, 1_000),
        "MILLISECOND" => (1, 1),
        "SECOND" => (1_000, 1),
        "MINUTE" => (60_000, 1),
        "HOUR" => (3_600_000, 1),
        "DAY" => (MS_PER_DAY, 1),
        _ => {
            return exec_err!(
                "unknown time unit '{unit}': use NANOSECONDS, MICROSECONDS, MILLISECONDS, SECONDS, MINUTES, HOURS or DAYS"
            );
        }
    })
}

/// `interval` units in milliseconds, negated for the *SUB functions.
fn interval_ms(unit: &str, interval: i64, sign: i64) -> Result<i64> {
    let (mul, div) = unit_millis(unit)?;
    Ok(sign * interval.saturating_mul(mul) / div)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn unix_timestamp(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    if a.is_empty() {
        return out(Int64Array::from(vec![now_ms(); n]));
    }
    out(timestamps(a, 0)?.iter().collect::<Int64Array>())
}

fn unix_date(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    if a.is_empty() {
        let today = now_ms().div_euclid(MS_PER_DAY) as i32;
        return out(Int32Array::from(vec![today; n]));
    }
    out(dates(a, 0)?.iter().collect::<Int32Array>())
}

fn from_unixtime(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    out(bigints(a, 0)?.iter().collect::<TimestampMillisecondArray>())
}

fn from_days(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    out(ints(a, 0)?.iter().collect::<Date32Array>())
}

/// Applies `f(unit, interval, value)` row by row over `(unit STRING, interval, value)`.
fn shift(a: &[ArrayRef], n: usize, sign: i64) -> Result<Vec<Option<i64>>> {
    let unit = strings(a, 0)?;
    let interval: Vec<Option<i64>> = match args::arg(a, 1)?.data_type() {
        DataType::Int32 => ints(a, 1)?.iter().map(|x| x.map(i64::from)).collect(),
        _ => bigints(a, 1)?.iter().collect(),
    };
    let base: Vec<Option<i64>> = match args::arg(a, 2)?.data_type() {
        DataType::Date32 => dates(a, 2)?
            .iter()
            .map(|d| d.map(|d| i64::from(d) * MS_PER_DAY))
            .collect(),
        DataType::Time32(_) => times(a, 2)?.iter().map(|t| t.map(i64::from)).collect(),
        _ => timestamps(a, 2)?.iter().collect(),
    };
    (0..n)
        .map(|i| match (s(unit, i), interval[i], base[i]) {
            (Some(u), Some(k), Some(v)) => Ok(Some(v.saturating_add(interval_ms(u, k, sign)?))),
            _ => Ok(None),
        })
        .collect()
}

fn date_shift(a: &[ArrayRef], n: usize, sign: i64) -> Result<ArrayRef> {
    let ms = shift(a, n, sign)?;
    out(ms
        .into_iter()
        .map(|m| m.map(|m| m.div_euclid(MS_PER_DAY) as i32))
        .collect::<Date32Array>())
}

fn time_shift(a: &[ArrayRef], n: usize, sign: i64) -> Result<ArrayRef> {
    let ms = shift(a, n, sign)?;
    out(ms
        .into_iter()
        .map(|m| m.map(|m| m.rem_euclid(MS_PER_DAY) as i32))
        .collect::<Time32MillisecondArray>())
}

fn dateadd(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    date_shift(a, n, 1)
}

fn datesub(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    date_shift(a, n, -1)
}

fn timeadd(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    time_shift(a, n, 1)
}

fn timesub(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    time_shift(a, n, -1)
}

fn timestampadd(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    out(TimestampMillisecondArray::from(shift(a, n, 1)?))
}

fn timestampsub(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    out(TimestampMillisecondArray::from(shift(a, n, -1)?))
}

fn convert_tz(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let (ts, from, to) = (timestamps(a, 0)?, strings(a, 1)?, strings(a, 2)?);
    let (mut from_cache, mut to_cache) = (Cache::default(), Cache::default());
    let mut result = Vec::with_capacity(n);
    for i in 0..n {
        let (Some(ms), Some(f), Some(t)) = (p(ts, i), s(from, i), s(to, i)) else {
            result.push(None);
            continue;
        };
        let (from_zone, to_zone) = (from_cache.zone(f)?, to_cache.zone(t)?);
        let converted = from_millis(ms).and_then(|local| {
            let utc = from_zone.local_to_utc(&local)?;
            let target = utc + to_zone.offset_at_utc(&utc);
            Some(target.and_utc().timestamp_millis())
        });
        result.push(converted);
    }
    out(TimestampMillisecondArray::from(result))
}
