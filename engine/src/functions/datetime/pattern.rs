//! Java `DateTimeFormatter` patterns (what ksqlDB users write: `yyyy-MM-dd'T'HH:mm:ss.SSSX`)
//! compiled to chrono format items, plus the time-zone handling Java does and chrono does not:
//! zone abbreviations (`zzz` → `PDT`) when formatting, and zone names or abbreviations in the
//! input when parsing.
//!
//! Parsing follows ksqlDB: case-insensitive month and AM/PM names, and fields missing from the
//! pattern default to 1970-01-01T00:00:00.000 in the given zone (UTC unless one is named).

use std::str::FromStr;

use chrono::format::{Fixed, Item, Numeric, Pad, Parsed, StrftimeItems, parse_and_remainder};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetName, Tz};

/// A pattern letter Sluice cannot map, or a quote left open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// A letter Java reserves that has no equivalent here.
    #[error("unsupported pattern letter '{letter}' in date/time format '{pattern}'")]
    Unsupported {
        /// The letter.
        letter: char,
        /// The whole pattern.
        pattern: String,
    },
    /// `'` without its closing quote.
    #[error("unterminated quote in date/time format '{0}'")]
    Unterminated(String),
    /// A zone name the time-zone database does not know.
    #[error("unknown time zone '{0}'")]
    UnknownZone(String),
}

/// One piece of a compiled pattern.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A chrono item (numbers, names, literals, numeric offsets).
    Item(Item<'static>),
    /// `z`: the zone's abbreviation when formatting, a zone name or abbreviation when parsing.
    ZoneName,
    /// `S` repeated n times: fraction of a second with n digits.
    Fraction(usize),
}

/// A compiled Java date/time pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct JavaPattern {
    tokens: Vec<Token>,
}

fn num(n: Numeric, width: usize) -> Token {
    Token::Item(Item::Numeric(
        n,
        if width >= 2 { Pad::Zero } else { Pad::None },
    ))
}

