//! The catalog: the streams, tables, custom types and persistent queries the engine knows, and
//! the statement executor that changes them.
//!
//! [`Catalog`] is plain data (what exists); [`crate::Engine`] executes statements against it.
//! Every statement that changes it is first appended, fsync'd, to the command topic
//! ([`commands`]) and replayed from there at start-up. Submodules: [`source`] (CREATE STREAM /
//! TABLE and the WITH clause), [`plan`] (a SELECT over catalog sources as DataFusion SQL),
//! [`describe`] (SHOW, DESCRIBE, EXPLAIN), [`insert_values`], [`push`] (push queries, scans and
//! PRINT), [`transient`] (the push queries running now), [`result`] (what statements
//! return), [`error`].

pub mod commands;
pub mod ddl;
pub mod describe;
pub mod error;
pub mod executor;
pub mod insert_values;
pub mod persistent;
pub mod plan;
mod projection;
pub mod push;
pub mod result;
pub mod session;
pub mod source;
pub mod transient;
pub mod validate;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub use commands::{COMMAND_TOPIC, Command, CommandLog};
pub use error::{EngineError, Result};
pub use result::{
    CommandStatus, FieldDescription, PartitionLag, QueryStatus, RowStream, Rows, SourceDescription,
    StatementResult,
};
pub use session::Session;
pub use source::SourceInfo;

use crate::exec::ProcessingLog;
use crate::processing_log::QueryProcessingLog;
use crate::query::{QueryHandle, QueryOptions, QuerySpec};
use crate::sql::SourceKind;
use crate::types::SqlType;

/// How a persistent query came to be (ksqlDB's query types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    /// `CREATE STREAM ... AS SELECT` (id `CSAS_<SINK>_<n>`).
    CreateStreamAs,
    /// `CREATE TABLE ... AS SELECT` (id `CTAS_<SINK>_<n>`).
    CreateTableAs,
    /// `INSERT INTO ... SELECT` (id `INSERTQUERY_<n>`).
    InsertInto,
}

impl QueryKind {
    /// The id of a query of this kind writing `sink`, started by the command at `offset`.
    pub fn query_id(self, sink: &str, offset: i64) -> String {
        match self {
            QueryKind::CreateStreamAs => format!("CSAS_{sink}_{offset}"),
            QueryKind::CreateTableAs => format!("CTAS_{sink}_{offset}"),
            QueryKind::InsertInto => format!("INSERTQUERY_{offset}"),
        }
    }
}

/// A persistent query in the catalog.
#[derive(Debug)]
pub struct QueryInfo {
    /// Its id.
    pub id: String,
    /// CSAS, CTAS or INSERT.
    pub kind: QueryKind,
    /// The source it writes into.
    pub sink: String,
    /// The sink's topic.
    pub sink_topic: String,
    /// The sources it reads.
    pub sources: Vec<String>,
    /// The statement that created it.
    pub statement: String,
    /// Its physical plan as EXPLAIN prints it.
    pub plan: String,
    /// The running task; None when it failed to start after a restart.
    pub handle: Option<QueryHandle>,
    /// Why it is not running, when it is not.
    pub error: Option<String>,
    /// Its processing log (the error counter).
    pub processing_log: Arc<QueryProcessingLog>,
    /// Being started by the statement that created it (after the catalog lock is released):
    /// the registration's generation.
    pub starting: Option<u64>,
    /// Replayed from the command topic and not started yet: queries start only once the
    /// whole command topic is replayed, and only those still alive then.
    pub pending: Option<PendingQuery>,
}

/// What a replayed query starts with once the replay is done.
#[derive(Debug)]
pub struct PendingQuery {
    /// The query to plan.
    pub spec: QuerySpec,
    /// How it runs.
    pub options: QueryOptions,
    /// Whether it is its sink's only writer (its uncommitted sink records are cut).
    pub exclusive_sink: bool,
}

