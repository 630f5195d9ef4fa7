//! SQL syntax that DataFusion plans to a fixed function rather than by name.
//!
//! DataFusion plans `SUBSTRING(x, pos, len)` (sqlparser's special `Substring` expression) straight
//! to its own `substr`, which rejects negative lengths and counts negative positions differently
//! from ksqlDB. [`KsqlExprPlanner`] plans it to ksqlDB's `SUBSTRING` instead; it must come before
//! DataFusion's planners, which [`super::register_ksql_functions`] arranges.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult};
use datafusion::logical_expr::{Expr, ScalarUDF};

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

impl ExprPlanner for KsqlExprPlanner {
    fn plan_substring(&self, args: Vec<Expr>) -> Result<PlannerResult<Vec<Expr>>> {
        Ok(PlannerResult::Planned(Expr::ScalarFunction(
            ScalarFunction::new_udf(Arc::clone(&self.substring), args),
        )))
    }
}
