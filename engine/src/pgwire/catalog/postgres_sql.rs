//! Postgres expressions DataFusion has no equivalent syntax for, rewritten on the parsed
//! statement (after the textual rewrites of [`crate::pgwire::catalog::route::rewrite`]):
//!
//! - casts to the oid alias types, `'pg_class'::regclass`, `t.oid::regtype`,
//!   `CAST(x AS REGPROC)`, become calls of the functions of the same name
//!   ([`crate::pgwire::catalog::functions`]), which take an oid or a name; a cast of one of them
//!   to text (`oid::regtype::text`) becomes `regtype_out(oid)`, the name, as Postgres prints it;
//!   `CAST(x AS oid)` is a cast to BIGINT (oids are integers here);
//! - the set-returning functions catalog queries use in their select lists:
//!   `generate_subscripts(a, 1)` is `unnest(generate_series(1, cardinality(a)))` and
//!   `information_schema._pg_expandarray(a)` (rows of `(x, n)`: each element and its position)
//!   is `unnest(pg_expandarray(a))`; `(_pg_expandarray(a)).x` and `.n` are the elements and
//!   positions themselves, and `(composite).field` of anything else is `get_field`.
//!
//! - `FROM unnest(a) x` names its column `x`, as Postgres does;
//! - an array literal compared with something, `pol.polroles = '{0}'`, is `make_array(0)`;
//! - `ARRAY(SELECT x FROM ...)` is `(SELECT array_agg(x) FROM ...)`;
//! - a scalar subquery that returns a plain column, `(SELECT c.relkind = 'c' FROM pg_class c
//!   WHERE c.oid = t.typrelid)`, returns `first_value` of it: the same value when there is at
//!   most one row (Postgres refuses more), and a form DataFusion decorrelates.
//!
//! A statement the parser does not read, or one with nothing to rewrite, is left as it is.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    AccessExpr, BinaryOperator, DataType, Expr, FunctionArguments, GroupByExpr, SelectItem,
    SetExpr, Statement, TableAliasColumnDef, TableFactor, Value, VisitMut, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

/// The oid alias types, each rewritten to the function of its name.
const REG_TYPES: &[&str] = &[
    "regclass",
    "regtype",
    "regproc",
    "regprocedure",
    "regnamespace",
    "regrole",
];

/// The lower-case name of `data_type` as a cast target.
fn type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Custom(name, _) => name
            .0
            .last()
            .map(|p| p.to_string().trim_matches('"').to_ascii_lowercase())
            .unwrap_or_default(),
        other => other.to_string().to_ascii_lowercase(),
    }
}

fn is_text(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Text | DataType::Varchar(_) | DataType::CharacterVarying(_) | DataType::String(_)
    ) || type_name(data_type) == "name"
}

/// The last part of a function's name, lower case.
fn function_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Function(f) => f
            .name
            .0
            .last()
            .map(|p| p.to_string().trim_matches('"').to_ascii_lowercase()),
        Expr::Nested(inner) => function_name(inner),
        _ => None,
    }
}

/// The arguments of a function call as written (`(a, b)`).
fn function_args(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Function(f) => Some(f.args.to_string()),
        Expr::Nested(inner) => function_args(inner),
        _ => None,
    }
}

fn parse_expr(text: &str) -> Option<Expr> {
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(text)
        .ok()?
        .parse_expr()
        .ok()
}

/// Aggregates: a subquery returning one of them already returns one row.
const AGGREGATES: &[&str] = &[
    "count",
    "max",
    "min",
    "sum",
    "avg",
    "array_agg",
    "string_agg",
    "bool_and",
    "bool_or",
    "every",
    "first_value",
    "last_value",
    "json_agg",
];

/// Wraps the one column of the scalar subquery `expr` in `first_value` (see the module doc);
/// whether it did.
fn aggregate_scalar_subquery(expr: &mut Expr) -> bool {
    let Expr::Subquery(query) = expr else {
        return false;
    };
    if query.order_by.is_some() || query.limit_clause.is_some() || query.fetch.is_some() {
        return false;
    }
    let SetExpr::Select(select) = query.body.as_mut() else {
        return false;
    };
    if !matches!(&select.group_by, GroupByExpr::Expressions(e, _) if e.is_empty())
        || select.having.is_some()
        || select.from.is_empty()
    {
        return false;
    }
    let [item] = select.projection.as_mut_slice() else {
        return false;
    };
    let target = match item {
        SelectItem::UnnamedExpr(e) => e,
        SelectItem::ExprWithAlias { expr, .. } => expr,
        _ => return false,
    };
    if function_name(target).is_some_and(|n| AGGREGATES.contains(&n.as_str())) {
        return false;
    }
    match parse_expr(&format!("first_value({target})")) {
        Some(wrapped) => {
            *target = wrapped;
            true
        }
        None => false,
    }
}

