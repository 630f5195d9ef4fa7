//! ksqlDB's type check of expressions (its `ExpressionTypeManager`), run before DataFusion plans
//! a query, so that a wrong expression is refused with ksqlDB's message (`Cannot compare ID
//! (INTEGER) to 'x' (STRING) with GREATER_THAN_OR_EQUAL.`) instead of an optimizer failure.
//!
//! The check infers the type of every part it knows: columns, literals, arithmetic,
//! comparisons, logic, CASE. Parts it does not model (most function calls, casts, struct and
//! map access) have an unknown type, and a check that needs an unknown type is skipped: DataFusion
//! still type-checks those, so nothing invalid runs, only the message is DataFusion's.

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, UnaryOperator, Value,
};

use super::print::{ksql_text, ksql_type};
use super::scope::Scope;
use crate::sql::TimeUnit;

/// Why an expression does not check: a name that does not resolve, or a type error. The clause
/// decides how each is reported (`Error in WHERE expression: ` prefixes type errors only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckError {
    /// An unknown column or source qualifier; the message is complete.
    Name(String),
    /// A type error; the message is ksqlDB's, without the clause.
    Type(String),
    /// A name error ksqlDB reports at the name's position (an ambiguous column).
    Located(datafusion::sql::sqlparser::tokenizer::Span, String),
}

/// Result of a check.
pub type Result<T, E = CheckError> = std::result::Result<T, E>;
use crate::types::SqlType;

/// What the check knows of an expression's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    /// The type is known.
    Known(SqlType),
    /// A bare `NULL`: ksqlDB gives it no type.
    Null,
    /// The check does not model this expression; DataFusion types it later.
    Unknown,
}

/// Functions whose result type does not depend on their arguments.
fn fixed_result(name: &str) -> Option<SqlType> {
    match name {
        "RANDOM" => Some(SqlType::Double),
        "UNIX_TIMESTAMP" => Some(SqlType::BigInt),
        "UNIX_DATE" => Some(SqlType::Int),
        _ => None,
    }
}

/// Infers the type of `expr` and checks its comparisons and arithmetic on the way; `clause`
/// (`SELECT`, `WHERE` ...) names the clause in unknown-column messages.
pub fn infer(expr: &Expr, scope: &Scope, clause: &str) -> Result<Ty> {
    let ty = match expr {
        Expr::Identifier(ident) => scope.resolve(None, ident, clause)?,
        Expr::CompoundIdentifier(parts) => match parts.as_slice() {
            [qualifier, column] => scope.resolve(Some(&qualifier.value), column, clause)?,
            _ => Ty::Unknown,
        },
        Expr::Value(value) => literal(&value.value),
        Expr::Nested(inner) => infer(inner, scope, clause)?,
        Expr::UnaryOp { op, expr } => {
            let inner = infer(expr, scope, clause)?;
            match op {
                UnaryOperator::Not => Ty::Known(SqlType::Boolean),
                _ => inner,
            }
        }
        Expr::BinaryOp { left, op, right } => {
            let l = infer(left, scope, clause)?;
            let r = infer(right, scope, clause)?;
            binary(expr, left, op, right, l, r, scope.joined())?
        }
        Expr::IsNull(e) | Expr::IsNotNull(e) | Expr::IsTrue(e) | Expr::IsFalse(e) => {
            infer(e, scope, clause)?;
            Ty::Known(SqlType::Boolean)
        }
        Expr::Between {
            expr, low, high, ..
        } => {
            for e in [expr, low, high] {
                infer(e, scope, clause)?;
            }
            Ty::Known(SqlType::Boolean)
        }
        Expr::InList { expr, list, .. } => {
            infer(expr, scope, clause)?;
            for e in list {
                infer(e, scope, clause)?;
            }
            Ty::Known(SqlType::Boolean)
        }
        Expr::Like { expr, pattern, .. } | Expr::ILike { expr, pattern, .. } => {
            infer(expr, scope, clause)?;
            infer(pattern, scope, clause)?;
            Ty::Known(SqlType::Boolean)
        }
        Expr::Function(function) => {
            if let FunctionArguments::List(list) = &function.args {
                for arg in &list.args {
                    if let FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) = arg
                        && !is_time_unit(e)
                    {
                        infer(e, scope, clause)?;
                    }
                }
            }
            let name = function.name.to_string().to_uppercase();
            match fixed_result(&name) {
                Some(ty) => Ty::Known(ty),
                None => aggregate_result(&name, &function.args, scope, clause)?,
            }
        }
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            if let Some(operand) = operand {
                infer(operand, scope, clause)?;
            }
            let mut results = Vec::new();
            for when in conditions {
                infer(&when.condition, scope, clause)?;
                results.push(infer(&when.result, scope, clause)?);
            }
            if let Some(e) = else_result {
                results.push(infer(e, scope, clause)?);
            }
            if !results.is_empty() && results.iter().all(|t| *t == Ty::Null) {
                return Err(CheckError::Type(
                    "Invalid Case expression. All case branches have NULL type".to_string(),
                ));
            }
            results
                .into_iter()
                .find(|t| matches!(t, Ty::Known(_)))
                .unwrap_or(Ty::Unknown)
        }
        Expr::Cast { expr, .. } => {
            infer(expr, scope, clause)?;
            Ty::Unknown
        }
        _ => Ty::Unknown,
    };
    Ok(ty)
}

