//! Metadata: which topics and partitions exist and which broker leads them (always this one).
//!
//! Unknown topics are created with the broker's defaults when the client allows it (always before
//! v4, by `allow_auto_topic_creation` from v4) and `auto_create_topics` is on, as Kafka's
//! `auto.create.topics.enable` does. The topic is created synchronously, so the client gets its
//! partitions in this very response instead of retrying after LEADER_NOT_AVAILABLE.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use tracing::info;
use uuid::Uuid;

use super::dispatch::{Context, Header};
use super::sb;
use crate::{BrokerError, TopicMeta};

/// Handle a Metadata request.
pub async fn handle(ctx: &Context, header: &Header, req: MetadataRequest) -> MetadataResponse {
    let node = BrokerId(ctx.node_id);
    let mut resp = MetadataResponse::default();
    resp.brokers = vec![
        MetadataResponseBroker::default()
            .with_node_id(node)
            .with_host(sb(ctx.advertised_host.clone()))
            .with_port(ctx.advertised_port),
    ];
    resp.cluster_id = Some(sb(ctx.config.cluster_id.clone()));
    resp.controller_id = node;
    resp.cluster_authorized_operations = i32::MIN;
    // v0 has no null list: an empty list means every topic.
    let requested = match req.topics {
        Some(t) if header.version == 0 && t.is_empty() => None,
        other => other,
    };
    let allow_create =
        ctx.config.auto_create_topics && (header.version < 4 || req.allow_auto_topic_creation);
    resp.topics = match requested {
        None => ctx
            .broker
            .topics()
            .iter()
            .map(|t| describe(ctx, t))
            .collect(),
        Some(topics) => topics
            .iter()
            .map(|t| {
                let name = t.name.as_ref().map(|n| n.as_str()).unwrap_or("");
                topic(ctx, name, allow_create)
            })
            .collect(),
    };
    resp
}

fn topic(ctx: &Context, name: &str, allow_create: bool) -> MetadataResponseTopic {
    if let Some(meta) = ctx.broker.topic(name) {
        return describe(ctx, &meta);
    }
    let error = |e: ResponseError| {
        MetadataResponseTopic::default()
            .with_name(Some(TopicName(sb(name))))
            .with_error_code(e.code())
    };
    if !allow_create || crate::topic::is_internal_topic(name) {
        return error(ResponseError::UnknownTopicOrPartition);
    }
    match ctx
        .broker
        .create_topic(name, ctx.default_partitions, &Default::default())
    {
        Ok(meta) => {
            info!(topic = %name, partitions = meta.partitions, "topic auto-created");
            describe(ctx, &meta)
        }
        Err(BrokerError::TopicAlreadyExists(_)) => match ctx.broker.topic(name) {
            Some(meta) => describe(ctx, &meta),
            None => error(ResponseError::LeaderNotAvailable),
        },
        Err(e) => error(e.response_error()),
    }
}

fn describe(ctx: &Context, t: &TopicMeta) -> MetadataResponseTopic {
    let node = BrokerId(ctx.node_id);
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(sb(t.name.clone()))))
        .with_topic_id(Uuid::from_bytes(t.id))
        .with_is_internal(crate::topic::is_internal_topic(&t.name))
        .with_topic_authorized_operations(i32::MIN)
        .with_partitions(
            (0..t.partitions)
                .map(|p| {
                    MetadataResponsePartition::default()
                        .with_partition_index(p)
                        .with_leader_id(node)
                        .with_leader_epoch(0)
                        .with_replica_nodes(vec![node])
                        .with_isr_nodes(vec![node])
                })
                .collect(),
        )
}
