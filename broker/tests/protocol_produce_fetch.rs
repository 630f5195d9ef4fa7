//! Produce, Fetch, ListOffsets, Metadata and topic administration over the wire.

mod protocol_support;

use std::time::Duration;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use protocol_support::{Client, batch, start, test_config, values};

fn topic_name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn create(name: &str, partitions: i32) -> CreateTopicsRequest {
    CreateTopicsRequest::default()
        .with_topics(vec![
            CreatableTopic::default()
                .with_name(topic_name(name))
                .with_num_partitions(partitions)
                .with_replication_factor(1),
        ])
        .with_timeout_ms(5000)
}

fn produce(topic: &str, partition: i32, acks: i16, records: bytes::Bytes) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(5000)
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(topic_name(topic))
                .with_partition_data(vec![
                    PartitionProduceData::default()
                        .with_index(partition)
                        .with_records(Some(records)),
                ]),
        ])
}

fn fetch(topic: &str, partition: i32, offset: i64, max_wait_ms: i32) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![
            FetchTopic::default()
                .with_topic(topic_name(topic))
                .with_partitions(vec![
                    FetchPartition::default()
                        .with_partition(partition)
                        .with_fetch_offset(offset)
                        .with_partition_max_bytes(1 << 20),
                ]),
        ])
}

#[tokio::test]
async fn produce_then_fetch_round_trip_with_every_compression() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), test_config()).await;
    let mut c = Client::connect(server.addr).await;
    let created = c.send(7, &create("orders", 2)).await;
    assert_eq!(created.topics[0].error_code, 0);
    assert_eq!(created.topics[0].num_partitions, 2);

    let mut expected = Vec::new();
    let mut next = 0;
    for (i, compression) in [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ]
    .into_iter()
    .enumerate()
    {
        let vals = [format!("a{i}"), format!("b{i}")];
        let refs: Vec<&str> = vals.iter().map(String::as_str).collect();
        let resp = c
            .send(9, &produce("orders", 1, -1, batch(&refs, compression)))
            .await;
        let p = &resp.responses[0].partition_responses[0];
        assert_eq!(p.error_code, 0, "{compression:?}");
        assert_eq!(p.base_offset, next);
        for v in vals {
            expected.push((next, v));
            next += 1;
        }
    }

    let resp = c.send(12, &fetch("orders", 1, 0, 0)).await;
    let p = &resp.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    assert_eq!(p.high_watermark, 10);
    assert_eq!(p.last_stable_offset, 10);
    assert_eq!(p.log_start_offset, 0);
    assert_eq!(values(p.records.clone().unwrap()), expected);

    // The older Fetch v4 reads the same data.
    let resp = c.send(4, &fetch("orders", 1, 4, 0)).await;
    let got = values(resp.responses[0].partitions[0].records.clone().unwrap());
    assert_eq!(
        got.iter().find(|(o, _)| *o == 4).map(|(_, v)| v.as_str()),
        Some("a2")
    );

    // ListOffsets: earliest, latest, by timestamp.
    let list = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![
            ListOffsetsTopic::default()
                .with_name(topic_name("orders"))
                .with_partitions(
                    [-2i64, -1, 1_700_000_000_001]
                        .iter()
                        .map(|ts| {
                            ListOffsetsPartition::default()
                                .with_partition_index(1)
                                .with_timestamp(*ts)
                        })
                        .collect(),
                ),
        ]);
    let resp = c.send(5, &list).await;
    let offsets: Vec<i64> = resp.topics[0].partitions.iter().map(|p| p.offset).collect();
    assert_eq!(offsets, vec![0, 10, 1]);

    // Out of range and unknown partitions are per-partition errors.
    let resp = c.send(11, &fetch("orders", 1, 99, 0)).await;
    assert_eq!(
        resp.responses[0].partitions[0].error_code,
        ResponseError::OffsetOutOfRange.code()
    );
    let resp = c
        .send(
            9,
            &produce("orders", 7, 1, batch(&["x"], Compression::None)),
        )
        .await;
    assert_eq!(
        resp.responses[0].partition_responses[0].error_code,
        ResponseError::UnknownTopicOrPartition.code()
    );
    server.stop().await;
}

#[tokio::test]
async fn acks_zero_gets_no_response_and_order_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), test_config()).await;
    let mut c = Client::connect(server.addr).await;
    c.send(7, &create("fire", 1)).await;
    c.send_only(
        9,
        &produce("fire", 0, 0, batch(&["one"], Compression::None)),
    )
    .await;
    let id = c.send_only(3, &ApiVersionsRequest::default()).await;
    // The next frame answers the ApiVersions request: the acks=0 produce got none.
    let resp = c.recv::<ApiVersionsRequest>(3, id).await;
    assert_eq!(resp.error_code, 0);
    let resp = c.send(12, &fetch("fire", 0, 0, 0)).await;
    assert_eq!(
        values(resp.responses[0].partitions[0].records.clone().unwrap()).len(),
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn long_poll_fetch_wakes_when_data_arrives_and_blocks_no_one_else() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), test_config()).await;
    let mut admin = Client::connect(server.addr).await;
    admin.send(7, &create("events", 1)).await;

    let addr = server.addr;
    let poller = tokio::spawn(async move {
        let mut c = Client::connect(addr).await;
        // Wait up to 30 s for one byte.
        let resp = c.send(12, &fetch("events", 0, 0, 30_000)).await;
        values(resp.responses[0].partitions[0].records.clone().unwrap())
    });
    // While the fetch is parked, another connection is served.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!poller.is_finished(), "no data yet: the fetch waits");
    let meta = admin
        .send(12, &MetadataRequest::default().with_topics(None))
        .await;
    assert!(
        meta.topics
            .iter()
            .any(|t| t.name.as_ref().is_some_and(|n| n.as_str() == "events"))
    );
    let resp = admin
        .send(
            9,
            &produce("events", 0, 1, batch(&["wake"], Compression::None)),
        )
        .await;
    assert_eq!(resp.responses[0].partition_responses[0].error_code, 0);
    let got = poller.await.unwrap();
    assert_eq!(got, vec![(0, "wake".to_string())]);
    server.stop().await;
}

