//! Transient queries: `SELECT ... EMIT CHANGES` (push), `SELECT ...` over a stream (a scan of
//! what is there now) and `PRINT topic`, each a task that feeds a [`RowStream`].
//!
//! A push query is the query runner's [`PushQuery`] (planned once, executed for every slice of
//! new records from `auto.offset.reset`, ended by its LIMIT or when the client drops the
//! stream). A scan plans the same way but runs its own loop that stops at the high-water marks
//! it saw when it started. Nothing is committed: a transient query has no state to resume.

use std::sync::Arc;

use arrow::array::StringArray;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::physical_plan::collect;
use datafusion::physical_plan::execution_plan::reset_plan_states;
use futures::FutureExt;
use sluice_broker::{Broker, PartitionLog, decode_records};
use tokio::sync::{mpsc, watch};

use crate::catalog::error::{EngineError, Result};
use crate::catalog::plan::{PlannedSelect, session_with_source};
use crate::catalog::result::RowStream;
use crate::exec::ProcessingLog;
use crate::exec::guard::{guard_plan, without_origin_columns};
use crate::query::{PushQuery, QueryOptions, StartFrom, spawn_push};

/// Records one execution takes from a partition at most.
const MAX_RECORDS_PER_PARTITION: i64 = 10_000;

/// Bytes per read for PRINT.
const READ_BYTES: usize = 256 * 1024;

/// Batches a client may have unread before the query waits for it.
const CHANNEL_DEPTH: usize = 16;

/// Where a transient query starts and whether it stops at the end of what it finds.
#[derive(Debug, Clone, Copy)]
pub struct TransientOptions {
    /// First offset per partition: log start or high-water mark.
    pub start: StartFrom,
    /// Stop at the high-water marks seen at start (a scan) instead of waiting for more.
    pub bounded: bool,
}

/// Starts a push query (the query runner's [`PushQuery`], unbounded) or a scan (bounded, a
/// loop of its own) of `planned`; rows arrive on the returned stream.
pub async fn start_select(
    broker: &Broker,
    id: &str,
    planned: PlannedSelect,
    options: TransientOptions,
    processing_log: Arc<dyn ProcessingLog>,
) -> Result<RowStream> {
    if options.bounded {
        return start_scan(broker, planned, options, processing_log).await;
    }
    let query_options = QueryOptions {
        start_from: options.start,
        processing_log,
        ..QueryOptions::default()
    };
    let query = PushQuery::create(
        broker.clone(),
        id,
        &planned.sql,
        planned.query_sources(),
        query_options,
    )
    .await?;
    let schema = query.schema();
    let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
    let handle = spawn_push(query, planned.limit.map(|l| l as usize), sender);
    Ok(RowStream::push(schema, receiver, handle))
}

/// A scan: the SELECT over what the topic holds from `options.start` up to the high-water marks
/// seen now, then the end of the stream.
async fn start_scan(
    broker: &Broker,
    planned: PlannedSelect,
    options: TransientOptions,
    processing_log: Arc<dyn ProcessingLog>,
) -> Result<RowStream> {
    let (ctx, provider) = session_with_source(broker, &planned.source, processing_log.clone())?;
    let plan = ctx.sql(&planned.sql).await?.create_physical_plan().await?;
    let plan = without_origin_columns(guard_plan(plan, &planned.source.topic, processing_log)?)?;
    let schema = plan.schema();
    let logs = partitions(broker, &planned.source.topic)?;
    let mut positions = start_positions(&logs, options.start);
    let ends: Option<Vec<i64>> = options
        .bounded
        .then(|| logs.iter().map(|l| l.high_watermark()).collect());
    let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
    let task_ctx = ctx.task_ctx();
    let slice = provider.slice().clone();
    let mut remaining = planned.limit.map(|l| l as usize);
    let task = tokio::spawn(async move {
        if remaining == Some(0) {
            return;
        }
        loop {
            let mut watches: Vec<watch::Receiver<i64>> =
                logs.iter().map(|l| l.subscribe()).collect();
            let mut any = false;
            for (i, log) in logs.iter().enumerate() {
                let start = positions[i].max(log.log_start_offset());
                let mut end = log.high_watermark().min(start + MAX_RECORDS_PER_PARTITION);
                if let Some(ends) = &ends {
                    end = end.min(ends[i]);
                }
                let end = end.max(start);
                any |= end > start;
                slice.set(log.partition(), start..end);
                positions[i] = end;
            }
            if !any {
                if ends.is_some() {
                    return;
                }
                let moved =
                    futures::future::select_all(watches.iter_mut().map(|w| w.changed().boxed()));
                tokio::select! {
                    _ = moved => continue,
                    _ = sender.closed() => return,
                }
            }
            let result = match reset_plan_states(plan.clone()) {
                Ok(plan) => collect(plan, task_ctx.clone()).await,
                Err(e) => Err(e),
            };
            let batches = match result {
                Ok(batches) => batches,
                Err(e) => {
                    let _ = sender.send(Err(EngineError::from(e))).await;
                    return;
                }
            };
            for batch in batches {
                if batch.num_rows() == 0 {
                    continue;
                }
                let batch = match remaining {
                    Some(n) if batch.num_rows() >= n => batch.slice(0, n),
                    _ => batch,
                };
                if let Some(n) = remaining.as_mut() {
                    *n -= batch.num_rows();
                }
                if sender.send(Ok(batch)).await.is_err() || remaining == Some(0) {
                    return;
                }
            }
        }
    });
    Ok(RowStream::new(schema, receiver, task))
}

