//! The Kafka wire protocol server: real Kafka clients (librdkafka/kcat, the Java client,
//! kafka-python, kafkajs) produce to and consume from the [`crate::Broker`] through it.
//!
//! Layout (mini-redis's frame/connection split, tansu's one file per API):
//! - [`frame`]: is a whole size-prefixed frame buffered? then split it off.
//! - [`connection`]: socket in, frames out; responses in, socket out.
//! - [`server`]: accept loop, graceful shutdown, the per-connection loop with its timeouts.
//! - [`slots`]: connection limits (in all and per address) and who gives up a slot.
//! - [`dispatch`]: header decoding, routing to one handler per API, response framing.
//! - one file per API family: [`api_versions`], [`metadata`], [`produce`], [`fetch`],
//!   [`list_offsets`], [`topics`] (CreateTopics/DeleteTopics), [`partitions`]
//!   (CreatePartitions), [`configs`] (DescribeConfigs), [`alter_configs`] (AlterConfigs and
//!   IncrementalAlterConfigs), [`producer`] (InitProducerId), [`records`] (DeleteRecords); the
//!   group APIs live in [`crate::group`].
//!
//! Every message is encoded and decoded by the `kafka-protocol` crate; the versions served are
//! listed once, in [`api_versions::SUPPORTED`].

pub mod api_versions;
pub mod connection;
pub mod dispatch;
pub mod frame;
pub mod server;
pub mod slots;

mod alter_configs;
mod configs;
mod fetch;
mod list_offsets;
mod metadata;
mod partitions;
mod produce;
mod producer;
mod records;
mod topics;

pub use server::{Coordinators, ServerConfig, ServerError, serve, serve_with};

use kafka_protocol::protocol::StrBytes;

/// Why a Kafka client may not `action` the internal topic `topic` (produce to it, delete its
/// records, alter its configs ...), or `None` when `topic` is not internal. Kafka answers such
/// requests with INVALID_TOPIC_EXCEPTION; the broker's own in-process writers are not affected.
pub(crate) fn internal_topic_refusal(topic: &str, action: &str) -> Option<String> {
    crate::topic::is_internal_topic(topic).then(|| {
        format!("cannot {action} the internal topic '{topic}': only the broker itself writes it")
    })
}

/// A `String` as the protocol crate's string type.
pub(crate) fn sb(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}
