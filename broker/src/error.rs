//! The broker's error type.
//!
//! Every failure the log, the topic registry and the partition API can report is a [`BrokerError`]
//! variant that says what the caller did wrong (or what the disk did), and maps to the Kafka error
//! code the protocol layer must answer with ([`BrokerError::code`]). Keeping the mapping here means
//! Produce, Fetch, ListOffsets and CreateTopics all answer the same way for the same failure.

use std::path::PathBuf;

use kafka_protocol::error::ResponseError;

/// Result alias for the broker.
pub type Result<T, E = BrokerError> = std::result::Result<T, E>;

/// What went wrong in the broker, with the Kafka error code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// A record's timestamp is outside `message.timestamp.before/after.max.ms`, or a producer set
    /// LogAppendTime itself.
    #[error("invalid timestamp: {0}")]
    InvalidTimestamp(String),
    /// A record batch failed its CRC, had a bad magic byte or an impossible length.
    #[error("corrupt record batch: {0}")]
    CorruptMessage(String),
    /// A batch was larger than the topic's `max.message.bytes`.
    #[error("record batch of {size} bytes is larger than max.message.bytes={max}")]
    MessageTooLarge { size: usize, max: usize },
    /// The batch was well formed but violates a rule of the topic (e.g. a null key on a compacted topic).
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    /// The topic does not exist.
    #[error("unknown topic '{0}'")]
    UnknownTopic(String),
    /// The topic exists but has no such partition.
    #[error("topic '{topic}' has no partition {partition}")]
    UnknownPartition { topic: String, partition: i32 },
    /// A topic of that name already exists.
    #[error("topic '{0}' already exists")]
    TopicAlreadyExists(String),
    /// The topic name breaks Kafka's naming rules.
    #[error("invalid topic name '{name}': {reason}")]
    InvalidTopicName { name: String, reason: String },
    /// The partition count asked for is not at least 1.
    #[error("invalid partition count {0}: a topic needs at least one partition")]
    InvalidPartitions(i32),
    /// A creation or growth would pass a partition limit (per topic or per broker).
    #[error("{requested} partitions requested: {limit_name} is {limit}{detail}")]
    TooManyPartitions {
        requested: i64,
        limit_name: &'static str,
        limit: i64,
        detail: String,
    },
    /// CreatePartitions asked for no more partitions than the topic has (Kafka never shrinks).
    #[error(
        "topic '{topic}' has {current} partitions: a new partition count must be larger, not {requested}"
    )]
    PartitionsNotIncreased {
        topic: String,
        current: i32,
        requested: i32,
    },
    /// A topic config has an unknown name or a bad value.
    #[error("invalid config {name}={value}: {reason}")]
    InvalidConfig {
        name: String,
        value: String,
        reason: String,
    },
    /// A read asked for an offset outside `[log_start_offset, high_watermark]`.
    #[error(
        "offset {offset} is out of range: the log holds offsets {log_start_offset}..{high_watermark}"
    )]
    OffsetOutOfRange {
        offset: i64,
        log_start_offset: i64,
        high_watermark: i64,
    },
    /// An idempotent producer skipped sequence numbers (or the broker lost its state).
    #[error(
        "out of order sequence for producer {producer_id}: expected {expected}, got {received}"
    )]
    OutOfOrderSequence {
        producer_id: i64,
        expected: i32,
        received: i32,
    },
    /// An idempotent producer wrote with an epoch older than one already seen (it was fenced).
    #[error("producer {producer_id} used epoch {received} but epoch {current} is current")]
    InvalidProducerEpoch {
        producer_id: i64,
        current: i16,
        received: i16,
    },
    /// Reading or writing a file failed.
    #[error("{context} ({path}): {source}")]
    Io {
        context: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// Records could not be encoded into a batch (or a stored batch could not be decoded).
    #[error("could not encode or decode records: {0}")]
    Codec(String),
    /// Stored metadata (topic.json, producer id file) is unreadable.
    #[error("corrupt metadata in {path}: {reason}")]
    CorruptMetadata { path: PathBuf, reason: String },
    /// Another broker (process or handle) has the data directory open.
    #[error("data directory {0} is in use by another Sluice broker")]
    DataDirInUse(PathBuf),
    /// A batch is larger than the topic's `segment.bytes`, so no segment can hold it.
    #[error("record batch of {size} bytes is larger than segment.bytes={segment_bytes}")]
    BatchLargerThanSegment { size: usize, segment_bytes: u64 },
    /// The broker is shutting down and accepts no more work.
    #[error("the broker is shutting down")]
    ShuttingDown,
    /// A transactional batch (or marker) that the transaction's state does not allow: the
    /// producer's transaction does not include the partition, or a client sent a control batch.
    #[error("invalid transaction state: {0}")]
    InvalidTxnState(String),
}

