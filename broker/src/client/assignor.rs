//! The "consumer" group protocol's payloads and the range assignor.
//!
//! Members of a Kafka consumer group exchange their subscriptions (JoinGroup metadata) and
//! assignments (SyncGroup) as `ConsumerProtocolSubscription` / `ConsumerProtocolAssignment`
//! structs prefixed with an int16 version. The leader computes the assignment; the range
//! assignor does it as Kafka's `RangeAssignor`: per topic, members sorted by id take consecutive
//! ranges of partitions, the first `partitions % members` members one more.

use std::collections::BTreeMap;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::{
    ConsumerProtocolAssignment, TopicPartition as AssignedPartitions,
};
use kafka_protocol::messages::{ConsumerProtocolSubscription, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use super::error::{ClientError, Result};

/// The assignor's name in JoinGroup, as Kafka's Java client calls it.
pub const RANGE_ASSIGNOR: &str = "range";

/// Version of the subscription and assignment payloads this client writes.
const WRITE_VERSION: i16 = 0;
/// Highest payload version this client decodes; newer versions only append fields.
const READ_MAX_VERSION: i16 = 3;

fn bad(what: &'static str, e: impl std::fmt::Display) -> ClientError {
    ClientError::Protocol {
        api: what,
        reason: e.to_string(),
    }
}

/// Encodes a subscription to `topics`.
pub fn encode_subscription(topics: &[String]) -> Result<Bytes> {
    let mut subscription = ConsumerProtocolSubscription::default();
    subscription.topics = topics
        .iter()
        .map(|t| StrBytes::from_string(t.clone()))
        .collect();
    let mut buf = BytesMut::new();
    buf.put_i16(WRITE_VERSION);
    subscription
        .encode(&mut buf, WRITE_VERSION)
        .map_err(|e| bad("consumer subscription", e))?;
    Ok(buf.freeze())
}

/// Decodes a member's subscription into its topics.
pub fn decode_subscription(mut bytes: Bytes) -> Result<Vec<String>> {
    if bytes.len() < 2 {
        return Err(bad("consumer subscription", "shorter than its version"));
    }
    let version = bytes.get_i16().clamp(0, READ_MAX_VERSION);
    let subscription = ConsumerProtocolSubscription::decode(&mut bytes, version)
        .map_err(|e| bad("consumer subscription", e))?;
    Ok(subscription.topics.iter().map(|t| t.to_string()).collect())
}

/// Encodes an assignment: topic -> partitions.
pub fn encode_assignment(assignment: &BTreeMap<String, Vec<i32>>) -> Result<Bytes> {
    let mut message = ConsumerProtocolAssignment::default();
    message.assigned_partitions = assignment
        .iter()
        .map(|(topic, partitions)| {
            let mut entry = AssignedPartitions::default();
            entry.topic = TopicName(StrBytes::from_string(topic.clone()));
            entry.partitions = partitions.clone();
            entry
        })
        .collect();
    let mut buf = BytesMut::new();
    buf.put_i16(WRITE_VERSION);
    message
        .encode(&mut buf, WRITE_VERSION)
        .map_err(|e| bad("consumer assignment", e))?;
    Ok(buf.freeze())
}

/// Decodes an assignment into (topic, partition) pairs. An empty payload is an empty
/// assignment (a member that got nothing).
pub fn decode_assignment(mut bytes: Bytes) -> Result<Vec<(String, i32)>> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    if bytes.len() < 2 {
        return Err(bad("consumer assignment", "shorter than its version"));
    }
    let version = bytes.get_i16().clamp(0, READ_MAX_VERSION);
    let message = ConsumerProtocolAssignment::decode(&mut bytes, version)
        .map_err(|e| bad("consumer assignment", e))?;
    let mut out = Vec::new();
    for entry in message.assigned_partitions {
        for p in entry.partitions {
            out.push((entry.topic.0.to_string(), p));
        }
    }
    Ok(out)
}

/// Kafka's range assignment. `subscriptions`: member id -> topics; `partition_counts`: topic ->
/// number of partitions (topics missing from it are skipped). Returns member id -> topic ->
/// partitions, with an entry for every member.
pub fn range_assign(
    subscriptions: &BTreeMap<String, Vec<String>>,
    partition_counts: &BTreeMap<String, i32>,
) -> BTreeMap<String, BTreeMap<String, Vec<i32>>> {
    let mut result: BTreeMap<String, BTreeMap<String, Vec<i32>>> = subscriptions
        .keys()
        .map(|m| (m.clone(), BTreeMap::new()))
        .collect();
    for (topic, &count) in partition_counts {
        // BTreeMap keys are sorted, as Kafka sorts members by id.
        let members: Vec<&String> = subscriptions
            .iter()
            .filter(|(_, topics)| topics.contains(topic))
            .map(|(m, _)| m)
            .collect();
        if members.is_empty() || count <= 0 {
            continue;
        }
        let n = members.len() as i32;
        let per_member = count / n;
        let extra = count % n;
        for (i, member) in members.iter().enumerate() {
            let i = i as i32;
            let start = per_member * i + i.min(extra);
            let len = per_member + i32::from(i < extra);
            if len == 0 {
                continue;
            }
            if let Some(topics) = result.get_mut(*member) {
                topics.insert(topic.clone(), (start..start + len).collect());
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_matches_kafka() {
        // Kafka's RangeAssignor: 3 partitions over 2 members -> [0,1] and [2].
        let subs: BTreeMap<String, Vec<String>> = [
            ("m2".to_owned(), vec!["t".to_owned(), "u".to_owned()]),
            ("m1".to_owned(), vec!["t".to_owned(), "u".to_owned()]),
        ]
        .into();
        let counts: BTreeMap<String, i32> = [("t".to_owned(), 3), ("u".to_owned(), 1)].into();
        let a = range_assign(&subs, &counts);
        assert_eq!(a["m1"]["t"], vec![0, 1]);
        assert_eq!(a["m2"]["t"], vec![2]);
        assert_eq!(a["m1"]["u"], vec![0]);
        assert!(!a["m2"].contains_key("u"));
    }

    #[test]
    fn more_members_than_partitions_leaves_some_empty() {
        let subs: BTreeMap<String, Vec<String>> = (0..3)
            .map(|i| (format!("m{i}"), vec!["t".to_owned()]))
            .collect();
        let counts: BTreeMap<String, i32> = [("t".to_owned(), 2)].into();
        let a = range_assign(&subs, &counts);
        assert_eq!(a["m0"]["t"], vec![0]);
        assert_eq!(a["m1"]["t"], vec![1]);
        assert!(a["m2"].is_empty());
    }

    #[test]
    fn payloads_round_trip() {
        let topics = vec!["orders".to_owned(), "users".to_owned()];
        assert_eq!(
            decode_subscription(encode_subscription(&topics).unwrap()).unwrap(),
            topics
        );
        let assignment: BTreeMap<String, Vec<i32>> = [("orders".to_owned(), vec![0, 2])].into();
        assert_eq!(
            decode_assignment(encode_assignment(&assignment).unwrap()).unwrap(),
            vec![("orders".to_owned(), 0), ("orders".to_owned(), 2)]
        );
        assert!(decode_assignment(Bytes::new()).unwrap().is_empty());
        assert!(decode_subscription(Bytes::from_static(&[0])).is_err());
    }
}
