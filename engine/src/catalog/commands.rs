//! The command topic `_sluice_commands`: every statement that changes the catalog, in order.
//!
//! A DDL statement (CREATE, DROP, TERMINATE, INSERT INTO ... SELECT ...) is validated, then
//! appended here with fsync, and only then takes effect; at start-up [`crate::Engine::open`]
//! replays the commands in order, so streams, tables and persistent queries come back after a
//! restart (each query resumes from its own last commit in `_sluice_query_offsets`).
//!
//! A command is stored as its original statement text plus what it depended on when it ran:
//! the session properties in effect (`auto.offset.reset` ...) and, for statements that start a
//! query, the query id. Query ids end with the command's offset in this topic, as in ksqlDB
//! (`CSAS_BIG_ORDERS_3`), so they are unique and the same after every replay.
//!
//! The topic has one partition, keeps records forever (`retention.ms=-1`) and is not compacted:
//! replaying needs every command in order, including a CREATE later dropped and created again.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sluice_broker::{Broker, BrokerError, Durability, PartitionLog, new_record};

use crate::catalog::error::{EngineError, Result};

/// The internal topic holding every catalog command.
pub const COMMAND_TOPIC: &str = "_sluice_commands";

/// One statement that changed the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// The statement as the user wrote it (one statement, without the `;`).
    pub statement: String,
    /// The id of the query the statement started, if it started one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_id: Option<String>,
    /// The session properties in effect when it ran.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
}

/// Appends commands to, and reads them back from, [`COMMAND_TOPIC`].
#[derive(Debug, Clone)]
pub struct CommandLog {
    log: Arc<PartitionLog>,
}

impl CommandLog {
    /// Opens the command topic, creating it on first use.
    pub fn open(broker: &Broker) -> Result<CommandLog> {
        if broker.topic(COMMAND_TOPIC).is_none() {
            let configs = BTreeMap::from([("retention.ms".to_string(), "-1".to_string())]);
            match broker.create_topic(COMMAND_TOPIC, 1, &configs) {
                Ok(_) | Err(BrokerError::TopicAlreadyExists(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(CommandLog {
            log: broker.partition(COMMAND_TOPIC, 0)?,
        })
    }

    /// The offset the next command will get (query ids are built from it).
    pub fn next_offset(&self) -> i64 {
        self.log.high_watermark()
    }

    /// Appends `command` and waits for the fsync; returns its offset.
    pub async fn append(&self, command: &Command) -> Result<i64> {
        let value = serde_json::to_vec(command).map_err(|e| EngineError::CorruptCommand {
            offset: self.next_offset(),
            message: e.to_string(),
        })?;
        let record = new_record(None, Some(&value), sluice_broker::log::now_ms());
        let result = self
            .log
            .append_records(&[record], Durability::Fsynced)
            .await?;
        Ok(result.base_offset)
    }

    /// Every command, oldest first, with its offset. A record that is not a command (a batch
    /// that does not decode, a value that is not a command's JSON) is logged, counted and
    /// skipped, so one bad record never stops the server from starting.
    pub fn read_all(&self) -> Result<Vec<(i64, Command)>> {
        let mut commands = Vec::new();
        let mut unreadable = 0usize;
        let stats = self.log.replay(0, |record| {
            if record.control {
                return;
            }
            let Some(value) = record.value else {
                return;
            };
            match serde_json::from_slice::<Command>(&value) {
                Ok(command) => commands.push((record.offset, command)),
                Err(e) => {
                    unreadable += 1;
                    tracing::error!(offset = record.offset, error = %e,
                        "skipping a record of {COMMAND_TOPIC} that is not a command");
                }
            }
        })?;
        let skipped = unreadable + stats.skipped_records + stats.skipped_batches;
        if skipped > 0 {
            tracing::warn!(
                skipped_records = unreadable + stats.skipped_records,
                skipped_batches = stats.skipped_batches,
                "{COMMAND_TOPIC}: records that are not commands were skipped"
            );
        }
        Ok(commands)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_broker::BrokerConfig;

    #[tokio::test]
    async fn commands_come_back_in_order_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let broker = Broker::open(BrokerConfig::new(dir.path())).await.unwrap();
            let log = CommandLog::open(&broker).unwrap();
            for i in 0..3 {
                let command = Command {
                    statement: format!("CREATE STREAM S{i} (V INT) WITH (KAFKA_TOPIC='t')"),
                    query_id: (i == 1).then(|| "CSAS_S1_1".to_string()),
                    properties: BTreeMap::new(),
                };
                assert_eq!(log.append(&command).await.unwrap(), i);
            }
            broker.shutdown().await;
        }
        let broker = Broker::open(BrokerConfig::new(dir.path())).await.unwrap();
        let log = CommandLog::open(&broker).unwrap();
        let commands = log.read_all().unwrap();
        assert_eq!(commands.len(), 3);
        assert_eq!(commands[1].0, 1);
        assert_eq!(commands[1].1.query_id.as_deref(), Some("CSAS_S1_1"));
        assert!(commands[2].1.statement.starts_with("CREATE STREAM S2"));
        assert_eq!(log.next_offset(), 3);
    }

    #[tokio::test]
    async fn records_that_are_not_commands_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let broker = Broker::open(BrokerConfig::new(dir.path())).await.unwrap();
        let log = CommandLog::open(&broker).unwrap();
        let good = Command {
            statement: "CREATE STREAM S (V INT) WITH (KAFKA_TOPIC='t')".to_string(),
            query_id: None,
            properties: BTreeMap::new(),
        };
        log.append(&good).await.unwrap();
        let junk = new_record(None, Some(b"not json"), 0);
        log.log
            .append_records(&[junk], Durability::Written)
            .await
            .unwrap();
        log.append(&good).await.unwrap();
        let commands = log.read_all().unwrap();
        let offsets: Vec<i64> = commands.iter().map(|(o, _)| *o).collect();
        assert_eq!(offsets, vec![0, 2]);
    }
}