impl BrokerError {
    /// The Kafka error this failure is reported as on the wire.
    pub fn response_error(&self) -> ResponseError {
        match self {
            BrokerError::CorruptMessage(_) => ResponseError::CorruptMessage,
            BrokerError::MessageTooLarge { .. } => ResponseError::MessageTooLarge,
            BrokerError::InvalidRecord(_) => ResponseError::InvalidRecord,
            BrokerError::InvalidTimestamp(_) => ResponseError::InvalidTimestamp,
            BrokerError::InvalidTxnState(_) => ResponseError::InvalidTxnState,
            BrokerError::UnknownTopic(_) | BrokerError::UnknownPartition { .. } => {
                ResponseError::UnknownTopicOrPartition
            }
            BrokerError::TopicAlreadyExists(_) => ResponseError::TopicAlreadyExists,
            BrokerError::InvalidTopicName { .. } => ResponseError::InvalidTopicException,
            BrokerError::InvalidPartitions(_)
            | BrokerError::PartitionsNotIncreased { .. }
            | BrokerError::TooManyPartitions { .. } => ResponseError::InvalidPartitions,
            BrokerError::InvalidConfig { .. } => ResponseError::InvalidConfig,
            BrokerError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
            BrokerError::OutOfOrderSequence { .. } => ResponseError::OutOfOrderSequenceNumber,
            BrokerError::InvalidProducerEpoch { .. } => ResponseError::InvalidProducerEpoch,
            BrokerError::BatchLargerThanSegment { .. } => ResponseError::RecordListTooLarge,
            BrokerError::Io { .. }
            | BrokerError::CorruptMetadata { .. }
            | BrokerError::DataDirInUse(_) => ResponseError::KafkaStorageError,
            BrokerError::Codec(_) | BrokerError::ShuttingDown => ResponseError::UnknownServerError,
        }
    }

    /// The Kafka error code (as an `i16`) this failure is reported as on the wire.
    pub fn code(&self) -> i16 {
        self.response_error().code()
    }

    pub(crate) fn io(
        context: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> BrokerError {
        let path = path.into();
        move |source| BrokerError::Io {
            context,
            path,
            source,
        }
    }

    pub(crate) fn invalid_config(
        name: &str,
        value: &str,
        reason: impl Into<String>,
    ) -> BrokerError {
        BrokerError::InvalidConfig {
            name: name.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_kafka() {
        assert_eq!(BrokerError::CorruptMessage("x".into()).code(), 2);
        assert_eq!(
            BrokerError::OffsetOutOfRange {
                offset: 9,
                log_start_offset: 0,
                high_watermark: 3
            }
            .code(),
            1
        );
        assert_eq!(
            BrokerError::OutOfOrderSequence {
                producer_id: 1,
                expected: 1,
                received: 3
            }
            .code(),
            45
        );
        assert_eq!(
            BrokerError::InvalidProducerEpoch {
                producer_id: 1,
                current: 2,
                received: 1
            }
            .code(),
            47
        );
        assert_eq!(BrokerError::UnknownTopic("t".into()).code(), 3);
        assert_eq!(BrokerError::invalid_config("a", "b", "c").code(), 40);
        assert_eq!(BrokerError::TopicAlreadyExists("t".into()).code(), 36);
        let shrink = BrokerError::PartitionsNotIncreased {
            topic: "t".into(),
            current: 3,
            requested: 2,
        };
        assert_eq!(shrink.code(), 37);
    }
}
