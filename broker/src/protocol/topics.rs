//! CreateTopics and DeleteTopics: topic administration by Kafka admin clients.
//!
//! With one broker the replication factor can only be 1 (or -1, "the default"). `validate_only`
//! checks the name, the partition count and every config exactly as a real creation would, without
//! creating anything. Internal topics (`__consumer_offsets`, `__transaction_state`, `_sluice_*`)
//! are created and kept by the broker itself: clients get INVALID_TOPIC_EXCEPTION for them.

use std::collections::BTreeMap;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{
    CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
};
use tracing::warn;
use uuid::Uuid;

use super::configs::topic_entries;
use super::dispatch::{Context, Header};
use super::{internal_topic_refusal, sb};
use crate::BrokerError;

/// Handle a CreateTopics request.
pub async fn create(
    ctx: &Context,
    _header: &Header,
    req: CreateTopicsRequest,
) -> CreateTopicsResponse {
    let mut topics = Vec::with_capacity(req.topics.len());
    for t in &req.topics {
        let name = t.name.to_string();
        let mut out = CreatableTopicResult::default()
            .with_name(t.name.clone())
            .with_num_partitions(-1)
            .with_replication_factor(-1);
        let fail = |out: CreatableTopicResult, code: i16, msg: String| {
            out.with_error_code(code).with_error_message(Some(sb(msg)))
        };
        if let Some(message) = internal_topic_refusal(&name, "create") {
            topics.push(fail(
                out,
                ResponseError::InvalidTopicException.code(),
                message,
            ));
            continue;
        }
        if t.replication_factor > 1 {
            topics.push(fail(
                out,
                ResponseError::InvalidReplicationFactor.code(),
                format!(
                    "replication factor {} is larger than the number of brokers (1)",
                    t.replication_factor
                ),
            ));
            continue;
        }
        let partitions = if !t.assignments.is_empty() {
            t.assignments.len() as i32
        } else if t.num_partitions == -1 {
            ctx.default_partitions
        } else {
            t.num_partitions
        };
        let configs: BTreeMap<String, String> = t
            .configs
            .iter()
            .filter_map(|c| Some((c.name.to_string(), c.value.as_ref()?.to_string())))
            .collect();
        let result = if req.validate_only {
            validate(ctx, &name, partitions, &configs)
        } else {
            ctx.broker
                .create_topic(&name, partitions, &configs)
                .map(|_| ())
        };
        if let Err(e) = result {
            topics.push(fail(out, e.response_error().code(), e.to_string()));
            continue;
        }
        out.num_partitions = partitions;
        out.replication_factor = 1;
        if let Some(meta) = ctx.broker.topic(&name) {
            out.topic_id = Uuid::from_bytes(meta.id);
            out.configs = Some(
                topic_entries(&meta.config)
                    .into_iter()
                    .map(|e| {
                        CreatableTopicConfigs::default()
                            .with_name(sb(e.name))
                            .with_value(Some(sb(e.value)))
                            .with_config_source(e.source)
                    })
                    .collect(),
            );
        }
        topics.push(out);
    }
    CreateTopicsResponse::default().with_topics(topics)
}

fn validate(
    ctx: &Context,
    name: &str,
    partitions: i32,
    configs: &BTreeMap<String, String>,
) -> Result<(), BrokerError> {
    ctx.broker
        .validate_new_topic(name, partitions, configs)
        .map(|_| ())
}

/// Handle a DeleteTopics request (by name; v6's topic ids are not served).
pub async fn delete(
    ctx: &Context,
    _header: &Header,
    req: DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    let mut deleted = Vec::new();
    let responses = req
        .topic_names
        .iter()
        .map(|name| {
            let out = DeletableTopicResult::default().with_name(Some(name.clone()));
            if let Some(message) = internal_topic_refusal(name.as_str(), "delete") {
                return out
                    .with_error_code(ResponseError::InvalidTopicException.code())
                    .with_error_message(Some(sb(message)));
            }
            match ctx.broker.delete_topic(name.as_str()) {
                Ok(()) => {
                    deleted.push(name.to_string());
                    out
                }
                Err(e) => out
                    .with_error_code(e.response_error().code())
                    .with_error_message(Some(sb(e.to_string()))),
            }
        })
        .collect::<Vec<_>>();
    // Committed offsets of a deleted topic go too, so a topic created again under the same name
    // is not read from stale positions.
    for topic in deleted {
        if let Err(err) = ctx.groups.offsets.delete_topic(&topic).await {
            warn!(%topic, %err, "cannot delete the committed offsets of a deleted topic");
        }
    }
    DeleteTopicsResponse::default().with_responses(responses)
}
