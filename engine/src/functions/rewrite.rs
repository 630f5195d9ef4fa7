//! Rewrites of parsed ksqlDB expressions that DataFusion's `SqlToRel` needs before planning
//! function calls; [`prepare_for_planning`] applies them all.
//!
//! - Time units: `DATEADD(DAYS, 10, d)` names its unit as a bare keyword, which the ksqlDB parser
//!   hands over as an identifier and DataFusion would resolve as a column. [`quote_time_units`]
//!   rewrites it into the string literal `'DAYS'` that the interval functions take.
//! - Lambda parameters: DataFusion always lower-cases an unquoted lambda parameter
//!   (`X => X + 1` declares `x`), but with `enable_ident_normalization = false`, as the engine
//!   plans, the body's `X` stays `X` and is not found. [`quote_lambda_parameters`] marks the
//!   parameters quoted so that they keep the case the ksqlDB parser gave them.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, OneOrManyWithParens, Value, VisitMut,
    visit_expressions_mut,
};

/// Applies every rewrite here to `node` (a statement, a select list, an expression ...).
pub fn prepare_for_planning<V: VisitMut>(node: &mut V) {
    quote_time_units(node);
    quote_lambda_parameters(node);
}

/// Marks every unquoted lambda parameter in `node` as quoted, so DataFusion keeps its case.
pub fn quote_lambda_parameters<V: VisitMut>(node: &mut V) {
    let _ = visit_expressions_mut(node, |expr| {
        if let Expr::Lambda(lambda) = expr {
            let params = match &mut lambda.params {
                OneOrManyWithParens::One(p) => std::slice::from_mut(p),
                OneOrManyWithParens::Many(ps) => ps.as_mut_slice(),
            };
            for p in params.iter_mut().filter(|p| p.name.quote_style.is_none()) {
                p.name.quote_style = Some('"');
            }
        }
        ControlFlow::<()>::Continue(())
    });
}

/// The functions whose first argument is a time unit.
pub const FUNCTIONS_WITH_UNIT: &[&str] = &[
    "DATEADD",
    "DATESUB",
    "TIMEADD",
    "TIMESUB",
    "TIMESTAMPADD",
    "TIMESTAMPSUB",
];

/// The unit keywords ksqlDB accepts (Java's `TimeUnit`, singular or plural).
const UNITS: &[&str] = &[
    "NANOSECOND",
    "MICROSECOND",
    "MILLISECOND",
    "SECOND",
    "MINUTE",
    "HOUR",
    "DAY",
];

fn is_unit(word: &str) -> bool {
    let upper = word.to_ascii_uppercase();
    let singular = upper.strip_suffix('S').unwrap_or(&upper);
    UNITS.contains(&singular)
}

/// Turns the bare unit keyword of every interval function call in `node` into a string literal.
pub fn quote_time_units<V: VisitMut>(node: &mut V) {
    let _ = visit_expressions_mut(node, |expr| {
        if let Expr::Function(function) = expr
            && let Some(name) = function.name.0.last().and_then(|part| part.as_ident())
            && FUNCTIONS_WITH_UNIT
                .iter()
                .any(|f| f.eq_ignore_ascii_case(&name.value))
            && let FunctionArguments::List(list) = &mut function.args
            && let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(first))) = list.args.first_mut()
            && let Expr::Identifier(unit) = first
            && unit.quote_style.is_none()
            && is_unit(&unit.value)
        {
            *first = Expr::value(Value::SingleQuotedString(unit.value.to_ascii_uppercase()));
        }
        ControlFlow::<()>::Continue(())
    });
}

#[cfg(test)]
mod tests {
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    use super::*;

    fn rewrite(sql: &str) -> String {
        let mut statements = Parser::parse_sql(&GenericDialect {}, sql).unwrap_or_default();
        quote_time_units(&mut statements);
        statements.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn bare_units_become_strings() {
        assert_eq!(
            rewrite("SELECT DATEADD(DAYS, 10, d), timestampsub(second, 1, ts) FROM t"),
            "SELECT DATEADD('DAYS', 10, d), timestampsub('SECOND', 1, ts) FROM t"
        );
    }

    #[test]
    fn lambda_parameters_keep_their_case() {
        let mut statements = Parser::parse_sql(
            &datafusion::sql::sqlparser::dialect::DuckDbDialect {},
            "SELECT TRANSFORM(XS, X -> X + 1), REDUCE(XS, 0, (S, X) -> S + X) FROM T",
        )
        .unwrap_or_default();
        prepare_for_planning(&mut statements);
        assert_eq!(
            statements[0].to_string(),
            "SELECT TRANSFORM(XS, \"X\" -> X + 1), REDUCE(XS, 0, (\"S\", \"X\") -> S + X) FROM T"
        );
    }

    #[test]
    fn other_calls_and_columns_are_untouched() {
        assert_eq!(
            rewrite("SELECT ABS(days) FROM t"),
            "SELECT ABS(days) FROM t"
        );
        assert_eq!(
            rewrite("SELECT DATEADD(unit_col, 1, d) FROM t"),
            "SELECT DATEADD(unit_col, 1, d) FROM t"
        );
        assert_eq!(
            rewrite("SELECT DATEADD(`DAYS`, 1, d) FROM t"),
            "SELECT DATEADD(`DAYS`, 1, d) FROM t"
        );
    }
}
