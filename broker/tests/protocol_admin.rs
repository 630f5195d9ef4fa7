//! CreatePartitions, AlterConfigs and IncrementalAlterConfigs over the wire, as an admin client
//! uses them: a grown topic takes produce and fetch on its new partitions, and a config change
//! shows in DescribeConfigs and survives a restart.

mod protocol_support;

use kafka_protocol::messages::create_partitions_request::{
    CreatePartitionsAssignment, CreatePartitionsTopic,
};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use protocol_support::{Client, batch, start, test_config, values};

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn t(v: &str) -> TopicName {
    TopicName(s(v))
}

fn grow(topic: &str, count: i32) -> CreatePartitionsTopic {
    CreatePartitionsTopic::default()
        .with_name(t(topic))
        .with_count(count)
        .with_assignments(None)
}

async fn create_partitions(
    c: &mut Client,
    topics: Vec<CreatePartitionsTopic>,
    validate_only: bool,
) -> Vec<(String, i16)> {
    let req = CreatePartitionsRequest::default()
        .with_timeout_ms(5000)
        .with_validate_only(validate_only)
        .with_topics(topics);
    c.send(3, &req)
        .await
        .results
        .into_iter()
        .map(|r| (r.name.to_string(), r.error_code))
        .collect()
}

async fn partition_count(c: &mut Client, topic: &str) -> usize {
    let req = MetadataRequest::default()
        .with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(t(topic))),
        ]))
        .with_allow_auto_topic_creation(false);
    c.send(12, &req).await.topics[0].partitions.len()
}

#[tokio::test]
async fn grown_topic_takes_produce_and_fetch_on_new_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), test_config()).await;
    let mut c = Client::connect(server.addr).await;
    c.create_topic("grow", 1).await;

    // validate_only checks and changes nothing.
    assert_eq!(
        create_partitions(&mut c, vec![grow("grow", 3)], true).await,
        vec![("grow".to_string(), 0)]
    );
    assert_eq!(partition_count(&mut c, "grow").await, 1);

    let one_replica = CreatePartitionsAssignment::default().with_broker_ids(vec![BrokerId(1)]);
    let grown = create_partitions(
        &mut c,
        vec![grow("grow", 3).with_assignments(Some(vec![one_replica.clone(); 2]))],
        false,
    )
    .await;
    assert_eq!(grown, vec![("grow".to_string(), 0)]);
    assert_eq!(partition_count(&mut c, "grow").await, 3);

    let produce = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(t("grow"))
                .with_partition_data(vec![
                    PartitionProduceData::default()
                        .with_index(2)
                        .with_records(Some(batch(&["new-a", "new-b"], Compression::None))),
                ]),
        ]);
    let resp = c.send(9, &produce).await;
    let p = &resp.responses[0].partition_responses[0];
    assert_eq!((p.error_code, p.base_offset), (0, 0));

    let fetch = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_bytes(1 << 20)
        .with_min_bytes(1)
        .with_topics(vec![
            FetchTopic::default()
                .with_topic(t("grow"))
                .with_partitions(vec![
                    FetchPartition::default()
                        .with_partition(2)
                        .with_partition_max_bytes(1 << 20),
                ]),
        ]);
    let resp = c.send(12, &fetch).await;
    let p = &resp.responses[0].partitions[0];
    assert_eq!((p.error_code, p.high_watermark), (0, 2));
    assert_eq!(
        values(p.records.clone().unwrap()),
        vec![(0, "new-a".to_string()), (1, "new-b".to_string())]
    );

    // Per-topic errors, as Kafka gives them.
    let refused = create_partitions(
        &mut c,
        vec![
            grow("grow", 3),
            grow("missing", 4),
            grow("twice", 2),
            grow("twice", 2),
            grow("grow-bad", 2).with_assignments(Some(vec![
                CreatePartitionsAssignment::default().with_broker_ids(vec![BrokerId(7)]),
            ])),
            grow("__consumer_offsets", 5),
        ],
        false,
    )
    .await;
    let codes: Vec<i16> = refused.iter().map(|(_, code)| *code).collect();
    assert_eq!(
        codes,
        vec![37, 3, 42, 42, 3, 17],
        "internal topics: INVALID_TOPIC_EXCEPTION"
    );
    // Assignments are checked once the topic exists: this broker must hold each new partition.
    c.create_topic("grow-bad", 1).await;
    let bad_assignment = create_partitions(
        &mut c,
        vec![grow("grow-bad", 2).with_assignments(Some(vec![
            CreatePartitionsAssignment::default().with_broker_ids(vec![BrokerId(7)]),
        ]))],
        false,
    )
    .await;
    assert_eq!(bad_assignment, vec![("grow-bad".to_string(), 39)]);
    assert_eq!(partition_count(&mut c, "grow-bad").await, 1);
    server.stop().await;

    // The new partitions and their data are there after a restart.
    let server = start(dir.path(), test_config()).await;
    let mut c = Client::connect(server.addr).await;
    assert_eq!(partition_count(&mut c, "grow").await, 3);
    let resp = c.send(12, &fetch).await;
    assert_eq!(resp.responses[0].partitions[0].high_watermark, 2);
    server.stop().await;
}

/// The (value, source) of each named config of `topic`, from DescribeConfigs.
async fn describe(c: &mut Client, topic: &str, names: &[&str]) -> Vec<(String, i8)> {
    let req = DescribeConfigsRequest::default().with_resources(vec![
        DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(s(topic))
            .with_configuration_keys(Some(names.iter().map(|n| s(n)).collect())),
    ]);
    let resp = c.send(4, &req).await;
    names
        .iter()
        .map(|n| {
            let e = resp.results[0]
                .configs
                .iter()
                .find(|e| e.name.as_str() == *n)
                .unwrap_or_else(|| panic!("{n} not described"));
            (
                e.value.as_ref().map(|v| v.to_string()).unwrap_or_default(),
                e.config_source,
            )
        })
        .collect()
}

