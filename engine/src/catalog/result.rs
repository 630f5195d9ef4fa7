//! What a statement returns: [`StatementResult`].
//!
//! Every front end (the shell, the Postgres wire, tests) shows the same four shapes: a status
//! line for commands (`Stream created`), a table of text for SHOW and EXPLAIN, a
//! [`SourceDescription`] for DESCRIBE, and a [`RowStream`] of Arrow batches for queries and PRINT,
//! which deliver rows as they arrive.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use futures::Stream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::catalog::error::{EngineError, Result};
use crate::catalog::transient::TransientGuard;
use crate::query::{PushHandle, QueryError};

/// The outcome of one statement.
#[derive(Debug)]
pub enum StatementResult {
    /// A command that did something (CREATE, DROP, TERMINATE, SET ...).
    Status(CommandStatus),
    /// Rows of text: SHOW, DESCRIBE FUNCTION, EXPLAIN.
    Rows(Rows),
    /// DESCRIBE [EXTENDED] of a stream or table.
    Description(Box<SourceDescription>),
    /// A push query (`EMIT CHANGES`), a scan of a stream, or PRINT: rows as they arrive.
    Stream(RowStream),
}

impl StatementResult {
    /// The status, if this is one.
    pub fn status(&self) -> Option<&CommandStatus> {
        match self {
            StatementResult::Status(s) => Some(s),
            _ => None,
        }
    }

    /// The rows, if this is a table of text.
    pub fn rows(&self) -> Option<&Rows> {
        match self {
            StatementResult::Rows(r) => Some(r),
            _ => None,
        }
    }

    /// The description, if this is one.
    pub fn description(&self) -> Option<&SourceDescription> {
        match self {
            StatementResult::Description(d) => Some(d),
            _ => None,
        }
    }

    /// The stream, if this is one.
    pub fn into_stream(self) -> Option<RowStream> {
        match self {
            StatementResult::Stream(s) => Some(s),
            _ => None,
        }
    }
}

/// The answer to a command: ksqlDB's message and the query it started, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandStatus {
    /// `Stream created`, `Created query with ID CSAS_X_1`, `Query terminated.` ...
    pub message: String,
    /// The persistent query started (CREATE ... AS SELECT, INSERT INTO ... SELECT).
    pub query_id: Option<String>,
}

/// A table of text with named columns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rows {
    /// Column headers, as ksqlDB's CLI prints them.
    pub columns: Vec<String>,
    /// One entry per row, one string per column.
    pub rows: Vec<Vec<String>>,
}

impl Rows {
    /// An empty table with `columns`.
    pub fn new(columns: &[&str]) -> Rows {
        Rows {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// The values of column `name`, top to bottom.
    pub fn column(&self, name: &str) -> Vec<&str> {
        match self.columns.iter().position(|c| c == name) {
            Some(i) => self.rows.iter().map(|r| r[i].as_str()).collect(),
            None => Vec::new(),
        }
    }
}

impl fmt::Display for Rows {
    /// An aligned text table like ksqlDB's CLI.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain([self.columns[i].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |f: &mut fmt::Formatter<'_>, cells: &[String]| -> fmt::Result {
            for (i, cell) in cells.iter().enumerate() {
                f.write_str(if i == 0 { " " } else { " | " })?;
                write!(f, "{cell:<width$}", width = widths[i])?;
            }
            writeln!(f)
        };
        line(f, &self.columns)?;
        writeln!(
            f,
            "{}",
            "-".repeat(widths.iter().sum::<usize>() + 3 * widths.len())
        )?;
        for row in &self.rows {
            line(f, row)?;
        }
        Ok(())
    }
}

/// One column of a DESCRIBE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDescription {
    /// Column name.
    pub name: String,
    /// ksqlDB spelling of its type (`INTEGER`, `STRUCT<A STRING>`).
    pub sql_type: String,
    /// `(key)` for a stream key column, `(primary key)` for a table's, `(header('k'))` ...
    pub annotation: Option<String>,
}

