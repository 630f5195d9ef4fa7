//! Expressions that fail on one row give NULL for that row and a processing-log entry, instead
//! of failing the whole batch (and with it the query), as ksqlDB does.
//!
//! [`guard_plan`] wraps every computed expression of a plan's `ProjectionExec`s and
//! `FilterExec`s in a [`GuardedExpr`]. A guarded expression evaluates the whole batch as before
//! (the columnar fast path: a clean stream pays one extra call per batch and nothing else); only
//! when that fails does it bisect the batch to find the failing rows, evaluating halves until
//! single rows fail. Each failing row yields NULL (a failing WHERE drops the row, since NULL is
//! not true) and one [`ProcessingErrorKind::RecordProcessing`] entry naming the source record
//! (topic, partition, offset: read from the `ROWPARTITION`/`ROWOFFSET` columns, or the
//! `__SRC_PARTITION`/`__SRC_OFFSET` columns a persistent query carries to its sink).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int32Array, Int64Array, new_null_array};
use arrow::compute::concat;
use arrow::datatypes::{DataType, Schema};
use arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::ColumnarValue;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{Column, Literal};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};
use datafusion::physical_plan::projection::{ProjectionExec, ProjectionExpr};

use crate::exec::processing_log::{ProcessingErrorKind, ProcessingLog, ProcessingLogEntry};

/// Column names that give a row's source partition and offset, in the order they are looked
/// for.
const PARTITION_COLUMNS: [&str; 2] = ["ROWPARTITION", "__SRC_PARTITION"];
const OFFSET_COLUMNS: [&str; 2] = ["ROWOFFSET", "__SRC_OFFSET"];

/// The hidden columns a persistent query selects so that its sink can name a row's source
/// record (partition, offset) in the processing log.
pub const SOURCE_PARTITION_COLUMN: &str = "__SRC_PARTITION";
/// See [`SOURCE_PARTITION_COLUMN`].
pub const SOURCE_OFFSET_COLUMN: &str = "__SRC_OFFSET";

/// Where a row came from, for the processing log.
#[derive(Debug, Clone)]
pub struct RowOrigin {
    /// The source topic (one per query today; joins will need the side).
    pub topic: String,
    partition: Option<usize>,
    offset: Option<usize>,
}

impl RowOrigin {
    /// The origin of rows with `schema`, read from its partition/offset columns when present.
    pub fn new(topic: &str, schema: &Schema) -> RowOrigin {
        let find = |names: &[&str]| names.iter().find_map(|n| schema.index_of(n).ok());
        RowOrigin {
            topic: topic.to_string(),
            partition: find(&PARTITION_COLUMNS),
            offset: find(&OFFSET_COLUMNS),
        }
    }

    /// The (partition, offset) of row `row` of `batch` (-1 when the batch does not carry it).
    pub fn locate(&self, batch: &RecordBatch, row: usize) -> (i32, i64) {
        let partition = self
            .partition
            .and_then(|i| batch.columns().get(i))
            .and_then(|a| a.as_any().downcast_ref::<Int32Array>())
            .filter(|a| row < a.len() && a.is_valid(row))
            .map_or(-1, |a| a.value(row));
        let offset = self
            .offset
            .and_then(|i| batch.columns().get(i))
            .and_then(|a| a.as_any().downcast_ref::<Int64Array>())
            .filter(|a| row < a.len() && a.is_valid(row))
            .map_or(-1, |a| a.value(row));
        (partition, offset)
    }
}

/// An expression that gives NULL for the rows it fails on, reporting each to the processing
/// log. See the module documentation.
#[derive(Debug)]
pub struct GuardedExpr {
    inner: Arc<dyn PhysicalExpr>,
    /// What the error message calls it: `expression (A / B) for column Q`, `predicate ...`.
    what: String,
    origin: RowOrigin,
    log: Arc<dyn ProcessingLog>,
}

impl GuardedExpr {
    /// Guards `inner`.
    pub fn new(
        inner: Arc<dyn PhysicalExpr>,
        what: String,
        origin: RowOrigin,
        log: Arc<dyn ProcessingLog>,
    ) -> GuardedExpr {
        GuardedExpr {
            inner,
            what,
            origin,
            log,
        }
    }

    /// The expression guarded.
    pub fn inner(&self) -> &Arc<dyn PhysicalExpr> {
        &self.inner
    }

