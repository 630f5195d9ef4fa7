//! SQL syntax whose ksqlDB meaning DataFusion does not plan by function name.
//!
//! - DataFusion plans `SUBSTRING(x, pos, len)` (sqlparser's special `Substring` expression)
//!   straight to its own `substr`, which rejects negative lengths and counts negative positions
//!   differently from ksqlDB; [`KsqlExprPlanner`] plans it to ksqlDB's `SUBSTRING` instead.
//! - ksqlDB concatenates strings with `+` (`'prefix-' + name`); DataFusion only knows `||`, so
//!   `+` between two strings is planned as `||` (NULL if either side is NULL).
//!
//! The planner must come before DataFusion's, which [`super::register_ksql_functions`] arranges.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr};
use datafusion::logical_expr::{BinaryExpr, Expr, ExprSchemable, Operator, ScalarUDF};
use datafusion::sql::sqlparser::ast::BinaryOperator;

/// Plans ksqlDB's meaning of SQL's special function syntax.
#[derive(Debug)]
pub struct KsqlExprPlanner {
    substring: Arc<ScalarUDF>,
}

impl KsqlExprPlanner {
    /// A planner that sends `SUBSTRING(...)` to `substring`.
    pub fn new(substring: ScalarUDF) -> Self {
        KsqlExprPlanner {
            substring: Arc::new(substring),
        }
    }
}

fn is_string(expr: &Expr, schema: &DFSchema) -> bool {
    matches!(
        expr.get_type(schema),
        Ok(DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
    )
}

impl ExprPlanner for KsqlExprPlanner {
    fn plan_binary_op(
        &self,
        expr: RawBinaryExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawBinaryExpr>> {
        if expr.op == BinaryOperator::Plus
            && is_string(&expr.left, schema)
            && is_string(&expr.right, schema)
        {
            return Ok(PlannerResult::Planned(Expr::BinaryExpr(BinaryExpr::new(
                Box::new(expr.left),
                Operator::StringConcat,
                Box::new(expr.right),
            ))));
        }
        Ok(PlannerResult::Original(expr))
    }

    fn plan_substring(&self, args: Vec<Expr>) -> Result<PlannerResult<Vec<Expr>>> {
        Ok(PlannerResult::Planned(Expr::ScalarFunction(
            ScalarFunction::new_udf(Arc::clone(&self.substring), args),
        )))
    }
}
