//! Every advertised version of every API answers a typical request with a response that decodes,
//! on a connection that stays open. kafka-protocol refuses to encode a field a version does not
//! have, so this catches a handler setting a field only newer versions carry (which would
//! otherwise close the client's connection).

mod protocol_support;

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use protocol_support::{Client, batch, start, test_config};
use sluice_broker::protocol::api_versions::SUPPORTED;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn t(v: &str) -> TopicName {
    TopicName(s(v))
}

fn versions(key: ApiKey) -> std::ops::RangeInclusive<i16> {
    let (_, min, max) = SUPPORTED.iter().find(|(k, _, _)| *k == key).unwrap();
    *min..=*max
}

#[tokio::test]
async fn every_served_version_of_every_api_answers() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), test_config()).await;
    let mut c = Client::connect(server.addr).await;

    for v in versions(ApiKey::ApiVersions) {
        assert_eq!(
            c.send(v, &ApiVersionsRequest::default()).await.error_code,
            0
        );
    }
    for v in versions(ApiKey::CreateTopics) {
        let req = CreateTopicsRequest::default().with_topics(vec![
            CreatableTopic::default()
                .with_name(t(&format!("t{v}")))
                .with_num_partitions(2)
                .with_replication_factor(1),
        ]);
        assert_eq!(
            c.send(v, &req).await.topics[0].error_code,
            0,
            "CreateTopics v{v}"
        );
    }
    for v in versions(ApiKey::Metadata) {
        let req = MetadataRequest::default().with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(t("t2"))),
        ]));
        let resp = c.send(v, &req).await;
        assert_eq!(resp.topics[0].partitions.len(), 2, "Metadata v{v}");
    }
    for v in versions(ApiKey::Produce) {
        let req = ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(5000)
            .with_topic_data(vec![
                TopicProduceData::default()
                    .with_name(t("t2"))
                    .with_partition_data(vec![
                        PartitionProduceData::default()
                            .with_index(0)
                            .with_records(Some(batch(&["x"], Compression::None))),
                        PartitionProduceData::default()
                            .with_index(9)
                            .with_records(Some(batch(&["x"], Compression::None))),
                    ]),
            ]);
        let resp = c.send(v, &req).await;
        let parts = &resp.responses[0].partition_responses;
        assert_eq!(parts[0].error_code, 0, "Produce v{v}");
        assert_ne!(
            parts[1].error_code, 0,
            "Produce v{v} to a missing partition"
        );
    }
    for v in versions(ApiKey::Fetch) {
        let req = FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_bytes(1 << 20)
            .with_min_bytes(1)
            .with_topics(vec![
                FetchTopic::default()
                    .with_topic(t("t2"))
                    .with_partitions(vec![
                        FetchPartition::default()
                            .with_partition(0)
                            .with_partition_max_bytes(1 << 20),
                        FetchPartition::default()
                            .with_partition(1)
                            .with_fetch_offset(5)
                            .with_partition_max_bytes(1 << 20),
                    ]),
            ]);
        let resp = c.send(v, &req).await;
        let parts = &resp.responses[0].partitions;
        assert_eq!(parts[0].error_code, 0, "Fetch v{v}");
        assert!(!parts[0].records.as_ref().unwrap().is_empty(), "Fetch v{v}");
        assert_ne!(parts[1].error_code, 0, "Fetch v{v} out of range");
    }
    for v in versions(ApiKey::ListOffsets) {
        let req = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![
                ListOffsetsTopic::default()
                    .with_name(t("t2"))
                    .with_partitions(vec![
                        ListOffsetsPartition::default()
                            .with_partition_index(0)
                            .with_timestamp(-1),
                    ]),
            ]);
        let resp = c.send(v, &req).await;
        assert_eq!(resp.topics[0].partitions[0].offset, 9, "ListOffsets v{v}");
    }
    for v in versions(ApiKey::DescribeConfigs) {
        let req = DescribeConfigsRequest::default().with_resources(vec![
            DescribeConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(s("t2"))
                .with_configuration_keys(None),
            DescribeConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(s("nope"))
                .with_configuration_keys(None),
        ]);
        let resp = c.send(v, &req).await;
        assert!(!resp.results[0].configs.is_empty(), "DescribeConfigs v{v}");
        assert_ne!(resp.results[1].error_code, 0, "DescribeConfigs v{v}");
    }
    for v in versions(ApiKey::InitProducerId) {
        let req = InitProducerIdRequest::default().with_transactional_id(None);
        assert_eq!(c.send(v, &req).await.error_code, 0, "InitProducerId v{v}");
    }
    for v in versions(ApiKey::FindCoordinator) {
        let req = if v < 4 {
            FindCoordinatorRequest::default().with_key(s("g"))
        } else {
            FindCoordinatorRequest::default().with_coordinator_keys(vec![s("g")])
        };
        let resp = c.send(v, &req).await;
        let port = if v < 4 {
            resp.port
        } else {
            resp.coordinators[0].port
        };
        assert_eq!(port, i32::from(server.addr.port()), "FindCoordinator v{v}");
    }
    for v in versions(ApiKey::OffsetCommit) {
        let req = OffsetCommitRequest::default()
            .with_group_id(GroupId(s("committer")))
            .with_generation_id_or_member_epoch(-1)
            .with_topics(vec![
                OffsetCommitRequestTopic::default()
                    .with_name(t("t2"))
                    .with_partitions(vec![
                        OffsetCommitRequestPartition::default()
                            .with_partition_index(0)
                            .with_committed_offset(i64::from(v)),
                    ]),
            ]);
        let resp = c.send(v, &req).await;
        assert_eq!(
            resp.topics[0].partitions[0].error_code, 0,
            "OffsetCommit v{v}"
        );
    }
    for v in versions(ApiKey::OffsetFetch) {
        let offset = if v < 8 {
            let req = OffsetFetchRequest::default()
                .with_group_id(GroupId(s("committer")))
                .with_topics(Some(vec![
                    OffsetFetchRequestTopic::default()
                        .with_name(t("t2"))
                        .with_partition_indexes(vec![0]),
                ]));
            c.send(v, &req).await.topics[0].partitions[0].committed_offset
        } else {
            let req = OffsetFetchRequest::default().with_groups(vec![
                OffsetFetchRequestGroup::default()
                    .with_group_id(GroupId(s("committer")))
                    .with_topics(Some(vec![
                        OffsetFetchRequestTopics::default()
                            .with_name(t("t2"))
                            .with_partition_indexes(vec![0]),
                    ])),
            ]);
            c.send(v, &req).await.groups[0].topics[0].partitions[0].committed_offset
        };
        assert_eq!(offset, 8, "OffsetFetch v{v}");
    }
    for v in versions(ApiKey::JoinGroup) {
        let group = GroupId(s(&format!("join{v}")));
        let join = |member: StrBytes| {
            JoinGroupRequest::default()
                .with_group_id(group.clone())
                .with_session_timeout_ms(10_000)
                .with_rebalance_timeout_ms(if v == 0 { -1 } else { 10_000 })
                .with_member_id(member)
                .with_protocol_type(s("consumer"))
                .with_protocols(vec![
                    JoinGroupRequestProtocol::default()
                        .with_name(s("range"))
                        .with_metadata(Bytes::from_static(b"m")),
                ])
        };
        let mut resp = c.send(v, &join(s(""))).await;
        if v >= 4 {
            resp = c.send(v, &join(resp.member_id.clone())).await;
        }
        assert_eq!(resp.error_code, 0, "JoinGroup v{v}");
        assert_eq!(resp.members.len(), 1, "JoinGroup v{v}");
        let member = resp.member_id.clone();
        let sv = v.min(*versions(ApiKey::SyncGroup).end());
        let sync = SyncGroupRequest::default()
            .with_group_id(group.clone())
            .with_member_id(member.clone())
            .with_generation_id(resp.generation_id);
        assert_eq!(c.send(sv, &sync).await.error_code, 0, "SyncGroup v{sv}");
        let hv = v.min(*versions(ApiKey::Heartbeat).end());
        let hb = HeartbeatRequest::default()
            .with_group_id(group.clone())
            .with_member_id(member.clone())
            .with_generation_id(resp.generation_id);
        assert_eq!(c.send(hv, &hb).await.error_code, 0, "Heartbeat v{hv}");
        let dv = v.min(*versions(ApiKey::DescribeGroups).end());
        let described = c
            .send(
                dv,
                &DescribeGroupsRequest::default().with_groups(vec![group.clone()]),
            )
            .await;
        assert_eq!(described.groups[0].members.len(), 1, "DescribeGroups v{dv}");
        let lv = v.min(*versions(ApiKey::LeaveGroup).end());
        let leave = if lv < 3 {
            LeaveGroupRequest::default()
                .with_group_id(group.clone())
                .with_member_id(member)
        } else {
            LeaveGroupRequest::default()
                .with_group_id(group.clone())
                .with_members(vec![MemberIdentity::default().with_member_id(member)])
        };
        let left = c.send(lv, &leave).await;
        let code = if lv < 3 {
            left.error_code
        } else {
            left.members[0].error_code
        };
        assert_eq!(code, 0, "LeaveGroup v{lv}");
    }
    for v in versions(ApiKey::ListGroups) {
        let resp = c.send(v, &ListGroupsRequest::default()).await;
        assert!(
            resp.groups
                .iter()
                .any(|g| g.group_id.as_str() == "committer"),
            "ListGroups v{v}"
        );
    }
    for v in versions(ApiKey::DeleteGroups) {
        let group = GroupId(s(&format!("del{v}")));
        let commit = OffsetCommitRequest::default()
            .with_group_id(group.clone())
            .with_generation_id_or_member_epoch(-1)
            .with_topics(vec![
                OffsetCommitRequestTopic::default()
                    .with_name(t("t2"))
                    .with_partitions(vec![OffsetCommitRequestPartition::default()]),
            ]);
        c.send(8, &commit).await;
        let req =
            DeleteGroupsRequest::default().with_groups_names(vec![group, GroupId(s("ghost"))]);
        let resp = c.send(v, &req).await;
        assert_eq!(resp.results[0].error_code, 0, "DeleteGroups v{v}");
        assert_ne!(resp.results[1].error_code, 0, "DeleteGroups v{v}");
    }
    for v in versions(ApiKey::DeleteRecords) {
        let req = DeleteRecordsRequest::default().with_topics(vec![
            delete_records_request::DeleteRecordsTopic::default()
                .with_name(t("t2"))
                .with_partitions(vec![
                    delete_records_request::DeleteRecordsPartition::default()
                        .with_partition_index(0)
                        .with_offset(i64::from(v) + 1),
                    delete_records_request::DeleteRecordsPartition::default()
                        .with_partition_index(0)
                        .with_offset(1_000),
                ]),
        ]);
        let resp = c.send(v, &req).await;
        let parts = &resp.topics[0].partitions;
        assert_eq!(parts[0].error_code, 0, "DeleteRecords v{v}");
        assert_eq!(
            parts[0].low_watermark,
            i64::from(v) + 1,
            "DeleteRecords v{v}"
        );
        assert_ne!(
            parts[1].error_code, 0,
            "DeleteRecords v{v} past the high-water mark"
        );
    }
    for v in versions(ApiKey::CreatePartitions) {
        let name = format!("grow{v}");
        c.create_topic(&name, 1).await;
        let grow = |count: i32, validate_only: bool| {
            CreatePartitionsRequest::default()
                .with_timeout_ms(5000)
                .with_validate_only(validate_only)
                .with_topics(vec![
                    create_partitions_request::CreatePartitionsTopic::default()
                        .with_name(t(&name))
                        .with_count(count),
                    create_partitions_request::CreatePartitionsTopic::default()
                        .with_name(t("nope"))
                        .with_count(2),
                ])
        };
        let checked = c.send(v, &grow(5, true)).await;
        assert_eq!(checked.results[0].error_code, 0, "CreatePartitions v{v}");
        assert_eq!(server.broker.topic(&name).unwrap().partitions, 1);
        let resp = c.send(v, &grow(3, false)).await;
        assert_eq!(resp.results[0].name.as_str(), name);
        assert_eq!(resp.results[0].error_code, 0, "CreatePartitions v{v}");
        assert_eq!(resp.results[1].error_code, 3, "CreatePartitions v{v}");
        assert_eq!(server.broker.topic(&name).unwrap().partitions, 3);
        let shrink = c.send(v, &grow(2, false)).await;
        assert_eq!(shrink.results[0].error_code, 37, "CreatePartitions v{v}");
    }
    for v in versions(ApiKey::AlterConfigs) {
        let value = format!("{}", 60_000 + i64::from(v));
        let req = AlterConfigsRequest::default().with_resources(vec![
            alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(s("t2"))
                .with_configs(vec![
                    alter_configs_request::AlterableConfig::default()
                        .with_name(s("retention.ms"))
                        .with_value(Some(s(&value))),
                ]),
            alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(s("nope")),
        ]);
        let resp = c.send(v, &req).await;
        assert_eq!(resp.responses[0].error_code, 0, "AlterConfigs v{v}");
        assert_eq!(resp.responses[0].resource_name.as_str(), "t2");
        assert_eq!(resp.responses[1].error_code, 3, "AlterConfigs v{v}");
        let config = server.broker.topic("t2").unwrap().config;
        assert_eq!(config.overrides.get("retention.ms"), Some(&value));
    }
    for v in versions(ApiKey::IncrementalAlterConfigs) {
        let value = format!("{}", 2_000_000 + i64::from(v));
        let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
            incremental_alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(s("t2"))
                .with_configs(vec![
                    incremental_alter_configs_request::AlterableConfig::default()
                        .with_name(s("max.message.bytes"))
                        .with_config_operation(0)
                        .with_value(Some(s(&value))),
                    incremental_alter_configs_request::AlterableConfig::default()
                        .with_name(s("retention.ms"))
                        .with_config_operation(1),
                ]),
            incremental_alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(s("nope")),
        ]);
        let resp = c.send(v, &req).await;
        assert_eq!(
            resp.responses[0].error_code, 0,
            "IncrementalAlterConfigs v{v}"
        );
        assert_eq!(
            resp.responses[1].error_code, 3,
            "IncrementalAlterConfigs v{v}"
        );
        let config = server.broker.topic("t2").unwrap().config;
        assert_eq!(config.overrides.get("max.message.bytes"), Some(&value));
        assert!(!config.overrides.contains_key("retention.ms"));
    }
    for v in versions(ApiKey::DeleteTopics) {
        let req = DeleteTopicsRequest::default().with_topic_names(vec![t(&format!("t{}", v + 2))]);
        assert_eq!(
            c.send(v, &req).await.responses[0].error_code,
            0,
            "DeleteTopics v{v}"
        );
    }
    server.stop().await;
}
