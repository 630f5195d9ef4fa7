//! ksqlDB's expression syntax, as hooks into sqlparser's expression parser.
//!
//! What each form becomes, so that DataFusion's `SqlToRel` plans it without help:
//! - `a->b` is `CompoundFieldAccess { root: a, access_chain: [Dot('B')] }` (a *string* in the
//!   dot, so it is always a struct field, never a qualified column name); `a['k']` and `a[1]` are
//!   `Subscript::Index` (map key, 1-based array index);
//! - `STRUCT(a := 1)` is `Expr::Struct` of `Expr::Named` values (DataFusion's `named_struct`);
//!   `STRUCT(1 AS a)` and `MAP {k: v}` are accepted too, because that is how sqlparser prints
//!   them and printed statements must parse back;
//! - `MAP(k := v)` is `Expr::Map` (DataFusion's `map`);
//! - `(x, y) => body` and `x => body` are `Expr::Lambda` (its `Display` prints `->`, so print
//!   lambdas from the original text, not from the tree);
//! - `CAST(x AS T)` takes a ksqlDB type (`STRING`, `BYTES`, `ARRAY<INT>` ...), turned into
//!   sqlparser's `DataType` with [`TypeExpr::to_data_type`](crate::sql::TypeExpr::to_data_type);
//! - `INTERVAL` is a column name (ksqlDB has no interval literal);
//! - `SUBSTRING(s, 1, 2)`, `TRIM(s)`, `CEIL(x)`, `FLOOR(x)`, `EXTRACT...` are plain function calls
//!   as in ksqlDB (sqlparser would otherwise parse them with standard SQL's special syntax).

use datafusion::sql::sqlparser::ast::{
    AccessExpr, CastKind, Expr, Ident, LambdaFunction, LambdaFunctionParameter, LambdaSyntax, Map,
    MapEntry, ObjectName, OneOrManyWithParens, Subscript, Value,
};
use datafusion::sql::sqlparser::dialect::{Dialect, Precedence};
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::Token;

use super::ParserExt;
use super::types::parse_type;
use crate::sql::dialect::KsqlDialect;

/// Function names sqlparser gives special syntax that ksqlDB calls like any function.
const PLAIN_FUNCTIONS: &[&str] = &[
    "SUBSTRING",
    "SUBSTR",
    "TRIM",
    "CEIL",
    "CEILING",
    "FLOOR",
    "POSITION",
    "EXTRACT",
    "OVERLAY",
    "CONVERT",
    "LEFT",
    "RIGHT",
];

/// The prefix hook: ksqlDB forms that start an expression, or `None` for sqlparser's own.
pub(crate) fn parse_prefix(parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
    if let Some(count) = lambda_parameter_count(parser) {
        return Some(parse_lambda(parser, count));
    }
    let (word, quoted) = match &parser.peek_token_ref().token {
        Token::Word(word) => (word.value.to_uppercase(), word.quote_style.is_some()),
        _ => return None,
    };
    if !quoted && word == "INTERVAL" {
        // ksqlDB has no INTERVAL literal: the word is an ordinary column name.
        return Some(parser.parse_ident().map(Expr::Identifier));
    }
    if quoted || parser.peek_nth_token_ref(1).token != Token::LParen {
        return None;
    }
    match word.as_str() {
        "CAST" => Some(parse_cast(parser)),
        "STRUCT" => Some(parse_struct(parser)),
        "MAP" => Some(parse_map(parser)),
        name if PLAIN_FUNCTIONS.contains(&name) => Some(parse_plain_function(parser)),
        _ => None,
    }
}

/// The infix hook: `->field` and `[index]` after any expression.
pub(crate) fn parse_infix(parser: &mut Parser, expr: &Expr) -> Option<Result<Expr, ParserError>> {
    match parser.peek_token_ref().token {
        Token::Arrow => {
            parser.next_token();
            Some(parser.parse_ident().map(|field| {
                let name =
                    Expr::Value(Value::SingleQuotedString(field.value).with_span(field.span));
                append_access(expr.clone(), AccessExpr::Dot(name))
            }))
        }
        Token::LBracket => {
            parser.next_token();
            Some(parser.parse_expr().and_then(|index| {
                parser.expect_token(&Token::RBracket)?;
                Ok(append_access(
                    expr.clone(),
                    AccessExpr::Subscript(Subscript::Index { index }),
                ))
            }))
        }
        _ => None,
    }
}

/// Adds one access step, extending an existing chain so `a->b->c` is one access expression.
fn append_access(expr: Expr, access: AccessExpr) -> Expr {
    match expr {
        Expr::CompoundFieldAccess {
            root,
            mut access_chain,
        } => {
            access_chain.push(access);
            Expr::CompoundFieldAccess { root, access_chain }
        }
        other => Expr::CompoundFieldAccess {
            root: Box::new(other),
            access_chain: vec![access],
        },
    }
}