    /// Evaluates rows `[start, start + len)` of `batch`, which are known to fail together,
    /// by halves; pushes one array per evaluated run to `parts`.
    fn bisect(
        &self,
        batch: &RecordBatch,
        data_type: &DataType,
        start: usize,
        len: usize,
        error: DataFusionError,
        parts: &mut Vec<ArrayRef>,
    ) -> Result<()> {
        if len == 1 {
            let (partition, offset) = self.origin.locate(batch, start);
            self.log.report(ProcessingLogEntry {
                kind: ProcessingErrorKind::RecordProcessing,
                topic: self.origin.topic.clone(),
                partition,
                offset,
                message: format!("Error computing {}: {}", self.what, root_message(&error)),
            });
            parts.push(new_null_array(data_type, 1));
            return Ok(());
        }
        let half = len / 2;
        for (s, l) in [(start, half), (start + half, len - half)] {
            let slice = batch.slice(s, l);
            match self.inner.evaluate(&slice).and_then(|v| v.into_array(l)) {
                Ok(array) => parts.push(array),
                Err(e) => self.bisect(batch, data_type, s, l, e, parts)?,
            }
        }
        Ok(())
    }
}

/// The message of the innermost error, without DataFusion's wrapping ("Arrow error: ...").
fn root_message(error: &DataFusionError) -> String {
    match error.find_root() {
        DataFusionError::ArrowError(e, _) => e.to_string(),
        DataFusionError::Execution(m) | DataFusionError::Plan(m) => m.clone(),
        DataFusionError::External(e) => e.to_string(),
        other => other.strip_backtrace(),
    }
}

impl fmt::Display for GuardedExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // EXPLAIN shows the expression as it was.
        write!(f, "{}", self.inner)
    }
}

impl PartialEq for GuardedExpr {
    fn eq(&self, other: &Self) -> bool {
        self.inner.as_ref() == other.inner.as_ref() && self.what == other.what
    }
}

impl Eq for GuardedExpr {}

impl Hash for GuardedExpr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.inner.hash(state);
        self.what.hash(state);
    }
}

impl PhysicalExpr for GuardedExpr {
    fn data_type(&self, input_schema: &Schema) -> Result<DataType> {
        self.inner.data_type(input_schema)
    }

    fn nullable(&self, _input_schema: &Schema) -> Result<bool> {
        Ok(true)
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let error = match self.inner.evaluate(batch) {
            Ok(value) => return Ok(value),
            Err(e) => e,
        };
        let rows = batch.num_rows();
        if rows == 0 {
            return Err(error);
        }
        let data_type = self.inner.data_type(batch.schema().as_ref())?;
        let mut parts = Vec::new();
        self.bisect(batch, &data_type, 0, rows, error, &mut parts)?;
        let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
        Ok(ColumnarValue::Array(concat(&refs)?))
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        vec![&self.inner]
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        let (Some(inner), true) = (children.pop(), children.is_empty()) else {
            return Err(DataFusionError::Internal(
                "GuardedExpr takes exactly one child".into(),
            ));
        };
        Ok(Arc::new(GuardedExpr {
            inner,
            what: self.what.clone(),
            origin: self.origin.clone(),
            log: self.log.clone(),
        }))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt_sql(f)
    }
}

/// Whether `expr` can fail on a row: anything but a column reference or a literal.
fn can_fail(expr: &Arc<dyn PhysicalExpr>) -> bool {
    !(expr.is::<Column>() || expr.is::<Literal>())
}

/// Wraps the computed expressions of every projection and filter of `plan` in
/// [`GuardedExpr`]s reporting to `log` for source `topic`.
pub fn guard_plan(
    plan: Arc<dyn ExecutionPlan>,
    topic: &str,
    log: Arc<dyn ProcessingLog>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let guarded = plan.transform_up(|node| {
        if let Some(projection) = node.downcast_ref::<ProjectionExec>() {
            let input = projection.input().clone();
            let schema = input.schema();
            if !projection.expr().iter().any(|e| can_fail(&e.expr)) {
                return Ok(Transformed::no(node));
            }
            let origin = RowOrigin::new(topic, &schema);
            let exprs: Vec<ProjectionExpr> = projection
                .expr()
                .iter()
                .map(|e| ProjectionExpr {
                    expr: if can_fail(&e.expr) {
                        Arc::new(GuardedExpr::new(
                            e.expr.clone(),
                            format!("expression ({}) for column {}", sql_of(&e.expr), e.alias),
                            origin.clone(),
                            log.clone(),
                        ))
                    } else {
                        e.expr.clone()
                    },
                    alias: e.alias.clone(),
                })
                .collect();
            let new: Arc<dyn ExecutionPlan> = Arc::new(ProjectionExec::try_new(exprs, input)?);
            return Ok(Transformed::yes(new));
        }
        if let Some(filter) = node.downcast_ref::<FilterExec>() {
            if !can_fail(filter.predicate()) {
                return Ok(Transformed::no(node));
            }
            let input = filter.input().clone();
            let origin = RowOrigin::new(topic, &input.schema());
            let predicate: Arc<dyn PhysicalExpr> = Arc::new(GuardedExpr::new(
                filter.predicate().clone(),
                format!("predicate ({})", sql_of(filter.predicate())),
                origin,
                log.clone(),
            ));
            let new = FilterExecBuilder::new(predicate, input)
                .apply_projection_by_ref(filter.projection().as_ref())?
                .with_default_selectivity(filter.default_selectivity())
                .with_batch_size(filter.batch_size())
                .with_fetch(filter.fetch())
                .build()?;
            return Ok(Transformed::yes(Arc::new(new) as Arc<dyn ExecutionPlan>));
        }
        Ok(Transformed::no(node))
    })?;
    Ok(guarded.data)
}

