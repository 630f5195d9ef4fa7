//! Parse errors of the ksqlDB dialect.
//!
//! Every error carries the 1-based line and column of the token where parsing failed, so the shell
//! can point at it and the Postgres wire can turn it into an `ErrorResponse` position. The message
//! follows ksqlDB's wording (`line 1:15: mismatched input 'FORM' expecting ...`) because users of
//! ksqlDB know it and its test suites match on it.

use datafusion::sql::sqlparser::parser::ParserError;
use datafusion::sql::sqlparser::tokenizer::{Location, Span, TokenizerError};

/// A statement that could not be parsed: where (1-based line and column) and why.
///
/// `line` and `column` are 0 only when the failure has no position (an empty script).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}:{column}: {message}")]
pub struct ParseError {
    /// 1-based line of the offending token.
    pub line: u64,
    /// 1-based column of the offending token.
    pub column: u64,
    /// What was expected and what was found, in ksqlDB's words.
    pub message: String,
}

impl ParseError {
    /// An error at `location` with `message`.
    pub fn new(location: Location, message: impl Into<String>) -> Self {
        ParseError {
            line: location.line,
            column: location.column,
            message: message.into(),
        }
    }

    /// An error at the start of `span`.
    pub fn at(span: Span, message: impl Into<String>) -> Self {
        Self::new(span.start, message)
    }

    /// The character offset (0-based, in chars) of the error within `sql`, for protocols that
    /// report a position instead of line and column (Postgres' `P` field is this plus one).
    pub fn offset_in(&self, sql: &str) -> Option<usize> {
        if self.line == 0 {
            return None;
        }
        let mut offset = 0usize;
        for (index, line) in sql.split('\n').enumerate() {
            if index as u64 + 1 == self.line {
                return Some(offset + (self.column as usize).saturating_sub(1));
            }
            offset += line.chars().count() + 1;
        }
        None
    }
}

impl From<TokenizerError> for ParseError {
    fn from(error: TokenizerError) -> Self {
        ParseError::new(error.location, error.message)
    }
}

impl From<ParserError> for ParseError {
    /// Turns sqlparser's message (`Expected: X, found: Y at Line: 1, Column: 15`) into ksqlDB's
    /// (`mismatched input 'Y' expecting X`) with the position taken out of the text.
    fn from(error: ParserError) -> Self {
        let text = match error {
            ParserError::TokenizerError(text) | ParserError::ParserError(text) => text,
            ParserError::RecursionLimitExceeded => {
                return ParseError {
                    line: 0,
                    column: 0,
                    message: "statement is nested too deeply".to_string(),
                };
            }
        };
        let (body, location) = split_location(&text);
        let message = match body.strip_prefix("Expected: ") {
            Some(rest) => match rest.rsplit_once(", found: ") {
                Some((expected, found)) => mismatched(found, expected),
                None => format!("expecting {rest}"),
            },
            None => body.to_string(),
        };
        ParseError::new(location, message)
    }
}

/// `mismatched input 'found' expecting expected`, with `<EOF>` for the end of input.
pub(crate) fn mismatched(found: &str, expected: &str) -> String {
    let expected = if !expected.is_empty()
        && expected.len() <= 2
        && !expected.chars().any(|c| c.is_alphanumeric() || c == '\'')
    {
        format!("'{expected}'")
    } else {
        expected.to_string()
    };
    let found = match found {
        "EOF" => "<EOF>".to_string(),
        other => format!("'{}'", other.trim_matches('\'')),
    };
    format!("mismatched input {found} expecting {expected}")
}

/// Splits `... at Line: 3, Column: 7` off a sqlparser message.
fn split_location(text: &str) -> (&str, Location) {
    if let Some((body, position)) = text.rsplit_once(" at Line: ")
        && let Some((line, column)) = position.split_once(", Column: ")
        && let (Ok(line), Ok(column)) = (line.trim().parse(), column.trim().parse())
    {
        return (body, Location { line, column });
    }
    (text, Location { line: 0, column: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_sqlparser_messages() {
        let error = ParseError::from(ParserError::ParserError(
            "Expected: FROM, found: FORM at Line: 2, Column: 15".to_string(),
        ));
        assert_eq!(error.line, 2);
        assert_eq!(error.column, 15);
        assert_eq!(error.message, "mismatched input 'FORM' expecting FROM");
        assert_eq!(
            error.to_string(),
            "line 2:15: mismatched input 'FORM' expecting FROM"
        );
    }

    #[test]
    fn punctuation_is_quoted() {
        let error = ParseError::from(ParserError::ParserError(
            "Expected: ), found: ( at Line: 1, Column: 28".to_string(),
        ));
        assert_eq!(error.message, "mismatched input '(' expecting ')'");
    }

    #[test]
    fn end_of_input_is_named_like_antlr() {
        let error = ParseError::from(ParserError::ParserError(
            "Expected: an expression, found: EOF".to_string(),
        ));
        assert_eq!(
            error.message,
            "mismatched input <EOF> expecting an expression"
        );
        assert_eq!((error.line, error.column), (0, 0));
    }

    #[test]
    fn offset_counts_lines_and_columns() {
        let error = ParseError {
            line: 2,
            column: 3,
            message: String::new(),
        };
        assert_eq!(error.offset_in("ab\ncdef"), Some(5));
        assert_eq!(error.offset_in("one line"), None);
    }
}