/// What DESCRIBE shows about a stream or table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceDescription {
    /// The source's name.
    pub name: String,
    /// `STREAM` or `TABLE`.
    pub kind: String,
    /// Its columns, key columns first.
    pub fields: Vec<FieldDescription>,
    /// Whether EXTENDED was asked for (the fields below are then filled in).
    pub extended: bool,
    /// Kafka topic.
    pub topic: String,
    /// Partitions of the topic.
    pub partitions: i32,
    /// Key format.
    pub key_format: String,
    /// Value format.
    pub value_format: String,
    /// `TIMESTAMP` column, if any.
    pub timestamp_column: Option<String>,
    /// The statement that created it.
    pub statement: String,
    /// Queries that read from it.
    pub read_queries: Vec<String>,
    /// Queries that write into it.
    pub write_queries: Vec<String>,
    /// Records the queries writing into it could not process (the processing log counter).
    pub processing_errors: u64,
    /// The state of each query writing into it.
    pub query_statuses: Vec<QueryStatus>,
}

/// How far behind a query is on one source partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    /// The source topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// Records in the partition past the query's last commit.
    pub lag: i64,
}

/// A persistent query's state as SHOW QUERIES EXTENDED and DESCRIBE ... EXTENDED show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryStatus {
    /// The query id.
    pub id: String,
    /// `RUNNING`, `ERROR` or `PENDING`.
    pub state: String,
    /// Source records processed since the query started in this server.
    pub records_in: u64,
    /// Records written to its sink since it started in this server.
    pub records_out: u64,
    /// Records it could not process (every one, written to the processing log or not).
    pub processing_errors: u64,
    /// Processing-log entries dropped by the rate limit.
    pub processing_log_dropped: u64,
    /// Lag per source partition.
    pub lag: Vec<PartitionLag>,
    /// Why it stopped (or did not start), when it is not running.
    pub error: Option<String>,
}

impl QueryStatus {
    /// The lag as `topic:partition=n, ...`.
    pub fn lag_text(&self) -> String {
        self.lag
            .iter()
            .map(|l| format!("{}:{}={}", l.topic, l.partition, l.lag))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for SourceDescription {
    /// The layout of ksqlDB's CLI.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<20} : {}", "Name", self.name)?;
        if self.extended {
            writeln!(f, "{:<20} : {}", "Type", self.kind)?;
            if let Some(ts) = &self.timestamp_column {
                writeln!(f, "{:<20} : {}", "Timestamp field", ts)?;
            }
            writeln!(f, "{:<20} : {}", "Key format", self.key_format)?;
            writeln!(f, "{:<20} : {}", "Value format", self.value_format)?;
            writeln!(
                f,
                "{:<20} : {} (partitions: {}, replication: 1)",
                "Kafka topic", self.topic, self.partitions
            )?;
            writeln!(f, "{:<20} : {}", "Statement", self.statement)?;
        }
        let mut rows = Rows::new(&["Field", "Type"]);
        for field in &self.fields {
            let ty = match &field.annotation {
                Some(a) => format!("{}  {a}", field.sql_type),
                None => field.sql_type.clone(),
            };
            rows.rows.push(vec![field.name.clone(), ty]);
        }
        write!(f, "{rows}")?;
        if self.extended {
            writeln!(f, "\nQueries that read from this {}", self.kind)?;
            for q in &self.read_queries {
                writeln!(f, "{q}")?;
            }
            writeln!(f, "\nQueries that write from this {}", self.kind)?;
            for q in &self.write_queries {
                writeln!(f, "{q}")?;
            }
            writeln!(f, "\nprocessing-errors: {}", self.processing_errors)?;
            for q in &self.query_statuses {
                writeln!(
                    f,
                    "{}: {}, records processed: {}, records written: {}, processing-log \
                     entries: {} ({} dropped), lag: [{}]{}",
                    q.id,
                    q.state,
                    q.records_in,
                    q.records_out,
                    q.processing_errors,
                    q.processing_log_dropped,
                    q.lag_text(),
                    q.error
                        .as_ref()
                        .map(|e| format!(", error: {e}"))
                        .unwrap_or_default()
                )?;
            }
        }
        Ok(())
    }
}

/// Rows that arrive over time: a push query, a scan, or PRINT. Dropping it stops the query.
#[derive(Debug)]
pub struct RowStream {
    schema: SchemaRef,
    source: RowSource,
    /// A push query's place in SHOW QUERIES, given up when the stream is dropped; TERMINATE
    /// ends the stream through it.
    guard: Option<TransientGuard>,
}

/// Where a [`RowStream`]'s batches come from.
#[derive(Debug)]
enum RowSource {
    /// A task of the catalog (a scan, PRINT): aborted when the stream is dropped.
    Task {
        receiver: mpsc::Receiver<Result<RecordBatch>>,
        task: JoinHandle<()>,
    },
    /// A push query of the query runner: it ends by itself once the receiver is dropped.
    Push {
        receiver: mpsc::Receiver<std::result::Result<RecordBatch, QueryError>>,
        _handle: PushHandle,
    },
    /// Ended by TERMINATE: what produced the rows is dropped (and so stopped).
    Terminated,
}

impl Drop for RowSource {
    fn drop(&mut self) {
        if let RowSource::Task { task, .. } = self {
            task.abort();
        }
    }
}

impl RowStream {
    /// A stream of batches of `schema` that `task` sends into `receiver`.
    pub(crate) fn new(
        schema: SchemaRef,
        receiver: mpsc::Receiver<Result<RecordBatch>>,
        task: JoinHandle<()>,
    ) -> RowStream {
        RowStream {
            schema,
            source: RowSource::Task { receiver, task },
            guard: None,
        }
    }