fn incremental(
    topic: &str,
    ops: &[(&str, i8, Option<&str>)],
) -> incremental_alter_configs_request::AlterConfigsResource {
    incremental_alter_configs_request::AlterConfigsResource::default()
        .with_resource_type(2)
        .with_resource_name(s(topic))
        .with_configs(
            ops.iter()
                .map(|(name, op, value)| {
                    incremental_alter_configs_request::AlterableConfig::default()
                        .with_name(s(name))
                        .with_config_operation(*op)
                        .with_value(value.map(s))
                })
                .collect(),
        )
}

async fn incremental_alter(
    c: &mut Client,
    resources: Vec<incremental_alter_configs_request::AlterConfigsResource>,
    validate_only: bool,
) -> Vec<i16> {
    let req = IncrementalAlterConfigsRequest::default()
        .with_resources(resources)
        .with_validate_only(validate_only);
    c.send(1, &req)
        .await
        .responses
        .iter()
        .map(|r| r.error_code)
        .collect()
}

const TOPIC_SOURCE: i8 = 1;
const DEFAULT_SOURCE: i8 = 5;

#[tokio::test]
async fn config_changes_show_in_describe_configs_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), test_config()).await;
    let mut c = Client::connect(server.addr).await;
    c.create_topic("cfg", 1).await;
    let names = ["retention.ms", "cleanup.policy", "segment.bytes"];

    // validate_only: accepted, nothing changes.
    let checked = incremental_alter(
        &mut c,
        vec![incremental("cfg", &[("retention.ms", 0, Some("1234"))])],
        true,
    )
    .await;
    assert_eq!(checked, vec![0]);
    assert_eq!(
        describe(&mut c, "cfg", &names[..1]).await,
        vec![("604800000".to_string(), DEFAULT_SOURCE)]
    );

    let changed = incremental_alter(
        &mut c,
        vec![incremental(
            "cfg",
            &[
                ("retention.ms", 0, Some("1234")),
                ("cleanup.policy", 2, Some("compact")),
                ("segment.bytes", 0, Some("1048576")),
            ],
        )],
        false,
    )
    .await;
    assert_eq!(changed, vec![0]);
    assert_eq!(
        describe(&mut c, "cfg", &names).await,
        vec![
            ("1234".to_string(), TOPIC_SOURCE),
            // Described in Kafka's canonical order.
            ("compact,delete".to_string(), TOPIC_SOURCE),
            ("1048576".to_string(), TOPIC_SOURCE),
        ]
    );

    // Refusals are per resource and leave the topic as it was.
    let refused = incremental_alter(
        &mut c,
        vec![
            incremental("cfg", &[("retention.ms", 0, Some("soon"))]),
            incremental("missing", &[("retention.ms", 0, Some("1"))]),
        ],
        false,
    )
    .await;
    assert_eq!(refused, vec![40, 3]);
    assert_eq!(
        incremental_alter(
            &mut c,
            vec![incremental("cfg", &[("no.such.config", 0, Some("1"))])],
            false
        )
        .await,
        vec![40]
    );
    assert_eq!(
        describe(&mut c, "cfg", &names[..1]).await,
        vec![("1234".to_string(), TOPIC_SOURCE)]
    );

    // DELETE and SUBTRACT go back towards the defaults.
    let back = incremental_alter(
        &mut c,
        vec![incremental(
            "cfg",
            &[
                ("retention.ms", 1, None),
                ("cleanup.policy", 3, Some("delete")),
            ],
        )],
        false,
    )
    .await;
    assert_eq!(back, vec![0]);
    assert_eq!(
        describe(&mut c, "cfg", &names).await,
        vec![
            ("604800000".to_string(), DEFAULT_SOURCE),
            ("compact".to_string(), TOPIC_SOURCE),
            ("1048576".to_string(), TOPIC_SOURCE),
        ]
    );

    // The legacy AlterConfigs replaces the overrides: segment.bytes and cleanup.policy go back
    // to their defaults, retention.ms is set.
    let replace = AlterConfigsRequest::default().with_resources(vec![
        alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(s("cfg"))
            .with_configs(vec![
                alter_configs_request::AlterableConfig::default()
                    .with_name(s("retention.ms"))
                    .with_value(Some(s("86400000"))),
            ]),
        alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(s(""))
            .with_configs(vec![
                alter_configs_request::AlterableConfig::default()
                    .with_name(s("num.partitions"))
                    .with_value(Some(s("3"))),
            ]),
    ]);
    let resp = c.send(2, &replace).await;
    let codes: Vec<i16> = resp.responses.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, vec![0, 42], "broker configs are static");
    let expected = vec![
        ("86400000".to_string(), TOPIC_SOURCE),
        ("delete".to_string(), DEFAULT_SOURCE),
        ("1073741824".to_string(), DEFAULT_SOURCE),
    ];
    assert_eq!(describe(&mut c, "cfg", &names).await, expected);
    // The partition log follows the change at once.
    let log = server.broker.partition("cfg", 0).unwrap();
    assert_eq!(log.config().retention_ms, 86_400_000);
    drop(log);
    server.stop().await;

    let server = start(dir.path(), test_config()).await;
    let mut c = Client::connect(server.addr).await;
    assert_eq!(describe(&mut c, "cfg", &names).await, expected);
    assert_eq!(
        server
            .broker
            .partition("cfg", 0)
            .unwrap()
            .config()
            .retention_ms,
        86_400_000
    );
    server.stop().await;
}
