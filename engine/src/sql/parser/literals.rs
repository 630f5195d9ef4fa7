//! Numeric literals out of range are syntax errors in ksqlDB.
//!
//! An integer literal must fit a BIGINT (`-9223372036854775809` does not) and a literal with an
//! exponent must fit a DOUBLE (`1.7976931348623159E308` does not). Literals with a point and no
//! exponent are DECIMALs and have no such limit. The check walks every expression of a statement.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, SelectItem, UnaryOperator, Value, ValueWithSpan, visit_expressions,
};

use crate::sql::ast::{Explain, Query, Statement};
use crate::sql::{ParseError, ParseStage};

/// Checks every numeric literal in `statement`.
pub(crate) fn check_statement(statement: &Statement) -> Result<(), ParseError> {
    match statement {
        Statement::Query(query) => check_query(query),
        Statement::CreateSourceAs(create) => check_query(&create.query),
        Statement::InsertInto(insert) => check_query(&insert.query),
        Statement::InsertValues(insert) => insert.values.iter().try_for_each(check_expr),
        Statement::Explain(Explain::Statement(inner)) => check_statement(inner),
        _ => Ok(()),
    }
}

fn check_query(query: &Query) -> Result<(), ParseError> {
    for item in &query.projection {
        match item {
            SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => {
                check_expr(expr)?
            }
            _ => {}
        }
    }
    let joins = query.from.joins.iter().map(|join| &join.on);
    query
        .selection
        .iter()
        .chain(&query.group_by)
        .chain(&query.partition_by)
        .chain(&query.having)
        .chain(joins)
        .try_for_each(check_expr)
}

/// Checks the literals of one expression; a minus sign directly before a literal belongs to it.
fn check_expr(expr: &Expr) -> Result<(), ParseError> {
    let mut negated: Vec<*const Expr> = Vec::new();
    let flow = visit_expressions(expr, |e| {
        match e {
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr: inner,
            } => {
                if let Expr::Value(value) = inner.as_ref() {
                    negated.push(inner.as_ref() as *const Expr);
                    if let Err(error) = check_number(value, true) {
                        return ControlFlow::Break(error);
                    }
                }
            }
            Expr::Value(value) if !negated.contains(&(e as *const Expr)) => {
                if let Err(error) = check_number(value, false) {
                    return ControlFlow::Break(error);
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    });
    match flow {
        ControlFlow::Break(error) => Err(error),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// Checks one literal (with its sign).
fn check_number(value: &ValueWithSpan, negative: bool) -> Result<(), ParseError> {
    let Value::Number(text, _) = &value.value else {
        return Ok(());
    };
    let signed = if negative {
        format!("-{text}")
    } else {
        text.clone()
    };
    if text.bytes().all(|b| b.is_ascii_digit()) {
        if signed.parse::<i64>().is_err() {
            return Err(
                ParseError::at(value.span, format!("Invalid numeric literal: {signed}"))
                    .with_stage(ParseStage::Literal),
            );
        }
    } else if text.contains(['e', 'E']) {
        match signed.parse::<f64>() {
            Ok(number) if number.is_finite() => {}
            _ => {
                return Err(ParseError::at(
                    value.span,
                    format!("Number overflows DOUBLE: {signed}"),
                )
                .with_stage(ParseStage::Literal));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::sql::parse_statement;

    fn error(sql: &str) -> String {
        parse_statement(sql).unwrap_err().to_string()
    }

    #[test]
    fn bigint_range_is_checked_with_its_sign() {
        assert!(parse_statement("SELECT -9223372036854775808 FROM s;").is_ok());
        assert_eq!(
            error("SELECT 1, -9223372036854775809 FROM s;"),
            "Failed to prepare statement: line 1:13: Invalid numeric literal: -9223372036854775809"
        );
        assert!(parse_statement("SELECT 9223372036854775808 FROM s;").is_err());
    }

    #[test]
    fn double_range_is_checked() {
        assert!(parse_statement("SELECT 1.7976931348623157E308 FROM s;").is_ok());
        assert_eq!(
            error("SELECT x FROM s WHERE x > 1.7976931348623159E308;"),
            "Failed to prepare statement: line 1:28: Number overflows DOUBLE: 1.7976931348623159E308"
        );
    }

    #[test]
    fn decimals_have_no_range_limit() {
        assert!(parse_statement("SELECT 123456789012345678901234567890.5 FROM s;").is_ok());
    }
}
