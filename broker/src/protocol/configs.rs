//! DescribeConfigs: a topic's configuration by Kafka config name (what `kafka-configs --describe`
//! and admin clients show), and the broker's few settings that clients look at.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};

use super::dispatch::{Context, Header};
use super::sb;
use crate::TopicConfig;

/// Kafka's ConfigResource types.
pub(super) const RESOURCE_TOPIC: i8 = 2;
pub(super) const RESOURCE_BROKER: i8 = 4;
/// Kafka's config sources.
const SOURCE_TOPIC: i8 = 1;
const SOURCE_STATIC_BROKER: i8 = 4;
const SOURCE_DEFAULT: i8 = 5;

/// One config as it is described to clients.
#[derive(Debug, Clone)]
pub struct ConfigEntry {
    /// Kafka config name.
    pub name: String,
    /// Current value, as Kafka prints it.
    pub value: String,
    /// Kafka's config source code (topic override or default).
    pub source: i8,
}

/// Every config of a topic (Kafka's names, effective values), overrides marked as such.
pub fn topic_entries(c: &TopicConfig) -> Vec<ConfigEntry> {
    c.to_kafka_configs()
        .into_iter()
        .map(|(name, value)| ConfigEntry {
            source: if c.overrides.contains_key(&name) {
                SOURCE_TOPIC
            } else {
                SOURCE_DEFAULT
            },
            name,
            value,
        })
        .collect()
}

/// Handle a DescribeConfigs request.
pub async fn describe(
    ctx: &Context,
    _header: &Header,
    req: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let results = req
        .resources
        .iter()
        .map(|r| {
            let out = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            let entries = match r.resource_type {
                RESOURCE_TOPIC => match ctx.broker.topic(r.resource_name.as_str()) {
                    Some(meta) => topic_entries(&meta.config),
                    None => {
                        return out
                            .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                            .with_error_message(Some(sb(format!(
                                "unknown topic '{}'",
                                r.resource_name.as_str()
                            ))));
                    }
                },
                RESOURCE_BROKER => vec![
                    ConfigEntry {
                        name: "auto.create.topics.enable".into(),
                        value: ctx.config.auto_create_topics.to_string(),
                        source: SOURCE_STATIC_BROKER,
                    },
                    ConfigEntry {
                        name: "num.partitions".into(),
                        value: ctx.default_partitions.to_string(),
                        source: SOURCE_STATIC_BROKER,
                    },
                    ConfigEntry {
                        name: "socket.request.max.bytes".into(),
                        value: ctx.config.max_request_bytes.to_string(),
                        source: SOURCE_STATIC_BROKER,
                    },
                ],
                other => {
                    return out
                        .with_error_code(ResponseError::InvalidRequest.code())
                        .with_error_message(Some(sb(format!(
                            "config resource type {other} is not supported"
                        ))));
                }
            };
            // A set: a request may name any number of keys (no work quadratic in them).
            let keys: Option<std::collections::HashSet<&str>> = r
                .configuration_keys
                .as_ref()
                .map(|k| k.iter().map(|k| k.as_str()).collect());
            let configs = entries
                .into_iter()
                .filter(|e| keys.as_ref().is_none_or(|k| k.contains(e.name.as_str())))
                .map(|e| {
                    DescribeConfigsResourceResult::default()
                        .with_name(sb(e.name))
                        .with_value(Some(sb(e.value)))
                        .with_config_source(e.source)
                        .with_read_only(r.resource_type == RESOURCE_BROKER)
                })
                .collect();
            out.with_configs(configs)
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_config_has_a_value_and_overrides_are_marked() {
        let overrides = [("cleanup.policy".to_string(), "compact".to_string())].into();
        let c = TopicConfig::default().with_overrides(&overrides).unwrap();
        let entries = topic_entries(&c);
        assert_eq!(entries.len(), c.to_kafka_configs().len());
        assert!(entries.iter().any(|e| e.name == "min.insync.replicas"));
        let policy = entries.iter().find(|e| e.name == "cleanup.policy").unwrap();
        assert_eq!(
            (policy.value.as_str(), policy.source),
            ("compact", SOURCE_TOPIC)
        );
        let retention = entries.iter().find(|e| e.name == "retention.ms").unwrap();
        assert_eq!(
            (retention.value.as_str(), retention.source),
            ("604800000", SOURCE_DEFAULT)
        );
    }
}
