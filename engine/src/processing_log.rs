//! The processing log as ksqlDB has it: records a query could not process, written as JSON to
//! a topic that the built-in stream `KSQL_PROCESSING_LOG` reads, so any user can query it.
//!
//! Scans report undecodable records through the synchronous
//! [`ProcessingLog`](crate::exec::ProcessingLog) trait; each persistent query gets a
//! [`QueryProcessingLog`] that counts its own errors (SHOW QUERIES EXTENDED, DESCRIBE EXTENDED)
//! and hands the entry to one background writer, which appends it to [`PROCESSING_LOG_TOPIC`].
//! The record follows ksqlDB's layout (`level`, `logger`, `time`, `message.deserializationError`
//! with `errorMessage` and `topic`) and adds the record's `partition` and `offset`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::json;
use sluice_broker::{Broker, BrokerError, Durability, new_record};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::exec::{ProcessingErrorKind, ProcessingLog, ProcessingLogEntry};

/// The topic behind the `KSQL_PROCESSING_LOG` stream.
pub const PROCESSING_LOG_TOPIC: &str = "sluice_processing_log";

/// The name of the built-in stream over [`PROCESSING_LOG_TOPIC`].
pub const PROCESSING_LOG_STREAM: &str = "KSQL_PROCESSING_LOG";

/// The statement that declares [`PROCESSING_LOG_STREAM`] (registered at start-up, never stored
/// in the command topic). Field names match ksqlDB's; JSON fields match case-insensitively.
pub const PROCESSING_LOG_DDL: &str = "CREATE STREAM KSQL_PROCESSING_LOG (\
    LOGGER STRING, LEVEL STRING, `TIME` BIGINT, \
    MESSAGE STRUCT<`TYPE` INT, DESERIALIZATIONERROR STRUCT<TARGET STRING, ERRORMESSAGE STRING, \
    RECORDB64 STRING, CAUSE ARRAY<STRING>, `TOPIC` STRING, `PARTITION` INT, `OFFSET` BIGINT>, \
    RECORDPROCESSINGERROR STRUCT<ERRORMESSAGE STRING, RECORD STRING, CAUSE ARRAY<STRING>, \
    `TOPIC` STRING, `PARTITION` INT, `OFFSET` BIGINT>, \
    SERIALIZATIONERROR STRUCT<TARGET STRING, ERRORMESSAGE STRING, RECORD STRING, \
    CAUSE ARRAY<STRING>, `TOPIC` STRING, `PARTITION` INT, `OFFSET` BIGINT>>) \
    WITH (KAFKA_TOPIC='sluice_processing_log', VALUE_FORMAT='JSON')";

/// How much the processing log takes before it drops entries (each dropped entry is counted).
#[derive(Debug, Clone, Copy)]
pub struct ProcessingLogLimits {
    /// Entries one query may write in a burst.
    pub burst: u64,
    /// Entries per second one query may write once its burst is spent.
    pub per_second: u64,
    /// Entries waiting for the writer, over all queries (the queue is bounded).
    pub queue: usize,
    /// Characters of an error message kept in an entry.
    pub max_message_chars: usize,
}

impl Default for ProcessingLogLimits {
    fn default() -> Self {
        ProcessingLogLimits {
            burst: 10_000,
            per_second: 1_000,
            queue: 16_384,
            max_message_chars: 4_096,
        }
    }
}

/// Most entries the writer takes from the queue for one round of appends.
const ENTRIES_PER_ROUND: usize = 4_096;

/// One entry on its way to the topic: which query reported it and what.
#[derive(Debug)]
struct Pending {
    query: String,
    entry: ProcessingLogEntry,
}

/// Counters of the writer, shared with its task.
#[derive(Debug, Default)]
struct WriterStats {
    written: AtomicU64,
    lost: AtomicU64,
}

/// The background writer of the processing log topic; cheap to clone.
///
/// Entries travel through a bounded queue; the writer appends them in batches that stay below
/// the topic's `max.message.bytes` (a burst of bad records never becomes one oversized batch
/// that the broker refuses whole). A query that reports faster than its rate limit, or finds
/// the queue full, drops the entry and counts it ([`QueryProcessingLog::dropped`]).
#[derive(Debug, Clone)]
pub struct ProcessingLogWriter {
    sender: mpsc::Sender<Pending>,
    limits: ProcessingLogLimits,
    stats: Arc<WriterStats>,
    task: Arc<parking_lot::Mutex<Option<JoinHandle<()>>>>,
}

impl ProcessingLogWriter {
    /// Creates the topic if needed and starts the writer task with the default limits.
    pub fn start(broker: &Broker) -> Result<ProcessingLogWriter, BrokerError> {
        Self::start_with(broker, ProcessingLogLimits::default())
    }

