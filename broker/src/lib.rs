//! Sluice's broker: topics with partitions kept in a crash-safe log on disk, consumer groups with
//! committed offsets, and the Kafka wire protocol so that real Kafka clients produce and consume.
//!
//! The engine uses the same [`Broker`] handle in-process: it appends and reads partitions without a
//! network hop and awaits new data through a watch on each partition's high-water mark.

pub mod client;
