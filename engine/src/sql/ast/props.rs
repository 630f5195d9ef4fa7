//! `WITH (...)` properties and durations.
//!
//! ksqlDB configures sources and queries with `WITH (KAFKA_TOPIC='t', PARTITIONS=3, ...)`. The
//! parser keeps every property as written (name upper-cased, literal value, position) so later
//! stages can validate what they own and report errors at the right place; typed accessors turn a
//! value into what a stage needs. Durations (`10 SECONDS`) are the unit of windows, grace periods
//! and join windows.

use std::fmt;
use std::time::Duration as StdDuration;

use datafusion::sql::sqlparser::tokenizer::Span;

use crate::sql::ParseError;

/// The value of one property: the literal as written.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyValue {
    /// `'text'`
    String(String),
    /// `3`, `-1`, `1.5`: kept as text so no precision is lost.
    Number(String),
    /// `TRUE` / `FALSE`
    Boolean(bool),
    /// `NULL`
    Null,
}

impl fmt::Display for PropertyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropertyValue::String(text) => write!(f, "'{}'", text.replace('\'', "''")),
            PropertyValue::Number(number) => f.write_str(number),
            PropertyValue::Boolean(value) => write!(f, "{}", if *value { "TRUE" } else { "FALSE" }),
            PropertyValue::Null => f.write_str("NULL"),
        }
    }
}

/// One `NAME = value` entry. Equality ignores the position.
#[derive(Debug, Clone)]
pub struct Property {
    /// Upper-cased name (`KAFKA_TOPIC`), whether written as identifier or string.
    pub name: String,
    /// The literal.
    pub value: PropertyValue,
    /// Where the name was written, for errors about this property.
    pub span: Span,
}

impl PartialEq for Property {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.value == other.value
    }
}

/// The properties of a `WITH (...)` clause, in the order written; names are unique.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Properties(pub Vec<Property>);

impl Properties {
    /// True when there is no `WITH` clause or it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The property called `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&Property> {
        self.0.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The value of `name` as text: strings as they are, numbers and booleans as written.
    pub fn get_str(&self, name: &str) -> Option<String> {
        self.get(name).and_then(|p| match &p.value {
            PropertyValue::String(text) | PropertyValue::Number(text) => Some(text.clone()),
            PropertyValue::Boolean(value) => Some(value.to_string()),
            PropertyValue::Null => None,
        })
    }

    /// The value of `name` as an integer (`PARTITIONS=3` or `PARTITIONS='3'`).
    pub fn get_int(&self, name: &str) -> Result<Option<i64>, ParseError> {
        let Some(property) = self.get(name) else {
            return Ok(None);
        };
        match &property.value {
            PropertyValue::Number(text) | PropertyValue::String(text) => {
                text.trim().parse().map(Some).map_err(|_| {
                    ParseError::at(
                        property.span,
                        format!(
                            "Invalid value {} for property {name}: expected an integer",
                            property.value
                        ),
                    )
                })
            }
            PropertyValue::Null => Ok(None),
            PropertyValue::Boolean(_) => Err(ParseError::at(
                property.span,
                format!(
                    "Invalid value {} for property {name}: expected an integer",
                    property.value
                ),
            )),
        }
    }

    /// The value of `name` as a boolean (`WRAP_SINGLE_VALUE=false` or `='false'`).
    pub fn get_bool(&self, name: &str) -> Result<Option<bool>, ParseError> {
        let Some(property) = self.get(name) else {
            return Ok(None);
        };
        match &property.value {
            PropertyValue::Boolean(value) => Ok(Some(*value)),
            PropertyValue::String(text) if text.eq_ignore_ascii_case("true") => Ok(Some(true)),
            PropertyValue::String(text) if text.eq_ignore_ascii_case("false") => Ok(Some(false)),
            PropertyValue::Null => Ok(None),
            other => Err(ParseError::at(
                property.span,
                format!("Invalid value {other} for property {name}: expected TRUE or FALSE"),
            )),
        }
    }
}

impl fmt::Display for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for (i, property) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={}", property.name, property.value)?;
        }
        f.write_str(")")
    }
}

/// A time unit of ksqlDB's durations; singular and plural spellings are the same unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    /// `MILLISECOND(S)`
    Milliseconds,
    /// `SECOND(S)`
    Seconds,
    /// `MINUTE(S)`
    Minutes,
    /// `HOUR(S)`
    Hours,
    /// `DAY(S)`
    Days,
}

