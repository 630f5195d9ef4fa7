//! Push queries (`SELECT ... EMIT CHANGES`): the same epoch loop, with a client as the sink.
//!
//! A push query plans its SELECT once like a persistent query, but commits nothing: it starts
//! where `start_from` says (ksqlDB's `auto.offset.reset`, latest by default), keeps its offsets
//! in memory, and hands each epoch's rows to a bounded channel, so a slow client slows the query
//! down instead of filling memory. It ends when the client goes away, when `LIMIT` rows were sent
//! (the limit is applied here, across epochs, not by DataFusion within one), or when cancelled.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::physical_plan::ExecutionPlan;
use futures::FutureExt;
use sluice_broker::{Broker, PartitionLog};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::exec::collect_partitions_in_order;
use crate::exec::guard::without_origin_columns;
use crate::query::error::QueryError;
use crate::query::runner::{QueryOptions, QuerySource};
use crate::query::streaming_plan::{
    SourceOffsets, StreamingPlan, needs_reset, plan_for_epoch, plan_select,
};

/// A push query: a SELECT over topics whose rows go to a client as they arrive.
#[derive(Debug)]
pub struct PushQuery {
    id: String,
    plan: Arc<dyn ExecutionPlan>,
    reset_each_epoch: bool,
    streaming: StreamingPlan,
    offsets: SourceOffsets,
    options: QueryOptions,
    epoch: u64,
}

impl PushQuery {
    /// Plans `sql` (without its LIMIT: pass that to [`spawn_push`]) over `sources`, starting at
    /// `options.start_from`.
    pub async fn create(
        broker: Broker,
        id: &str,
        sql: &str,
        sources: Vec<QuerySource>,
        options: QueryOptions,
    ) -> Result<PushQuery, QueryError> {
        let streaming = plan_select(&broker, id, sql, &sources, &options).await?;
        let plan = without_origin_columns(streaming.select.clone()).map_err(|source| {
            QueryError::Plan {
                query: id.to_string(),
                source,
            }
        })?;
        let offsets = streaming.start_offsets(options.start_from);
        Ok(PushQuery {
            id: id.to_string(),
            reset_each_epoch: needs_reset(&plan),
            plan,
            streaming,
            offsets,
            options,
            epoch: 0,
        })
    }

    /// The query id (transient: push queries are not in the catalog).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The schema of the rows the query produces (what the client is told before any row).
    pub fn schema(&self) -> SchemaRef {
        self.plan.schema()
    }

    /// The physical plan every epoch executes.
    pub fn plan(&self) -> &Arc<dyn ExecutionPlan> {
        &self.plan
    }

    /// Every source partition, for waiting on their high-water marks.
    pub fn source_partitions(&self) -> impl Iterator<Item = &Arc<PartitionLog>> {
        self.streaming.source_partitions()
    }

    /// Runs one epoch over what the sources hold now (capped per partition) and returns its
    /// rows in source-partition order; None when there was nothing new.
    pub async fn run_epoch(&mut self) -> Result<Option<Vec<RecordBatch>>, QueryError> {
        let records_in = self.streaming.fix_slices(
            &self.id,
            &mut self.offsets,
            self.options.max_records_per_partition,
        );
        if records_in == 0 {
            return Ok(None);
        }
        self.epoch += 1;
        let epoch = self.epoch;
        let exec_err = |source| QueryError::Execution {
            query: self.id.clone(),
            epoch,
            source,
        };
        let result = async {
            let plan = plan_for_epoch(&self.plan, self.reset_each_epoch).map_err(exec_err)?;
            collect_partitions_in_order(&plan, self.streaming.task_ctx.clone())
                .await
                .map_err(exec_err)
        }
        .instrument(tracing::debug_span!("epoch", query = %self.id, epoch, records_in))
        .await;
        self.streaming.clear_slices();
        Ok(Some(result?.into_iter().flatten().collect()))
    }
}

/// Controls a running push query.
#[derive(Debug)]
pub struct PushHandle {
    id: String,
    stop: watch::Sender<bool>,
    join: JoinHandle<Result<(), QueryError>>,
}

impl PushHandle {
    /// The query id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Asks the query to stop after the epoch under way.
    pub fn cancel(&self) {
        self.stop.send_replace(true);
    }

    /// Waits until the query ends by itself (client gone, LIMIT reached) or fails.
    pub async fn wait(self) -> Result<(), QueryError> {
        let id = self.id;
        self.join.await.map_err(|e| QueryError::Failed {
            query: id,
            message: format!("the push query task ended abnormally: {e}"),
        })?
    }

    /// Stops the query and waits for it.
    pub async fn stop(self) -> Result<(), QueryError> {
        self.cancel();
        self.wait().await
    }
}

/// Runs `query` in a tokio task, sending its rows to `rows` until the receiver is dropped,
/// `limit` rows were sent, the handle cancels it, or an epoch fails (the error is also sent, so
/// the client can tell it apart from the end of the stream).
pub fn spawn_push(
    query: PushQuery,
    limit: Option<usize>,
    rows: mpsc::Sender<Result<RecordBatch, QueryError>>,
) -> PushHandle {
    let (stop, stop_rx) = watch::channel(false);
    let id = query.id().to_string();
    let span = tracing::info_span!("push_query", id = %id);
    let join = tokio::spawn(run(query, limit, rows, stop_rx).instrument(span));
    PushHandle { id, stop, join }
}

async fn run(
    mut query: PushQuery,
    limit: Option<usize>,
    rows: mpsc::Sender<Result<RecordBatch, QueryError>>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), QueryError> {
    let mut left = limit;
    if left == Some(0) {
        return Ok(());
    }
    loop {
        if *stop.borrow_and_update() {
            return Ok(());
        }
        let mut watches: Vec<watch::Receiver<i64>> =
            query.source_partitions().map(|p| p.subscribe()).collect();
        match query.run_epoch().await {
            Ok(Some(batches)) => {
                for batch in batches {
                    if batch.num_rows() == 0 {
                        continue;
                    }
                    let batch = match left {
                        Some(n) if batch.num_rows() >= n => batch.slice(0, n),
                        _ => batch,
                    };
                    let sent = batch.num_rows();
                    if rows.send(Ok(batch)).await.is_err() {
                        tracing::debug!("the client went away");
                        return Ok(());
                    }
                    if let Some(n) = &mut left {
                        *n -= sent;
                        if *n == 0 {
                            return Ok(());
                        }
                    }
                }
                tokio::task::yield_now().await;
            }
            Ok(None) => {
                let moved = async {
                    if watches.is_empty() {
                        futures::future::pending::<()>().await;
                    } else {
                        // A closed watch (partition gone) also wakes us; the epoch then fails.
                        let _ = futures::future::select_all(
                            watches.iter_mut().map(|w| w.changed().boxed()),
                        )
                        .await;
                    }
                };
                tokio::select! {
                    _ = moved => {}
                    _ = rows.closed() => return Ok(()),
                    changed = stop.changed() => {
                        if changed.is_err() {
                            return Ok(());
                        }
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "push query failed");
                let message = e.to_string();
                let _ = rows
                    .send(Err(QueryError::Failed {
                        query: query.id().to_string(),
                        message,
                    }))
                    .await;
                return Err(e);
            }
        }
    }
}
