//! Running every output partition of a plan in parallel while keeping a deterministic order.
//!
//! One DataFusion partition per topic partition is what lets a query read and decode its
//! partitions on several cores; consumers of the result (the topic sink, push queries) then take
//! the rows partition by partition, so an epoch's output never depends on which task finished
//! first.

use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use datafusion::common::runtime::SpawnedTask;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_plan::common::collect as collect_stream;
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties};

/// Executes every output partition of `plan`, each in its own task, and returns their batches in
/// partition order. An error in one partition cancels the others (dropping a `SpawnedTask`
/// aborts it).
pub async fn collect_partitions_in_order(
    plan: &Arc<dyn ExecutionPlan>,
    context: Arc<TaskContext>,
) -> Result<Vec<Vec<RecordBatch>>> {
    let partitions = plan.output_partitioning().partition_count();
    if partitions == 1 {
        return Ok(vec![collect_stream(plan.execute(0, context)?).await?]);
    }
    let mut tasks = Vec::with_capacity(partitions);
    for i in 0..partitions {
        let stream = plan.execute(i, context.clone())?;
        tasks.push(SpawnedTask::spawn(collect_stream(stream)));
    }
    let mut out = Vec::with_capacity(partitions);
    for task in tasks {
        let batches = task
            .join_unwind()
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))??;
        out.push(batches);
    }
    Ok(out)
}
