//! Topics: their per-topic configuration (with Kafka's config names), the naming rules, the stored
//! metadata (`topic.json`) and the default partitioner.
//!
//! Configs are validated when a topic is created so that a typo (`retention.msec`) or a bad value is
//! refused with INVALID_CONFIG instead of being silently ignored, as Kafka does. The partitioner is
//! murmur2 exactly as Kafka's Java client computes it, so that a key lands in the same partition
//! whether it was produced by a Kafka client or by the engine in-process.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{BrokerError, Result};

pub mod compat;

/// How old segments are cleaned up (`cleanup.policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanupPolicy {
    /// Delete whole segments past `retention.ms` / `retention.bytes`.
    pub delete: bool,
    /// Keep only the latest record per key (log compaction).
    pub compact: bool,
}

/// Which timestamp a record carries (`message.timestamp.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimestampType {
    /// The producer's timestamp is kept.
    CreateTime,
    /// The broker stamps each batch with its append time.
    LogAppendTime,
}

/// A topic's configuration, with Kafka's defaults. Built from Kafka config names with
/// [`TopicConfig::with_overrides`]; stored in `topic.json` as the map of overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicConfig {
    /// `retention.ms`: delete segments whose newest record is older; -1 keeps forever.
    pub retention_ms: i64,
    /// `retention.bytes`: delete oldest segments while the partition is larger; -1 is unlimited.
    pub retention_bytes: i64,
    /// `segment.bytes`: roll the active segment once it would exceed this size.
    pub segment_bytes: u64,
    /// `segment.ms`: roll the active segment once it is this old.
    pub segment_ms: i64,
    /// `cleanup.policy`.
    pub cleanup_policy: CleanupPolicy,
    /// `delete.retention.ms`: how long tombstones survive compaction.
    pub delete_retention_ms: i64,
    /// `min.compaction.lag.ms`: records younger than this are never compacted.
    pub min_compaction_lag_ms: i64,
    /// `max.message.bytes`: the largest batch accepted.
    pub max_message_bytes: usize,
    /// `message.timestamp.type`.
    pub timestamp_type: TimestampType,
    /// `index.interval.bytes`: bytes between two entries of the sparse offset index.
    pub index_interval_bytes: u64,
    /// `message.timestamp.before.max.ms`: how far in the past a CreateTime record may be.
    pub message_timestamp_before_max_ms: i64,
    /// `message.timestamp.after.max.ms`: how far in the future a CreateTime record may be.
    pub message_timestamp_after_max_ms: i64,
    /// The overrides this config was built from, by Kafka name (what `topic.json` stores).
    pub overrides: BTreeMap<String, String>,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            retention_ms: 7 * 24 * 60 * 60 * 1000,
            retention_bytes: -1,
            segment_bytes: 1024 * 1024 * 1024,
            segment_ms: 7 * 24 * 60 * 60 * 1000,
            cleanup_policy: CleanupPolicy {
                delete: true,
                compact: false,
            },
            delete_retention_ms: 24 * 60 * 60 * 1000,
            min_compaction_lag_ms: 0,
            max_message_bytes: 1024 * 1024 + 12,
            timestamp_type: TimestampType::CreateTime,
            index_interval_bytes: 4096,
            message_timestamp_before_max_ms: i64::MAX,
            message_timestamp_after_max_ms: i64::MAX,
            overrides: BTreeMap::new(),
        }
    }
}

/// The Kafka topic config names Sluice understands.
pub const CONFIG_NAMES: &[&str] = &[
    "retention.ms",
    "retention.bytes",
    "segment.bytes",
    "segment.ms",
    "cleanup.policy",
    "delete.retention.ms",
    "min.compaction.lag.ms",
    "max.message.bytes",
    "message.timestamp.type",
    "index.interval.bytes",
    "message.timestamp.before.max.ms",
    "message.timestamp.after.max.ms",
];