impl QueryInfo {
    /// ksqlDB's status column: `RUNNING`, `ERROR`, or `PENDING` while it is being started.
    pub fn status(&self) -> &'static str {
        match &self.handle {
            Some(h) if !h.is_finished() => "RUNNING",
            None if self.starting.is_some() || self.pending.is_some() => "PENDING",
            _ => "ERROR",
        }
    }

    /// Its state, counters, lag and last error, as SHOW QUERIES EXTENDED and DESCRIBE ...
    /// EXTENDED show them.
    pub fn describe(&self, broker: &sluice_broker::Broker) -> QueryStatus {
        let (records_in, records_out, lag) = match &self.handle {
            Some(handle) => {
                let stats = handle.stats();
                let commit = handle.commits().borrow().clone();
                let mut lag = Vec::new();
                for (topic, offsets) in &commit.sources {
                    for (&partition, &committed) in offsets {
                        let end = broker
                            .partition(topic, partition)
                            .map_or(committed, |log| log.high_watermark());
                        lag.push(PartitionLag {
                            topic: topic.clone(),
                            partition,
                            lag: (end - committed).max(0),
                        });
                    }
                }
                (
                    stats.records_in.load(Ordering::Relaxed),
                    stats.records_out.load(Ordering::Relaxed),
                    lag,
                )
            }
            None => (0, 0, Vec::new()),
        };
        QueryStatus {
            id: self.id.clone(),
            state: self.status().to_string(),
            records_in,
            records_out,
            processing_errors: self.processing_log.count(),
            processing_log_dropped: self.processing_log.dropped(),
            lag,
            error: self.error.clone(),
        }
    }

    /// Records this query could not process.
    pub fn processing_errors(&self) -> u64 {
        self.processing_log.count()
    }
}

/// What exists: sources by name, queries by id, custom types by name.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Streams and tables by name.
    pub sources: BTreeMap<String, SourceInfo>,
    /// Persistent queries by id.
    pub queries: BTreeMap<String, QueryInfo>,
    /// `CREATE TYPE` aliases.
    pub types: BTreeMap<String, SqlType>,
    /// Sources that INSERT INTO queries write (now or ever, per the command topic): their
    /// queries must not cut sink records past their own last commit at restart, because other
    /// writers' records may be there.
    pub shared_sinks: BTreeSet<String>,
    /// Topics the replay of the command topic created because they were missing (see
    /// `ddl::create_topic`); the ones no source uses at the end of the replay are deleted.
    pub replay_created_topics: BTreeSet<String>,
}

impl Catalog {
    /// The source called `name`, or ksqlDB's error.
    pub fn source(&self, name: &str) -> Result<&SourceInfo> {
        self.sources
            .get(name)
            .ok_or_else(|| EngineError::invalid(format!("{name} does not exist.")))
    }

    /// Queries reading `source`.
    pub fn readers_of(&self, source: &str) -> Vec<String> {
        self.queries
            .values()
            .filter(|q| q.sources.iter().any(|s| s == source))
            .map(|q| q.id.clone())
            .collect()
    }

    /// Queries writing into `source`.
    pub fn writers_of(&self, source: &str) -> Vec<String> {
        self.queries
            .values()
            .filter(|q| q.sink == source)
            .map(|q| q.id.clone())
            .collect()
    }

    /// Collects the error of every query whose task ended by itself (a failed epoch), so SHOW
    /// QUERIES and DESCRIBE can say why it is no longer running.
    pub async fn collect_failures(&mut self) {
        for query in self.queries.values_mut() {
            if query.handle.as_ref().is_some_and(|h| h.is_finished())
                && let Some(handle) = query.handle.take()
            {
                query.error = Some(match handle.stop().await {
                    Ok(_) => "the query stopped".to_string(),
                    Err(e) => e.to_string(),
                });
            }
        }
    }

    /// Sources of `kind`, by name.
    pub fn sources_of(&self, kind: SourceKind) -> impl Iterator<Item = &SourceInfo> {
        self.sources.values().filter(move |s| s.kind == kind)
    }
}
