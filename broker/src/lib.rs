//! Sluice's broker: topics with partitions kept in a crash-safe log on disk, consumer groups with
//! committed offsets, and the Kafka wire protocol so that real Kafka clients produce and consume.
//!
//! The engine uses the same [`Broker`] handle in-process: it appends and reads partitions without a
//! network hop and awaits new data through a watch on each partition's high-water mark.

pub mod broker;
pub mod client;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod group;
pub mod log;
pub mod protocol;
pub mod topic;
pub mod txn;

pub use broker::{Broker, BrokerConfig};
pub use error::{BrokerError, Result};
pub use kafka_protocol::records::Record;
pub use log::compaction::CompactionStats;
pub use log::records::{decode_records, encode_records, new_record};
pub use log::replay::ReplayStats;
pub use log::{AppendResult, Durability, Isolation, LEADER_EPOCH, PartitionLog, ReadResult};
pub use topic::{CleanupPolicy, TimestampType, TopicConfig, TopicMeta};