/// If a lambda starts here (`x =>` or `(x, y) =>`), the number of its parameters.
fn lambda_parameter_count(parser: &Parser) -> Option<usize> {
    let is_word = |n: usize| matches!(parser.peek_nth_token_ref(n).token, Token::Word(_));
    let is = |n: usize, token: Token| parser.peek_nth_token_ref(n).token == token;
    if is_word(0) && is(1, Token::RArrow) {
        return Some(1);
    }
    if !is(0, Token::LParen) {
        return None;
    }
    let mut n = 1;
    let mut count = 0;
    loop {
        if !is_word(n) {
            return None;
        }
        count += 1;
        n += 1;
        if is(n, Token::Comma) {
            n += 1;
            continue;
        }
        return (is(n, Token::RParen) && is(n + 1, Token::RArrow)).then_some(count);
    }
}

/// `x => body` or `(x, y, ...) => body`.
fn parse_lambda(parser: &mut Parser, count: usize) -> Result<Expr, ParserError> {
    let parenthesised = parser.consume_token(&Token::LParen);
    let mut params = Vec::with_capacity(count);
    for i in 0..count {
        if i > 0 {
            parser.expect_token(&Token::Comma)?;
        }
        params.push(LambdaFunctionParameter {
            name: parser.parse_ident()?,
            data_type: None,
        });
    }
    if parenthesised {
        parser.expect_token(&Token::RParen)?;
    }
    parser.expect_token(&Token::RArrow)?;
    let body = parser.parse_expr()?;
    let params = match (parenthesised, params.len()) {
        (false, 1) => OneOrManyWithParens::One(params.remove(0)),
        _ => OneOrManyWithParens::Many(params),
    };
    Ok(Expr::Lambda(LambdaFunction {
        params,
        body: Box::new(body),
        syntax: LambdaSyntax::Arrow,
    }))
}

/// `CAST(expr AS ksqlType)`.
fn parse_cast(parser: &mut Parser) -> Result<Expr, ParserError> {
    parser.next_token();
    parser.expect_token(&Token::LParen)?;
    let expr = parser.parse_expr()?;
    parser.expect_word("AS")?;
    let data_type = parse_type(parser)?;
    parser.expect_token(&Token::RParen)?;
    Ok(Expr::Cast {
        kind: CastKind::Cast,
        expr: Box::new(expr),
        data_type: data_type.to_data_type(),
        array: false,
        format: None,
    })
}

/// `STRUCT(name := expr, ...)`.
fn parse_struct(parser: &mut Parser) -> Result<Expr, ParserError> {
    parser.next_token();
    parser.expect_token(&Token::LParen)?;
    let mut values = Vec::new();
    if !parser.consume_token(&Token::RParen) {
        loop {
            let named_first = matches!(parser.peek_token_ref().token, Token::Word(_))
                && parser.peek_nth_token_ref(1).token == Token::Assignment;
            let (name, expr) = if named_first {
                let name: Ident = parser.parse_ident()?;
                parser.expect_token(&Token::Assignment)?;
                (name, parser.parse_expr()?)
            } else {
                // `STRUCT(expr AS name)`: how sqlparser prints it.
                let expr = parser.parse_expr()?;
                parser.expect_word("AS")?;
                (parser.parse_ident()?, expr)
            };
            values.push(Expr::Named {
                expr: Box::new(expr),
                name,
            });
            if parser.consume_token(&Token::RParen) {
                break;
            }
            parser.expect_token(&Token::Comma)?;
        }
    }
    Ok(Expr::Struct {
        values,
        fields: Vec::new(),
    })
}

/// `MAP(key := value, ...)`: keys are expressions below comparison precedence.
fn parse_map(parser: &mut Parser) -> Result<Expr, ParserError> {
    parser.next_token();
    parser.expect_token(&Token::LParen)?;
    let mut entries = Vec::new();
    if !parser.consume_token(&Token::RParen) {
        let key_precedence = KsqlDialect.prec_value(Precedence::Eq);
        loop {
            let key = parser.parse_subexpr(key_precedence)?;
            parser.expect_token(&Token::Assignment)?;
            let value = parser.parse_expr()?;
            entries.push(MapEntry {
                key: Box::new(key),
                value: Box::new(value),
            });
            if parser.consume_token(&Token::RParen) {
                break;
            }
            parser.expect_token(&Token::Comma)?;
        }
    }
    Ok(Expr::Map(Map { entries }))
}

/// `NAME(args)` as an ordinary function call.
fn parse_plain_function(parser: &mut Parser) -> Result<Expr, ParserError> {
    let name = parser.parse_ident()?;
    parser.parse_function(ObjectName::from(vec![name]))
}
