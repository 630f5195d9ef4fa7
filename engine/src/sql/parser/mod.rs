//! The ksqlDB statement parser.
//!
//! Modelled on DataFusion's `DFParser`: sqlparser's `Parser` holds the tokens and parses every
//! expression and select item (with [`KsqlDialect`](crate::sql::KsqlDialect) for ksqlDB's
//! additions), while this module parses the statements and clauses sqlparser does not know
//! (CREATE STREAM, WINDOW, EMIT, PRINT ...). Before parsing, unquoted identifiers are upper-cased
//! as ksqlDB does, so the tree never needs case folding again.
//!
//! One file per family: [`create`] (CREATE/DROP/ALTER, columns, properties), [`query`]
//! (SELECT and its clauses), [`command`] (SHOW, DESCRIBE, EXPLAIN, TERMINATE, PRINT, SET,
//! INSERT ...), [`types`] (ksqlDB types), [`expr`] (the dialect's expression hooks) and
//! [`literals`] (numeric literal checks).

mod command;
mod create;
pub(crate) mod expr;
mod literals;
mod query;
mod types;

use datafusion::sql::sqlparser::ast::Ident;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer};

use crate::sql::ast::{Duration, Statement, TimeUnit};
use crate::sql::dialect::KsqlDialect;
use crate::sql::error::{ParseError, mismatched};

pub(crate) use types::parse_type;

/// The dialect every parser uses (it has no state).
static DIALECT: KsqlDialect = KsqlDialect;

/// The words a statement may start with, for the error on anything else.
const STATEMENT_STARTS: &str = "{ALTER, ASSERT, CREATE, DESCRIBE, DROP, EXPLAIN, INSERT, LIST, \
                                PRINT, RUN, SELECT, SET, SHOW, TERMINATE, UNSET}";

/// Parses every statement of `sql` (separated by `;`, the last one may omit it).
///
/// Positions in errors are relative to `sql`. An empty script gives an empty list.
pub fn parse_statements(sql: &str) -> Result<Vec<Statement>, ParseError> {
    let mut parser = parser_for(sql)?;
    let mut statements = Vec::new();
    loop {
        while parser.consume_token(&Token::SemiColon) {}
        if parser.peek_token_ref().token == Token::EOF {
            return Ok(statements);
        }
        let statement = parse_one(&mut parser)?;
        statements.push(statement);
        match &parser.peek_token_ref().token {
            Token::SemiColon | Token::EOF => {}
            _ => return Err(unexpected_after_statement(&parser)),
        }
    }
}

/// Parses exactly one statement (a trailing `;` is allowed).
pub fn parse_statement(sql: &str) -> Result<Statement, ParseError> {
    let mut parser = parser_for(sql)?;
    if parser.peek_token_ref().token == Token::EOF {
        return Err(ParseError::new(
            Location { line: 1, column: 1 },
            format!("mismatched input <EOF> expecting {STATEMENT_STARTS}"),
        ));
    }
    let statement = parse_one(&mut parser)?;
    let _ = parser.consume_token(&Token::SemiColon);
    if parser.peek_token_ref().token != Token::EOF {
        return Err(unexpected_after_statement(&parser));
    }
    Ok(statement)
}

/// Parses one ksqlDB type (`ARRAY<STRUCT<A INT>>`), as in a column definition.
pub fn parse_type_expr(sql: &str) -> Result<crate::sql::ast::TypeExpr, ParseError> {
    let mut parser = parser_for(sql)?;
    let data_type = parse_type(&mut parser)?;
    if parser.peek_token_ref().token != Token::EOF {
        return Err(unexpected_after_statement(&parser));
    }
    Ok(data_type)
}

