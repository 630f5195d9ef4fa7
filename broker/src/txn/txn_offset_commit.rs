//! TxnOffsetCommit (v0–v3): a group's offsets, committed inside the producer's transaction:
//! written to `__consumer_offsets` as transactional records, visible to OffsetFetch only after
//! the transaction commits.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{TxnOffsetCommitRequest, TxnOffsetCommitResponse};

use super::add_partitions::wire_code;
use crate::group::CommittedOffset;
use crate::log::now_ms;
use crate::protocol::dispatch::{Context, Header};

/// Handle a TxnOffsetCommit request.
pub async fn handle(
    ctx: &Context,
    header: &Header,
    req: TxnOffsetCommitRequest,
) -> TxnOffsetCommitResponse {
    let group = req.group_id.as_str();
    // v3 (KIP-447) carries the consumer's generation: a zombie member may not commit.
    let group_error = if group.is_empty() || group.len() > i16::MAX as usize {
        Some(ResponseError::InvalidGroupId.code())
    } else if req.generation_id >= 0 {
        ctx.groups
            .with_existing(group, |g| {
                g.check_commit(req.member_id.as_str(), req.generation_id)
            })
            .and_then(|r| r.err())
    } else {
        None
    };
    let now = now_ms();
    let mut unknown = false;
    let mut entries = Vec::new();
    for t in &req.topics {
        let known = ctx.broker.topic(t.name.as_str());
        for p in &t.partitions {
            if known
                .as_ref()
                .is_none_or(|k| p.partition_index < 0 || p.partition_index >= k.partitions)
            {
                unknown = true;
            }
            entries.push((
                t.name.to_string(),
                p.partition_index,
                CommittedOffset {
                    offset: p.committed_offset,
                    leader_epoch: p.committed_leader_epoch,
                    metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
                    commit_timestamp: now,
                },
            ));
        }
    }
    let code = if let Some(e) = group_error {
        e
    } else if unknown {
        ResponseError::UnknownTopicOrPartition.code()
    } else {
        match ctx
            .txns
            .commit_offsets(
                req.transactional_id.as_str(),
                group,
                req.producer_id.0,
                req.producer_epoch,
                entries,
            )
            .await
        {
            Ok(()) => 0,
            Err(e) => wire_code(&e, header.version),
        }
    };
    let mut resp = TxnOffsetCommitResponse::default();
    resp.topics = req
        .topics
        .iter()
        .map(|t| {
            TxnOffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            TxnOffsetCommitResponsePartition::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(code)
                        })
                        .collect(),
                )
        })
        .collect();
    resp
}