/// The result of ksqlDB's aggregates whose type follows their argument's: `COUNT` is a
/// BIGINT, `SUM` of a number, `MIN` and `MAX` of a number are that number's type.
fn aggregate_result(
    name: &str,
    args: &FunctionArguments,
    scope: &Scope,
    clause: &str,
) -> Result<Ty> {
    if name == "COUNT" {
        return Ok(Ty::Known(SqlType::BigInt));
    }
    if !matches!(name, "SUM" | "MIN" | "MAX") {
        return Ok(Ty::Unknown);
    }
    let FunctionArguments::List(list) = args else {
        return Ok(Ty::Unknown);
    };
    match list.args.as_slice() {
        [FunctionArg::Unnamed(FunctionArgExpr::Expr(e))] => match infer(e, scope, clause)? {
            Ty::Known(t) if is_number(&t) => Ok(Ty::Known(t)),
            _ => Ok(Ty::Unknown),
        },
        _ => Ok(Ty::Unknown),
    }
}

/// Whether a function argument is a time unit (`DATEADD(DAYS, 1, d)`): ksqlDB's grammar reads
/// these as units, not columns.
fn is_time_unit(expr: &Expr) -> bool {
    let Expr::Identifier(ident) = expr else {
        return false;
    };
    ident.quote_style.is_none()
        && (TimeUnit::from_word(&ident.value).is_some()
            || matches!(
                ident.value.as_str(),
                "NANOSECOND" | "NANOSECONDS" | "MICROSECOND" | "MICROSECONDS"
            ))
}

/// The type of a literal, as ksqlDB types it: a number with a point is a DECIMAL of its digits,
/// with an exponent a DOUBLE, otherwise INT (BIGINT when it does not fit).
fn literal(value: &Value) -> Ty {
    match value {
        Value::Null => Ty::Null,
        Value::Boolean(_) => Ty::Known(SqlType::Boolean),
        Value::SingleQuotedString(_) => Ty::Known(SqlType::String),
        Value::Number(text, _) => Ty::Known(number_type(text)),
        _ => Ty::Unknown,
    }
}

fn number_type(text: &str) -> SqlType {
    if text.contains(['e', 'E']) {
        return SqlType::Double;
    }
    if let Some((whole, fraction)) = text.split_once('.') {
        let whole = whole.trim_start_matches(['-', '0']).len();
        let scale = fraction.len();
        let precision = (whole + scale).max(1);
        return u32::try_from(precision)
            .ok()
            .zip(u32::try_from(scale).ok())
            .and_then(|(p, s)| SqlType::decimal(p, s).ok())
            .unwrap_or(SqlType::Double);
    }
    if text.parse::<i32>().is_ok() {
        SqlType::Int
    } else {
        SqlType::BigInt
    }
}

/// ksqlDB's name of a comparison operator, or None for other operators.
fn comparison_name(op: &BinaryOperator) -> Option<&'static str> {
    Some(match op {
        BinaryOperator::Eq => "EQUAL",
        BinaryOperator::NotEq => "NOT_EQUAL",
        BinaryOperator::Lt => "LESS_THAN",
        BinaryOperator::LtEq => "LESS_THAN_OR_EQUAL",
        BinaryOperator::Gt => "GREATER_THAN",
        BinaryOperator::GtEq => "GREATER_THAN_OR_EQUAL",
        _ => return None,
    })
}

