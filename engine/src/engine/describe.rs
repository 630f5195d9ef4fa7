//! What a statement would return, learned without running it: the Postgres front end's
//! Describe (a driver's `prepare`) must tell the client a query's columns before the query
//! starts, and must not start it: a push query started only to read its columns would read the
//! topic, use a query id and count as a running query.
//!
//! - a SELECT (with or without EMIT CHANGES) is resolved by the same [`plan_select`] and
//!   planned by DataFusion over the same source as [`Engine::transient`] plans it, so the
//!   columns and their types are exactly those the query sends once executed; nothing reads the
//!   topic and no query id is taken. `$n` placeholders left in the SQL plan as DataFusion
//!   placeholders, and the type DataFusion infers for each (from the column it is compared
//!   with, the column it is inserted into ...) is reported;
//! - SHOW / LIST / DESCRIBE answer from the catalog (cheap reads that start nothing), so their
//!   columns are always those of the real answer; EXPLAIN and PRINT have fixed columns;
//! - every other statement is a command: no columns.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::sqlparser::ast::{Expr, Value};

use crate::Engine;
use crate::catalog::error::{EngineError, Result};
use crate::catalog::plan::{SelectUse, plan_select, session_with_source};
use crate::catalog::push::print_schema;
use crate::catalog::result::StatementResult;
use crate::catalog::session::SessionProperties;
use crate::catalog::validate::names::insert_values_target;
use crate::exec::guard::{without_origin_columns, without_origin_fields};
use crate::exec::{ProcessingLog, TracingProcessingLog};
use crate::sql::{InsertValues, Query, SourceKind, Statement, parse_script};
use crate::types::PseudoColumn;
use crate::types::schema::rowtime_arrow_type;

use super::{Mode, Props};

/// What a statement returns, as [`crate::Session::describe`] learns it without running it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementShape {
    /// The columns of the rows it returns; `None` for a command, which returns no rows.
    pub columns: Option<SchemaRef>,
    /// The type of each `$n` placeholder (index n - 1) where planning inferred one; `None` where
    /// nothing in the statement says (the client's own type, or text, applies).
    pub parameters: Vec<Option<DataType>>,
}

impl StatementShape {
    fn command() -> StatementShape {
        StatementShape {
            columns: None,
            parameters: Vec::new(),
        }
    }

    fn rows(columns: SchemaRef) -> StatementShape {
        StatementShape {
            columns: Some(columns),
            parameters: Vec::new(),
        }
    }
}

/// A schema of `text` columns named `names` (SHOW, LIST, DESCRIBE and EXPLAIN answer in text).
fn text_schema<S: AsRef<str>>(names: &[S]) -> SchemaRef {
    Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(n.as_ref(), DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ))
}

impl Engine {
    /// The shape of the last statement of `script` (a prepared statement holds one), planned
    /// with `properties` but not run. A statement that would fail to plan fails here the same
    /// way, so a driver learns of an unknown column at `prepare`, as with Postgres.
    pub(crate) async fn describe_in(
        &self,
        properties: &SessionProperties,
        script: &str,
    ) -> Result<StatementShape> {
        let mut last = None;
        for parsed in parse_script(script) {
            let statement = parsed.result?;
            last = Some((statement, parsed.source));
        }
        let Some((statement, source)) = last else {
            return Ok(StatementShape::command());
        };
        self.describe_parsed(&statement, source.text, properties)
            .await
            .map_err(|e| e.placed(source.line, source.column))
    }

    async fn describe_parsed(
        &self,
        statement: &Statement,
        text: &str,
        properties: &SessionProperties,
    ) -> Result<StatementShape> {
        match statement {
            Statement::Query(query) => self.describe_query(query).await,
            Statement::Print(_) => Ok(StatementShape::rows(print_schema())),
            Statement::Explain(_) => Ok(StatementShape::rows(text_schema(&["Execution plan"]))),
            // Catalog reads: their answer's columns, computed as the answer is (nothing starts).
            Statement::List { .. }
            | Statement::Describe(_)
            | Statement::DescribeSources { .. }
            | Statement::DescribeFunction(_) => {
                let answer = self
                    .run_catalog_statement(statement, text, Mode::User, Props::Session(properties))
                    .await?;
                Ok(match answer {
                    StatementResult::Rows(rows) => StatementShape::rows(text_schema(&rows.columns)),
                    StatementResult::Description(_) => {
                        StatementShape::rows(text_schema(&DESCRIPTION_COLUMNS))
                    }
                    StatementResult::Stream(stream) => StatementShape::rows(stream.schema()),
                    StatementResult::Status(_) => StatementShape::command(),
                })
            }
            Statement::InsertValues(insert) => self.describe_insert(insert).await,
            _ => Ok(StatementShape::command()),
        }
    }