impl JavaPattern {
    /// Compiles `pattern`.
    pub fn compile(pattern: &str) -> Result<JavaPattern, PatternError> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                if chars.get(i + 1) == Some(&'\'') {
                    tokens.push(Token::Item(Item::OwnedLiteral("'".into())));
                    i += 2;
                    continue;
                }
                let mut literal = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => return Err(PatternError::Unterminated(pattern.to_string())),
                        Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                            literal.push('\'');
                            j += 2;
                        }
                        Some('\'') => break,
                        Some(other) => {
                            literal.push(*other);
                            j += 1;
                        }
                    }
                }
                tokens.push(Token::Item(Item::OwnedLiteral(literal.into())));
                i = j + 1;
                continue;
            }
            if !c.is_ascii_alphabetic() {
                tokens.push(Token::Item(Item::OwnedLiteral(c.to_string().into())));
                i += 1;
                continue;
            }
            let mut n = 1;
            while chars.get(i + n) == Some(&c) {
                n += 1;
            }
            i += n;
            let token = match (c, n) {
                ('y' | 'u', 2) => num(Numeric::YearMod100, 2),
                ('y' | 'u', _) => num(Numeric::Year, 4),
                ('M' | 'L', 1 | 2) => num(Numeric::Month, n),
                ('M' | 'L', 3) => Token::Item(Item::Fixed(Fixed::ShortMonthName)),
                ('M' | 'L', _) => Token::Item(Item::Fixed(Fixed::LongMonthName)),
                ('d', _) => num(Numeric::Day, n),
                ('D', _) => num(Numeric::Ordinal, n),
                ('H', _) => num(Numeric::Hour, n),
                ('k', _) => num(Numeric::Hour, n),
                ('h' | 'K', _) => num(Numeric::Hour12, n),
                ('m', _) => num(Numeric::Minute, n),
                ('s', _) => num(Numeric::Second, n),
                ('S', _) => Token::Fraction(n),
                ('a', _) => Token::Item(Item::Fixed(Fixed::UpperAmPm)),
                ('E', 1..=3) => Token::Item(Item::Fixed(Fixed::ShortWeekdayName)),
                ('E', _) => Token::Item(Item::Fixed(Fixed::LongWeekdayName)),
                ('e', _) => num(Numeric::WeekdayFromMon, n),
                ('w', _) => num(Numeric::IsoWeek, n),
                ('z', _) | ('V', _) | ('v', _) => Token::ZoneName,
                ('X', 1 | 2) | ('x', 1 | 2) => Token::Item(Item::Fixed(Fixed::TimezoneOffsetZ)),
                ('X', _) => Token::Item(Item::Fixed(Fixed::TimezoneOffsetColonZ)),
                ('x', _) => Token::Item(Item::Fixed(Fixed::TimezoneOffsetColon)),
                ('Z', 1..=3) => Token::Item(Item::Fixed(Fixed::TimezoneOffset)),
                ('Z', _) => Token::Item(Item::Fixed(Fixed::TimezoneOffsetColonZ)),
                ('O', _) => Token::Item(Item::Fixed(Fixed::TimezoneOffsetColon)),
                _ => {
                    return Err(PatternError::Unsupported {
                        letter: c,
                        pattern: pattern.to_string(),
                    });
                }
            };
            tokens.push(token);
        }
        Ok(JavaPattern { tokens })
    }

    /// Formats the instant `utc` as seen in `zone`.
    pub fn format(&self, utc: NaiveDateTime, zone: &Zone) -> String {
        let offset = zone.offset_at_utc(&utc);
        let local = DateTime::<FixedOffset>::from_naive_utc_and_offset(utc, offset);
        let mut out = String::new();
        for token in &self.tokens {
            match token {
                Token::Item(item) => {
                    out.push_str(
                        &local
                            .format_with_items(std::iter::once(item.clone()))
                            .to_string(),
                    );
                }
                Token::ZoneName => out.push_str(&zone.abbreviation_at_utc(&utc)),
                Token::Fraction(n) => {
                    let nanos = format!("{:09}", utc.and_utc().timestamp_subsec_nanos());
                    out.push_str(&nanos[..(*n).min(9)]);
                    for _ in 9..*n {
                        out.push('0');
                    }
                }
            }
        }
        out
    }

    /// Parses `text`; returns the local date-time and the zone the text named, if any.
    fn parse_fields(
        &self,
        text: &str,
    ) -> Option<(NaiveDateTime, Option<Zone>, Option<FixedOffset>)> {
        let mut parsed = Parsed::new();
        let mut rest = text;
        let mut named = None;
        for token in &self.tokens {
            match token {
                Token::Item(Item::OwnedLiteral(lit)) => {
                    let head = rest.get(..lit.len())?;
                    if !head.eq_ignore_ascii_case(lit) {
                        return None;
                    }
                    rest = &rest[lit.len()..];
                }
                Token::Item(Item::Fixed(Fixed::TimezoneOffsetZ | Fixed::TimezoneOffsetColonZ))
                    if rest.starts_with(['z', 'Z']) =>
                {
                    parsed.set_offset(0).ok()?;
                    rest = &rest[1..];
                }
                Token::Item(Item::Fixed(
                    Fixed::TimezoneOffset
                    | Fixed::TimezoneOffsetZ
                    | Fixed::TimezoneOffsetColon
                    | Fixed::TimezoneOffsetColonZ,
                )) => {
                    rest =
                        parse_and_remainder(&mut parsed, rest, StrftimeItems::new("%#z")).ok()?;
                }
                Token::Item(item) => {
                    rest = parse_and_remainder(&mut parsed, rest, std::iter::once(item.clone()))
                        .ok()?;
                }
                Token::Fraction(n) => {
                    let digits: String = rest
                        .chars()
                        .take(*n)
                        .take_while(char::is_ascii_digit)
                        .collect();
                    if digits.is_empty() {
                        return None;
                    }
                    let value: i64 = digits.parse().ok()?;
                    let nanos = value * 10_i64.pow(9 - digits.len().min(9) as u32);
                    parsed.set_nanosecond(nanos).ok()?;
                    rest = &rest[digits.len()..];
                }
                Token::ZoneName => {
                    let len = rest
                        .find(|c: char| !(c.is_ascii_alphanumeric() || "/_+-:".contains(c)))
                        .unwrap_or(rest.len());
                    named = Some(Zone::parse(&rest[..len]).ok()?);
                    rest = &rest[len..];
                }
            }
        }
        if !rest.is_empty() {
            return None;
        }
        if parsed.year().is_none() && parsed.year_mod_100().is_none() {
            parsed.set_year(1970).ok()?;
        }
        if parsed.year().is_none()
            && let Some(y) = parsed.year_mod_100()
        {
            // Java's `yy` reads 2000-2099.
            parsed.set_year(2000 + i64::from(y)).ok()?;
        }
        if parsed.month().is_none() && parsed.ordinal().is_none() {
            parsed.set_month(1).ok()?;
        }
        if parsed.day().is_none() && parsed.ordinal().is_none() {
            parsed.set_day(1).ok()?;
        }
        if parsed.hour_mod_12().is_none() {
            parsed.set_hour(0).ok()?;
        } else if parsed.hour_div_12().is_none() {
            parsed.set_ampm(false).ok()?;
        }
        if parsed.minute().is_none() {
            parsed.set_minute(0).ok()?;
        }
        if parsed.second().is_none() {
            parsed.set_second(0).ok()?;
        }
        if parsed.nanosecond().is_none() {
            parsed.set_nanosecond(0).ok()?;
        }
        let date = parsed.to_naive_date().ok()?;
        let time = parsed.to_naive_time().ok()?;
        let offset = parsed.offset().and_then(FixedOffset::east_opt);
        Some((NaiveDateTime::new(date, time), named, offset))
    }

    /// Parses `text` to an instant (UTC), reading local times in `zone` unless the text names
    /// its own zone or offset. `None` if the text does not match the pattern.
    pub fn parse_instant(&self, text: &str, zone: &Zone) -> Option<NaiveDateTime> {
        let (local, named, offset) = self.parse_fields(text)?;
        if let Some(offset) = offset {
            return Some(local - offset);
        }
        named.as_ref().unwrap_or(zone).local_to_utc(&local)
    }

    /// Parses `text` as a date (ignoring any time fields).
    pub fn parse_date(&self, text: &str) -> Option<NaiveDate> {
        self.parse_fields(text).map(|(local, _, _)| local.date())
    }

    /// Parses `text` as a time of day.
    pub fn parse_time(&self, text: &str) -> Option<NaiveTime> {
        self.parse_fields(text).map(|(local, _, _)| local.time())
    }
}

