//! Serialization formats and their options, as named in `WITH (...)`: `FORMAT`, `KEY_FORMAT`,
//! `VALUE_FORMAT`, `WRAP_SINGLE_VALUE`, `KEY_DELIMITER`, `VALUE_DELIMITER`.
//!
//! Parsing a name or a delimiter yields the error text ksqlDB gives, so the catalog can show
//! users the messages they know.

use std::fmt;
use std::str::FromStr;

use super::FormatError;

/// A serialization format for a record key or value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormatKind {
    /// JSON text. Values are objects keyed by column name unless unwrapped; single-column
    /// keys are unwrapped, multi-column keys are objects.
    Json,
    /// One line of delimiter-separated fields (CSV quoting rules), one field per column.
    Delimited,
    /// Kafka's primitive serializers: INT (4 bytes), BIGINT (8), DOUBLE (8), STRING (UTF-8),
    /// BYTES (raw). One column at most. The default key format.
    Kafka,
    /// No data: the key is ignored on read and written as null.
    None,
}

impl FormatKind {
    /// The format's name as ksqlDB prints it.
    pub fn name(self) -> &'static str {
        match self {
            FormatKind::Json => "JSON",
            FormatKind::Delimited => "DELIMITED",
            FormatKind::Kafka => "KAFKA",
            FormatKind::None => "NONE",
        }
    }
}

impl fmt::Display for FormatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FormatKind {
    type Err = FormatError;

    /// Case-insensitive: `'json'`, `'Json'` and `'JSON'` are the same format.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "JSON" => Ok(FormatKind::Json),
            "DELIMITED" => Ok(FormatKind::Delimited),
            "KAFKA" => Ok(FormatKind::Kafka),
            "NONE" => Ok(FormatKind::None),
            _ => Err(FormatError::UnknownFormat(s.to_string())),
        }
    }
}

/// The options of one side (key or value) of a source.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FormatOptions {
    /// The format.
    pub kind: FormatKind,
    /// `WRAP_SINGLE_VALUE`: `None` when not given. Only meaningful for values with one column;
    /// keys are never wrapped when they have one column.
    pub wrap_single_value: Option<bool>,
    /// Field delimiter for DELIMITED (`,` unless `KEY_DELIMITER`/`VALUE_DELIMITER` says).
    pub delimiter: char,
}

impl FormatOptions {
    /// Options for `kind` with every option at its default.
    pub fn new(kind: FormatKind) -> Self {
        FormatOptions {
            kind,
            wrap_single_value: None,
            delimiter: ',',
        }
    }

    /// Sets `WRAP_SINGLE_VALUE`.
    pub fn with_wrap_single_value(mut self, wrap: bool) -> Self {
        self.wrap_single_value = Some(wrap);
        self
    }

    /// Sets the DELIMITED field delimiter.
    pub fn with_delimiter(mut self, delimiter: char) -> Self {
        self.delimiter = delimiter;
        self
    }
}

/// The key and value formats of a source or sink.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordFormat {
    /// How the record key is (de)serialized.
    pub key: FormatOptions,
    /// How the record value is (de)serialized.
    pub value: FormatOptions,
}

impl RecordFormat {
    /// `KEY_FORMAT=key, VALUE_FORMAT=value` with default options.
    pub fn new(key: FormatKind, value: FormatKind) -> Self {
        RecordFormat {
            key: FormatOptions::new(key),
            value: FormatOptions::new(value),
        }
    }
}

/// Parses a `KEY_DELIMITER` / `VALUE_DELIMITER` setting: one character, or `TAB` / `SPACE`.
/// `property` is the option's name, used in the error message.
pub fn parse_delimiter(property: &str, raw: &str) -> Result<char, FormatError> {
    let invalid = |reason: String| FormatError::InvalidDelimiter {
        property: property.to_ascii_uppercase(),
        reason,
    };
    match raw {
        "TAB" => return Ok('\t'),
        "SPACE" => return Ok(' '),
        _ => {}
    }
    if raw.trim().is_empty() {
        return Err(invalid(
            "Delimiter cannot be empty, if you meant to have a tab or space for delimiter, please \
             use the special values 'TAB' or 'SPACE'"
                .to_string(),
        ));
    }
    let mut chars = raw.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(invalid(format!(
            "Invalid delimiter value: '{raw}'. Delimiter must be a single character or TAB,SPACE"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_are_case_insensitive() {
        assert_eq!(
            "Delimited".parse::<FormatKind>().unwrap(),
            FormatKind::Delimited
        );
        assert_eq!("kafka".parse::<FormatKind>().unwrap(), FormatKind::Kafka);
        let err = "FOO".parse::<FormatKind>().unwrap_err();
        assert_eq!(err.to_string(), "Unknown format: FOO");
    }

    #[test]
    fn delimiters_follow_ksqldb_rules() {
        assert_eq!(parse_delimiter("value_delimiter", "TAB").unwrap(), '\t');
        assert_eq!(parse_delimiter("value_delimiter", "SPACE").unwrap(), ' ');
        assert_eq!(parse_delimiter("value_delimiter", "|").unwrap(), '|');
        assert_eq!(
            parse_delimiter("value_delimiter", "<~>")
                .unwrap_err()
                .to_string(),
            "Configuration VALUE_DELIMITER is invalid: Invalid delimiter value: '<~>'. \
             Delimiter must be a single character or TAB,SPACE\nExample valid value: ';'"
        );
        for blank in ["", " ", "\t"] {
            let err = parse_delimiter("value_delimiter", blank)
                .unwrap_err()
                .to_string();
            assert!(err.contains("Delimiter cannot be empty"), "{err}");
        }
    }
}