/// The Postgres array literal `'{1,2}'` as `make_array(1, 2)` (`'{a}'`: `make_array('a')`).
fn array_literal(expr: &Expr) -> Option<String> {
    let Expr::Value(value) = expr else {
        return None;
    };
    let Value::SingleQuotedString(text) = &value.value else {
        return None;
    };
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    let items: Vec<String> = inner
        .split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(|i| match i.parse::<i64>() {
            Ok(n) => n.to_string(),
            Err(_) => format!("'{}'", i.trim_matches('"').replace('\'', "''")),
        })
        .collect();
    Some(format!("make_array({})", items.join(", ")))
}

/// `ARRAY(SELECT x FROM ...)` as `(SELECT array_agg(x) FROM ...)`.
fn array_subquery(expr: &Expr) -> Option<String> {
    let Expr::Function(f) = expr else {
        return None;
    };
    let FunctionArguments::Subquery(query) = &f.args else {
        return None;
    };
    let mut query = query.clone();
    let SetExpr::Select(select) = query.body.as_mut() else {
        return None;
    };
    let [item] = select.projection.as_mut_slice() else {
        return None;
    };
    let target = match item {
        SelectItem::UnnamedExpr(e) => e,
        SelectItem::ExprWithAlias { expr, .. } => expr,
        _ => return None,
    };
    *target = parse_expr(&format!("array_agg({target})"))?;
    Some(format!("({query})"))
}

struct Rewriter {
    changed: bool,
}

impl Rewriter {
    fn replace(&mut self, expr: &mut Expr, text: Option<String>) {
        if let Some(new) = text.as_deref().and_then(parse_expr) {
            *expr = new;
            self.changed = true;
        }
    }

    /// `(f(...)).field`, before `f(...)` itself is rewritten.
    fn field_access(expr: &Expr) -> Option<String> {
        let Expr::CompoundFieldAccess { root, access_chain } = expr else {
            return None;
        };
        let [AccessExpr::Dot(Expr::Identifier(field))] = access_chain.as_slice() else {
            return None;
        };
        let field = field.value.to_ascii_lowercase();
        if function_name(root).as_deref() == Some("_pg_expandarray") {
            let args = function_args(root)?;
            return match field.as_str() {
                "x" => Some(format!("unnest{args}")),
                "n" => Some(format!("unnest(generate_series(1, cardinality{args}))")),
                _ => None,
            };
        }
        Some(format!("get_field({root}, '{field}')"))
    }

    fn rewritten(expr: &Expr) -> Option<String> {
        match expr {
            Expr::Cast {
                expr: inner,
                data_type,
                ..
            } => {
                let target = type_name(data_type);
                if REG_TYPES.contains(&target.as_str()) {
                    return Some(format!("{target}({inner})"));
                }
                if target == "oid" {
                    return Some(format!("CAST({inner} AS BIGINT)"));
                }
                // A cast of an oid alias to text prints the name.
                let inner_name = function_name(inner)?;
                if is_text(data_type) && REG_TYPES.contains(&inner_name.as_str()) {
                    return Some(format!("{inner_name}_out{}", function_args(inner)?));
                }
                None
            }
            Expr::BinaryOp { left, op, right }
                if matches!(op, BinaryOperator::Eq | BinaryOperator::NotEq) =>
            {
                let array = array_literal(right)?;
                Some(format!("{left} {op} {array}"))
            }
            Expr::Function(_) => match function_name(expr)?.as_str() {
                "generate_subscripts" => {
                    let Expr::Function(f) = expr else { return None };
                    let args = f.args.to_string();
                    let first = args
                        .trim_start_matches('(')
                        .rsplit_once(',')
                        .map(|(a, _)| a.to_owned())?;
                    Some(format!("unnest(generate_series(1, cardinality({first})))"))
                }
                "_pg_expandarray" => {
                    Some(format!("unnest(pg_expandarray{})", function_args(expr)?))
                }
                "array" => array_subquery(expr),
                _ => None,
            },
            _ => None,
        }
    }
}

impl VisitorMut for Rewriter {
    type Break = ();

