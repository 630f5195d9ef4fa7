//! Running a [`PersistentQuery`] continuously in a tokio task.
//!
//! The task runs epochs back to back while the sources have new records (each epoch capped per
//! partition, so a backlog is worked off in large batches) and, when an epoch finds nothing,
//! sleeps until some source partition's high-water mark moves (`PartitionLog::subscribe`). The
//! [`QueryHandle`] stops it between epochs and reports each commit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::FutureExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::query::commit::QueryCommit;
use crate::query::error::QueryError;
use crate::query::runner::{EpochOutcome, PersistentQuery};

/// What a running query did so far (since it started in this process).
#[derive(Debug, Default)]
pub struct QueryStats {
    /// Source records read (including undecodable ones).
    pub records_in: AtomicU64,
    /// Records written to the sink.
    pub records_out: AtomicU64,
    /// Epochs committed.
    pub epochs: AtomicU64,
}

/// Controls a running query: stop it and follow its commits.
#[derive(Debug)]
pub struct QueryHandle {
    id: String,
    stats: Arc<QueryStats>,
    stop: watch::Sender<bool>,
    commits: watch::Receiver<QueryCommit>,
    join: JoinHandle<Result<PersistentQuery, QueryError>>,
}

impl QueryHandle {
    /// The query id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// What the query did so far.
    pub fn stats(&self) -> &QueryStats {
        &self.stats
    }

    /// A receiver of the query's latest commit (updated after every epoch).
    pub fn commits(&self) -> watch::Receiver<QueryCommit> {
        self.commits.clone()
    }

    /// Asks the query to stop after the epoch under way; its next start resumes from the last
    /// commit.
    pub fn cancel(&self) {
        self.stop.send_replace(true);
    }

    /// Whether the task ended (stopped or failed).
    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }

    /// Stops the query and waits for it: the query back (to run again or drop), or the error
    /// that stopped it.
    pub async fn stop(self) -> Result<PersistentQuery, QueryError> {
        self.cancel();
        let id = self.id;
        self.join.await.map_err(|e| QueryError::Failed {
            query: id,
            message: format!("the query task ended abnormally: {e}"),
        })?
    }
}

/// Runs `query` in a new tokio task until cancelled (or the handle is dropped) or an epoch fails.
pub fn spawn(query: PersistentQuery) -> QueryHandle {
    let (stop, stop_rx) = watch::channel(false);
    let (commits_tx, commits) = watch::channel(query.last_commit().clone());
    let id = query.id().to_string();
    let span = tracing::info_span!("query", id = %id);
    let stats = Arc::new(QueryStats::default());
    let join = tokio::spawn(run(query, stop_rx, commits_tx, stats.clone()).instrument(span));
    QueryHandle {
        id,
        stats,
        stop,
        commits,
        join,
    }
}

async fn run(
    mut query: PersistentQuery,
    mut stop: watch::Receiver<bool>,
    commits: watch::Sender<QueryCommit>,
    stats: Arc<QueryStats>,
) -> Result<PersistentQuery, QueryError> {
    loop {
        if *stop.borrow_and_update() {
            tracing::info!("query stopped");
            return Ok(query);
        }
        // Subscribe before the epoch looks at the high-water marks, so that an append racing
        // with the epoch still wakes the wait below.
        let mut watches: Vec<watch::Receiver<i64>> =
            query.source_partitions().map(|p| p.subscribe()).collect();
        match query.run_epoch().await {
            Ok(EpochOutcome::Committed {
                epoch,
                records_in,
                records_out,
            }) => {
                tracing::debug!(epoch, records_in, records_out, "epoch committed");
                stats.records_in.fetch_add(records_in, Ordering::Relaxed);
                stats.records_out.fetch_add(records_out, Ordering::Relaxed);
                stats.epochs.fetch_add(1, Ordering::Relaxed);
                commits.send_replace(query.last_commit().clone());
                tokio::task::yield_now().await;
            }
            Ok(EpochOutcome::Idle) if watches.is_empty() => {
                if stop.changed().await.is_err() {
                    return Ok(query);
                }
            }
            Ok(EpochOutcome::Idle) => {
                let moved =
                    futures::future::select_all(watches.iter_mut().map(|w| w.changed().boxed()));
                tokio::select! {
                    _ = moved => {}
                    changed = stop.changed() => {
                        // The handle was dropped: nobody can stop the query any more, so stop now.
                        if changed.is_err() {
                            return Ok(query);
                        }
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "query failed; it resumes from its last commit when restarted");
                return Err(e);
            }
        }
    }
}