fn binary(
    whole: &Expr,
    left: &Expr,
    op: &BinaryOperator,
    right: &Expr,
    l: Ty,
    r: Ty,
    joined: bool,
) -> Result<Ty> {
    if let Some(name) = comparison_name(op) {
        if let (Ty::Known(lt), Ty::Known(rt)) = (&l, &r)
            && !comparable(lt, name, rt)
        {
            return Err(CheckError::Type(format!(
                "Cannot compare {} ({}) to {} ({}) with {name}.",
                ksql_text(left, joined),
                ksql_type(lt),
                ksql_text(right, joined),
                ksql_type(rt)
            )));
        }
        return Ok(Ty::Known(SqlType::Boolean));
    }
    match op {
        BinaryOperator::And | BinaryOperator::Or => Ok(Ty::Known(SqlType::Boolean)),
        BinaryOperator::Plus
        | BinaryOperator::Minus
        | BinaryOperator::Multiply
        | BinaryOperator::Divide
        | BinaryOperator::Modulo => match (l, r) {
            (Ty::Known(lt), Ty::Known(rt)) => {
                arithmetic(op, &lt, &rt).map(Ty::Known).map_err(|reason| {
                    CheckError::Type(format!(
                        "Error processing expression: {}. {reason}",
                        ksql_text(whole, joined)
                    ))
                })
            }
            _ => Ok(Ty::Unknown),
        },
        BinaryOperator::StringConcat => Ok(Ty::Known(SqlType::String)),
        _ => Ok(Ty::Unknown),
    }
}

fn is_number(t: &SqlType) -> bool {
    matches!(
        t,
        SqlType::Int | SqlType::BigInt | SqlType::Double | SqlType::Decimal { .. }
    )
}

/// ksqlDB's `ComparisonUtil.isValidComparison`.
fn comparable(l: &SqlType, op: &str, r: &SqlType) -> bool {
    let equality = op == "EQUAL" || op == "NOT_EQUAL";
    match l {
        _ if is_number(l) => is_number(r),
        SqlType::String => matches!(
            r,
            SqlType::String | SqlType::Date | SqlType::Time | SqlType::Timestamp
        ),
        SqlType::Boolean => *r == SqlType::Boolean && equality,
        SqlType::Array(_) => matches!(r, SqlType::Array(_)) && equality,
        SqlType::Map(..) => matches!(r, SqlType::Map(..)) && equality,
        SqlType::Struct(_) => matches!(r, SqlType::Struct(_)) && equality,
        SqlType::Time => matches!(r, SqlType::Time | SqlType::String),
        SqlType::Date | SqlType::Timestamp => {
            matches!(r, SqlType::Date | SqlType::Timestamp | SqlType::String)
        }
        SqlType::Bytes => *r == SqlType::Bytes,
        _ => false,
    }
}

/// Rank in ksqlDB's implicit numeric widening: INT < BIGINT < DECIMAL < DOUBLE.
fn widening(t: &SqlType) -> u8 {
    match t {
        SqlType::Int => 0,
        SqlType::BigInt => 1,
        SqlType::Decimal { .. } => 2,
        _ => 3,
    }
}

/// ksqlDB's `Operator.resultType`: the wider of two numbers (strings may be added).
fn arithmetic(op: &BinaryOperator, l: &SqlType, r: &SqlType) -> Result<SqlType, String> {
    if *op == BinaryOperator::Plus && *l == SqlType::String && *r == SqlType::String {
        return Ok(SqlType::String);
    }
    if !is_number(l) || !is_number(r) {
        return Err(format!(
            "Unsupported arithmetic types. {} {}",
            l.base_name(),
            r.base_name()
        ));
    }
    let wider = if widening(l) >= widening(r) { l } else { r };
    // The exact precision of DECIMAL arithmetic is DataFusion's to compute; the check only
    // needs the base type.
    Ok(wider.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_typed_like_ksqldb() {
        assert_eq!(number_type("1"), SqlType::Int);
        assert_eq!(number_type("3000000000"), SqlType::BigInt);
        assert_eq!(number_type("1e3"), SqlType::Double);
        assert!(matches!(
            number_type("1.5"),
            SqlType::Decimal {
                precision: 2,
                scale: 1
            }
        ));
    }

    #[test]
    fn comparisons_follow_ksqldb() {
        let array = SqlType::array(SqlType::Int);
        assert!(comparable(&array, "EQUAL", &array));
        assert!(!comparable(&array, "LESS_THAN", &array));
        assert!(!comparable(&SqlType::Int, "GREATER_THAN", &SqlType::String));
        assert!(comparable(&SqlType::String, "LESS_THAN", &SqlType::Date));
        assert!(!comparable(
            &SqlType::Boolean,
            "LESS_THAN",
            &SqlType::Boolean
        ));
    }

    #[test]
    fn arithmetic_needs_numbers() {
        let decimal = number_type("1.5");
        assert_eq!(
            arithmetic(&BinaryOperator::Plus, &SqlType::Boolean, &decimal).unwrap_err(),
            "Unsupported arithmetic types. BOOLEAN DECIMAL"
        );
        assert_eq!(
            arithmetic(&BinaryOperator::Plus, &SqlType::Double, &decimal),
            Ok(SqlType::Double)
        );
        assert_eq!(
            arithmetic(&BinaryOperator::Plus, &SqlType::String, &SqlType::String),
            Ok(SqlType::String)
        );
    }
}
