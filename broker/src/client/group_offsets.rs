//! Committed offsets of a consumer group: OffsetCommit and OffsetFetch against the group
//! coordinator, at whichever version the coordinator speaks (v8+ batches groups).

use std::collections::BTreeMap;

use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::{GroupId, OffsetCommitRequest, OffsetFetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::client::Client;
use super::error::{Result, check};

/// Commits `offsets` (topic, partition -> next offset to read) as `member_id` of `generation`.
pub(super) async fn commit(
    coordinator: &Client,
    group: &str,
    generation: i32,
    member_id: &str,
    offsets: &BTreeMap<(String, i32), i64>,
) -> Result<()> {
    if offsets.is_empty() {
        return Ok(());
    }
    let mut by_topic: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
    for ((topic, partition), offset) in offsets {
        let mut p = OffsetCommitRequestPartition::default();
        p.partition_index = *partition;
        p.committed_offset = *offset;
        p.committed_metadata = Some(StrBytes::from_static_str(""));
        by_topic.entry(topic).or_default().push(p);
    }
    let mut request = OffsetCommitRequest::default();
    request.group_id = group_id(group);
    request.generation_id_or_member_epoch = generation;
    request.member_id = StrBytes::from_string(member_id.to_owned());
    request.topics = by_topic
        .into_iter()
        .map(|(topic, partitions)| {
            let mut t = OffsetCommitRequestTopic::default();
            t.name = topic_name(topic);
            t.partitions = partitions;
            t
        })
        .collect();
    let response = coordinator.request(&request).await?;
    for topic in response.topics {
        for p in topic.partitions {
            check(
                p.error_code,
                || {
                    format!(
                        "commit offset of {}-{} for group {:?}",
                        topic.name.0, p.partition_index, group
                    )
                },
                None,
            )?;
        }
    }
    Ok(())
}

/// OffsetFetch for `partitions`: (topic, partition) -> committed offset (-1 when none).
pub(super) async fn fetch_committed(
    coordinator: &Client,
    group: &str,
    member_id: &str,
    partitions: &[(String, i32)],
) -> Result<BTreeMap<(String, i32), i64>> {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (topic, partition) in partitions {
        by_topic.entry(topic).or_default().push(*partition);
    }
    let mut out = BTreeMap::new();
    if by_topic.is_empty() {
        return Ok(out);
    }
    let version = coordinator.version::<OffsetFetchRequest>()?;
    let mut request = OffsetFetchRequest::default();
    let context = || format!("fetch committed offsets of group {group:?}");
    if version >= 8 {
        let mut entry = OffsetFetchRequestGroup::default();
        entry.group_id = group_id(group);
        if version >= 9 {
            entry.member_id = Some(StrBytes::from_string(member_id.to_owned()));
            entry.member_epoch = -1;
        }
        entry.topics = Some(
            by_topic
                .iter()
                .map(|(topic, partitions)| {
                    let mut t = OffsetFetchRequestTopics::default();
                    t.name = topic_name(topic);
                    t.partition_indexes = partitions.clone();
                    t
                })
                .collect(),
        );
        request.groups = vec![entry];
        let response = coordinator.request(&request).await?;
        for group in response.groups {
            check(group.error_code, context, None)?;
            for topic in group.topics {
                for p in topic.partitions {
                    check(p.error_code, context, None)?;
                    out.insert(
                        (topic.name.0.to_string(), p.partition_index),
                        p.committed_offset,
                    );
                }
            }
        }
    } else {
        request.group_id = group_id(group);
        request.topics = Some(
            by_topic
                .iter()
                .map(|(topic, partitions)| {
                    let mut t = OffsetFetchRequestTopic::default();
                    t.name = topic_name(topic);
                    t.partition_indexes = partitions.clone();
                    t
                })
                .collect(),
        );
        let response = coordinator.request(&request).await?;
        check(response.error_code, context, None)?;
        for topic in response.topics {
            for p in topic.partitions {
                check(p.error_code, context, None)?;
                out.insert(
                    (topic.name.0.to_string(), p.partition_index),
                    p.committed_offset,
                );
            }
        }
    }
    Ok(out)
}

fn group_id(s: &str) -> GroupId {
    GroupId(StrBytes::from_string(s.to_owned()))
}

fn topic_name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_owned()))
}
