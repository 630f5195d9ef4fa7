//! `SELECT ... FROM ... [WINDOW] [WHERE] [GROUP BY] [PARTITION BY] [HAVING] [EMIT] [LIMIT]`.
//!
//! The clause order is fixed, as in ksqlDB. Select items and conditions are parsed by sqlparser;
//! GROUP BY and PARTITION BY take *value* expressions (no comparisons or AND/OR), as ksqlDB's
//! grammar does, so `GROUP BY a AND b` is a syntax error rather than a boolean key.

use datafusion::sql::sqlparser::ast::{
    Expr, Ident, SelectItem, SelectItemQualifiedWildcardKind, Spanned, WildcardAdditionalOptions,
};
use datafusion::sql::sqlparser::dialect::{Dialect, Precedence};
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::Token;

use super::{ParserExt, fail_at};
use crate::sql::ast::{
    AliasedSource, Emit, Join, JoinKind, JoinWindow, Query, Relation, WindowExpression, WindowKind,
};
use crate::sql::dialect::KsqlDialect;

/// Words that end a source reference, so they are never taken as its alias.
const NOT_AN_ALIAS: &[&str] = &[
    "WINDOW",
    "WHERE",
    "GROUP",
    "PARTITION",
    "HAVING",
    "EMIT",
    "LIMIT",
    "JOIN",
    "INNER",
    "LEFT",
    "RIGHT",
    "FULL",
    "OUTER",
    "CROSS",
    "ON",
    "WITHIN",
    "AS",
    "SELECT",
    "FROM",
    "ORDER",
    "UNION",
];

/// Parses a query starting at `SELECT`.
pub(crate) fn parse_query(parser: &mut Parser) -> Result<Query, ParserError> {
    parser.expect_word("SELECT")?;
    let projection = parser.parse_comma_separated(parse_select_item)?;
    parser.expect_word("FROM")?;
    let from = parse_relation(parser)?;
    let window = if parser.parse_word("WINDOW") {
        Some(parse_window(parser)?)
    } else {
        None
    };
    let selection = if parser.parse_word("WHERE") {
        Some(parser.parse_expr()?)
    } else {
        None
    };
    let group_by = if parser.parse_words(&["GROUP", "BY"]) {
        parse_value_list(parser, "GROUP BY")?
    } else {
        Vec::new()
    };
    let partition_by = if parser.parse_words(&["PARTITION", "BY"]) {
        parse_value_list(parser, "PARTITION BY")?
    } else {
        Vec::new()
    };
    let having = if parser.parse_word("HAVING") {
        Some(parser.parse_expr()?)
    } else {
        None
    };
    let emit = if parser.parse_word("EMIT") {
        if parser.parse_word("CHANGES") {
            Some(Emit::Changes)
        } else if parser.parse_word("FINAL") {
            Some(Emit::Final)
        } else {
            return parser.fail_expected("{CHANGES, FINAL}");
        }
    } else {
        None
    };
    let limit = if parser.parse_word("LIMIT") {
        if !matches!(&parser.peek_token_ref().token, Token::Number(n, _) if n.parse::<u64>().is_ok())
        {
            return parser.fail_expected("a non-negative integer (LIMIT counts rows)");
        }
        Some(parser.parse_unsigned()?)
    } else {
        None
    };
    Ok(Query {
        projection,
        from,
        window,
        selection,
        group_by,
        partition_by,
        having,
        emit,
        limit,
    })
}

/// A select item; `expr->*` selects every field of a struct and is a qualified wildcard over
/// the expression (`SelectItemQualifiedWildcardKind::Expr`).
fn parse_select_item(parser: &mut Parser) -> Result<SelectItem, ParserError> {
    let item = parser.parse_select_item()?;
    if parser.peek_token_ref().token == Token::Arrow
        && parser.peek_nth_token_ref(1).token == Token::Mul
        && let SelectItem::UnnamedExpr(expr) = item
    {
        parser.next_token();
        let star = parser.next_token();
        let options = WildcardAdditionalOptions {
            wildcard_token: star.into(),
            ..Default::default()
        };
        return Ok(SelectItem::QualifiedWildcard(
            SelectItemQualifiedWildcardKind::Expr(expr),
            options,
        ));
    }
    Ok(item)
}

/// The FROM clause: a source, then joins.
fn parse_relation(parser: &mut Parser) -> Result<Relation, ParserError> {
    let source = parse_aliased_source(parser)?;
    let mut joins = Vec::new();
    while let Some(kind) = parse_join_kind(parser)? {
        let source = parse_aliased_source(parser)?;
        let within = if parser.parse_word("WITHIN") {
            Some(parse_join_window(parser)?)
        } else {
            None
        };
        parser.expect_word("ON")?;
        let on = parser.parse_expr()?;
        joins.push(Join {
            kind,
            source,
            within,
            on,
        });
    }
    Ok(Relation { source, joins })
}

/// `name [[AS] alias]`. Only names: ksqlDB has no subqueries or table functions in FROM.
fn parse_aliased_source(parser: &mut Parser) -> Result<AliasedSource, ParserError> {
    let name = parse_source_name(parser)?;
    if parser.peek_token_ref().token == Token::LParen {
        return parser.fail_expected("a stream or table name (FROM does not take functions)");
    }
    let alias = if parser.parse_word("AS") {
        Some(parser.parse_ident()?)
    } else {
        match &parser.peek_token_ref().token {
            Token::Word(word)
                if word.quote_style.is_some()
                    || !NOT_AN_ALIAS
                        .iter()
                        .any(|w| word.value.eq_ignore_ascii_case(w)) =>
            {
                Some(parser.parse_ident()?)
            }
            _ => None,
        }
    };
    Ok(AliasedSource { name, alias })
}

