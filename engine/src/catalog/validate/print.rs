//! Expressions printed as ksqlDB prints them in its messages: binary operations in parentheses
//! (`(RANDOM() + 1.5)`), string literals quoted (`'not an int'`), booleans and null in lower
//! case, function names in upper case, columns by name (`I1_BAR` for `I1.BAR` in a join, which
//! is what ksqlDB's join rewrite calls it).
//!
//! Users compare these messages with the text they wrote, and ksqlDB's test suites match them,
//! so the shape matters; anything without a ksqlDB form falls back to sqlparser's printing.

use crate::types::SqlType;
use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, UnaryOperator, Value,
};

/// Prints `expr` as ksqlDB does; `joined` prints qualified columns as `ALIAS_COLUMN`.
pub fn ksql_text(expr: &Expr, joined: bool) -> String {
    match expr {
        Expr::Identifier(ident) => ident.value.clone(),
        Expr::CompoundIdentifier(parts) => match parts.as_slice() {
            [qualifier, column] if joined => format!("{}_{}", qualifier.value, column.value),
            [_, column] => column.value.clone(),
            _ => expr.to_string(),
        },
        Expr::Value(value) => match &value.value {
            Value::SingleQuotedString(s) => format!("'{}'", s.replace('\'', "''")),
            Value::Boolean(b) => b.to_string(),
            Value::Null => "null".to_string(),
            Value::Number(n, _) => n.clone(),
            other => other.to_string(),
        },
        Expr::Nested(inner) => ksql_text(inner, joined),
        Expr::BinaryOp { left, op, right } => {
            let op = match op {
                BinaryOperator::NotEq => "<>".to_string(),
                BinaryOperator::StringConcat => "||".to_string(),
                other => other.to_string(),
            };
            format!(
                "({} {op} {})",
                ksql_text(left, joined),
                ksql_text(right, joined)
            )
        }
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => format!("(NOT {})", ksql_text(expr, joined)),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => format!("-{}", ksql_text(expr, joined)),
        Expr::Function(function) => {
            let args = match &function.args {
                FunctionArguments::List(list) => list
                    .args
                    .iter()
                    .map(|arg| match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => ksql_text(e, joined),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                FunctionArguments::None => String::new(),
                FunctionArguments::Subquery(_) => return expr.to_string(),
            };
            format!("{}({args})", function.name.to_string().to_uppercase())
        }
        other => other.to_string(),
    }
}

/// Prints a type as ksqlDB's `SqlType.toString` does: struct field names always in backticks
/// (`STRUCT<`ID` INTEGER>`).
pub fn ksql_type(ty: &SqlType) -> String {
    match ty {
        SqlType::Array(element) => format!("ARRAY<{}>", ksql_type(element)),
        SqlType::Map(key, value) => format!("MAP<{}, {}>", ksql_type(key), ksql_type(value)),
        SqlType::Struct(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|f| format!("`{}` {}", f.name, ksql_type(&f.sql_type)))
                .collect();
            format!("STRUCT<{}>", fields.join(", "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{Statement, parse_statement};

    fn where_of(sql: &str) -> Expr {
        let Ok(Statement::Query(query)) = parse_statement(sql) else {
            panic!("not a query: {sql}");
        };
        query
            .selection
            .clone()
            .unwrap_or_else(|| panic!("no WHERE"))
    }

    #[test]
    fn prints_like_ksqldb() {
        let e = where_of("SELECT * FROM s WHERE RANDOM() + 1.5;");
        assert_eq!(ksql_text(&e, false), "(RANDOM() + 1.5)");
        let e = where_of("SELECT * FROM s WHERE TRUE + 1.5;");
        assert_eq!(ksql_text(&e, false), "(true + 1.5)");
        let e = where_of("SELECT * FROM s WHERE id >= 'it''s';");
        assert_eq!(ksql_text(&e, false), "(ID >= 'it''s')");
        let e = where_of("SELECT * FROM s a WHERE a.bar > 1;");
        assert_eq!(ksql_text(&e, true), "(A_BAR > 1)");
        assert_eq!(ksql_text(&e, false), "(BAR > 1)");
    }

    #[test]
    fn struct_fields_are_quoted() {
        let ty = SqlType::Struct(vec![crate::types::StructField::new("ID", SqlType::Int)]);
        assert_eq!(
            ksql_type(&SqlType::array(ty)),
            "ARRAY<STRUCT<`ID` INTEGER>>"
        );
    }
}
