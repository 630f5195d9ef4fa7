//! A small, real Kafka client on `kafka-protocol`, for the `sluice` CLI, the benchmark, tests and
//! the engine's tests.
//!
//! - [`Client`]: one pipelined connection with negotiated API versions; admin calls (Metadata,
//!   CreateTopics, DeleteTopics, DescribeConfigs, ListOffsets) and [`Client::fetch`].
//! - [`Producer`]: partitions by murmur2 of the key (round robin without one), batches per
//!   partition, several Produce requests in flight; [`produce_batch`] for one request.
//! - [`Consumer`]: reads assigned partitions from kept positions.
//! - [`GroupConsumer`]: a consumer group member (range assignor, heartbeats, committed offsets).
//!
//! It speaks to any Kafka-compatible server, not only Sluice's; it talks to the node it
//! bootstrapped from (plus the group coordinator), which is all a single-node Sluice needs.

mod admin;
mod assignor;
#[allow(clippy::module_inception)]
mod client;
mod connection;
mod consumer;
mod error;
mod fetch;
mod group;
mod group_offsets;
mod producer;
#[cfg(test)]
mod tests;
mod versions;

pub use admin::{BrokerInfo, ClusterMetadata, ConfigEntry, OffsetSpec, PartitionInfo, TopicInfo};
pub use assignor::range_assign;
pub use client::{Client, ClientConfig};
pub use consumer::{Consumer, StartFrom};
pub use error::{ClientError, Result, kafka_error_name};
pub use fetch::{
    ConsumerRecord, Decoded, FetchOptions, FetchPosition, PartitionFetch, PendingFetch, RawFetch,
    decode_records,
};
pub use group::{GroupConfig, GroupConsumer};
pub use producer::{
    Acks, BatchAck, Producer, ProducerConfig, ProducerRecord, partition_for_key, produce_batch,
};
