//! AlterConfigs and IncrementalAlterConfigs: changing a topic's configuration
//! (`kafka-configs --alter`, `AdminClient.incrementalAlterConfigs`).
//!
//! The two APIs differ as in Kafka: AlterConfigs *replaces* a resource's overrides with the ones
//! given (every override not named goes back to its default), IncrementalAlterConfigs changes only
//! the configs it names, with SET, DELETE (back to the default), and APPEND / SUBTRACT for list
//! configs (`cleanup.policy`, the throttled-replica lists). Both validate every value exactly as
//! CreateTopics does, persist the result in `topic.json` (so it survives a restart) and report it
//! through DescribeConfigs; `validate_only` runs every check and changes nothing.
//!
//! Errors are per resource, as Kafka gives them: UNKNOWN_TOPIC_OR_PARTITION for a missing topic,
//! INVALID_CONFIG for an unknown name, a bad value or APPEND on a non-list config, INVALID_REQUEST
//! for a resource or config named twice, a null value where one is needed, an unknown operation
//! or resource type, and for broker configs (static in Sluice: they are set when the server starts);
//! INVALID_TOPIC_EXCEPTION for an internal topic (`__consumer_offsets`, `_sluice_*`), whose
//! configs only the broker sets.

use std::collections::{BTreeMap, HashMap, HashSet};

use kafka_protocol::ResponseError;
use kafka_protocol::messages::{
    AlterConfigsRequest, AlterConfigsResponse, IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse, alter_configs_response, incremental_alter_configs_request,
    incremental_alter_configs_response,
};
use kafka_protocol::protocol::StrBytes;

use super::configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
use super::dispatch::{Context, Header};
use super::{internal_topic_refusal, sb};

/// Kafka's BROKER_LOGGER resource type (log levels).
const RESOURCE_BROKER_LOGGER: i8 = 8;

/// Kafka's IncrementalAlterConfigs operations.
const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

/// Topic configs whose value is a comma-separated list (APPEND and SUBTRACT work on these only).
const LIST_CONFIGS: &[&str] = &[
    "cleanup.policy",
    "follower.replication.throttled.replicas",
    "leader.replication.throttled.replicas",
];

/// Why one resource of a request was refused: the Kafka error and a message for the user.
type ResourceError = (ResponseError, String);

fn invalid_request(message: String) -> ResourceError {
    (ResponseError::InvalidRequest, message)
}

/// What to do to a topic's overrides: add or replace `set`, drop `remove`.
#[derive(Debug, Default, PartialEq)]
struct TopicChange {
    set: BTreeMap<String, String>,
    remove: Vec<String>,
}

/// Handle an AlterConfigs request (replace the named resources' overrides).
pub async fn alter(
    ctx: &Context,
    _header: &Header,
    req: AlterConfigsRequest,
) -> AlterConfigsResponse {
    let outcomes = alter_each(
        ctx,
        &req.resources,
        |r| (r.resource_type, &r.resource_name),
        req.validate_only,
        |r, current| {
            let configs: Vec<(&str, Option<&str>)> = r
                .configs
                .iter()
                .map(|c| (c.name.as_str(), c.value.as_ref().map(|v| v.as_str())))
                .collect();
            replacement(current, &configs)
        },
    );
    let responses = req
        .resources
        .iter()
        .zip(outcomes)
        .map(|(r, (code, message))| {
            alter_configs_response::AlterConfigsResourceResponse::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone())
                .with_error_code(code)
                .with_error_message(message)
        })
        .collect();
    AlterConfigsResponse::default().with_responses(responses)
}

/// Handle an IncrementalAlterConfigs request (change only the named configs).
pub async fn incremental(
    ctx: &Context,
    _header: &Header,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let outcomes = alter_each(
        ctx,
        &req.resources,
        |r| (r.resource_type, &r.resource_name),
        req.validate_only,
        |r, current| incremental_change(current, &r.configs),
    );
    let responses = req
        .resources
        .iter()
        .zip(outcomes)
        .map(|(r, (code, message))| {
            incremental_alter_configs_response::AlterConfigsResourceResponse::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone())
                .with_error_code(code)
                .with_error_message(message)
        })
        .collect();
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

/// The outcome (error code, message) of each resource of either request, in order: a resource
/// named twice is refused, every other one is altered with the change `change` computes from
/// its current configs. `key` gives a resource's `(type, name)`.
fn alter_each<'a, R>(
    ctx: &Context,
    resources: &'a [R],
    key: impl Fn(&'a R) -> (i8, &'a StrBytes),
    validate_only: bool,
    change: impl Fn(&'a R, &CurrentConfig) -> Result<TopicChange, ResourceError>,
) -> Vec<(i16, Option<StrBytes>)> {
    let dups = duplicates(resources.iter().map(&key));
    resources
        .iter()
        .map(|r| {
            let (resource_type, name) = key(r);
            let result = if dups.contains(&(resource_type, name.as_str())) {
                Err(named_twice(resource_type, name))
            } else {
                alter_resource(ctx, resource_type, name, validate_only, |c| change(r, c))
            };
            outcome(result)
        })
        .collect()
}

