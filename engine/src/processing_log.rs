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

/// One entry on its way to the topic: which query reported it and what.
#[derive(Debug)]
struct Pending {
    query: String,
    entry: ProcessingLogEntry,
}

/// The background writer of the processing log topic; cheap to clone.
#[derive(Debug, Clone)]
pub struct ProcessingLogWriter {
    sender: mpsc::UnboundedSender<Pending>,
    task: Arc<parking_lot::Mutex<Option<JoinHandle<()>>>>,
}

impl ProcessingLogWriter {
    /// Creates the topic if needed and starts the writer task.
    pub fn start(broker: &Broker) -> Result<ProcessingLogWriter, BrokerError> {
        if broker.topic(PROCESSING_LOG_TOPIC).is_none() {
            match broker.create_topic(PROCESSING_LOG_TOPIC, 1, &BTreeMap::new()) {
                Ok(_) | Err(BrokerError::TopicAlreadyExists(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let log = broker.partition(PROCESSING_LOG_TOPIC, 0)?;
        let (sender, mut receiver) = mpsc::unbounded_channel::<Pending>();
        let task = tokio::spawn(async move {
            while let Some(first) = receiver.recv().await {
                let mut pending = vec![first];
                while let Ok(more) = receiver.try_recv() {
                    pending.push(more);
                }
                let now = sluice_broker::log::now_ms();
                let records: Vec<_> = pending
                    .iter()
                    .map(|p| {
                        let value = entry_json(&p.query, &p.entry, now).to_string();
                        new_record(None, Some(value.as_bytes()), now)
                    })
                    .collect();
                if let Err(e) = log.append_records(&records, Durability::Written).await {
                    tracing::error!(error = %e, lost = records.len(),
                        "cannot write to the processing log topic");
                }
            }
        });
        Ok(ProcessingLogWriter {
            sender,
            task: Arc::new(parking_lot::Mutex::new(Some(task))),
        })
    }

    /// A log for query `query`, counting its own entries.
    pub fn for_query(&self, query: &str) -> Arc<QueryProcessingLog> {
        Arc::new(QueryProcessingLog {
            query: query.to_string(),
            sender: self.sender.clone(),
            count: AtomicU64::new(0),
        })
    }

    /// Stops the writer task (entries not yet written are lost; they are also in the tracing
    /// log).
    pub fn stop(&self) {
        if let Some(task) = self.task.lock().take() {
            task.abort();
        }
    }
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

/// The processing log of one query: counts its errors and forwards them to the topic writer.
#[derive(Debug)]
pub struct QueryProcessingLog {
    query: String,
    sender: mpsc::UnboundedSender<Pending>,
    count: AtomicU64,
}

impl ProcessingLog for QueryProcessingLog {
    fn report(&self, entry: ProcessingLogEntry) {
        self.count.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(query = %self.query, topic = %entry.topic, partition = entry.partition,
            offset = entry.offset, "record skipped: {}", entry.message);
        // The writer only goes away at shutdown; the entry is in the tracing log anyway.
        let _ = self.sender.send(Pending {
            query: self.query.clone(),
            entry,
        });
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
}