    /// A stream of the rows of a running push query.
    pub(crate) fn push(
        schema: SchemaRef,
        receiver: mpsc::Receiver<std::result::Result<RecordBatch, QueryError>>,
        handle: PushHandle,
    ) -> RowStream {
        RowStream {
            schema,
            source: RowSource::Push {
                receiver,
                _handle: handle,
            },
            guard: None,
        }
    }

    /// Lists the stream's query in SHOW QUERIES for as long as the stream lives.
    pub(crate) fn with_guard(mut self, guard: TransientGuard) -> RowStream {
        self.guard = Some(guard);
        self
    }

    /// The id of the push query feeding this stream, if it is one (`transient_<SOURCE>_<n>`).
    pub fn query_id(&self) -> Option<&str> {
        self.guard.as_ref().map(TransientGuard::id)
    }

    /// The columns of every batch.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// The next batch; None when the query ended (LIMIT reached, end of a scan).
    pub async fn next_batch(&mut self) -> Option<Result<RecordBatch>> {
        futures::StreamExt::next(self).await
    }

    /// Reads until `rows` rows arrived or the stream ended, and renders them as text.
    pub async fn collect_rows(&mut self, rows: usize) -> Result<Vec<Vec<String>>> {
        let mut out = Vec::new();
        while out.len() < rows {
            match self.next_batch().await {
                Some(batch) => out.extend(batch_to_text(&batch?)?),
                None => break,
            }
        }
        Ok(out)
    }
}

impl Stream for RowStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.guard.as_ref().is_some_and(|g| g.stopped(cx.waker())) {
            self.source = RowSource::Terminated;
        }
        match &mut self.source {
            RowSource::Task { receiver, .. } => receiver.poll_recv(cx),
            RowSource::Push { receiver, .. } => receiver
                .poll_recv(cx)
                .map(|item| item.map(|r| r.map_err(EngineError::from))),
            RowSource::Terminated => Poll::Ready(None),
        }
    }
}

/// Every row of `batch` as text (NULL as `null`, as ksqlDB's CLI prints it).
pub fn batch_to_text(batch: &RecordBatch) -> Result<Vec<Vec<String>>> {
    let options = FormatOptions::default().with_null("null");
    let formatters = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| EngineError::Plan(e.to_string()))?;
    Ok((0..batch.num_rows())
        .map(|row| {
            formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect()
        })
        .collect())
}
