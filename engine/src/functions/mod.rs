//! ksqlDB's scalar functions on DataFusion.
//!
//! [`register_ksql_functions`] registers, on a DataFusion `SessionContext`, every ksqlDB scalar
//! function that DataFusion lacks or that DataFusion spells or behaves differently (ksqlDB's
//! `SUBSTRING` takes negative positions, `ROUND` rounds half up and returns `BIGINT`, `TRIM`
//! trims control characters ...). Ours are registered under the ksqlDB name, so they replace a
//! DataFusion built-in of the same name. Functions DataFusion already has with ksqlDB's
//! semantics (`NULLIF`, `MD5`, `UUID` ...) are left to DataFusion and only described; COALESCE and
//! IFNULL run DataFusion's `coalesce` under ksqlDB's typing ([`conditional`]).
//!
//! TRANSFORM, FILTER and REDUCE take lambdas and are DataFusion higher-order functions
//! ([`collections::lambda`], [`collections::reduce`]). Before planning a parsed ksqlDB statement,
//! run [`prepare_for_planning`] on its expressions: it turns `DATEADD(DAYS, ...)` units into
//! strings and keeps lambda parameters' case.
//!
//! [`catalog`] describes all of them (name, category, overloads in ksqlDB type spelling,
//! description) for `SHOW FUNCTIONS` and `DESCRIBE FUNCTION`.
//!
//! Each function is a [`udf::FunctionSpec`] plus an invoke function that computes a whole Arrow
//! array at once; [`udf::KsqlUdf`] does ksqlDB's overload resolution and NULL handling. Null
//! semantics follow ksqlDB: most functions return NULL when an argument is NULL, and bad input
//! (an unparseable date, invalid JSON) gives NULL for that row rather than failing the query.

pub mod args;
pub mod builtin;
pub mod catalog;
pub mod chr;
pub mod collections;
pub mod conditional;
pub mod datetime;
pub mod elt;
pub mod encoding;
pub mod extremum;
pub mod geo;
pub mod json;
pub mod mask;
pub mod math;
pub mod planner;
pub mod regex;
pub mod rewrite;
pub mod rounding;
pub mod split;
pub mod string;
pub mod trig;
pub mod types;
pub mod udf;
pub mod url;
pub mod value;

use std::sync::Arc;

use datafusion::execution::SessionStateBuilder;
use datafusion::logical_expr::ScalarUDF;
use datafusion::logical_expr::planner::ExprPlanner;
use datafusion::prelude::SessionContext;

pub use catalog::{FunctionDescription, describe_function, list_functions};
pub use rewrite::{prepare_for_planning, quote_lambda_parameters, quote_time_units};
pub use udf::{Category, FunctionSpec, Param, Sig};

/// Every ksqlDB function Sluice implements itself, as DataFusion UDFs.
pub fn ksql_udfs() -> Vec<ScalarUDF> {
    let mut udfs = Vec::new();
    udfs.extend(string::udfs());
    udfs.extend(split::udfs());
    udfs.extend(chr::udfs());
    udfs.extend(encoding::udfs());
    udfs.extend(mask::udfs());
    udfs.extend(regex::udfs());
    udfs.extend(math::udfs());
    udfs.extend(trig::udfs());
    udfs.extend(datetime::udfs());
    udfs.extend(json::udfs());
    udfs.extend(collections::array::udfs());
    udfs.extend(collections::map::udfs());
    udfs.extend(elt::udfs());
    udfs.extend(url::udfs());
    udfs.extend(geo::udfs());
    udfs.extend(collections::build::udfs());
    udfs.extend(value::udfs());
    udfs.extend(conditional::udfs());
    udfs.extend(extremum::udfs());
    udfs
}

/// Registers ksqlDB's scalar functions on `ctx`, replacing DataFusion built-ins of the same name,
/// registers TRANSFORM, FILTER and REDUCE, and puts [`planner::KsqlExprPlanner`] ahead of
/// DataFusion's expression planners so that the `SUBSTRING(...)` syntax means ksqlDB's SUBSTRING
/// and `+` between strings concatenates, and [`types::KsqlTypePlanner`] so that `CAST(x AS MAP<K, V>)`
/// plans. Call it once, right after creating the context.
pub fn register_ksql_functions(ctx: &SessionContext) {
    let udfs = ksql_udfs();
    if let Some(substring) = udfs.iter().find(|u| u.name() == "substring") {
        // Rebuilding the state re-registers every function from a map's values, in no
        // particular order, so it must happen before ours are registered over the built-ins.
        let state_ref = ctx.state_ref();
        let mut state = state_ref.write();
        let mut planners: Vec<Arc<dyn ExprPlanner>> =
            vec![Arc::new(planner::KsqlExprPlanner::new(substring.clone()))];
        planners.extend(state.expr_planners().iter().cloned());
        *state = SessionStateBuilder::new_from_existing(state.clone())
            .with_expr_planners(planners)
            .with_type_planner(Arc::new(types::KsqlTypePlanner))
            .build();
    }
    for udf in udfs {
        ctx.register_udf(udf);
    }
    // TRANSFORM, FILTER and REDUCE take lambdas: DataFusion higher-order functions.
    ctx.register_higher_order_function(Arc::new(collections::lambda::transform()));
    ctx.register_higher_order_function(Arc::new(collections::lambda::filter_udf()));
    ctx.register_higher_order_function(Arc::new(collections::reduce::higher_order_udf()));
}
