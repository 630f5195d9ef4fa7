//! Query commits: where each persistent query records, in one fsync'd record, how far it got.
//!
//! A commit holds the next source offset per source partition and the sink end offset per sink
//! partition after an epoch (and, later, the state-store changes). Commits are records keyed by
//! the query id in the compacted internal topic [`OFFSETS_TOPIC`], so the latest commit of each
//! query survives compaction and a restart reads it back with one scan of a small topic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sluice_broker::{Broker, BrokerError, Durability, new_record};

use crate::query::error::QueryError;

/// The internal compacted topic holding every query's latest commit.
pub const OFFSETS_TOPIC: &str = "_sluice_query_offsets";

/// `segment.bytes` of the offsets topic.
const COMMIT_SEGMENT_BYTES: u64 = 16 * 1024 * 1024;

/// `segment.ms` of the offsets topic (one hour).
const COMMIT_SEGMENT_MS: i64 = 60 * 60 * 1000;

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
            let configs = BTreeMap::from([
                ("cleanup.policy".to_string(), "compact".to_string()),
                // Compaction only cleans closed segments, and start-up scans the whole topic:
                // small segments keep both the garbage and the start-up scan small (a commit is a
                // few hundred bytes, so 16 MiB hold tens of thousands of epochs).
                (
                    "segment.bytes".to_string(),
                    COMMIT_SEGMENT_BYTES.to_string(),
                ),
                ("segment.ms".to_string(), COMMIT_SEGMENT_MS.to_string()),
            ]);
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
        let mut latest: Option<Option<bytes::Bytes>> = None;
        // Batches that do not decode are logged and skipped by the replay.
        log.replay(0, |r| {
            if !r.control && r.key.as_deref() == Some(query.as_bytes()) {
                latest = Some(r.value);
            }
        })
        .map_err(broker_err)?;
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

    /// The latest commit of every query, from one scan of the offsets topic (queries whose
    /// latest record is a tombstone are left out).
    pub fn load_all(&self) -> Result<BTreeMap<String, QueryCommit>, BrokerError> {
        let log = self.broker.partition(OFFSETS_TOPIC, 0)?;
        let mut latest: BTreeMap<String, Option<bytes::Bytes>> = BTreeMap::new();
        // Batches that do not decode are logged and skipped by the replay.
        log.replay(0, |r| {
            if r.control {
                return;
            }
            if let Some(key) = &r.key {
                latest.insert(String::from_utf8_lossy(key).into_owned(), r.value);
            }
        })?;
        let mut commits = BTreeMap::new();
        for (query, value) in latest {
            let Some(value) = value else { continue };
            match serde_json::from_slice(&value) {
                Ok(commit) => {
                    commits.insert(query, commit);
                }
                Err(e) => tracing::error!(query = %query, error = %e,
                    "a query commit does not parse; the query starts as if it had none"),
            }
        }
        Ok(commits)
    }

    /// Forgets `query`'s progress (a tombstone, fsync'd): a query created later under the same
    /// id starts fresh, and compaction removes the old commits.
    pub async fn forget(&self, query: &str) -> Result<(), QueryError> {
        let broker_err = |source| QueryError::Broker {
            query: query.to_string(),
            source,
        };
        let log = self
            .broker
            .partition(OFFSETS_TOPIC, 0)
            .map_err(broker_err)?;
        let record = new_record(Some(query.as_bytes()), None, sluice_broker::log::now_ms());
        log.append_records(&[record], Durability::Fsynced)
            .await
            .map_err(broker_err)?;
        Ok(())
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
        let config = broker.topic(OFFSETS_TOPIC).unwrap().config;
        assert!(config.cleanup_policy.compact);
        assert_eq!(config.segment_bytes, COMMIT_SEGMENT_BYTES);
        assert_eq!(store.load("q1").unwrap(), Some(commit(2, 20)));
        assert_eq!(store.load("q2").unwrap(), Some(commit(1, 99)));
        assert_eq!(store.load("q3").unwrap(), None);
        broker.shutdown().await;
    }

    #[tokio::test]
    async fn compaction_keeps_the_latest_commit_of_each_query() {
        let dir = tempfile::tempdir().unwrap();
        let broker = Broker::open(BrokerConfig::new(dir.path())).await.unwrap();
        let store = QueryOffsetsStore::open(broker.clone()).unwrap();
        // Tiny segments so that most commits land in closed, compactable segments.
        let set = BTreeMap::from([("segment.bytes".to_string(), "1024".to_string())]);
        broker.alter_topic_config(OFFSETS_TOPIC, &set, &[]).unwrap();
        let commit = |epoch: u64| QueryCommit {
            epoch,
            sources: BTreeMap::from([("src".into(), BTreeMap::from([(0, epoch as i64)]))]),
            sinks: BTreeMap::new(),
        };
        for epoch in 1..=200 {
            store.commit("a", &commit(epoch)).await.unwrap();
            if epoch % 2 == 0 {
                store.commit("b", &commit(epoch * 10)).await.unwrap();
            }
        }
        let log = broker.partition(OFFSETS_TOPIC, 0).unwrap();
        let before = log.size_bytes();
        assert!(broker.run_compaction_now().await.unwrap() > 0);
        assert!(
            log.size_bytes() < before / 4,
            "{} -> {}",
            before,
            log.size_bytes()
        );
        assert_eq!(store.load("a").unwrap(), Some(commit(200)));
        assert_eq!(store.load("b").unwrap(), Some(commit(2000)));
        broker.shutdown().await;
    }
}