    /// `INSERT INTO s (a, b) VALUES ($1, $2)` returns nothing; a value that is exactly a
    /// placeholder takes the type of its column.
    async fn describe_insert(&self, insert: &InsertValues) -> Result<StatementShape> {
        let state = self.inner.state.lock().await;
        let source = insert_values_target(&state.catalog, &insert.target)?;
        let columns: Vec<String> = if insert.columns.is_empty() {
            let schema = &source.schema;
            schema
                .key
                .iter()
                .chain(&schema.value)
                .map(|c| c.name.clone())
                .collect()
        } else {
            insert.columns.iter().map(|c| c.value.clone()).collect()
        };
        let mut parameters: Vec<Option<DataType>> = Vec::new();
        for (column, value) in columns.iter().zip(&insert.values) {
            let Some(n) = placeholder_number(value) else {
                continue;
            };
            let data_type = if column == PseudoColumn::RowTime.name() {
                Some(rowtime_arrow_type())
            } else {
                source.schema.find(column).map(|c| c.sql_type.to_arrow())
            };
            if parameters.len() < n {
                parameters.resize(n, None);
            }
            parameters[n - 1] = data_type;
        }
        Ok(StatementShape {
            columns: None,
            parameters,
        })
    }

    /// Plans `query` as [`Engine::transient`] would, up to DataFusion's physical plan, and
    /// stops there.
    async fn describe_query(&self, query: &Query) -> Result<StatementShape> {
        let planned = {
            let state = self.inner.state.lock().await;
            plan_select(query, &state.catalog, SelectUse::Transient)?
        };
        if query.emit.is_none() && planned.source.kind == SourceKind::Table {
            return Err(EngineError::Unsupported(format!(
                "Pull queries on the table {} are not supported yet (they need the table state of \
                 issue 5); add EMIT CHANGES to follow its changes.",
                planned.source.name
            )));
        }
        // No record is read while planning; a decode error could not happen, but the provider
        // wants a log.
        let log: Arc<dyn ProcessingLog> = Arc::new(TracingProcessingLog::default());
        let (ctx, _provider) = session_with_source(self.broker(), &planned.source, log)?;
        let frame = ctx.sql(&planned.sql).await?;
        let plan = frame.logical_plan().clone();
        let parameters = parameter_types(&plan)?;
        if parameters.is_empty() {
            // Exactly the schema the running query's physical plan has.
            let physical = without_origin_columns(frame.create_physical_plan().await?)?;
            return Ok(StatementShape::rows(physical.schema()));
        }
        // Placeholders have no value to execute with; the logical schema is the one the
        // physical plan will have once values replace them.
        Ok(StatementShape {
            columns: Some(Arc::new(without_origin_fields(plan.schema().as_arrow()))),
            parameters,
        })
    }
}

/// The columns a DESCRIBE of a source answers with (as the Postgres front end writes it).
pub const DESCRIPTION_COLUMNS: [&str; 2] = ["Field", "Type"];

/// `n` if `expr` is the placeholder `$n`.
fn placeholder_number(expr: &Expr) -> Option<usize> {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Placeholder(p) => p.strip_prefix('$')?.parse().ok().filter(|n| *n > 0),
            _ => None,
        },
        Expr::Nested(inner) => placeholder_number(inner),
        _ => None,
    }
}

/// The type DataFusion inferred for each `$n` of `plan`, index n - 1.
fn parameter_types(plan: &LogicalPlan) -> Result<Vec<Option<DataType>>> {
    let found: BTreeMap<String, Option<DataType>> = plan
        .get_parameter_types()
        .map_err(EngineError::from)?
        .into_iter()
        .collect();
    let count = found
        .keys()
        .filter_map(|k| k.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()))
        .max()
        .unwrap_or(0);
    Ok((1..=count)
        .map(|n| found.get(&format!("${n}")).cloned().flatten())
        .collect())
}