fn partitions(broker: &Broker, topic: &str) -> Result<Vec<Arc<PartitionLog>>> {
    let meta = broker
        .topic(topic)
        .ok_or_else(|| EngineError::invalid(format!("Kafka topic does not exist: {topic}")))?;
    Ok((0..meta.partitions)
        .map(|p| broker.partition(topic, p))
        .collect::<std::result::Result<_, _>>()?)
}

fn start_positions(logs: &[Arc<PartitionLog>], start: StartFrom) -> Vec<i64> {
    logs.iter()
        .map(|l| match start {
            StartFrom::Earliest => l.log_start_offset(),
            StartFrom::Latest => l.high_watermark(),
        })
        .collect()
}

/// The topic called `name`: exactly, else the one topic matching case-insensitively (an
/// unquoted name in `PRINT orders` arrives upper-cased).
pub fn resolve_topic(broker: &Broker, name: &str) -> Result<String> {
    if broker.topic(name).is_some() {
        return Ok(name.to_string());
    }
    let matches: Vec<String> = broker
        .topics()
        .into_iter()
        .map(|t| t.name)
        .filter(|t| t.eq_ignore_ascii_case(name))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(EngineError::invalid(format!(
            "Could not find topic '{name}', or the KSQL user does not have permissions to list \
             the topic. Topic names are case-sensitive."
        ))),
        _ => Err(EngineError::invalid(format!(
            "Topic name '{name}' matches several topics ({}); quote it to pick one.",
            matches.join(", ")
        ))),
    }
}

/// What PRINT does.
#[derive(Debug, Clone, Copy)]
pub struct PrintOptions {
    /// Start at the log start instead of the end.
    pub from_beginning: bool,
    /// Print every n-th record (1: all).
    pub interval: u64,
    /// Stop after this many records printed.
    pub limit: Option<u64>,
}

/// The schema of PRINT's stream: one line of text per record.
pub fn print_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(
        "record",
        DataType::Utf8,
        false,
    )]))
}

/// Starts `PRINT topic`: every record (or every n-th) as a line like ksqlDB's
/// `rowtime: 2020/05/29 12:00:00.000 Z, key: k1, value: {"A":1}, partition: 0`.
pub fn start_print(broker: &Broker, topic: &str, options: PrintOptions) -> Result<RowStream> {
    let logs = partitions(broker, topic)?;
    let start = if options.from_beginning {
        StartFrom::Earliest
    } else {
        StartFrom::Latest
    };
    let mut positions = start_positions(&logs, start);
    let schema = print_schema();
    let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
    let out_schema = schema.clone();
    let interval = options.interval.max(1);
    let mut remaining = options.limit;
    let task = tokio::spawn(async move {
        let mut seen = 0u64;
        loop {
            let mut watches: Vec<watch::Receiver<i64>> =
                logs.iter().map(|l| l.subscribe()).collect();
            let mut lines = Vec::new();
            for (i, log) in logs.iter().enumerate() {
                let hw = log.high_watermark();
                let mut position = positions[i].max(log.log_start_offset());
                while position < hw {
                    let records = match log
                        .read(position, READ_BYTES)
                        .and_then(|r| decode_records(&r.records))
                    {
                        Ok(records) => records,
                        Err(e) => {
                            let _ = sender.send(Err(EngineError::from(e))).await;
                            return;
                        }
                    };
                    let Some(last) = records.iter().map(|r| r.offset).max() else {
                        break;
                    };
                    for record in records.into_iter().filter(|r| r.offset >= position) {
                        seen += 1;
                        if !(seen - 1).is_multiple_of(interval) || remaining == Some(0) {
                            continue;
                        }
                        lines.push(print_line(
                            record.timestamp,
                            record.key.as_deref(),
                            record.value.as_deref(),
                            log.partition(),
                        ));
                        if let Some(n) = remaining.as_mut() {
                            *n -= 1;
                        }
                    }
                    position = last + 1;
                }
                positions[i] = position;
            }
            if !lines.is_empty() {
                let column = Arc::new(StringArray::from(lines));
                let batch = match RecordBatch::try_new(out_schema.clone(), vec![column]) {
                    Ok(batch) => batch,
                    Err(e) => {
                        let _ = sender.send(Err(EngineError::Plan(e.to_string()))).await;
                        return;
                    }
                };
                if sender.send(Ok(batch)).await.is_err() {
                    return;
                }
            }
            if remaining == Some(0) {
                return;
            }
            let moved =
                futures::future::select_all(watches.iter_mut().map(|w| w.changed().boxed()));
            tokio::select! {
                _ = moved => {}
                _ = sender.closed() => return,
            }
        }
    });
    Ok(RowStream::new(schema, receiver, task))
}

/// One PRINT line.
fn print_line(timestamp: i64, key: Option<&[u8]>, value: Option<&[u8]>, partition: i32) -> String {
    let time = arrow::temporal_conversions::timestamp_ms_to_datetime(timestamp)
        .map(|t| t.format("%Y/%m/%d %H:%M:%S%.3f Z").to_string())
        .unwrap_or_else(|| timestamp.to_string());
    let text = |bytes: Option<&[u8]>| match bytes {
        Some(b) => String::from_utf8_lossy(b).into_owned(),
        None => "<null>".to_string(),
    };
    format!(
        "rowtime: {time}, key: {}, value: {}, partition: {partition}",
        text(key),
        text(value)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn print_lines_look_like_ksqldb() {
        assert_eq!(
            print_line(0, Some(b"k1"), None, 2),
            "rowtime: 1970/01/01 00:00:00.000 Z, key: k1, value: <null>, partition: 2"
        );
    }
}