/// A time zone as ksqlDB accepts one: a tz-database name (`America/Los_Angeles`, `UTC`), a
/// common abbreviation (`PST`, mapped to its region as Java does), or an offset (`+0200`,
/// `-05:00`, `GMT+2`).
#[derive(Debug, Clone, PartialEq)]
pub enum Zone {
    /// A region with daylight-saving rules.
    Named(Tz),
    /// A fixed offset from UTC.
    Fixed(FixedOffset),
}

/// Abbreviations Java's zone-name parser maps to a region.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("PST", "America/Los_Angeles"),
    ("PDT", "America/Los_Angeles"),
    ("MST", "America/Denver"),
    ("MDT", "America/Denver"),
    ("CST", "America/Chicago"),
    ("CDT", "America/Chicago"),
    ("EST", "America/New_York"),
    ("EDT", "America/New_York"),
    ("BST", "Europe/London"),
    ("CET", "Europe/Paris"),
    ("CEST", "Europe/Paris"),
    ("IST", "Asia/Kolkata"),
    ("JST", "Asia/Tokyo"),
    ("AEST", "Australia/Sydney"),
    ("AEDT", "Australia/Sydney"),
];

impl Zone {
    /// UTC.
    pub fn utc() -> Zone {
        Zone::Fixed(Utc.fix())
    }

    /// Reads a zone name, abbreviation or offset.
    pub fn parse(name: &str) -> Result<Zone, PatternError> {
        let unknown = || PatternError::UnknownZone(name.to_string());
        let upper = name.to_ascii_uppercase();
        if matches!(upper.as_str(), "Z" | "UTC" | "GMT" | "UT") {
            return Ok(Zone::utc());
        }
        if let Some((_, region)) = ABBREVIATIONS.iter().find(|(a, _)| *a == upper) {
            return Tz::from_str(region).map(Zone::Named).map_err(|_| unknown());
        }
        let offset_text = ["UTC", "GMT", "UT"]
            .iter()
            .find_map(|p| upper.strip_prefix(p))
            .unwrap_or(&upper);
        if offset_text.starts_with(['+', '-']) {
            return parse_offset(offset_text)
                .map(Zone::Fixed)
                .ok_or_else(unknown);
        }
        Tz::from_str(name).map(Zone::Named).map_err(|_| unknown())
    }

    /// The offset in effect at the instant `utc`.
    pub fn offset_at_utc(&self, utc: &NaiveDateTime) -> FixedOffset {
        match self {
            Zone::Named(tz) => tz.offset_from_utc_datetime(utc).fix(),
            Zone::Fixed(offset) => *offset,
        }
    }