/// A stream or table name: one identifier.
pub(crate) fn parse_source_name(parser: &mut Parser) -> Result<Ident, ParserError> {
    match &parser.peek_token_ref().token {
        Token::Word(_) => parser.parse_ident(),
        _ => parser.fail_expected("a stream or table name"),
    }
}

/// `[INNER] JOIN`, `LEFT [OUTER] JOIN`, `RIGHT [OUTER] JOIN`, `FULL [OUTER] JOIN`, or `None`.
fn parse_join_kind(parser: &mut Parser) -> Result<Option<JoinKind>, ParserError> {
    let kind = if parser.parse_word("JOIN") {
        return Ok(Some(JoinKind::Inner));
    } else if parser.parse_word("INNER") {
        JoinKind::Inner
    } else if parser.parse_word("LEFT") {
        JoinKind::Left
    } else if parser.parse_word("RIGHT") {
        JoinKind::Right
    } else if parser.parse_word("FULL") {
        JoinKind::Full
    } else {
        return Ok(None);
    };
    if kind != JoinKind::Inner {
        parser.parse_word("OUTER");
    }
    parser.expect_word("JOIN")?;
    Ok(Some(kind))
}

/// After `WITHIN`: `n unit` or `(before, after)`, then `[GRACE PERIOD n unit]`.
fn parse_join_window(parser: &mut Parser) -> Result<JoinWindow, ParserError> {
    let (before, after) = if parser.consume_token(&Token::LParen) {
        let before = parser.parse_duration()?;
        parser.expect_token(&Token::Comma)?;
        let after = parser.parse_duration()?;
        parser.expect_token(&Token::RParen)?;
        (before, after)
    } else {
        let size = parser.parse_duration()?;
        (size, size)
    };
    let grace = if parser.parse_words(&["GRACE", "PERIOD"]) {
        Some(parser.parse_duration()?)
    } else {
        None
    };
    Ok(JoinWindow {
        before,
        after,
        grace,
    })
}

/// After `WINDOW`: `[name] TUMBLING (SIZE ...)`, `HOPPING (SIZE ..., ADVANCE BY ...)` or
/// `SESSION (...)`, each with optional `RETENTION` and `GRACE PERIOD`. The optional name is
/// accepted and ignored, as in ksqlDB.
fn parse_window(parser: &mut Parser) -> Result<WindowExpression, ParserError> {
    let is_kind = |p: &Parser, n: usize| {
        ["TUMBLING", "HOPPING", "SESSION"]
            .iter()
            .any(|kind| p.peek_nth_word(n, kind))
    };
    if !is_kind(parser, 0)
        && matches!(parser.peek_token_ref().token, Token::Word(_))
        && is_kind(parser, 1)
    {
        parser.next_token();
    }
    let kind = if parser.parse_word("TUMBLING") {
        parser.expect_token(&Token::LParen)?;
        parser.expect_word("SIZE")?;
        WindowKind::Tumbling {
            size: parser.parse_duration()?,
        }
    } else if parser.parse_word("HOPPING") {
        parser.expect_token(&Token::LParen)?;
        parser.expect_word("SIZE")?;
        let size = parser.parse_duration()?;
        parser.expect_token(&Token::Comma)?;
        parser.expect_word("ADVANCE")?;
        parser.expect_word("BY")?;
        let advance = parser.parse_duration()?;
        WindowKind::Hopping { size, advance }
    } else if parser.parse_word("SESSION") {
        parser.expect_token(&Token::LParen)?;
        WindowKind::Session {
            gap: parser.parse_duration()?,
        }
    } else {
        return parser.fail_expected("{TUMBLING, HOPPING, SESSION}");
    };
    let mut retention = None;
    let mut grace = None;
    while parser.consume_token(&Token::Comma) {
        let location = parser.peek_token_ref().span.start;
        if parser.parse_word("RETENTION") {
            if retention.is_some() {
                return fail_at(location, "RETENTION is given twice");
            }
            retention = Some(parser.parse_duration()?);
        } else if parser.parse_words(&["GRACE", "PERIOD"]) {
            if grace.is_some() {
                return fail_at(location, "GRACE PERIOD is given twice");
            }
            grace = Some(parser.parse_duration()?);
        } else {
            return parser.fail_expected("{RETENTION, GRACE PERIOD}");
        }
    }
    parser.expect_token(&Token::RParen)?;
    Ok(WindowExpression {
        kind,
        retention,
        grace,
    })
}

/// A list of value expressions (GROUP BY, PARTITION BY); `(a, b)` alone is the list `a, b`.
fn parse_value_list(parser: &mut Parser, clause: &str) -> Result<Vec<Expr>, ParserError> {
    let precedence = KsqlDialect.prec_value(Precedence::Between);
    let mut items = parser.parse_comma_separated(|p| p.parse_subexpr(precedence))?;
    if let [Expr::Tuple(inner)] = items.as_mut_slice() {
        return Ok(std::mem::take(inner));
    }
    if let Some(tuple) = items.iter().find(|item| matches!(item, Expr::Tuple(_))) {
        return fail_at(
            tuple.span().start,
            format!("missing ')': a parenthesised list must be the whole {clause} clause"),
        );
    }
    Ok(items)
}