/// `plan` without the hidden [`SOURCE_PARTITION_COLUMN`] / [`SOURCE_OFFSET_COLUMN`] columns a
/// query selects so that its processing-log entries name the source record: what a transient
/// query's client sees.
pub fn without_origin_columns(plan: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    let schema = plan.schema();
    let hidden = |name: &str| name == SOURCE_PARTITION_COLUMN || name == SOURCE_OFFSET_COLUMN;
    if !schema.fields().iter().any(|f| hidden(f.name())) {
        return Ok(plan);
    }
    let exprs: Vec<ProjectionExpr> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| !hidden(f.name()))
        .map(|(i, f)| ProjectionExpr {
            expr: Arc::new(Column::new(f.name(), i)),
            alias: f.name().clone(),
        })
        .collect();
    Ok(Arc::new(ProjectionExec::try_new(exprs, plan)?))
}

/// The schema a client of a transient query sees: without the hidden origin columns.
pub fn without_origin_fields(schema: &Schema) -> Schema {
    Schema::new_with_metadata(
        schema
            .fields()
            .iter()
            .filter(|f| f.name() != SOURCE_PARTITION_COLUMN && f.name() != SOURCE_OFFSET_COLUMN)
            .cloned()
            .collect::<Vec<_>>(),
        schema.metadata().clone(),
    )
}

/// An expression as SQL text for a message.
fn sql_of(expr: &Arc<dyn PhysicalExpr>) -> String {
    datafusion::physical_expr_common::physical_expr::fmt_sql(expr.as_ref()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::CollectingProcessingLog;
    use arrow::array::Int32Array;
    use arrow::datatypes::Field;
    use datafusion::logical_expr::Operator;
    use datafusion::physical_expr::expressions::{BinaryExpr, col};

    fn batch(a: Vec<i32>, b: Vec<i32>) -> RecordBatch {
        let n = a.len() as i64;
        let schema = Arc::new(Schema::new(vec![
            Field::new("A", DataType::Int32, true),
            Field::new("B", DataType::Int32, true),
            Field::new("ROWPARTITION", DataType::Int32, false),
            Field::new("ROWOFFSET", DataType::Int64, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int32Array::from(a)),
                Arc::new(Int32Array::from(b)),
                Arc::new(Int32Array::from(vec![3; n as usize])),
                Arc::new(Int64Array::from((100..100 + n).collect::<Vec<_>>())),
            ],
        )
        .unwrap()
    }

    fn divide(batch: &RecordBatch, log: Arc<CollectingProcessingLog>) -> GuardedExpr {
        let schema = batch.schema();
        let div = BinaryExpr::new(
            col("A", &schema).unwrap(),
            Operator::Divide,
            col("B", &schema).unwrap(),
        );
        GuardedExpr::new(
            Arc::new(div),
            "expression (A / B) for column Q".into(),
            RowOrigin::new("s", &schema),
            log,
        )
    }

    #[test]
    fn failing_rows_become_null_and_each_is_logged_once() {
        let b = batch(vec![6, 1, 8, 9, 10, 12, 7], vec![2, 0, 4, 0, 0, 3, 1]);
        let log = Arc::new(CollectingProcessingLog::default());
        let expr = divide(&b, log.clone());
        let out = expr.evaluate(&b).unwrap().into_array(7).unwrap();
        let out = out.as_any().downcast_ref::<Int32Array>().unwrap();
        let values: Vec<Option<i32>> = out.iter().collect();
        assert_eq!(
            values,
            vec![Some(3), None, Some(2), None, None, Some(4), Some(7)]
        );
        let entries = log.entries();
        assert_eq!(
            entries
                .iter()
                .map(|e| (e.partition, e.offset))
                .collect::<Vec<_>>(),
            vec![(3, 101), (3, 103), (3, 104)]
        );
        assert!(
            entries[0]
                .message
                .starts_with("Error computing expression (A / B) for column Q: "),
            "{}",
            entries[0].message
        );
        assert!(
            entries[0].message.contains("Divide by zero"),
            "{}",
            entries[0].message
        );
    }

    #[test]
    fn a_clean_batch_logs_nothing() {
        let b = batch(vec![6, 1], vec![2, 1]);
        let log = Arc::new(CollectingProcessingLog::default());
        let out = divide(&b, log.clone())
            .evaluate(&b)
            .unwrap()
            .into_array(2)
            .unwrap();
        assert_eq!(out.null_count(), 0);
        assert_eq!(log.count(), 0);
    }
}
