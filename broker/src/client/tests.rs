//! The client against the real in-process Kafka server: each test starts the broker on a
//! temporary directory and the wire server on an ephemeral loopback port.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{FetchRequest, JoinGroupRequest, ProduceRequest};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::*;
use crate::protocol::{ServerConfig, serve};
use crate::{Broker, BrokerConfig};

/// A server for one test; stops when dropped.
struct TestServer {
    addr: String,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

async fn start_server() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::open(BrokerConfig::new(dir.path())).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mut config = ServerConfig::default();
    config.group.initial_rebalance_delay = Duration::from_millis(200);
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve(broker, listener, config, async move {
        let _ = stopped.await;
    }));
    TestServer {
        addr,
        _stop: stop,
        _dir: dir,
    }
}

fn record(key: &str, value: &str) -> ProducerRecord {
    ProducerRecord::new(
        Some(Bytes::copy_from_slice(key.as_bytes())),
        Bytes::copy_from_slice(value.as_bytes()),
    )
}

async fn read_all(client: &Client, topic: &str, expected: usize) -> Vec<ConsumerRecord> {
    let mut consumer = Consumer::new(client.clone(), StartFrom::Earliest);
    consumer
        .assign_topic(topic, StartFrom::Earliest)
        .await
        .unwrap();
    let mut out = Vec::new();
    for _ in 0..50 {
        if out.len() >= expected {
            break;
        }
        out.extend(consumer.poll(Duration::from_millis(200)).await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negotiates_versions_within_both_ranges() {
    let server = start_server().await;
    let client = Client::connect(&server.addr).await.unwrap();
    let produce = client.version::<ProduceRequest>().unwrap();
    assert!((3..=12).contains(&produce), "produce v{produce}");
    let fetch = client.version::<FetchRequest>().unwrap();
    assert!((4..=12).contains(&fetch), "fetch v{fetch}");
    assert!(client.version::<JoinGroupRequest>().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_admin_round_trip() {
    let server = start_server().await;
    let client = Client::connect(&server.addr).await.unwrap();
    let configs: BTreeMap<String, String> =
        [("retention.ms".to_owned(), "60000".to_owned())].into();
    client.create_topic("orders", 3, &configs).await.unwrap();

    let dup = client
        .create_topic("orders", 3, &configs)
        .await
        .unwrap_err();
    assert_eq!(dup.kafka_code(), Some(36), "{dup}");
    assert!(dup.to_string().contains("TOPIC_ALREADY_EXISTS"), "{dup}");

    let info = client.topic("orders").await.unwrap();
    assert_eq!(
        info.partitions
            .iter()
            .map(|p| p.partition)
            .collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    let names: Vec<String> = client
        .metadata(None)
        .await
        .unwrap()
        .topics
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(names.contains(&"orders".to_owned()), "{names:?}");

    let described = client.describe_topic_configs("orders").await.unwrap();
    let retention = described.iter().find(|c| c.name == "retention.ms").unwrap();
    assert_eq!(retention.value.as_deref(), Some("60000"));
    assert!(!retention.is_default);

    client.delete_topic("orders").await.unwrap();
    assert!(matches!(
        client.topic("orders").await,
        Err(ClientError::UnknownTopic { .. })
    ));
    assert!(matches!(
        client.delete_topic("orders").await,
        Err(ClientError::UnknownTopic { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_records_land_on_the_murmur2_partition() {
    let server = start_server().await;
    let client = Client::connect(&server.addr).await.unwrap();
    client
        .create_topic("keyed", 4, &BTreeMap::new())
        .await
        .unwrap();
    let mut producer = Producer::new(client.clone(), ProducerConfig::default());
    let keys: Vec<String> = (0..40).map(|i| format!("user-{i}")).collect();
    for (i, key) in keys.iter().enumerate() {
        producer
            .send("keyed", record(key, &format!("v{i}")))
            .await
            .unwrap();
    }
    assert_eq!(producer.flush().await.unwrap(), 40);

    let records = read_all(&client, "keyed", 40).await;
    assert_eq!(records.len(), 40);
    for r in &records {
        let key = r.key.as_deref().unwrap();
        assert_eq!(r.partition, partition_for_key(key, 4), "key {key:?}");
    }
    // Within a partition, records keep the order they were sent in.
    for p in 0..4 {
        let values: Vec<usize> = records
            .iter()
            .filter(|r| r.partition == p)
            .map(|r| {
                std::str::from_utf8(&r.value.as_deref().unwrap()[1..])
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        assert!(
            values.windows(2).all(|w| w[0] < w[1]),
            "partition {p}: {values:?}"
        );
    }
    let ends = client
        .list_offsets("keyed", &[], OffsetSpec::Latest)
        .await
        .unwrap();
    assert_eq!(ends.values().sum::<i64>(), 40);
    let starts = client
        .list_offsets("keyed", &[], OffsetSpec::Earliest)
        .await
        .unwrap();
    assert!(starts.values().all(|&o| o == 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_producer_delivers_every_record_once() {
    let server = start_server().await;
    let client = Client::connect(&server.addr).await.unwrap();
    client
        .create_topic("bulk", 2, &BTreeMap::new())
        .await
        .unwrap();
    // Tiny batches and several in flight: many requests share the connection at once.
    let config = ProducerConfig {
        acks: Acks::All,
        batch_bytes: 2048,
        max_in_flight: 6,
        ..ProducerConfig::default()
    };
    let mut producer = Producer::new(client.clone(), config);
    let n = 5000;
    for i in 0..n {
        let r = ProducerRecord::new(None::<Bytes>, Bytes::from(format!("{i:06}")));
        producer.send("bulk", r).await.unwrap();
    }
    assert_eq!(producer.flush().await.unwrap(), n);
    let records = read_all(&client, "bulk", n as usize).await;
    let mut values: Vec<String> = records
        .iter()
        .map(|r| String::from_utf8(r.value.as_deref().unwrap().to_vec()).unwrap())
        .collect();
    values.sort();
    values.dedup();
    assert_eq!(values.len(), n as usize);
    // Round robin spreads unkeyed records over both partitions.
    assert!(records.iter().any(|r| r.partition == 0) && records.iter().any(|r| r.partition == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_zero_and_produce_errors() {
    let server = start_server().await;
    let client = Client::connect(&server.addr).await.unwrap();
    client
        .create_topic("fire", 1, &BTreeMap::new())
        .await
        .unwrap();
    let ack = produce_batch(
        &client,
        "fire",
        0,
        vec![record("k", "a"), record("k", "b")],
        Acks::None,
    )
    .await
    .unwrap();
    assert_eq!(ack.base_offset, -1);
    let ack = produce_batch(&client, "fire", 0, vec![record("k", "c")], Acks::Leader)
        .await
        .unwrap();
    // The acks=0 batch was written before this one on the same connection.
    assert_eq!(ack.base_offset, 2);
    let err = produce_batch(&client, "fire", 5, vec![record("k", "x")], Acks::All)
        .await
        .unwrap_err();
    assert_eq!(err.kafka_code(), Some(3), "{err}");
    let mut producer = Producer::new(client.clone(), ProducerConfig::default());
    let err = producer
        .send("missing", record("k", "v"))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::UnknownTopic { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_out_of_range_is_reported_and_consumer_resets() {
    let server = start_server().await;
    let client = Client::connect(&server.addr).await.unwrap();
    client.create_topic("t", 1, &BTreeMap::new()).await.unwrap();
    produce_batch(&client, "t", 0, vec![record("k", "a")], Acks::All)
        .await
        .unwrap();
    let position = FetchPosition {
        topic: "t".into(),
        partition: 0,
        offset: 99,
    };
    let fetched = client
        .fetch(&[position], FetchOptions::default())
        .await
        .unwrap();
    assert_eq!(
        fetched[0].error.as_ref().and_then(ClientError::kafka_code),
        Some(1)
    );
    assert_eq!(fetched[0].high_watermark, 1);

    let mut consumer = Consumer::new(client.clone(), StartFrom::Earliest);
    consumer.assign("t", 0, Some(99)).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..5 {
        got.extend(consumer.poll(Duration::from_millis(100)).await.unwrap());
        if !got.is_empty() {
            break;
        }
    }
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].value.as_deref(), Some(&b"a"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_fetch_returns_when_data_arrives() {
    let server = start_server().await;
    let client = Client::connect(&server.addr).await.unwrap();
    client
        .create_topic("wait", 1, &BTreeMap::new())
        .await
        .unwrap();
    let reader = client.clone();
    let fetch = tokio::spawn(async move {
        let options = FetchOptions {
            max_wait: Duration::from_secs(20),
            ..FetchOptions::default()
        };
        let position = FetchPosition {
            topic: "wait".into(),
            partition: 0,
            offset: 0,
        };
        reader.fetch(&[position], options).await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A second connection writes while the first one is parked in the long poll.
    let writer = Client::connect(&server.addr).await.unwrap();
    produce_batch(&writer, "wait", 0, vec![record("k", "late")], Acks::All)
        .await
        .unwrap();
    let fetched = fetch.await.unwrap().unwrap();
    assert_eq!(fetched[0].records.len(), 1);
    assert_eq!(fetched[0].records[0].value.as_deref(), Some(&b"late"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_members_split_partitions_and_resume_from_commits() {
    let server = start_server().await;
    let client = Client::connect(&server.addr).await.unwrap();
    client
        .create_topic("events", 3, &BTreeMap::new())
        .await
        .unwrap();
    for p in 0..3 {
        let records = (0..4).map(|i| record("k", &format!("p{p}-{i}"))).collect();
        produce_batch(&client, "events", p, records, Acks::All)
            .await
            .unwrap();
    }

    // Two members join together: the range assignor gives one of them two partitions.
    let config = || {
        let mut c = GroupConfig::new("g", StartFrom::Earliest);
        c.session_timeout = Duration::from_secs(6);
        c.heartbeat_interval = Duration::from_millis(200);
        c
    };
    let c1 = Client::connect(&server.addr).await.unwrap();
    let c2 = Client::connect(&server.addr).await.unwrap();
    let (a, b) = tokio::join!(
        GroupConsumer::join(c1, config(), vec!["events".to_owned()]),
        GroupConsumer::join(c2, config(), vec!["events".to_owned()]),
    );
    let (mut a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.generation(), b.generation());
    let mut all: Vec<(String, i32)> = a
        .assignment()
        .iter()
        .chain(b.assignment())
        .cloned()
        .collect();
    all.sort();
    assert_eq!(
        all,
        vec![
            ("events".to_owned(), 0),
            ("events".to_owned(), 1),
            ("events".to_owned(), 2)
        ]
    );
    let mut sizes = [a.assignment().len(), b.assignment().len()];
    sizes.sort();
    assert_eq!(sizes, [1, 2]);

    // `a` reads its partitions and commits one record less than it read on each.
    let mut read = Vec::new();
    for _ in 0..20 {
        read.extend(a.poll(Duration::from_millis(200)).await.unwrap());
        if read.len() >= 4 * a.assignment().len() {
            break;
        }
    }
    assert_eq!(read.len(), 4 * a.assignment().len());
    let commits: BTreeMap<(String, i32), i64> = a
        .assignment()
        .iter()
        .map(|(t, p)| ((t.clone(), *p), 3))
        .collect();
    a.commit(&commits).await.unwrap();
    let a_partitions: Vec<i32> = a.assignment().iter().map(|(_, p)| *p).collect();
    a.close().await.unwrap();
    b.close().await.unwrap();

    // A new member of the same group gets every partition and resumes at the commits.
    let c3 = Client::connect(&server.addr).await.unwrap();
    let mut c = GroupConsumer::join(c3, config(), vec!["events".to_owned()])
        .await
        .unwrap();
    assert_eq!(c.assignment().len(), 3);
    let mut resumed = Vec::new();
    for _ in 0..20 {
        resumed.extend(c.poll(Duration::from_millis(200)).await.unwrap());
        if resumed.len() >= a_partitions.len() + 4 * (3 - a_partitions.len()) {
            break;
        }
    }
    for r in &resumed {
        if a_partitions.contains(&r.partition) {
            assert_eq!(
                r.offset, 3,
                "partition {} resumed at the committed offset",
                r.partition
            );
        }
    }
    assert_eq!(
        resumed.len(),
        a_partitions.len() + 4 * (3 - a_partitions.len())
    );
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    let err = Client::connect(&addr).await.unwrap_err();
    assert!(matches!(err, ClientError::Connect { .. }), "{err}");
    assert!(matches!(
        Client::connect("nonsense").await,
        Err(ClientError::InvalidAddress { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remaining_member_takes_over_after_another_leaves() {
    let server = start_server().await;
    let client = Client::connect(&server.addr).await.unwrap();
    client
        .create_topic("shared", 3, &BTreeMap::new())
        .await
        .unwrap();
    let config = || {
        let mut c = GroupConfig::new("takeover", StartFrom::Earliest);
        c.session_timeout = Duration::from_secs(6);
        c.heartbeat_interval = Duration::from_millis(100);
        c
    };
    let c1 = Client::connect(&server.addr).await.unwrap();
    let c2 = Client::connect(&server.addr).await.unwrap();
    let topics = vec!["shared".to_owned()];
    let (a, b) = tokio::join!(
        GroupConsumer::join(c1, config(), topics.clone()),
        GroupConsumer::join(c2, config(), topics.clone()),
    );
    let (mut a, b) = (a.unwrap(), b.unwrap());
    let first_generation = a.generation();
    assert!(a.assignment().len() < 3);
    b.close().await.unwrap();

    // The heartbeat learns of the rebalance; the next poll rejoins and takes every partition.
    for p in 0..3 {
        produce_batch(
            &client,
            "shared",
            p,
            vec![record("k", &format!("p{p}"))],
            Acks::All,
        )
        .await
        .unwrap();
    }
    let mut got = Vec::new();
    for _ in 0..50 {
        got.extend(a.poll(Duration::from_millis(100)).await.unwrap());
        if a.assignment().len() == 3 && got.len() == 3 {
            break;
        }
    }
    assert!(a.generation() > first_generation);
    assert_eq!(a.assignment().len(), 3);
    let mut values: Vec<String> = got
        .iter()
        .map(|r| String::from_utf8(r.value.as_deref().unwrap().to_vec()).unwrap())
        .collect();
    values.sort();
    assert_eq!(values, vec!["p0", "p1", "p2"]);
    a.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_batches_round_trip() {
    use kafka_protocol::records::Compression;
    let server = start_server().await;
    let client = Client::connect(&server.addr).await.unwrap();
    for (i, compression) in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ]
    .into_iter()
    .enumerate()
    {
        let topic = format!("compressed-{i}");
        client
            .create_topic(&topic, 1, &BTreeMap::new())
            .await
            .unwrap();
        let config = ProducerConfig {
            compression,
            ..ProducerConfig::default()
        };
        let mut producer = Producer::new(client.clone(), config);
        for j in 0..100 {
            producer
                .send(&topic, record(&format!("k{j}"), &"x".repeat(j)))
                .await
                .unwrap();
        }
        assert_eq!(producer.flush().await.unwrap(), 100);
        let records = read_all(&client, &topic, 100).await;
        assert_eq!(records.len(), 100, "{compression:?}");
        assert!(
            records.iter().enumerate().all(|(j, r)| r.offset == j as i64
                && r.value.as_deref() == Some("x".repeat(j).as_bytes()))
        );
    }
}