    /// The short name in effect at `utc` (`PDT`, `UTC`, `+02:00`).
    pub fn abbreviation_at_utc(&self, utc: &NaiveDateTime) -> String {
        match self {
            Zone::Named(tz) => {
                let offset = tz.offset_from_utc_datetime(utc);
                offset
                    .abbreviation()
                    .map(str::to_string)
                    .unwrap_or_else(|| offset.fix().to_string())
            }
            Zone::Fixed(offset) if offset.local_minus_utc() == 0 => "UTC".into(),
            Zone::Fixed(offset) => offset.to_string(),
        }
    }

    /// The instant at which the wall-clock time `local` occurs in this zone (the earlier one
    /// when clocks go back; shifted forward over a gap when clocks go forward, as Java does).
    pub fn local_to_utc(&self, local: &NaiveDateTime) -> Option<NaiveDateTime> {
        match self {
            Zone::Fixed(offset) => Some(*local - *offset),
            Zone::Named(tz) => match tz.from_local_datetime(local).earliest() {
                Some(dt) => Some(dt.naive_utc()),
                None => {
                    let later = *local + chrono::Duration::hours(1);
                    let dt = tz.from_local_datetime(&later).earliest()?;
                    Some(dt.naive_utc())
                }
            },
        }
    }
}

/// `+02`, `+0200`, `+02:00`, `-5`.
fn parse_offset(text: &str) -> Option<FixedOffset> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 4 {
        return None;
    }
    let (hours, minutes) = if digits.len() <= 2 {
        (digits.parse::<i32>().ok()?, 0)
    } else {
        let split = digits.len() - 2;
        (
            digits[..split].parse::<i32>().ok()?,
            digits[split..].parse::<i32>().ok()?,
        )
    };
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(ms: i64) -> NaiveDateTime {
        DateTime::from_timestamp_millis(ms)
            .map(|d| d.naive_utc())
            .unwrap_or_default()
    }

    #[test]
    fn formats_with_zone_abbreviations() {
        let p = JavaPattern::compile("yyyy-MM-dd HH:mm:ss zzz").expect("valid");
        let la = Zone::parse("America/Los_Angeles").expect("zone");
        assert_eq!(p.format(utc(1526075913000), &la), "2018-05-11 14:58:33 PDT");
        let london = Zone::parse("Europe/London").expect("zone");
        assert_eq!(
            p.format(utc(1526075913000), &london),
            "2018-05-11 22:58:33 BST"
        );
    }

    #[test]
    fn parses_offsets_zone_names_and_fractions() {
        let p = JavaPattern::compile("yyyy-MM-dd'T'HH:mm:ssX").expect("valid");
        let z = Zone::utc();
        assert_eq!(
            p.parse_instant("2018-05-11T21:58:33Z", &z),
            Some(utc(1526075913000))
        );
        assert_eq!(
            p.parse_instant("2020-05-11T21:58:33z", &z),
            Some(utc(1589234313000))
        );
        let p = JavaPattern::compile("yyyy-MM-dd'T'HH:mm:ss.SX").expect("valid");
        assert_eq!(
            p.parse_instant("2019-08-27T13:31:09.2+0000", &z),
            Some(utc(1566912669200))
        );
        let p = JavaPattern::compile("yyyy-MM-dd'T'HH:mm:ss zzz").expect("valid");
        assert_eq!(
            p.parse_instant("2018-05-11T21:58:33 PST", &z),
            Some(utc(1526101113000))
        );
        assert_eq!(p.parse_instant("not a date", &z), None);
    }

    #[test]
    fn missing_fields_default_to_the_epoch() {
        let p = JavaPattern::compile("MMM-yyyy").expect("valid");
        assert_eq!(
            p.parse_date("JAN-2022"),
            NaiveDate::from_ymd_opt(2022, 1, 1)
        );
        let p = JavaPattern::compile("hh:mm:ss a").expect("valid");
        assert_eq!(
            p.parse_time("01:00:00 Pm"),
            NaiveTime::from_hms_opt(13, 0, 0)
        );
    }

    #[test]
    fn bad_patterns_and_zones() {
        assert!(matches!(
            JavaPattern::compile("yyyy-'MM"),
            Err(PatternError::Unterminated(_))
        ));
        assert!(matches!(
            JavaPattern::compile("yyyy-qq"),
            Err(PatternError::Unsupported { letter: 'q', .. })
        ));
        assert!(Zone::parse("Mars/Olympus").is_err());
        assert_eq!(
            Zone::parse("+0200"),
            Ok(Zone::Fixed(FixedOffset::east_opt(7200).expect("offset")))
        );
    }
}
