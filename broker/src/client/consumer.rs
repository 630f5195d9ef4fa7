//! [`Consumer`]: reads a fixed set of partitions from positions it keeps.
//!
//! This is the consumer without a group: the caller assigns partitions and starting points
//! (earliest, latest, or an exact offset), and each [`Consumer::poll`] fetches from every
//! position at once and advances the positions past the records returned. The group consumer
//! builds on it and only decides which partitions and offsets to use.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::ResponseError;
use tracing::warn;

use super::admin::OffsetSpec;
use super::client::Client;
use super::error::{ClientError, Result};
use super::fetch::{ConsumerRecord, FetchOptions, FetchPosition, PendingFetch};

/// Where a partition without a known position starts (Kafka's `auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    /// The log start offset.
    Earliest,
    /// The high-water mark: only records written from now on.
    Latest,
}

impl StartFrom {
    fn spec(self) -> OffsetSpec {
        match self {
            StartFrom::Earliest => OffsetSpec::Earliest,
            StartFrom::Latest => OffsetSpec::Latest,
        }
    }
}

/// A consumer of explicitly assigned partitions.
pub struct Consumer {
    client: Client,
    positions: BTreeMap<(Arc<str>, i32), i64>,
    reset: StartFrom,
    options: FetchOptions,
    /// The next fetch, sent before the last one was decoded (as Kafka's consumer prefetches).
    /// Dropped whenever the assignment or a position changes.
    prefetch: Option<PendingFetch>,
}

impl Consumer {
    /// A consumer with no partitions yet; `reset` applies when a position is out of range.
    pub fn new(client: Client, reset: StartFrom) -> Consumer {
        Consumer {
            client,
            positions: BTreeMap::new(),
            reset,
            options: FetchOptions::default(),
            prefetch: None,
        }
    }

    /// Changes how polls fetch.
    pub fn set_fetch_options(&mut self, options: FetchOptions) {
        self.options = options;
    }

    /// Assigns every partition of `topic`, starting at `start`.
    pub async fn assign_topic(&mut self, topic: &str, start: StartFrom) -> Result<()> {
        let offsets = self.client.list_offsets(topic, &[], start.spec()).await?;
        let topic: Arc<str> = Arc::from(topic);
        self.prefetch = None;
        for (partition, offset) in offsets {
            self.positions.insert((topic.clone(), partition), offset);
        }
        Ok(())
    }

    /// Assigns `topic`-`partition` at `offset`, or at the reset position when `None`.
    pub async fn assign(&mut self, topic: &str, partition: i32, offset: Option<i64>) -> Result<()> {
        let offset = match offset {
            Some(offset) => offset,
            None => self.reset_offset(topic, partition).await?,
        };
        self.prefetch = None;
        self.positions.insert((Arc::from(topic), partition), offset);
        Ok(())
    }

    /// Drops every assignment.
    pub fn unassign_all(&mut self) {
        self.prefetch = None;
        self.positions.clear();
    }

    /// The next offset to read per assigned partition.
    pub fn positions(&self) -> &BTreeMap<(Arc<str>, i32), i64> {
        &self.positions
    }

    /// The client this consumer fetches with.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Fetches from every assigned partition, waiting up to `max_wait` for data, and advances
    /// positions past the records returned. Returns no records when none came in time.
    pub async fn poll(&mut self, max_wait: Duration) -> Result<Vec<ConsumerRecord>> {
        if self.positions.is_empty() {
            tokio::time::sleep(max_wait).await;
            return Ok(Vec::new());
        }
        let options = FetchOptions {
            max_wait,
            ..self.options
        };
        let pending = match self.prefetch.take() {
            Some(pending) => pending,
            None => {
                self.client
                    .start_fetch(&self.fetch_positions(), options)
                    .await?
            }
        };
        let raw = pending.response().await?;
        if let Some(next) = raw.next_positions() {
            // No partition reported an error: send the next fetch now, so the server reads it
            // while this response is decoded.
            let before = self.positions.clone();
            for pos in next {
                self.positions
                    .insert((pos.topic, pos.partition), pos.offset);
            }
            // A failure to send it is not this poll's failure: the next poll sends again and
            // reports the error then.
            self.prefetch = self
                .client
                .start_fetch(&self.fetch_positions(), options)
                .await
                .ok();
            return match raw.decode() {
                Ok(fetched) => Ok(fetched.into_iter().flat_map(|p| p.records).collect()),
                Err(err) => {
                    // Do not skip what could not be decoded.
                    self.positions = before;
                    self.prefetch = None;
                    Err(err)
                }
            };
        }
        let fetched = raw.decode()?;
        let mut records = Vec::new();
        for partition in fetched {
            let key = (partition.topic.clone(), partition.partition);
            match partition.error {
                None => {
                    self.positions.insert(key, partition.next_offset);
                    records.extend(partition.records);
                }
                Some(err) if err.kafka_code() == Some(ResponseError::OffsetOutOfRange.code()) => {
                    let offset = self
                        .reset_offset(&partition.topic, partition.partition)
                        .await?;
                    warn!(topic = %partition.topic, partition = partition.partition, offset,
                        "position out of range; reset");
                    self.positions.insert(key, offset);
                }
                Some(err) => return Err(err),
            }
        }
        Ok(records)
    }

    fn fetch_positions(&self) -> Vec<FetchPosition> {
        self.positions
            .iter()
            .map(|((topic, partition), offset)| FetchPosition {
                topic: topic.clone(),
                partition: *partition,
                offset: *offset,
            })
            .collect()
    }

    async fn reset_offset(&self, topic: &str, partition: i32) -> Result<i64> {
        let offsets = self
            .client
            .list_offsets(topic, &[partition], self.reset.spec())
            .await?;
        offsets
            .get(&partition)
            .copied()
            .ok_or_else(|| ClientError::UnknownTopic {
                topic: topic.to_owned(),
            })
    }
}