    /// `FROM unnest(a) x`: as in Postgres, the one column of a function in FROM is named after
    /// its alias.
    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::UNNEST {
            alias: Some(alias),
            array_exprs,
            ..
        } = factor
            && alias.columns.is_empty()
            && array_exprs.len() == 1
        {
            let name = alias.name.value.clone();
            alias.columns.push(TableAliasColumnDef::from_name(name));
            self.changed = true;
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        let text = Self::field_access(expr);
        self.replace(expr, text);
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if aggregate_scalar_subquery(expr) {
            self.changed = true;
            return ControlFlow::Continue(());
        }
        let text = Self::rewritten(expr);
        self.replace(expr, text);
        ControlFlow::Continue(())
    }
}

/// `sql` with the expressions of the module doc rewritten; as it is when nothing changed.
pub fn rewrite_expressions(sql: &str) -> String {
    let Ok(mut statements) = Parser::parse_sql(&PostgreSqlDialect {}, sql) else {
        return sql.to_owned();
    };
    let mut rewriter = Rewriter { changed: false };
    let _ = statements.visit(&mut rewriter);
    if !rewriter.changed {
        return sql.to_owned();
    }
    statements
        .iter()
        .map(Statement::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_alias_casts_become_functions() {
        assert_eq!(
            rewrite_expressions("SELECT 'pg_class'::regclass, CAST(x AS REGPROC) FROM t"),
            "SELECT regclass('pg_class'), regproc(x) FROM t"
        );
        assert_eq!(
            rewrite_expressions("SELECT oid::regtype::text AS regtype FROM pg_type"),
            "SELECT regtype_out(oid) AS regtype FROM pg_type"
        );
        assert_eq!(
            rewrite_expressions("SELECT CAST(CAST(a AS REGCLASS) AS OID)"),
            "SELECT CAST(regclass(a) AS BIGINT)"
        );
    }

    #[test]
    fn set_returning_functions_become_unnest() {
        assert_eq!(
            rewrite_expressions(
                "SELECT unnest(i.indkey), generate_subscripts(i.indkey, 1) FROM pg_index AS i"
            ),
            "SELECT unnest(i.indkey), unnest(generate_series(1, cardinality(i.indkey))) FROM pg_index AS i"
        );
        assert_eq!(
            rewrite_expressions(
                "SELECT (information_schema._pg_expandarray(i.indkey)).n AS s, information_schema._pg_expandarray(i.indkey) AS keys FROM pg_index i"
            ),
            "SELECT unnest(generate_series(1, cardinality(i.indkey))) AS s, unnest(pg_expandarray(i.indkey)) AS keys FROM pg_index i"
        );
        assert_eq!(
            rewrite_expressions("SELECT 1 FROM r WHERE r.a = (r.keys).x"),
            "SELECT 1 FROM r WHERE r.a = get_field((r.keys), 'x')"
        );
    }

    #[test]
    fn scalar_subqueries_return_one_row() {
        assert_eq!(
            rewrite_expressions(
                "SELECT t.typname FROM pg_type t WHERE t.typrelid = 0 OR (SELECT c.relkind = 'c' FROM pg_class c WHERE c.oid = t.typrelid)"
            ),
            "SELECT t.typname FROM pg_type t WHERE t.typrelid = 0 OR (SELECT first_value(c.relkind = 'c') FROM pg_class c WHERE c.oid = t.typrelid)"
        );
        let aggregated = "SELECT (SELECT max(oid) FROM pg_class) FROM pg_type";
        assert_eq!(rewrite_expressions(aggregated), aggregated);
    }

    #[test]
    fn array_literals_in_comparisons() {
        assert_eq!(
            rewrite_expressions("SELECT 1 FROM p WHERE p.roles = '{0}'"),
            "SELECT 1 FROM p WHERE p.roles = make_array(0)"
        );
        let plain = "SELECT 1 FROM p WHERE p.name = 'x'";
        assert_eq!(rewrite_expressions(plain), plain);
    }

    #[test]
    fn array_subqueries_aggregate() {
        assert_eq!(
            rewrite_expressions("SELECT array(SELECT x FROM t WHERE t.a = 1)"),
            "SELECT (SELECT array_agg(x) FROM t WHERE t.a = 1)"
        );
    }

    #[test]
    fn other_statements_stay_as_written() {
        let sql = "SELECT c.relname FROM pg_class c WHERE c.relname ~ '^(x)$'";
        assert_eq!(rewrite_expressions(sql), sql);
        assert_eq!(rewrite_expressions("not sql at all"), "not sql at all");
    }
}
