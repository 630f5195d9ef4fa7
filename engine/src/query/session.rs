//! The DataFusion session every streaming plan is built in.
//!
//! A streaming plan is executed once per epoch, so it must not contain operators that can only
//! run once (`RepartitionExec` panics on a second execution) and must keep each topic partition in
//! its own DataFusion partition. Hence: no round-robin or hash repartitioning, no repartitioned
//! joins, aggregates, windows, sorts or file scans, and `target_partitions` equal to the number of
//! source partitions.

use datafusion::prelude::{SessionConfig, SessionContext};

/// A session whose physical plans are safe to execute again and again, one epoch at a time.
/// `target_partitions` should be the largest number of partitions of the query's sources.
pub fn streaming_session(target_partitions: usize) -> SessionContext {
    let mut config = SessionConfig::new()
        .with_target_partitions(target_partitions.max(1))
        .with_round_robin_repartition(false)
        .with_repartition_joins(false)
        .with_repartition_aggregations(false)
        .with_repartition_windows(false)
        .with_repartition_sorts(false)
        .with_repartition_file_scans(false)
        .with_information_schema(false);
    let options = config.options_mut();
    options.optimizer.prefer_existing_sort = true;
    // Columns keep the case the user wrote them in: ksqlDB column names are upper case.
    options.sql_parser.enable_ident_normalization = false;
    // ksqlDB types `2.345` as DECIMAL(4, 3), not DOUBLE (an exponent makes a DOUBLE).
    options.sql_parser.parse_float_as_decimal = true;
    let ctx = SessionContext::new_with_config(config);
    // ksqlDB's scalar functions (branch `func`), registered under lower-case names: the planner
    // (catalog/plan.rs) writes unquoted function names in lower case.
    crate::functions::register_ksql_functions(&ctx);
    ctx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repartitioning_is_off() {
        let ctx = streaming_session(3);
        let state = ctx.state();
        let o = state.config().options();
        assert_eq!(o.execution.target_partitions, 3);
        assert!(!o.optimizer.enable_round_robin_repartition);
        assert!(!o.optimizer.repartition_joins);
        assert!(!o.optimizer.repartition_aggregations);
        assert!(!o.optimizer.repartition_windows);
        assert!(!o.optimizer.repartition_sorts);
        assert!(!o.sql_parser.enable_ident_normalization);
    }
}
