//! Committed offsets survive a restart: they are stored in `__consumer_offsets` and loaded back.

mod protocol_support;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use protocol_support::{Client, start, test_config};

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn commit(group: &str, topic: &str, offsets: &[(i32, i64)]) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id_or_member_epoch(-1)
        .with_member_id(s(""))
        .with_topics(vec![
            OffsetCommitRequestTopic::default()
                .with_name(TopicName(s(topic)))
                .with_partitions(
                    offsets
                        .iter()
                        .map(|(p, o)| {
                            OffsetCommitRequestPartition::default()
                                .with_partition_index(*p)
                                .with_committed_offset(*o)
                                .with_committed_metadata(Some(s("meta")))
                        })
                        .collect(),
                ),
        ])
}

#[tokio::test]
async fn offsets_committed_before_a_restart_are_fetched_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), test_config()).await;
    let mut c = Client::connect(server.addr).await;
    c.create_topic("clicks", 3).await;
    let resp = c.send(8, &commit("g1", "clicks", &[(0, 5), (2, 9)])).await;
    assert!(resp.topics[0].partitions.iter().all(|p| p.error_code == 0));
    // A later commit overrides an earlier one.
    c.send(8, &commit("g1", "clicks", &[(0, 7)])).await;
    c.send(2, &commit("g2", "clicks", &[(1, 1)])).await;
    let resp = c.send(8, &commit("g1", "missing", &[(0, 1)])).await;
    assert_eq!(
        resp.topics[0].partitions[0].error_code,
        ResponseError::UnknownTopicOrPartition.code()
    );
    server.stop().await;

    let server = start(dir.path(), test_config()).await;
    let mut c = Client::connect(server.addr).await;
    // v8+: several groups in one request; a null topic list means all the group's offsets.
    let req = OffsetFetchRequest::default().with_groups(vec![
        OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(s("g1")))
            .with_topics(Some(vec![
                OffsetFetchRequestTopics::default()
                    .with_name(TopicName(s("clicks")))
                    .with_partition_indexes(vec![0, 1, 2]),
            ])),
        OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(s("g2")))
            .with_topics(None),
    ]);
    let resp = c.send(8, &req).await;
    let g1: Vec<(i32, i64)> = resp.groups[0].topics[0]
        .partitions
        .iter()
        .map(|p| (p.partition_index, p.committed_offset))
        .collect();
    assert_eq!(g1, vec![(0, 7), (1, -1), (2, 9)]);
    assert_eq!(
        resp.groups[0].topics[0].partitions[2]
            .metadata
            .as_ref()
            .map(|m| m.as_str()),
        Some("meta")
    );
    let g2 = &resp.groups[1].topics[0];
    assert_eq!(g2.name.as_str(), "clicks");
    assert_eq!(g2.partitions[0].committed_offset, 1);

    // The single-group form (v1-v7) reads the same store.
    let req = OffsetFetchRequest::default()
        .with_group_id(GroupId(s("g1")))
        .with_topics(Some(vec![
            OffsetFetchRequestTopic::default()
                .with_name(TopicName(s("clicks")))
                .with_partition_indexes(vec![2]),
        ]));
    let resp = c.send(5, &req).await;
    assert_eq!(resp.topics[0].partitions[0].committed_offset, 9);
    server.stop().await;
}

#[tokio::test]
async fn members_of_a_live_group_must_name_their_generation() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), test_config()).await;
    let mut c = Client::connect(server.addr).await;
    c.create_topic("t", 1).await;
    let join = JoinGroupRequest::default()
        .with_group_id(GroupId(s("live")))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![
            join_group_request::JoinGroupRequestProtocol::default().with_name(s("range")),
        ]);
    let joined = c.send(3, &join).await;
    assert_eq!(joined.error_code, 0);
    let mut req = commit("live", "t", &[(0, 3)]);
    let resp = c.send(8, &req).await;
    assert_eq!(
        resp.topics[0].partitions[0].error_code,
        ResponseError::UnknownMemberId.code(),
        "a client outside a live group may not commit for it"
    );
    req.member_id = joined.member_id.clone();
    req.generation_id_or_member_epoch = joined.generation_id;
    let resp = c.send(8, &req).await;
    assert_eq!(
        resp.topics[0].partitions[0].error_code,
        ResponseError::RebalanceInProgress.code(),
        "no commits before the assignment is synced"
    );
    let synced = c
        .send(
            3,
            &SyncGroupRequest::default()
                .with_group_id(GroupId(s("live")))
                .with_member_id(joined.member_id.clone())
                .with_generation_id(joined.generation_id),
        )
        .await;
    assert_eq!(synced.error_code, 0);
    let resp = c.send(8, &req).await;
    assert_eq!(resp.topics[0].partitions[0].error_code, 0);
    server.stop().await;
}

#[tokio::test]
async fn deleted_groups_lose_their_offsets_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), test_config()).await;
    let mut c = Client::connect(server.addr).await;
    c.create_topic("t", 1).await;
    c.send(8, &commit("doomed", "t", &[(0, 4)])).await;
    c.send(8, &commit("kept", "t", &[(0, 6)])).await;
    let delete = DeleteGroupsRequest::default()
        .with_groups_names(vec![GroupId(s("doomed")), GroupId(s("never-existed"))]);
    let resp = c.send(2, &delete).await;
    assert_eq!(resp.results[0].error_code, 0);
    assert_eq!(
        resp.results[1].error_code,
        ResponseError::GroupIdNotFound.code()
    );
    server.stop().await;

    let server = start(dir.path(), test_config()).await;
    let mut c = Client::connect(server.addr).await;
    let fetch = |group: &str| {
        OffsetFetchRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_topics(Some(vec![
                OffsetFetchRequestTopic::default()
                    .with_name(TopicName(s("t")))
                    .with_partition_indexes(vec![0]),
            ]))
    };
    let doomed = c.send(7, &fetch("doomed")).await;
    assert_eq!(doomed.topics[0].partitions[0].committed_offset, -1);
    let kept = c.send(7, &fetch("kept")).await;
    assert_eq!(kept.topics[0].partitions[0].committed_offset, 6);
    let listed = c.send(4, &ListGroupsRequest::default()).await;
    let ids: Vec<&str> = listed.groups.iter().map(|g| g.group_id.as_str()).collect();
    assert_eq!(ids, vec!["kept"]);
    server.stop().await;
}

#[tokio::test]
async fn deleting_a_topic_drops_its_committed_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), test_config()).await;
    let mut c = Client::connect(server.addr).await;
    c.create_topic("again", 1).await;
    c.send(8, &commit("g", "again", &[(0, 12)])).await;
    let delete = DeleteTopicsRequest::default().with_topic_names(vec![TopicName(s("again"))]);
    assert_eq!(c.send(5, &delete).await.responses[0].error_code, 0);
    c.create_topic("again", 1).await;
    let fetch = OffsetFetchRequest::default()
        .with_group_id(GroupId(s("g")))
        .with_topics(Some(vec![
            OffsetFetchRequestTopic::default()
                .with_name(TopicName(s("again")))
                .with_partition_indexes(vec![0]),
        ]));
    let resp = c.send(7, &fetch).await;
    assert_eq!(resp.topics[0].partitions[0].committed_offset, -1);
    server.stop().await;
}