    /// Creates the topic if needed and starts the writer task.
    pub fn start_with(
        broker: &Broker,
        limits: ProcessingLogLimits,
    ) -> Result<ProcessingLogWriter, BrokerError> {
        if broker.topic(PROCESSING_LOG_TOPIC).is_none() {
            match broker.create_topic(PROCESSING_LOG_TOPIC, 1, &BTreeMap::new()) {
                Ok(_) | Err(BrokerError::TopicAlreadyExists(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let log = broker.partition(PROCESSING_LOG_TOPIC, 0)?;
        let (sender, mut receiver) = mpsc::channel::<Pending>(limits.queue.max(1));
        let stats = Arc::new(WriterStats::default());
        let task_stats = stats.clone();
        let task = tokio::spawn(async move {
            let mut pending = Vec::new();
            while receiver.recv_many(&mut pending, ENTRIES_PER_ROUND).await > 0 {
                let now = sluice_broker::log::now_ms();
                let records: Vec<_> = pending
                    .drain(..)
                    .map(|p| {
                        let value = entry_json(&p.query, &p.entry, now).to_string();
                        new_record(None, Some(value.as_bytes()), now)
                    })
                    .collect();
                let max_bytes = (log.config().max_message_bytes * 3 / 4).max(1);
                for chunk in chunks_by_size(&records, max_bytes) {
                    match log.append_records(chunk, Durability::Written).await {
                        Ok(_) => {
                            task_stats
                                .written
                                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                        }
                        Err(e) => {
                            task_stats
                                .lost
                                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                            tracing::error!(error = %e, lost = chunk.len(),
                                "cannot write to the processing log topic");
                        }
                    }
                }
            }
        });
        Ok(ProcessingLogWriter {
            sender,
            limits,
            stats,
            task: Arc::new(parking_lot::Mutex::new(Some(task))),
        })
    }

    /// A log for query `query`, counting its own entries.
    pub fn for_query(&self, query: &str) -> Arc<QueryProcessingLog> {
        Arc::new(QueryProcessingLog {
            query: query.to_string(),
            sender: self.sender.clone(),
            limits: self.limits,
            count: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            bucket: parking_lot::Mutex::new(TokenBucket::full(self.limits.burst)),
        })
    }

    /// Entries appended to the topic so far.
    pub fn written(&self) -> u64 {
        self.stats.written.load(Ordering::Relaxed)
    }

    /// Entries the broker refused (counted, also in the server log).
    pub fn lost(&self) -> u64 {
        self.stats.lost.load(Ordering::Relaxed)
    }

    /// Stops the writer task (entries not yet written are lost; they are also in the tracing
    /// log).
    pub fn stop(&self) {
        if let Some(task) = self.task.lock().take() {
            task.abort();
        }
    }
}

/// Entries a query may still write now: `burst` at most, refilled at `per_second`.
#[derive(Debug)]
struct TokenBucket {
    tokens: f64,
    last: std::time::Instant,
    /// When the last "entries dropped" warning was logged.
    warned: Option<std::time::Instant>,
}

impl TokenBucket {
    fn full(burst: u64) -> TokenBucket {
        TokenBucket {
            tokens: burst as f64,
            last: std::time::Instant::now(),
            warned: None,
        }
    }

    fn take(&mut self, limits: &ProcessingLogLimits) -> bool {
        let now = std::time::Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * limits.per_second as f64;
        self.tokens = (self.tokens + refill).min(limits.burst as f64);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Splits records into runs whose estimated encoded size stays below `max_bytes`.
fn chunks_by_size(
    records: &[sluice_broker::Record],
    max_bytes: usize,
) -> Vec<&[sluice_broker::Record]> {
    const RECORD_OVERHEAD: usize = 64;
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut size = 0;
    for (i, r) in records.iter().enumerate() {
        let len = RECORD_OVERHEAD + r.value.as_ref().map_or(0, |v| v.len());
        if i > start && size + len > max_bytes {
            chunks.push(&records[start..i]);
            start = i;
            size = 0;
        }
        size += len;
    }
    if start < records.len() {
        chunks.push(&records[start..]);
    }
    chunks
}

/// The JSON value of one processing log record, in ksqlDB's layout (message `type` 0
/// `deserializationError`, 2 `recordProcessingError`, 3 `serializationError`), each with the
/// source record's `topic`, `partition` and `offset` added.
fn entry_json(query: &str, entry: &ProcessingLogEntry, time: i64) -> serde_json::Value {
    let (kind, field, logger, target) = match entry.kind {
        ProcessingErrorKind::Deserialization => (
            0,
            "deserializationError",
            "KsqlTopic.Source.deserializer",
            Some("value"),
        ),
        ProcessingErrorKind::RecordProcessing => (2, "recordProcessingError", "Project", None),
        ProcessingErrorKind::Serialization => (
            3,
            "serializationError",
            "KsqlTopic.Sink.serializer",
            Some("value"),
        ),
    };
    let mut error = json!({
        "errorMessage": entry.message,
        "cause": [],
        "topic": entry.topic,
        "partition": entry.partition,
        "offset": entry.offset,
    });
    if let Some(target) = target {
        error["target"] = json!(target);
    }
    if entry.kind == ProcessingErrorKind::Deserialization {
        error["recordB64"] = serde_json::Value::Null;
    } else {
        error["record"] = serde_json::Value::Null;
    }
    let mut message = json!({ "type": kind });
    message[field] = error;
    json!({
        "level": "ERROR",
        "logger": format!("processing.{query}.{logger}"),
        "time": time,
        "message": message,
    })
}

/// The processing log of one query: counts its errors and forwards them to the topic writer,
/// within its rate limit.
#[derive(Debug)]
pub struct QueryProcessingLog {
    query: String,
    sender: mpsc::Sender<Pending>,
    limits: ProcessingLogLimits,
    count: AtomicU64,
    dropped: AtomicU64,
    bucket: parking_lot::Mutex<TokenBucket>,
}

impl QueryProcessingLog {
    /// Entries reported but not written (over the rate limit, or the queue was full).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn drop_entry(&self) {
        let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        let mut bucket = self.bucket.lock();
        let now = std::time::Instant::now();
        if bucket
            .warned
            .is_none_or(|w| now.duration_since(w).as_secs() >= 1)
        {
            bucket.warned = Some(now);
            tracing::warn!(query = %self.query, dropped,
                "too many processing log entries; entries over the rate limit are counted, not written");
        }
    }
}

impl ProcessingLog for QueryProcessingLog {
    fn report(&self, mut entry: ProcessingLogEntry) {
        self.count.fetch_add(1, Ordering::Relaxed);
        if !self.bucket.lock().take(&self.limits) {
            self.drop_entry();
            return;
        }
        if entry.message.chars().count() > self.limits.max_message_chars {
            entry.message = entry
                .message
                .chars()
                .take(self.limits.max_message_chars)
                .collect::<String>()
                + "...";
        }
        tracing::warn!(query = %self.query, topic = %entry.topic, partition = entry.partition,
            offset = entry.offset, "record skipped: {}", entry.message);
        let pending = Pending {
            query: self.query.clone(),
            entry,
        };
        if self.sender.try_send(pending).is_err() {
            // The queue is full (or the writer stopped at shutdown).
            self.drop_entry();
        }
    }

    fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_follow_ksqldb_layout() {
        let entry = ProcessingLogEntry {
            kind: ProcessingErrorKind::Deserialization,
            topic: "orders".into(),
            partition: 2,
            offset: 7,
            message: "bad json".into(),
        };
        let value = entry_json("CSAS_X_1", &entry, 5);
        assert_eq!(
            value["logger"],
            "processing.CSAS_X_1.KsqlTopic.Source.deserializer"
        );
        let error = &value["message"]["deserializationError"];
        assert_eq!(error["errorMessage"], "bad json");
        assert_eq!(error["topic"], "orders");
        assert_eq!(error["partition"], 2);
        assert_eq!(error["offset"], 7);
    }

    fn entry(offset: i64) -> ProcessingLogEntry {
        ProcessingLogEntry {
            kind: ProcessingErrorKind::RecordProcessing,
            topic: "s".into(),
            partition: 0,
            offset,
            message: "Error computing expression (A / B) for column Q: Divide by zero error".into(),
        }
    }

    /// Over its burst (and with no refill), a query's entries are dropped and counted; what
    /// was admitted is written, in batches the broker accepts even with a small
    /// `max.message.bytes`.
    #[tokio::test]
    async fn a_flood_is_rate_limited_counted_and_written_in_bounded_batches() {
        let dir = tempfile::tempdir().unwrap();
        let broker = Broker::open(sluice_broker::BrokerConfig::new(dir.path()))
            .await
            .unwrap();
        let configs = BTreeMap::from([("max.message.bytes".to_string(), "4096".to_string())]);
        broker
            .create_topic(PROCESSING_LOG_TOPIC, 1, &configs)
            .unwrap();
        let limits = ProcessingLogLimits {
            burst: 300,
            per_second: 0,
            queue: 1_000,
            max_message_chars: 100,
        };
        let writer = ProcessingLogWriter::start_with(&broker, limits).unwrap();
        let log = writer.for_query("CSAS_R_1");
        for offset in 0..1_000 {
            log.report(entry(offset));
        }
        assert_eq!(log.count(), 1_000);
        assert_eq!(log.dropped(), 700);
        for _ in 0..500 {
            if writer.written() == 300 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(writer.written(), 300);
        assert_eq!(writer.lost(), 0);
        let topic = broker.partition(PROCESSING_LOG_TOPIC, 0).unwrap();
        assert_eq!(topic.high_watermark(), 300);
        writer.stop();
        broker.shutdown().await;
    }

    #[test]
    fn the_bucket_refills_up_to_its_burst() {
        let limits = ProcessingLogLimits {
            burst: 2,
            per_second: 1_000_000,
            ..ProcessingLogLimits::default()
        };
        let mut bucket = TokenBucket::full(2);
        assert!(bucket.take(&limits));
        assert!(bucket.take(&limits));
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(bucket.take(&limits));
        assert!(bucket.tokens <= 2.0);
    }
}
