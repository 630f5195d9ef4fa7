//! Kafka topic configs that Sluice accepts and stores but that have no effect on a single
//! broker (replication, tiered storage, flush tuning, broker-side recompression ...).
//!
//! Tools and libraries create topics with them (Kafka Streams and ksqlDB set
//! `min.insync.replicas`, `min.cleanable.dirty.ratio`, `max.compaction.lag.ms`; admin scripts set
//! `compression.type`), so refusing them would break real deployments. They are validated like
//! Kafka validates them, kept in `topic.json` and reported back by DescribeConfigs.

use crate::error::{BrokerError, Result};

/// How a config value is checked.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// An integer at least this large.
    Long(i64),
    /// An integer in this range.
    Range(i64, i64),
    /// A fraction in [0, 1].
    Ratio,
    /// `true` or `false`.
    Bool,
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// Free text (lists of replicas, deprecated format versions).
    Text,
}

/// The accepted configs with their Kafka default (as DescribeConfigs would report it).
const ACCEPTED: &[(&str, Kind, &str)] = &[
    (
        "compression.type",
        Kind::OneOf(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
        "producer",
    ),
    ("compression.gzip.level", Kind::Range(-1, 9), "-1"),
    ("compression.lz4.level", Kind::Range(1, 17), "9"),
    ("compression.zstd.level", Kind::Range(-131072, 22), "3"),
    ("file.delete.delay.ms", Kind::Long(0), "60000"),
    ("flush.messages", Kind::Long(1), "9223372036854775807"),
    ("flush.ms", Kind::Long(0), "9223372036854775807"),
    ("follower.replication.throttled.replicas", Kind::Text, ""),
    ("leader.replication.throttled.replicas", Kind::Text, ""),
    ("local.retention.bytes", Kind::Long(-2), "-2"),
    ("local.retention.ms", Kind::Long(-2), "-2"),
    (
        "max.compaction.lag.ms",
        Kind::Long(1),
        "9223372036854775807",
    ),
    ("message.downconversion.enable", Kind::Bool, "true"),
    ("message.format.version", Kind::Text, "3.0-IV1"),
    (
        "message.timestamp.difference.max.ms",
        Kind::Long(0),
        "9223372036854775807",
    ),
    ("min.cleanable.dirty.ratio", Kind::Ratio, "0.5"),
    ("min.insync.replicas", Kind::Long(1), "1"),
    ("preallocate", Kind::Bool, "false"),
    ("remote.storage.enable", Kind::Bool, "false"),
    ("remote.log.copy.disable", Kind::Bool, "false"),
    ("remote.log.delete.on.disable", Kind::Bool, "false"),
    ("segment.index.bytes", Kind::Long(4), "10485760"),
    ("segment.jitter.ms", Kind::Long(0), "0"),
    ("unclean.leader.election.enable", Kind::Bool, "false"),
];

/// Whether `name` is a Kafka topic config accepted without effect.
pub fn is_accepted(name: &str) -> bool {
    ACCEPTED.iter().any(|(n, _, _)| *n == name)
}

/// The accepted-without-effect configs with their Kafka defaults.
pub fn defaults() -> impl Iterator<Item = (&'static str, &'static str)> {
    ACCEPTED.iter().map(|(n, _, d)| (*n, *d))
}

/// Validates `value` for an accepted config (the caller checked [`is_accepted`]).
pub fn validate(name: &str, value: &str) -> Result<()> {
    let Some((_, kind, _)) = ACCEPTED.iter().find(|(n, _, _)| *n == name) else {
        return Err(BrokerError::invalid_config(
            name,
            value,
            "unknown topic config",
        ));
    };
    let v = value.trim();
    let bad = |reason: String| Err(BrokerError::invalid_config(name, value, reason));
    match *kind {
        Kind::Long(min) => match v.parse::<i64>() {
            Ok(n) if n >= min => Ok(()),
            Ok(_) => bad(format!("must be at least {min}")),
            Err(_) => bad("not an integer".into()),
        },
        Kind::Range(lo, hi) => match v.parse::<i64>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(()),
            Ok(_) => bad(format!("must be between {lo} and {hi}")),
            Err(_) => bad("not an integer".into()),
        },
        Kind::Ratio => match v.parse::<f64>() {
            Ok(x) if (0.0..=1.0).contains(&x) => Ok(()),
            _ => bad("must be a number between 0 and 1".into()),
        },
        Kind::Bool => match v {
            "true" | "false" => Ok(()),
            _ => bad("must be true or false".into()),
        },
        Kind::OneOf(words) => {
            if words.contains(&v) {
                Ok(())
            } else {
                bad(format!("must be one of {}", words.join(", ")))
            }
        }
        Kind::Text => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_configs_are_validated_like_kafka() {
        assert!(validate("min.insync.replicas", "2").is_ok());
        assert!(validate("min.cleanable.dirty.ratio", "0.01").is_ok());
        assert!(validate("compression.type", "zstd").is_ok());
        assert!(validate("unclean.leader.election.enable", "false").is_ok());
        for (k, v) in [
            ("min.insync.replicas", "0"),
            ("min.cleanable.dirty.ratio", "1.5"),
            ("compression.type", "brotli"),
            ("preallocate", "yes"),
            ("compression.gzip.level", "10"),
        ] {
            assert_eq!(validate(k, v).map_err(|e| e.code()), Err(40), "{k}={v}");
        }
        assert!(defaults().all(|(n, _)| is_accepted(n)));
    }
}
