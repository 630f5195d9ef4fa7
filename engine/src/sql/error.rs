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
#[error("{}", self.render())]
pub struct ParseError {
    /// 1-based line of the offending token.
    pub line: u64,
    /// 1-based column of the offending token.
    pub column: u64,
    /// What was expected and what was found, in ksqlDB's words.
    pub message: String,
    /// Which of ksqlDB's steps found the error, which decides how the position is printed.
    pub stage: ParseStage,
}

/// The step of ksqlDB's parser an error belongs to. ksqlDB prints each differently, and users
/// (and its test suites) know the shapes: the grammar's `line 1:15: ...`; the AST builder's
/// `Failed to prepare statement: line 1:15: ...` for a bad literal and
/// `Failed to prepare statement: Line: 1, Col: 15: ...` for a rule about a node (a KEY column in
/// a table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParseStage {
    /// The grammar refused a token: `line L:C: message`.
    #[default]
    Syntax,
    /// No rule of the grammar fits the token at all (a `NULL` where a type belongs):
    /// `line L:C: Syntax Error\nSyntax error at or near 'TOKEN' at line L:C`, the token being
    /// the message.
    NoViableAlternative,
    /// A literal the AST builder refused: `Failed to prepare statement: line L:C: message`.
    Literal,
    /// A rule about a node: `Failed to prepare statement: Line: L, Col: C: message`.
    Node,
}

/// Marks a sqlparser error text as coming from [`ParseStage::Node`] (the stage cannot travel in
/// sqlparser's own error type, only in its text).
pub(crate) const NODE_MARK: &str = "\u{1}node\u{1}";
/// Marks a sqlparser error text as a [`ParseStage::NoViableAlternative`] at the given token.
pub(crate) const NO_VIABLE_MARK: &str = "\u{1}noviable\u{1}";

impl ParseError {
    /// An error at `location` with `message`.
    pub fn new(location: Location, message: impl Into<String>) -> Self {
        ParseError {
            line: location.line,
            column: location.column,
            message: message.into(),
            stage: ParseStage::Syntax,
        }
    }

    /// The same error reported by `stage`.
    pub fn with_stage(mut self, stage: ParseStage) -> Self {
        self.stage = stage;
        self
    }

    /// The message as ksqlDB prints it for the error's stage.
    fn render(&self) -> String {
        let (line, column, message) = (self.line, self.column, &self.message);
        match self.stage {
            ParseStage::Syntax => format!("line {line}:{column}: {message}"),
            ParseStage::NoViableAlternative => format!(
                "line {line}:{column}: Syntax Error\nSyntax error at or near '{message}' at line \
                 {line}:{column}"
            ),
            ParseStage::Literal => {
                // ksqlDB builds these from a node's 1-based column and then adds one more (its
                // ParsingException expects a 0-based one): it reports the column after the
                // literal's first character, and so does Sluice, for the same message.
                let column = column + 1;
                format!("Failed to prepare statement: line {line}:{column}: {message}")
            }
            ParseStage::Node => {
                format!("Failed to prepare statement: Line: {line}, Col: {column}: {message}")
            }
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
                return ParseError::new(
                    Location { line: 0, column: 0 },
                    "statement is nested too deeply",
                );
            }
        };
        let (body, location) = split_location(&text);
        if let Some(message) = body.strip_prefix(NODE_MARK) {
            return ParseError::new(location, message).with_stage(ParseStage::Node);
        }
        if let Some(token) = body.strip_prefix(NO_VIABLE_MARK) {
            return ParseError::new(location, token).with_stage(ParseStage::NoViableAlternative);
        }
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
    fn stages_print_as_ksqldb_does() {
        let at = Location {
            line: 2,
            column: 47,
        };
        assert_eq!(
            ParseError::new(at, "NULL")
                .with_stage(ParseStage::NoViableAlternative)
                .to_string(),
            "line 2:47: Syntax Error\nSyntax error at or near 'NULL' at line 2:47"
        );
        assert_eq!(
            ParseError::new(at, "Number overflows DOUBLE: 1E400")
                .with_stage(ParseStage::Literal)
                .to_string(),
            "Failed to prepare statement: line 2:48: Number overflows DOUBLE: 1E400"
        );
        let node = ParseError::from(ParserError::ParserError(format!(
            "{NODE_MARK}Column `ID` is a 'KEY' column at Line: 1, Column: 21"
        )));
        assert_eq!(
            node.to_string(),
            "Failed to prepare statement: Line: 1, Col: 21: Column `ID` is a 'KEY' column"
        );
    }

    #[test]
    fn offset_counts_lines_and_columns() {
        let error = ParseError::new(Location { line: 2, column: 3 }, "");
        assert_eq!(error.offset_in("ab\ncdef"), Some(5));
        assert_eq!(error.offset_in("one line"), None);
    }
}
