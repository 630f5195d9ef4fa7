//! Time-unit arguments: `DATEADD(DAYS, 10, d)` names its unit as a bare keyword, which the
//! ksqlDB parser hands over as an identifier and DataFusion would resolve as a column.
//! [`quote_time_units`] rewrites such an argument into the string literal `'DAYS'` that the
//! interval functions take; the planner calls it on a statement before `SqlToRel`.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Value, VisitMut, visit_expressions_mut,
};

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
