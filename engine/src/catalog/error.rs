//! [`EngineError`]: why a statement was refused or failed, in terms of what the user wrote.
//!
//! Messages follow ksqlDB's wording where ksqlDB has one (users of ksqlDB know them and its test
//! suites compare them). A parse error keeps its line and column, relative to the whole script
//! given to [`crate::Engine::execute`].

use sluice_broker::BrokerError;

use crate::format::FormatError;
use crate::query::QueryError;
use crate::sql::ParseError;
use crate::types::TypeError;

/// Why a statement could not be executed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The text is not valid ksqlDB SQL; line and column point at the offending token.
    #[error("{0}")]
    Parse(#[from] ParseError),
    /// The statement is valid SQL but asks for something impossible or inconsistent (an unknown
    /// source, a missing property, a stream with a PRIMARY KEY ...). The message is ksqlDB's.
    #[error("{0}")]
    Invalid(String),
    /// The statement is valid but Sluice does not run it yet; the message says what is missing.
    #[error("{0}")]
    Unsupported(String),
    /// A format cannot hold the declared columns, or a delimiter/format name is wrong.
    #[error("{0}")]
    Format(#[from] FormatError),
    /// A type cannot be represented (a query output DataFusion typed in a way ksqlDB cannot name).
    #[error("{0}")]
    Type(#[from] TypeError),
    /// A rule about one node of the statement (an unknown INSERT INTO target), at the node's
    /// 1-based line and column: ksqlDB prints these `Line: L, Col: C: message`.
    #[error("Line: {line}, Col: {column}: {message}")]
    At {
        /// 1-based line, in the whole script once [`EngineError::placed`] moved it.
        line: u64,
        /// 1-based column.
        column: u64,
        /// What is wrong, in ksqlDB's words.
        message: String,
    },
    /// A WITH property could not be read while the statement was prepared (a bad delimiter):
    /// ksqlDB reports these with the prefix of its prepare step.
    #[error("Failed to prepare statement: {0}")]
    Prepare(Box<EngineError>),
    /// The SELECT did not plan: an unknown column, a type mismatch, an unknown function.
    #[error("Invalid query: {0}")]
    Plan(String),
    /// A persistent query could not be created or resumed.
    #[error("{0}")]
    Query(#[from] QueryError),
    /// The broker refused a topic operation (create, delete, append).
    #[error("{0}")]
    Broker(#[from] BrokerError),
    /// A command read back from the command topic at start-up is unreadable.
    #[error("the command topic holds an unreadable command at offset {offset}: {message}")]
    CorruptCommand {
        /// Offset of the record in `_sluice_commands`.
        offset: i64,
        /// What is wrong with it.
        message: String,
    },
    /// `RUN SCRIPT` could not read its file.
    #[error("cannot read script '{path}': {message}")]
    Script {
        /// The path given.
        path: String,
        /// The operating system's reason.
        message: String,
    },
}

impl EngineError {
    /// An [`EngineError::Invalid`] with `message`.
    pub fn invalid(message: impl Into<String>) -> EngineError {
        EngineError::Invalid(message.into())
    }

    /// An [`EngineError::At`] at the start of `span` (positions within the statement's text).
    pub fn at(
        span: datafusion::sql::sqlparser::tokenizer::Span,
        message: impl Into<String>,
    ) -> Self {
        EngineError::At {
            line: span.start.line,
            column: span.start.column,
            message: message.into(),
        }
    }

    /// Moves a position counted in a statement's text to the whole script's, the statement
    /// starting at 1-based `line` and `column` of the script.
    pub fn placed(self, line: u64, column: u64) -> EngineError {
        match self {
            EngineError::At {
                line: l,
                column: c,
                message,
            } if l > 0 => EngineError::At {
                column: if l == 1 { c + column - 1 } else { c },
                line: l + line - 1,
                message,
            },
            other => other,
        }
    }

    /// Wraps an error of reading the WITH clause as ksqlDB's prepare step reports it; other
    /// errors are returned unchanged.
    pub fn prepare(error: impl Into<EngineError>) -> EngineError {
        match error.into() {
            error @ EngineError::Format(FormatError::InvalidDelimiter { .. }) => {
                EngineError::Prepare(Box::new(error))
            }
            other => other,
        }
    }

    /// The position of a parse error (1-based line and column), if this is one.
    pub fn position(&self) -> Option<(u64, u64)> {
        match self {
            EngineError::Parse(e) if e.line > 0 => Some((e.line, e.column)),
            _ => None,
        }
    }
}

impl From<datafusion::error::DataFusionError> for EngineError {
    fn from(error: datafusion::error::DataFusionError) -> Self {
        EngineError::Plan(error.strip_backtrace())
    }
}

/// Shorthand for results of the engine.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