fn outcome(result: Result<(), ResourceError>) -> (i16, Option<StrBytes>) {
    match result {
        Ok(()) => (0, None),
        Err((error, message)) => (error.code(), Some(sb(message))),
    }
}

/// The `(type, name)` pairs named more than once in a request.
fn duplicates<'a>(resources: impl Iterator<Item = (i8, &'a StrBytes)>) -> HashSet<(i8, &'a str)> {
    let mut counts: HashMap<(i8, &str), usize> = HashMap::new();
    for (t, n) in resources {
        *counts.entry((t, n.as_str())).or_default() += 1;
    }
    counts
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(k, _)| k)
        .collect()
}

fn named_twice(resource_type: i8, name: &StrBytes) -> ResourceError {
    invalid_request(format!(
        "resource '{}' (type {resource_type}) is named more than once in the request",
        name.as_str()
    ))
}

/// Applies (or with `validate_only` checks) the change `change` computes from a topic's current
/// effective configs; refuses every other resource type.
fn alter_resource(
    ctx: &Context,
    resource_type: i8,
    name: &StrBytes,
    validate_only: bool,
    change: impl FnOnce(&CurrentConfig) -> Result<TopicChange, ResourceError>,
) -> Result<(), ResourceError> {
    let name = name.as_str();
    match resource_type {
        RESOURCE_TOPIC => {
            let broker_err = |e: crate::BrokerError| (e.response_error(), e.to_string());
            if let Some(message) = internal_topic_refusal(name, "change the configs of") {
                return Err((ResponseError::InvalidTopicException, message));
            }
            let meta = ctx.broker.topic(name).ok_or_else(|| {
                (
                    ResponseError::UnknownTopicOrPartition,
                    format!("unknown topic '{name}'"),
                )
            })?;
            let current = CurrentConfig {
                effective: meta.config.to_kafka_configs(),
                overrides: meta.config.overrides.clone(),
            };
            let TopicChange { set, remove } = change(&current)?;
            if validate_only {
                ctx.broker
                    .validate_topic_config_change(name, &set, &remove)
                    .map(|_| ())
                    .map_err(broker_err)
            } else {
                ctx.broker
                    .alter_topic_config(name, &set, &remove)
                    .map(|_| ())
                    .map_err(broker_err)
            }
        }
        RESOURCE_BROKER => {
            let node = ctx.node_id.to_string();
            if !name.is_empty() && name != node {
                return Err(invalid_request(format!(
                    "unknown broker '{name}': this broker's id is {node} (or \"\" for the cluster default)"
                )));
            }
            let current = CurrentConfig::default();
            let TopicChange { set, remove } = change(&current)?;
            if set.is_empty() && remove.is_empty() {
                return Ok(());
            }
            let names: Vec<&String> = set.keys().chain(remove.iter()).collect();
            Err(invalid_request(format!(
                "broker configs cannot be changed while Sluice runs (they are set when the \
                 server starts): {names:?}"
            )))
        }
        RESOURCE_BROKER_LOGGER => Err(invalid_request(
            "log levels are set with RUST_LOG when the server starts; BROKER_LOGGER cannot be \
             altered"
                .to_string(),
        )),
        other => Err(invalid_request(format!(
            "config resource type {other} is not supported (topics are 2, brokers 4)"
        ))),
    }
}

/// A resource's configs before the change.
#[derive(Debug, Default)]
struct CurrentConfig {
    /// Every config's effective value, by name.
    effective: BTreeMap<String, String>,
    /// The ones set on the resource.
    overrides: BTreeMap<String, String>,
}

/// AlterConfigs: the given configs become the overrides; a null value is left unset.
fn replacement(
    current: &CurrentConfig,
    configs: &[(&str, Option<&str>)],
) -> Result<TopicChange, ResourceError> {
    let mut set = BTreeMap::new();
    for (name, value) in configs {
        if let Some(value) = value
            && set.insert(name.to_string(), value.to_string()).is_some()
        {
            return Err(invalid_request(format!(
                "config '{name}' is named more than once"
            )));
        }
    }
    let remove = current
        .overrides
        .keys()
        .filter(|k| !set.contains_key(*k))
        .cloned()
        .collect();
    Ok(TopicChange { set, remove })
}