impl TimeUnit {
    /// The unit named `word` (case-insensitive, singular or plural), if it is one.
    pub fn from_word(word: &str) -> Option<TimeUnit> {
        let upper = word.to_ascii_uppercase();
        let singular = upper.strip_suffix('S').unwrap_or(&upper);
        match singular {
            "MILLISECOND" => Some(TimeUnit::Milliseconds),
            "SECOND" => Some(TimeUnit::Seconds),
            "MINUTE" => Some(TimeUnit::Minutes),
            "HOUR" => Some(TimeUnit::Hours),
            "DAY" => Some(TimeUnit::Days),
            _ => None,
        }
    }

    /// Milliseconds in one unit.
    pub fn millis(self) -> u64 {
        match self {
            TimeUnit::Milliseconds => 1,
            TimeUnit::Seconds => 1_000,
            TimeUnit::Minutes => 60_000,
            TimeUnit::Hours => 3_600_000,
            TimeUnit::Days => 86_400_000,
        }
    }
}

impl fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeUnit::Milliseconds => "MILLISECONDS",
            TimeUnit::Seconds => "SECONDS",
            TimeUnit::Minutes => "MINUTES",
            TimeUnit::Hours => "HOURS",
            TimeUnit::Days => "DAYS",
        })
    }
}

/// A duration as written: `10 SECONDS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Duration {
    /// How many units.
    pub value: u64,
    /// Which unit.
    pub unit: TimeUnit,
}

impl Duration {
    /// The length in milliseconds (saturating).
    pub fn as_millis(&self) -> u64 {
        self.value.saturating_mul(self.unit.millis())
    }

    /// The length as a standard duration.
    pub fn to_std(&self) -> StdDuration {
        StdDuration::from_millis(self.as_millis())
    }

    /// Parses `'30 seconds'` as written in the `WINDOW_SIZE` property; the error says why not,
    /// in ksqlDB's words (`Invalid duration: '30 bobs'. Unknown time unit: 'BOBS'`).
    pub fn parse_text(text: &str) -> Result<Duration, String> {
        let mut parts = text.split_whitespace();
        let (Some(value), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!(
                "Invalid duration: '{text}'. Expected '<number> <unit>'"
            ));
        };
        let value = value
            .parse()
            .map_err(|_| format!("Invalid duration: '{text}'. Not a number: '{value}'"))?;
        let unit = TimeUnit::from_word(unit).ok_or_else(|| {
            format!(
                "Invalid duration: '{text}'. Unknown time unit: '{}'",
                unit.to_ascii_uppercase()
            )
        })?;
        Ok(Duration { value, unit })
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.value, self.unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_units_accept_singular_and_plural() {
        assert_eq!(TimeUnit::from_word("second"), Some(TimeUnit::Seconds));
        assert_eq!(TimeUnit::from_word("DAYS"), Some(TimeUnit::Days));
        assert_eq!(TimeUnit::from_word("weeks"), None);
    }

    fn properties(sql: &str) -> Properties {
        match crate::sql::parse_statement(sql) {
            Ok(crate::sql::Statement::CreateSource(create)) => create.properties,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn typed_accessors_accept_literals_and_strings() {
        let props = properties(
            "CREATE STREAM S (A INT) WITH (PARTITIONS='4', REPLICAS=2, WRAP_SINGLE_VALUE='TRUE', \
             KEY_FORMAT=NULL, BAD='x', FLAG=TRUE);",
        );
        assert_eq!(props.get_int("partitions").unwrap(), Some(4));
        assert_eq!(props.get_int("REPLICAS").unwrap(), Some(2));
        assert_eq!(props.get_int("MISSING").unwrap(), None);
        assert_eq!(props.get_bool("WRAP_SINGLE_VALUE").unwrap(), Some(true));
        assert_eq!(props.get_str("KEY_FORMAT"), None);
        assert_eq!(props.get_str("FLAG").as_deref(), Some("true"));
        let error = props.get_int("BAD").unwrap_err();
        assert_eq!((error.line, error.column), (1, 102));
        assert_eq!(
            error.message,
            "Invalid value 'x' for property BAD: expected an integer"
        );
        assert!(props.get_bool("REPLICAS").is_err());
    }

    #[test]
    fn durations_parse_from_property_text() {
        let duration = Duration::parse_text("30 seconds").unwrap();
        assert_eq!(duration.as_millis(), 30_000);
        assert_eq!(
            Duration::parse_text("30 bobs").unwrap_err(),
            "Invalid duration: '30 bobs'. Unknown time unit: 'BOBS'"
        );
    }
}
