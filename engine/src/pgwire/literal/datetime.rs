//! `date`, `time`, `timestamp` and `timestamptz` parameters as ksqlDB literals: `CAST('...' AS
//! DATE|TIME|TIMESTAMP)` in ksqlDB's `yyyy-MM-ddTHH:mm:ss.SSS` form (UTC; microseconds kept when
//! there are some). A timestamptz is the UTC instant it denotes (ksqlDB's TIMESTAMP is UTC).

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

pub(super) fn epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default()
}

pub(super) fn date_literal(date: NaiveDate) -> String {
    format!("CAST('{}' AS DATE)", date.format("%Y-%m-%d"))
}

pub(super) fn time_literal(time: NaiveTime) -> String {
    format!(
        "CAST('{}' AS TIME)",
        fraction_format(time.format("%H:%M:%S"), time.nanosecond())
    )
}

/// A TIMESTAMP literal in ksqlDB's `yyyy-MM-ddTHH:mm:ss.SSS` form (UTC), with the microseconds.
pub(super) fn timestamp_literal(at: NaiveDateTime) -> String {
    format!(
        "CAST('{}' AS TIMESTAMP)",
        fraction_format(at.format("%Y-%m-%dT%H:%M:%S"), at.nanosecond())
    )
}

/// `base` followed by `.SSS` or `.SSSSSS` (microseconds only when there are some).
fn fraction_format(base: impl std::fmt::Display, nanos: u32) -> String {
    let micros = nanos / 1000;
    if micros.is_multiple_of(1000) {
        format!("{base}.{:03}", micros / 1000)
    } else {
        format!("{base}.{micros:06}")
    }
}

pub(super) fn parse_timestamp(t: &str) -> Option<NaiveDateTime> {
    let t = t.replacen(' ', "T", 1);
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&t, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(&t, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
}

/// A timestamptz as Postgres prints it (`2024-05-01 12:00:00+02`, `...+05:30`, `...Z`), as the
/// UTC time it denotes; without an offset it is UTC already.
pub(super) fn parse_timestamptz(t: &str) -> Option<NaiveDateTime> {
    let t = t.replacen(' ', "T", 1);
    let t = t.strip_suffix('Z').map(|s| format!("{s}+00")).unwrap_or(t);
    ["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M%#z"]
        .iter()
        .find_map(|f| DateTime::parse_from_str(&t, f).ok())
        .map(|at| at.naive_utc())
        .or_else(|| parse_timestamp(&t))
}

#[cfg(test)]
mod tests {
    use super::super::LiteralError;
    use super::super::test_support::{bin, ok, text};
    use pgwire::api::Type;

    #[test]
    fn dates_times_and_timestamps() {
        // 2024-05-01 is 8887 days after 2000-01-01.
        assert_eq!(
            ok(bin(&Type::DATE, &8887i32.to_be_bytes())),
            "CAST('2024-05-01' AS DATE)"
        );
        assert_eq!(
            ok(bin(&Type::DATE, &(-1i32).to_be_bytes())),
            "CAST('1999-12-31' AS DATE)"
        );
        assert_eq!(
            ok(text(&Type::DATE, "2024-05-01")),
            "CAST('2024-05-01' AS DATE)"
        );
        let noon_and_a_bit = (12 * 3600 + 30 * 60) * 1_000_000i64 + 250_000;
        assert_eq!(
            ok(bin(&Type::TIME, &noon_and_a_bit.to_be_bytes())),
            "CAST('12:30:00.250' AS TIME)"
        );
        assert!(matches!(
            bin(&Type::TIME, &(25 * 3600 * 1_000_000i64).to_be_bytes()),
            Err(LiteralError::Binary(_))
        ));
        // 2000-01-02 00:00:00.000001
        let micros = 86_400_000_001i64;
        assert_eq!(
            ok(bin(&Type::TIMESTAMP, &micros.to_be_bytes())),
            "CAST('2000-01-02T00:00:00.000001' AS TIMESTAMP)"
        );
        assert_eq!(
            ok(bin(&Type::TIMESTAMPTZ, &(-1_000i64).to_be_bytes())),
            "CAST('1999-12-31T23:59:59.999' AS TIMESTAMP)"
        );
        assert_eq!(
            ok(text(&Type::TIMESTAMP, "2024-05-01 12:00:00.5")),
            "CAST('2024-05-01T12:00:00.500' AS TIMESTAMP)"
        );
        // A timestamptz is the UTC instant it denotes.
        assert_eq!(
            ok(text(&Type::TIMESTAMPTZ, "2024-05-01 12:00:00+02")),
            "CAST('2024-05-01T10:00:00.000' AS TIMESTAMP)"
        );
        assert_eq!(
            ok(text(&Type::TIMESTAMPTZ, "2024-05-01T12:00:00Z")),
            "CAST('2024-05-01T12:00:00.000' AS TIMESTAMP)"
        );
        assert!(matches!(
            bin(&Type::TIMESTAMP, &[0; 7]),
            Err(LiteralError::Binary(_))
        ));
        assert!(matches!(
            text(&Type::DATE, "May 1st"),
            Err(LiteralError::Text(_))
        ));
    }
}
