//! Helpers shared by the `functions_*` tests: a SessionContext with ksqlDB's functions, and
//! query results rendered as text so expectations read like ksqlDB's output.

#![allow(dead_code)]

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use sluice_engine::functions::register_ksql_functions;

/// A context with ksqlDB's functions registered.
pub fn ctx() -> SessionContext {
    let ctx = SessionContext::new();
    register_ksql_functions(&ctx);
    ctx
}

/// A context that also has `batch` as table `t`.
pub fn ctx_with(batch: RecordBatch) -> SessionContext {
    let ctx = ctx();
    let table = MemTable::try_new(batch.schema(), vec![vec![batch]]).expect("valid table");
    ctx.register_table("t", Arc::new(table))
        .expect("table registers");
    ctx
}

/// Runs `sql` and renders every cell (`NULL` for null), row by row.
pub async fn rows_in(ctx: &SessionContext, sql: &str) -> Vec<Vec<String>> {
    let batches = ctx
        .sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for batch in batches {
        let formatters: Vec<_> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("formattable"))
            .collect();
        for r in 0..batch.num_rows() {
            rows.push(formatters.iter().map(|f| f.value(r).to_string()).collect());
        }
    }
    rows
}

/// The one row of `SELECT ...` over literals.
pub async fn row(sql: &str) -> Vec<String> {
    let mut rows = rows_in(&ctx(), sql).await;
    assert_eq!(rows.len(), 1, "{sql} returned {} rows", rows.len());
    rows.remove(0)
}

/// The single value of `SELECT expr`.
pub async fn value(expr: &str) -> String {
    let row = row(&format!("SELECT {expr}")).await;
    assert_eq!(row.len(), 1);
    row.into_iter().next().unwrap_or_default()
}

/// Asserts each `(expression, expected rendering)` pair.
pub async fn check(cases: &[(&str, &str)]) {
    let mut failures = Vec::new();
    for (expr, expected) in cases {
        let got = value(expr).await;
        if got != *expected {
            failures.push(format!("{expr}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The planning or execution error of `SELECT expr`.
pub async fn error(expr: &str) -> String {
    let ctx = ctx();
    let sql = format!("SELECT {expr}");
    match ctx.sql(&sql).await {
        Err(e) => e.to_string(),
        Ok(df) => match df.collect().await {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{sql} succeeded"),
        },
    }
}

/// The data type DataFusion gives `expr`.
pub async fn type_of(expr: &str) -> String {
    let ctx = ctx();
    let df = ctx
        .sql(&format!("SELECT {expr} AS x"))
        .await
        .unwrap_or_else(|e| panic!("{expr}: {e}"));
    df.schema().field(0).data_type().to_string()
}
