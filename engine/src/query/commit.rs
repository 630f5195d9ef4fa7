//! Query commits: where each persistent query records, in one fsync'd record, how far it got.
//!
//! A commit holds the next source offset per source partition and the sink end offset per sink
//! partition after an epoch (and, later, the state-store changes). Commits are records keyed by
//! the query id in the compacted internal topic [`OFFSETS_TOPIC`], so the latest commit of each
//! query survives compaction and a restart reads it back with one scan of a small topic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sluice_broker::{Broker, BrokerError, Durability, decode_records, new_record};

use crate::query::error::QueryError;

/// The internal compacted topic holding every query's latest commit.
pub const OFFSETS_TOPIC: &str = "_sluice_query_offsets";

/// Bytes per read when scanning the offsets topic at start-up.
const READ_BYTES: usize = 1024 * 1024;

/// How far a query got: what it read and what it wrote, as of the end of `epoch`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryCommit {
    /// The epoch this commit ends (0: the query's starting point, before any epoch ran).
    pub epoch: u64,
    /// Per source topic, per partition, the next offset to read.
    pub sources: BTreeMap<String, BTreeMap<i32, i64>>,
    /// Per sink topic, per partition, the end offset of what the query wrote (next offset).
    pub sinks: BTreeMap<String, BTreeMap<i32, i64>>,
}

/// Reads and writes query commits in [`OFFSETS_TOPIC`].
#[derive(Debug, Clone)]
pub struct QueryOffsetsStore {
    broker: Broker,
}

impl QueryOffsetsStore {
    /// Opens the store, creating the compacted offsets topic if it does not exist yet.
    pub fn open(broker: Broker) -> Result<QueryOffsetsStore, BrokerError> {
        if broker.topic(OFFSETS_TOPIC).is_none() {
            let configs = BTreeMap::from([("cleanup.policy".to_string(), "compact".to_string())]);
            match broker.create_topic(OFFSETS_TOPIC, 1, &configs) {
                Ok(_) | Err(BrokerError::TopicAlreadyExists(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(QueryOffsetsStore { broker })
    }

    /// The latest commit of `query`, or None if it never committed (or was reset by a tombstone).
    pub fn load(&self, query: &str) -> Result<Option<QueryCommit>, QueryError> {
        let broker_err = |source| QueryError::Broker {
            query: query.to_string(),
            source,
        };
        let log = self
            .broker
            .partition(OFFSETS_TOPIC, 0)
            .map_err(broker_err)?;
        let end = log.high_watermark();
        let mut offset = log.log_start_offset();
        let mut latest: Option<Option<bytes::Bytes>> = None;
        while offset < end {
            let read = log.read(offset, READ_BYTES).map_err(broker_err)?;
            if read.records.is_empty() {
                break;
            }
            let records = decode_records(&read.records).map_err(broker_err)?;
            let Some(last) = records.iter().map(|r| r.offset).max() else {
                break;
            };
            for r in records.into_iter().filter(|r| r.offset >= offset) {
                if r.key.as_deref() == Some(query.as_bytes()) {
                    latest = Some(r.value);
                }
            }
            offset = last + 1;
        }
        match latest {
            None | Some(None) => Ok(None),
            Some(Some(value)) => {
                serde_json::from_slice(&value)
                    .map(Some)
                    .map_err(|e| QueryError::CorruptCommit {
                        query: query.to_string(),
                        topic: OFFSETS_TOPIC.to_string(),
                        message: e.to_string(),
                    })
            }
        }
    }

    /// Writes `commit` as the latest commit of `query` and returns once it is fsync'd.
    pub async fn commit(&self, query: &str, commit: &QueryCommit) -> Result<(), QueryError> {
        let broker_err = |source| QueryError::Broker {
            query: query.to_string(),
            source,
        };
        let value = serde_json::to_vec(commit).map_err(|e| QueryError::CorruptCommit {
            query: query.to_string(),
            topic: OFFSETS_TOPIC.to_string(),
            message: format!("cannot serialize the commit: {e}"),
        })?;
        let log = self
            .broker
            .partition(OFFSETS_TOPIC, 0)
            .map_err(broker_err)?;
        let record = new_record(
            Some(query.as_bytes()),
            Some(&value),
            sluice_broker::log::now_ms(),
        );
        log.append_records(&[record], Durability::Fsynced)
            .await
            .map_err(broker_err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_broker::BrokerConfig;

    #[tokio::test]
    async fn the_latest_commit_of_each_query_is_read_back_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let commit = |epoch: u64, off: i64| QueryCommit {
            epoch,
            sources: BTreeMap::from([("src".into(), BTreeMap::from([(0, off), (1, off + 1)]))]),
            sinks: BTreeMap::from([("out".into(), BTreeMap::from([(0, off * 2)]))]),
        };
        {
            let broker = Broker::open(BrokerConfig::new(dir.path())).await.unwrap();
            let store = QueryOffsetsStore::open(broker.clone()).unwrap();
            assert_eq!(store.load("q1").unwrap(), None);
            store.commit("q1", &commit(1, 10)).await.unwrap();
            store.commit("q2", &commit(1, 99)).await.unwrap();
            store.commit("q1", &commit(2, 20)).await.unwrap();
            broker.shutdown().await;
        }
        let broker = Broker::open(BrokerConfig::new(dir.path())).await.unwrap();
        let store = QueryOffsetsStore::open(broker.clone()).unwrap();
        assert_eq!(store.load("q1").unwrap(), Some(commit(2, 20)));
        assert_eq!(store.load("q2").unwrap(), Some(commit(1, 99)));
        assert_eq!(store.load("q3").unwrap(), None);
        broker.shutdown().await;
    }
}