fn parse_i64(name: &str, value: &str, min: i64) -> Result<i64> {
    let v: i64 = value
        .trim()
        .parse()
        .map_err(|_| BrokerError::invalid_config(name, value, "not an integer"))?;
    if v < min {
        return Err(BrokerError::invalid_config(
            name,
            value,
            format!("must be at least {min}"),
        ));
    }
    Ok(v)
}

impl TopicConfig {
    /// This config with the given Kafka-named overrides applied; INVALID_CONFIG for an unknown name
    /// or a bad value.
    pub fn with_overrides(&self, configs: &BTreeMap<String, String>) -> Result<TopicConfig> {
        let mut c = self.clone();
        for (name, value) in configs {
            c.set(name, value)?;
            c.overrides.insert(name.clone(), value.clone());
        }
        Ok(c)
    }

    /// The effective value of every known config, by Kafka name (DescribeConfigs answers with
    /// these; `overrides` tells which ones were set on the topic).
    pub fn to_kafka_configs(&self) -> BTreeMap<String, String> {
        let policy = match (self.cleanup_policy.compact, self.cleanup_policy.delete) {
            (true, true) => "compact,delete",
            (true, false) => "compact",
            (false, true) => "delete",
            (false, false) => "",
        };
        let timestamp_type = match self.timestamp_type {
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        };
        [
            ("retention.ms", self.retention_ms.to_string()),
            ("retention.bytes", self.retention_bytes.to_string()),
            ("segment.bytes", self.segment_bytes.to_string()),
            ("segment.ms", self.segment_ms.to_string()),
            ("cleanup.policy", policy.to_string()),
            ("delete.retention.ms", self.delete_retention_ms.to_string()),
            (
                "min.compaction.lag.ms",
                self.min_compaction_lag_ms.to_string(),
            ),
            ("max.message.bytes", self.max_message_bytes.to_string()),
            ("message.timestamp.type", timestamp_type.to_string()),
            (
                "index.interval.bytes",
                self.index_interval_bytes.to_string(),
            ),
            (
                "message.timestamp.before.max.ms",
                self.message_timestamp_before_max_ms.to_string(),
            ),
            (
                "message.timestamp.after.max.ms",
                self.message_timestamp_after_max_ms.to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .chain(compat::defaults().map(|(k, v)| {
            let value = self
                .overrides
                .get(k)
                .cloned()
                .unwrap_or_else(|| v.to_string());
            (k.to_string(), value)
        }))
        .collect()
    }

    fn set(&mut self, name: &str, value: &str) -> Result<()> {
        match name {
            "retention.ms" => self.retention_ms = parse_i64(name, value, -1)?,
            "retention.bytes" => self.retention_bytes = parse_i64(name, value, -1)?,
            "segment.bytes" => self.segment_bytes = parse_i64(name, value, 14)? as u64,
            "segment.ms" => self.segment_ms = parse_i64(name, value, 1)?,
            "delete.retention.ms" => self.delete_retention_ms = parse_i64(name, value, 0)?,
            "min.compaction.lag.ms" => self.min_compaction_lag_ms = parse_i64(name, value, 0)?,
            "max.message.bytes" => self.max_message_bytes = parse_i64(name, value, 0)? as usize,
            "index.interval.bytes" => self.index_interval_bytes = parse_i64(name, value, 0)? as u64,
            "message.timestamp.before.max.ms" => {
                self.message_timestamp_before_max_ms = parse_i64(name, value, 0)?
            }
            "message.timestamp.after.max.ms" => {
                self.message_timestamp_after_max_ms = parse_i64(name, value, 0)?
            }
            "cleanup.policy" => {
                let mut policy = CleanupPolicy {
                    delete: false,
                    compact: false,
                };
                for part in value.split(',').map(str::trim) {
                    match part {
                        "delete" => policy.delete = true,
                        "compact" => policy.compact = true,
                        _ => {
                            return Err(BrokerError::invalid_config(
                                name,
                                value,
                                "expected delete, compact or compact,delete",
                            ));
                        }
                    }
                }
                self.cleanup_policy = policy;
            }
            "message.timestamp.type" => {
                self.timestamp_type = match value.trim() {
                    "CreateTime" => TimestampType::CreateTime,
                    "LogAppendTime" => TimestampType::LogAppendTime,
                    _ => {
                        return Err(BrokerError::invalid_config(
                            name,
                            value,
                            "expected CreateTime or LogAppendTime",
                        ));
                    }
                }
            }
            _ if compat::is_accepted(name) => compat::validate(name, value)?,
            _ => {
                return Err(BrokerError::invalid_config(
                    name,
                    value,
                    format!(
                        "unknown topic config; Sluice knows {} and accepts the other Kafka topic configs without effect",
                        CONFIG_NAMES.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A topic as the broker knows it: what `topics()`/`topic()` return and `topic.json` stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMeta {
    /// The topic name.
    pub name: String,
    /// A random id given at creation (Kafka's topic id, used by Fetch v13+ and Metadata).
    pub id: [u8; 16],
    /// Number of partitions.
    pub partitions: i32,
    /// The effective configuration.
    pub config: TopicConfig,
}

/// The on-disk form of a topic (`topic.json`).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct TopicFile {
    pub name: String,
    pub id: String,
    pub partitions: i32,
    pub configs: BTreeMap<String, String>,
}

impl TopicFile {
    pub fn from_meta(meta: &TopicMeta) -> TopicFile {
        TopicFile {
            name: meta.name.clone(),
            id: meta.id.iter().map(|b| format!("{b:02x}")).collect(),
            partitions: meta.partitions,
            configs: meta.config.overrides.clone(),
        }
    }

    /// Parses the hex id back; None when it is not 32 hex digits.
    pub fn id_bytes(&self) -> Option<[u8; 16]> {
        if self.id.len() != 32 || !self.id.is_ascii() {
            return None;
        }
        let mut id = [0u8; 16];
        for (i, byte) in id.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&self.id[i * 2..i * 2 + 2], 16).ok()?;
        }
        Some(id)
    }
}

/// Checks a topic name against Kafka's rules: 1..=249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<()> {
    let bad = |reason: &str| BrokerError::InvalidTopicName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() {
        return Err(bad("the name is empty"));
    }
    if name == "." || name == ".." {
        return Err(bad("'.' and '..' are not allowed"));
    }
    if name.len() > 249 {
        return Err(bad("the name is longer than 249 characters"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        return Err(bad(
            "only ASCII letters, digits, '.', '_' and '-' are allowed",
        ));
    }
    Ok(())
}

/// The prefix of Sluice's own internal topics (`_sluice_commands`, `_sluice_query_offsets` ...).
pub const SLUICE_INTERNAL_PREFIX: &str = "_sluice_";

/// Is `name` an internal topic: Kafka's `__consumer_offsets` and `__transaction_state`, or one of
/// Sluice's `_sluice_*` topics? Only the broker's own in-process writers append to these; Kafka
/// clients may read them but not produce to them, delete their records, change their configs or
/// partitions, or delete or create them (Kafka's `Topic.isInternal` rule, widened to Sluice's
/// prefix).
pub fn is_internal_topic(name: &str) -> bool {
    name == "__consumer_offsets"
        || name == "__transaction_state"
        || name.starts_with(SLUICE_INTERNAL_PREFIX)
}

/// Kafka's murmur2 hash (the Java client's `Utils.murmur2`, seed 0x9747b28c).
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len();
    let mut h: u32 = SEED ^ (length as u32);
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for chunk in chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    match tail.len() {
        3 => {
            h ^= (tail[2] as u32) << 16;
            h ^= (tail[1] as u32) << 8;
            h ^= tail[0] as u32;
            h = h.wrapping_mul(M);
        }
        2 => {
            h ^= (tail[1] as u32) << 8;
            h ^= tail[0] as u32;
            h = h.wrapping_mul(M);
        }
        1 => {
            h ^= tail[0] as u32;
            h = h.wrapping_mul(M);
        }
        _ => {}
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition Kafka's default partitioner picks for a key: `(murmur2(key) & 0x7fffffff) % n`.
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka() {
        // Vectors from Kafka's UtilsTest, checked against kafka-python's murmur2.
        let cases: &[(&str, i32)] = &[
            ("21", -973932308),
            ("foobar", -790332482),
            ("a-little-bit-long-string", -985981536),
            ("a-little-bit-longer-string", -1486304829),
            (
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            ("abc", 479470107),
            ("", 275646681),
        ];
        for (input, expected) in cases {
            assert_eq!(murmur2(input.as_bytes()), *expected, "murmur2({input:?})");
        }
        // Binary keys and every tail length, computed with kafka-python 3.0.12's murmur2.
        let binary: &[(&[u8], i32)] = &[
            (&[0, 255, 16], -2069360273),
            (b"sluice-key-1", -1272157024),
            (&[0, 1, 2, 3, 4, 5, 6], -1488168820),
        ];
        for (input, expected) in binary {
            assert_eq!(murmur2(input), *expected, "murmur2({input:?})");
        }
    }

    #[test]
    fn topic_names_follow_kafka_rules() {
        assert!(validate_topic_name("orders_v1.eu-west").is_ok());
        assert!(validate_topic_name(&"a".repeat(249)).is_ok());
        for bad in ["", ".", "..", "a b", "a/b", "ü"] {
            assert_eq!(
                validate_topic_name(bad).map_err(|e| e.code()),
                Err(17),
                "{bad:?}"
            );
        }
        assert!(validate_topic_name(&"a".repeat(250)).is_err());
    }

    #[test]
    fn configs_are_validated() {
        let base = TopicConfig::default();
        let mut m = BTreeMap::new();
        m.insert("cleanup.policy".to_string(), "compact,delete".to_string());
        m.insert("segment.bytes".to_string(), "1000".to_string());
        let c = base.with_overrides(&m).unwrap();
        assert_eq!(
            c.cleanup_policy,
            CleanupPolicy {
                delete: true,
                compact: true
            }
        );
        assert_eq!(c.segment_bytes, 1000);
        assert_eq!(c.overrides.len(), 2);

        let accepted = BTreeMap::from([("min.insync.replicas".to_string(), "2".to_string())]);
        let c = base.with_overrides(&accepted).unwrap();
        assert_eq!(c.to_kafka_configs()["min.insync.replicas"], "2");
        for (k, v) in [
            ("min.insync.replicas", "0"),
            ("retention.msec", "1"),
            ("retention.ms", "soon"),
            ("retention.ms", "-2"),
            ("cleanup.policy", "shred"),
            ("message.timestamp.type", "Now"),
        ] {
            let m = BTreeMap::from([(k.to_string(), v.to_string())]);
            assert_eq!(
                base.with_overrides(&m).map_err(|e| e.code()).err(),
                Some(40),
                "{k}={v}"
            );
        }
    }

    #[test]
    fn effective_configs_use_kafka_names_and_parse_back() {
        let m = BTreeMap::from([("cleanup.policy".to_string(), "compact".to_string())]);
        let c = TopicConfig::default().with_overrides(&m).unwrap();
        let all = c.to_kafka_configs();
        assert_eq!(all.len(), CONFIG_NAMES.len() + compat::defaults().count());
        assert_eq!(all["min.insync.replicas"], "1");
        assert_eq!(all["cleanup.policy"], "compact");
        assert_eq!(all["retention.ms"], "604800000");
        let back = TopicConfig::default().with_overrides(&all).unwrap();
        assert_eq!(back.to_kafka_configs(), all);
    }

    #[test]
    fn topic_id_roundtrips_through_hex() {
        let meta = TopicMeta {
            name: "t".into(),
            id: [0xab; 16],
            partitions: 2,
            config: TopicConfig::default(),
        };
        assert_eq!(TopicFile::from_meta(&meta).id_bytes(), Some([0xab; 16]));
    }
}
