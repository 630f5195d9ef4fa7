//! OffsetFetch: where a group left off. v0–v7 ask for one group; v8+ batch several groups.
//!
//! A partition without a committed offset answers offset -1 with no error, as Kafka does; a null
//! topic list means every partition the group has committed.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, TopicName};

use super::offsets::{CommittedOffset, OffsetStore};
use crate::protocol::dispatch::{Context, Header};
use crate::protocol::sb;

/// (topic, [(partition, committed offset)]) for one group.
type Lookup = Vec<(String, Vec<(i32, Option<CommittedOffset>)>)>;

fn lookup(store: &OffsetStore, group: &str, topics: Option<Vec<(String, Vec<i32>)>>) -> Lookup {
    match topics {
        Some(topics) => topics
            .into_iter()
            .map(|(topic, parts)| {
                let found = parts
                    .into_iter()
                    .map(|p| (p, store.fetch(group, &topic, p)))
                    .collect();
                (topic, found)
            })
            .collect(),
        None => {
            let mut out: Lookup = Vec::new();
            for (topic, p, v) in store.group_offsets(group) {
                match out.last_mut() {
                    Some((t, parts)) if *t == topic => parts.push((p, Some(v))),
                    _ => out.push((topic, vec![(p, Some(v))])),
                }
            }
            out
        }
    }
}

/// Handle an OffsetFetch request.
pub async fn handle(
    ctx: &Context,
    header: &Header,
    req: OffsetFetchRequest,
) -> OffsetFetchResponse {
    let store = &ctx.groups.offsets;
    let mut resp = OffsetFetchResponse::default();
    if header.version < 8 {
        let group = req.group_id.as_str();
        let topics = req.topics.map(|ts| {
            ts.into_iter()
                .map(|t| (t.name.to_string(), t.partition_indexes))
                .collect()
        });
        // The top-level error code exists from v2 on; v1 can only report per partition.
        if group.is_empty() && header.version >= 2 {
            resp.error_code = ResponseError::InvalidGroupId.code();
            return resp;
        }
        resp.topics = lookup(store, group, topics)
            .into_iter()
            .map(|(topic, parts)| {
                OffsetFetchResponseTopic::default()
                    .with_name(TopicName(sb(topic)))
                    .with_partitions(
                        parts
                            .into_iter()
                            .map(|(p, v)| {
                                let v = v.unwrap_or(CommittedOffset {
                                    offset: -1,
                                    leader_epoch: -1,
                                    metadata: None,
                                    commit_timestamp: 0,
                                });
                                OffsetFetchResponsePartition::default()
                                    .with_partition_index(p)
                                    .with_committed_offset(v.offset)
                                    .with_committed_leader_epoch(v.leader_epoch)
                                    .with_metadata(Some(sb(v.metadata.unwrap_or_default())))
                            })
                            .collect(),
                    )
            })
            .collect();
        return resp;
    }
    resp.groups = req
        .groups
        .into_iter()
        .map(|g| {
            let topics = g.topics.map(|ts| {
                ts.into_iter()
                    .map(|t| (t.name.to_string(), t.partition_indexes))
                    .collect()
            });
            let mut out = OffsetFetchResponseGroup::default().with_group_id(g.group_id.clone());
            if g.group_id.is_empty() {
                out.error_code = ResponseError::InvalidGroupId.code();
                return out;
            }
            out.topics = lookup(store, g.group_id.as_str(), topics)
                .into_iter()
                .map(|(topic, parts)| {
                    OffsetFetchResponseTopics::default()
                        .with_name(TopicName(sb(topic)))
                        .with_partitions(
                            parts
                                .into_iter()
                                .map(|(p, v)| {
                                    let (offset, epoch, meta) = v
                                        .map(|v| (v.offset, v.leader_epoch, v.metadata))
                                        .unwrap_or((-1, -1, None));
                                    OffsetFetchResponsePartitions::default()
                                        .with_partition_index(p)
                                        .with_committed_offset(offset)
                                        .with_committed_leader_epoch(epoch)
                                        .with_metadata(Some(sb(meta.unwrap_or_default())))
                                })
                                .collect(),
                        )
                })
                .collect();
            out
        })
        .collect();
    resp
}