#[tokio::test]
async fn metadata_auto_creates_topics_only_when_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), test_config()).await;
    let mut c = Client::connect(server.addr).await;
    let ask = |name: &str, allow: bool| {
        MetadataRequest::default()
            .with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(topic_name(name))),
            ]))
            .with_allow_auto_topic_creation(allow)
    };
    let resp = c.send(12, &ask("nope", false)).await;
    assert_eq!(
        resp.topics[0].error_code,
        ResponseError::UnknownTopicOrPartition.code()
    );
    let resp = c.send(12, &ask("auto", true)).await;
    let t = &resp.topics[0];
    assert_eq!(t.error_code, 0);
    assert_eq!(t.partitions.len(), 1);
    assert_eq!(t.partitions[0].leader_id, resp.brokers[0].node_id);
    assert_eq!(t.partitions[0].isr_nodes, vec![resp.brokers[0].node_id]);
    assert!(!t.topic_id.is_nil());
    assert_eq!(resp.brokers[0].port, i32::from(server.addr.port()));
    let resp = c.send(12, &ask("bad name!", true)).await;
    assert_eq!(
        resp.topics[0].error_code,
        ResponseError::InvalidTopicException.code()
    );
    server.stop().await;
}

#[tokio::test]
async fn create_validate_describe_and_delete_topics() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), test_config()).await;
    let mut c = Client::connect(server.addr).await;
    let mut req = create("compacted", 3);
    req.topics[0].configs = vec![
        CreatableTopicConfig::default()
            .with_name(StrBytes::from_static_str("cleanup.policy"))
            .with_value(Some(StrBytes::from_static_str("compact"))),
    ];
    req.validate_only = true;
    let resp = c.send(5, &req).await;
    assert_eq!(resp.topics[0].error_code, 0);
    assert!(
        server.broker.topic("compacted").is_none(),
        "validate_only creates nothing"
    );

    req.topics[0].configs[0].name = StrBytes::from_static_str("cleanup.polcy");
    let resp = c.send(5, &req).await;
    assert_eq!(
        resp.topics[0].error_code,
        ResponseError::InvalidConfig.code()
    );

    req.validate_only = false;
    req.topics[0].configs[0].name = StrBytes::from_static_str("cleanup.policy");
    let resp = c.send(5, &req).await;
    assert_eq!(resp.topics[0].error_code, 0);
    let resp = c.send(5, &req).await;
    assert_eq!(
        resp.topics[0].error_code,
        ResponseError::TopicAlreadyExists.code()
    );

    let describe = DescribeConfigsRequest::default().with_resources(vec![
        describe_configs_request::DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_static_str("compacted"))
            .with_configuration_keys(None),
    ]);
    let resp = c.send(4, &describe).await;
    let policy = resp.results[0]
        .configs
        .iter()
        .find(|e| e.name.as_str() == "cleanup.policy")
        .unwrap();
    assert_eq!(policy.value.as_ref().unwrap().as_str(), "compact");

    let delete = DeleteTopicsRequest::default()
        .with_topic_names(vec![topic_name("compacted"), topic_name("missing")]);
    let resp = c.send(5, &delete).await;
    assert_eq!(resp.responses[0].error_code, 0);
    assert_eq!(
        resp.responses[1].error_code,
        ResponseError::UnknownTopicOrPartition.code()
    );
    assert!(server.broker.topic("compacted").is_none());

    let init = c
        .send(
            4,
            &InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(60_000),
        )
        .await;
    assert_eq!(init.error_code, 0);
    assert!(init.producer_id.0 >= 0);
    server.stop().await;
}

#[tokio::test]
async fn shutdown_ends_a_parked_long_poll() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), test_config()).await;
    let mut c = Client::connect(server.addr).await;
    c.send(7, &create("quiet", 1)).await;
    // A fetch that would wait 30 s for data that never comes.
    let id = c.send_only(12, &fetch("quiet", 0, 0, 30_000)).await;
    // Give the server the request before shutting down: a round trip on another connection and
    // a short pause (this only lets the fetch be read; nothing is measured).
    let mut other = Client::connect(server.addr).await;
    other.send(3, &ApiVersionsRequest::default()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.stop().await;
    // The parked fetch was answered (empty) when the server stopped, not after its 30 s.
    let resp = c.recv::<FetchRequest>(12, id).await;
    assert_eq!(resp.responses[0].partitions[0].error_code, 0);
    assert!(
        resp.responses[0].partitions[0]
            .records
            .as_ref()
            .unwrap()
            .is_empty()
    );
}
