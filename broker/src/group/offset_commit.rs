//! OffsetCommit: a consumer stores how far it has read, durably, before the commit is answered.

use std::time::{SystemTime, UNIX_EPOCH};

use kafka_protocol::ResponseError;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};
use tracing::warn;

use super::offsets::CommittedOffset;
use crate::protocol::dispatch::{Context, Header};

/// Largest metadata string stored with an offset (Kafka's `offset.metadata.max.bytes`).
const MAX_METADATA: usize = 4096;

/// Handle an OffsetCommit request.
pub async fn handle(
    ctx: &Context,
    _header: &Header,
    req: OffsetCommitRequest,
) -> OffsetCommitResponse {
    let group = req.group_id.as_str();
    let generation = req.generation_id_or_member_epoch;
    // Offsets are stored with Kafka's OffsetCommitKey, whose strings carry an INT16 length.
    let group_error = if group.is_empty() || group.len() > i16::MAX as usize {
        Some(ResponseError::InvalidGroupId.code())
    } else {
        ctx.groups
            .with_existing(group, |g| {
                g.check_commit(req.member_id.as_str(), generation)
            })
            .unwrap_or_else(|| {
                // No live group: only a client outside any group may commit.
                if generation < 0 {
                    Ok(())
                } else {
                    Err(ResponseError::UnknownMemberId.code())
                }
            })
            .err()
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let mut codes: Vec<Vec<i16>> = Vec::with_capacity(req.topics.len());
    let mut to_store = Vec::new();
    for topic in &req.topics {
        let known = ctx.broker.topic(topic.name.as_str());
        let mut topic_codes = Vec::with_capacity(topic.partitions.len());
        for p in &topic.partitions {
            let code = if let Some(e) = group_error {
                e
            } else if known
                .as_ref()
                .is_none_or(|t| p.partition_index < 0 || p.partition_index >= t.partitions)
            {
                ResponseError::UnknownTopicOrPartition.code()
            } else if p
                .committed_metadata
                .as_ref()
                .is_some_and(|m| m.len() > MAX_METADATA)
            {
                ResponseError::OffsetMetadataTooLarge.code()
            } else {
                to_store.push((
                    topic.name.to_string(),
                    p.partition_index,
                    CommittedOffset {
                        offset: p.committed_offset,
                        leader_epoch: p.committed_leader_epoch,
                        metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
                        commit_timestamp: now,
                    },
                ));
                0
            };
            topic_codes.push(code);
        }
        codes.push(topic_codes);
    }
    if let Err(err) = ctx.groups.offsets.commit(group, to_store).await {
        warn!(%group, %err, "offset commit failed");
        let failed = ResponseError::UnknownServerError.code();
        for c in codes.iter_mut().flatten().filter(|c| **c == 0) {
            *c = failed;
        }
    }
    let mut resp = OffsetCommitResponse::default();
    resp.topics = req
        .topics
        .iter()
        .zip(codes)
        .map(|(t, topic_codes)| {
            OffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .zip(topic_codes)
                        .map(|(p, code)| {
                            OffsetCommitResponsePartition::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(code)
                        })
                        .collect(),
                )
        })
        .collect();
    resp
}