/// IncrementalAlterConfigs: SET, DELETE, APPEND and SUBTRACT on the named configs only.
fn incremental_change(
    current: &CurrentConfig,
    configs: &[incremental_alter_configs_request::AlterableConfig],
) -> Result<TopicChange, ResourceError> {
    let mut change = TopicChange::default();
    // A set, not a list: requests may name any number of configs (no quadratic work).
    let mut seen = HashSet::with_capacity(configs.len().min(1024));
    for c in configs {
        let name = c.name.as_str();
        if !seen.insert(name) {
            return Err(invalid_request(format!(
                "config '{name}' is named more than once"
            )));
        }
        let value = || {
            c.value.as_ref().map(|v| v.to_string()).ok_or_else(|| {
                invalid_request(format!("config '{name}' needs a value for this operation"))
            })
        };
        match c.config_operation {
            OP_SET => {
                change.set.insert(name.to_string(), value()?);
            }
            OP_DELETE => change.remove.push(name.to_string()),
            op @ (OP_APPEND | OP_SUBTRACT) => {
                if !LIST_CONFIGS.contains(&name) {
                    let verb = if op == OP_APPEND {
                        "APPEND"
                    } else {
                        "SUBTRACT"
                    };
                    return Err((
                        ResponseError::InvalidConfig,
                        format!("{verb} works on list configs only, and '{name}' is not one"),
                    ));
                }
                let old = current
                    .effective
                    .get(name)
                    .map(String::as_str)
                    .unwrap_or("");
                let new = if op == OP_APPEND {
                    append_list(old, &value()?)
                } else {
                    subtract_list(old, &value()?)
                };
                change.set.insert(name.to_string(), new);
            }
            other => {
                return Err(invalid_request(format!(
                    "unknown config operation {other} for '{name}' (0 SET, 1 DELETE, 2 APPEND, \
                     3 SUBTRACT)"
                )));
            }
        }
    }
    Ok(change)
}

fn list_items(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// `old` with the items of `add` not yet in it appended, in order.
fn append_list(old: &str, add: &str) -> String {
    let mut items: Vec<&str> = list_items(old).collect();
    let mut present: HashSet<&str> = items.iter().copied().collect();
    for item in list_items(add) {
        if present.insert(item) {
            items.push(item);
        }
    }
    items.join(",")
}

/// `old` without the items of `remove`.
fn subtract_list(old: &str, remove: &str) -> String {
    let remove: HashSet<&str> = list_items(remove).collect();
    list_items(old)
        .filter(|i| !remove.contains(i))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use incremental_alter_configs_request::AlterableConfig;

    use super::*;

    fn op(name: &str, op: i8, value: Option<&str>) -> AlterableConfig {
        AlterableConfig::default()
            .with_name(sb(name))
            .with_config_operation(op)
            .with_value(value.map(sb))
    }

    fn current(overrides: &[(&str, &str)]) -> CurrentConfig {
        let overrides: BTreeMap<String, String> = overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let effective = crate::TopicConfig::default()
            .with_overrides(&overrides)
            .unwrap()
            .to_kafka_configs();
        CurrentConfig {
            effective,
            overrides,
        }
    }

    #[test]
    fn replacement_drops_every_override_not_named() {
        let c = current(&[("retention.ms", "5"), ("segment.bytes", "2048")]);
        let change = replacement(&c, &[("retention.ms", Some("7")), ("flush.ms", None)]).unwrap();
        assert_eq!(change.set, [("retention.ms".into(), "7".into())].into());
        assert_eq!(change.remove, vec!["segment.bytes".to_string()]);
        let dup = replacement(
            &c,
            &[("retention.ms", Some("1")), ("retention.ms", Some("2"))],
        );
        assert_eq!(dup.unwrap_err().0.code(), 42);
    }

    #[test]
    fn incremental_operations_change_only_what_they_name() {
        let c = current(&[("retention.ms", "5")]);
        let change = incremental_change(
            &c,
            &[
                op("segment.bytes", OP_SET, Some("4096")),
                op("retention.ms", OP_DELETE, None),
                op("cleanup.policy", OP_APPEND, Some("compact")),
            ],
        )
        .unwrap();
        assert_eq!(
            change.set,
            [
                ("segment.bytes".into(), "4096".into()),
                ("cleanup.policy".into(), "delete,compact".into())
            ]
            .into()
        );
        assert_eq!(change.remove, vec!["retention.ms".to_string()]);
    }

    #[test]
    fn incremental_refusals_match_kafka() {
        let c = current(&[]);
        let code = |ops: &[AlterableConfig]| incremental_change(&c, ops).unwrap_err().0.code();
        assert_eq!(code(&[op("retention.ms", OP_APPEND, Some("1"))]), 40);
        assert_eq!(code(&[op("retention.ms", OP_SET, None)]), 42);
        assert_eq!(code(&[op("retention.ms", 9, Some("1"))]), 42);
        assert_eq!(
            code(&[
                op("retention.ms", OP_SET, Some("1")),
                op("retention.ms", OP_DELETE, None)
            ]),
            42
        );
    }

    #[test]
    fn list_append_and_subtract_keep_order_and_skip_duplicates() {
        assert_eq!(append_list("delete", "compact,delete"), "delete,compact");
        assert_eq!(append_list("", "a, b"), "a,b");
        assert_eq!(subtract_list("compact,delete", "delete"), "compact");
        assert_eq!(subtract_list("a,b", "c"), "a,b");
    }
}