/// Tokenizes `sql` (unquoted words upper-cased) and sets up sqlparser's parser on the tokens.
fn parser_for(sql: &str) -> Result<Parser<'static>, ParseError> {
    let mut tokens = Tokenizer::new(&DIALECT, sql)
        .with_unescape(true)
        .tokenize_with_location()?;
    upper_case_unquoted_words(&mut tokens);
    // An explicit end token placed after the last character, so "expecting X at end of input"
    // points at where the text stopped instead of at no position.
    let end = end_location(sql);
    tokens.push(TokenWithSpan::new(Token::EOF, Span::new(end, end)));
    Ok(Parser::new(&DIALECT).with_tokens_with_locations(tokens))
}

/// The 1-based position just after the last character of `sql`.
fn end_location(sql: &str) -> Location {
    let line = sql.matches('\n').count() as u64 + 1;
    let last_line = sql.rsplit('\n').next().unwrap_or_default();
    Location {
        line,
        column: last_line.chars().count() as u64 + 1,
    }
}

/// ksqlDB's identifier rule: unquoted identifiers are upper-cased, quoted ones keep their case.
/// Keywords are matched case-insensitively anyway, so doing it on the tokens is enough.
fn upper_case_unquoted_words(tokens: &mut [TokenWithSpan]) {
    for token in tokens {
        if let Token::Word(word) = &mut token.token
            && word.quote_style.is_none()
        {
            word.value = word.value.to_uppercase();
        }
    }
}

/// The error for a token left over after a complete statement.
fn unexpected_after_statement(parser: &Parser) -> ParseError {
    let token = parser.peek_token_ref();
    ParseError::new(
        token.span.start,
        mismatched(&token.token.to_string(), "';'"),
    )
}

/// Parses one statement, dispatching on its first word.
fn parse_one(parser: &mut Parser) -> Result<Statement, ParseError> {
    let statement = parse_statement_inner(parser)?;
    literals::check_statement(&statement)?;
    Ok(statement)
}

/// The dispatcher, in sqlparser's error type so hooks and helpers compose.
pub(crate) fn parse_statement_inner(parser: &mut Parser) -> Result<Statement, ParserError> {
    let token = parser.peek_token();
    let word = match &token.token {
        Token::Word(word) if word.quote_style.is_none() => word.value.to_uppercase(),
        _ => return parser.expected(STATEMENT_STARTS, token),
    };
    match word.as_str() {
        "SELECT" => Ok(Statement::Query(Box::new(query::parse_query(parser)?))),
        "CREATE" => create::parse_create(parser),
        "DROP" => create::parse_drop(parser),
        "ALTER" => create::parse_alter(parser),
        "INSERT" => command::parse_insert(parser),
        "SHOW" | "LIST" => command::parse_list(parser),
        "DESCRIBE" => command::parse_describe(parser),
        "EXPLAIN" => command::parse_explain(parser),
        "TERMINATE" => command::parse_terminate(parser),
        "PRINT" => command::parse_print(parser),
        "SET" => command::parse_set(parser),
        "UNSET" => command::parse_unset(parser),
        "RUN" => command::parse_run_script(parser),
        "ASSERT" => command::parse_assert(parser),
        _ => fail_at(
            token.span.start,
            format!("Unknown statement '{word}': expecting {STATEMENT_STARTS}"),
        ),
    }
}

/// An error with `message` at `location`, in sqlparser's error type.
pub(crate) fn fail_at<T>(
    location: Location,
    message: impl std::fmt::Display,
) -> Result<T, ParserError> {
    Err(ParserError::ParserError(format!("{message}{location}")))
}

/// Fails with a rule about a node at `location` (ksqlDB's `Line: L, Col: C: ` errors).
pub(crate) fn fail_node_at<T>(
    location: Location,
    message: impl std::fmt::Display,
) -> Result<T, ParserError> {
    fail_at(
        location,
        format!("{}{message}", crate::sql::error::NODE_MARK),
    )
}

/// Fails because no rule of the grammar takes `token` at `location`.
pub(crate) fn fail_no_viable_at<T>(
    location: Location,
    token: impl std::fmt::Display,
) -> Result<T, ParserError> {
    fail_at(
        location,
        format!("{}{token}", crate::sql::error::NO_VIABLE_MARK),
    )
}

