//! [`KsqlDialect`]: the ksqlDB flavour of SQL for sqlparser's tokenizer and expression parser.
//!
//! Statements and clauses are parsed by [`crate::sql::parser`]; expressions are parsed by
//! sqlparser's `Parser`, and this dialect teaches it what ksqlDB adds to standard SQL:
//! backtick-quoted identifiers, identifiers starting with digits, `a->b` struct dereference, `x => ...` lambdas, `STRUCT(a := 1)`,
//! `MAP(k := v)`, CAST to ksqlDB types (`STRING`, `BYTES`, `STRUCT<a INT>` ...) and subscripts
//! after any expression (`f(x)[1]`). String literals escape a quote by doubling it, never with a
//! backslash.

use datafusion::sql::sqlparser::ast::Expr;
use datafusion::sql::sqlparser::dialect::{Dialect, Precedence};
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::Token;

use crate::sql::parser::expr;

/// The ksqlDB dialect of SQL, for sqlparser's tokenizer and parser.
#[derive(Debug, Default, Clone, Copy)]
pub struct KsqlDialect;

impl Dialect for KsqlDialect {
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '`' || ch == '"'
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        ch.is_alphabetic() || ch == '_'
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        ch.is_alphanumeric() || ch == '_' || ch == '@'
    }

    fn supports_string_literal_backslash_escape(&self) -> bool {
        false
    }

    /// `=>` introduces a lambda body in ksqlDB, never a named argument.
    fn supports_named_fn_args_with_rarrow_operator(&self) -> bool {
        false
    }

    fn supports_boolean_literals(&self) -> bool {
        true
    }

    /// `MAP {k: v}` is how sqlparser prints a map constructor; accepting it lets a printed
    /// statement parse back.
    fn support_map_literal_syntax(&self) -> bool {
        true
    }

    /// ksqlDB accepts identifiers that start with digits (`AS 1R`).
    fn supports_numeric_prefix(&self) -> bool {
        true
    }

    fn parse_prefix(&self, parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
        expr::parse_prefix(parser)
    }

    fn parse_infix(
        &self,
        parser: &mut Parser,
        expr: &Expr,
        _precedence: u8,
    ) -> Option<Result<Expr, ParserError>> {
        expr::parse_infix(parser, expr)
    }

    /// `->` and `[` bind tighter than any operator: `a->b = 1` compares the field. `->*` ends
    /// the expression: it is a select item (all fields of a struct), parsed by the query parser.
    fn get_next_precedence(&self, parser: &Parser) -> Option<Result<u8, ParserError>> {
        match parser.peek_token_ref().token {
            Token::Arrow if parser.peek_nth_token_ref(1).token == Token::Mul => {
                Some(Ok(self.prec_unknown()))
            }
            Token::Arrow | Token::LBracket => Some(Ok(self.prec_value(Precedence::Period))),
            _ => None,
        }
    }
}