/// Small helpers over sqlparser's `Parser` for ksqlDB's words, which are mostly not sqlparser
/// keywords: they are compared by text (already upper-cased), and only when unquoted.
pub(crate) trait ParserExt {
    /// Whether the next token is the unquoted word `word`.
    fn peek_word(&self, word: &str) -> bool;
    /// Whether the token `n` ahead is the unquoted word `word`.
    fn peek_nth_word(&self, n: usize, word: &str) -> bool;
    /// Consumes the next token if it is the unquoted word `word`.
    fn parse_word(&mut self, word: &str) -> bool;
    /// Consumes the words in order if they all come next.
    fn parse_words(&mut self, words: &[&str]) -> bool;
    /// Consumes the unquoted word `word` or fails with what was found.
    fn expect_word(&mut self, word: &str) -> Result<(), ParserError>;
    /// Consumes an identifier: any word, quoted or not.
    fn parse_ident(&mut self) -> Result<Ident, ParserError>;
    /// Consumes a non-negative integer literal.
    fn parse_unsigned(&mut self) -> Result<u64, ParserError>;
    /// Consumes a string literal `'...'`.
    fn parse_string(&mut self) -> Result<String, ParserError>;
    /// Consumes `n UNIT` (`10 SECONDS`).
    fn parse_duration(&mut self) -> Result<Duration, ParserError>;
    /// Fails with "mismatched input '<next token>' expecting `expected`".
    fn fail_expected<T>(&self, expected: &str) -> Result<T, ParserError>;
}

impl ParserExt for Parser<'_> {
    fn peek_word(&self, word: &str) -> bool {
        self.peek_nth_word(0, word)
    }

    fn peek_nth_word(&self, n: usize, word: &str) -> bool {
        matches!(&self.peek_nth_token_ref(n).token,
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
    }

    fn parse_word(&mut self, word: &str) -> bool {
        if self.peek_word(word) {
            self.next_token();
            true
        } else {
            false
        }
    }

    fn parse_words(&mut self, words: &[&str]) -> bool {
        if words
            .iter()
            .enumerate()
            .all(|(n, word)| self.peek_nth_word(n, word))
        {
            for _ in words {
                self.next_token();
            }
            true
        } else {
            false
        }
    }

    fn expect_word(&mut self, word: &str) -> Result<(), ParserError> {
        if self.parse_word(word) {
            Ok(())
        } else {
            self.fail_expected(word)
        }
    }

    fn parse_ident(&mut self) -> Result<Ident, ParserError> {
        let token = self.next_token();
        match token.token {
            Token::Word(word) => Ok(word.into_ident(token.span)),
            _ => {
                self.prev_token();
                self.fail_expected("an identifier")
            }
        }
    }

    fn parse_unsigned(&mut self) -> Result<u64, ParserError> {
        let token = self.next_token();
        if let Token::Number(text, _) = &token.token
            && let Ok(value) = text.parse::<u64>()
        {
            return Ok(value);
        }
        self.prev_token();
        self.fail_expected("an integer")
    }

    fn parse_string(&mut self) -> Result<String, ParserError> {
        let token = self.next_token();
        match token.token {
            Token::SingleQuotedString(text) => Ok(text),
            _ => {
                self.prev_token();
                self.fail_expected("a string literal")
            }
        }
    }

    fn parse_duration(&mut self) -> Result<Duration, ParserError> {
        let value = self.parse_unsigned()?;
        let token = self.next_token();
        if let Token::Word(word) = &token.token
            && word.quote_style.is_none()
            && let Some(unit) = TimeUnit::from_word(&word.value)
        {
            return Ok(Duration { value, unit });
        }
        self.prev_token();
        self.fail_expected("a time unit (MILLISECONDS, SECONDS, MINUTES, HOURS, DAYS)")
    }

    fn fail_expected<T>(&self, expected: &str) -> Result<T, ParserError> {
        let token = self.peek_token_ref();
        fail_at(
            token.span.start,
            mismatched(&token.token.to_string(), expected),
        )
    }
}
