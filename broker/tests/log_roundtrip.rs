//! Appends and reads through the public API: offsets, segment rolls, reads at any offset, reopen
//! after a clean shutdown, topic administration and the partitioner.

mod log_common;

use log_common::*;
use sluice_broker::{Durability, decode_records};

#[tokio::test]
async fn append_read_across_segment_rolls_and_clean_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker
        .create_topic(
            "events",
            2,
            &configs(&[("segment.bytes", "1024"), ("index.interval.bytes", "200")]),
        )
        .unwrap();
    let log = broker.partition("events", 1).unwrap();
    let mut expected = Vec::new();
    for b in 0..40 {
        let recs = records(&format!("b{b}"), 3, 1_000 + b);
        let res = log
            .append_records(&recs, Durability::Written)
            .await
            .unwrap();
        assert_eq!(res.base_offset, b * 3, "offsets are contiguous");
        assert_eq!(res.last_offset, b * 3 + 2);
        expected.extend(values(&recs));
    }
    assert_eq!(log.high_watermark(), 120);
    let segments = log.segment_base_offsets();
    assert!(segments.len() > 3, "1 KiB segments must roll: {segments:?}");
    assert_eq!(segment_files(log.dir()).len(), segments.len());

    // A read at any offset starts with the batch holding it.
    for offset in 0..120 {
        let read = log.read(offset, 300).unwrap();
        let recs = decode_records(&read.records).unwrap();
        assert!(!recs.is_empty());
        assert!(
            recs[0].offset <= offset && offset < recs[0].offset + 3,
            "offset {offset}: first {}",
            recs[0].offset
        );
        assert_eq!(read.high_watermark, 120);
    }
    // Reading everything in order gives every record once.
    let mut got = Vec::new();
    let mut next = 0;
    while next < 120 {
        let (recs, _) = log.read_records(next, 500).unwrap();
        next = recs.last().unwrap().offset + 1;
        got.extend(values(&recs));
    }
    assert_eq!(got, expected);
    // At the high-water mark: nothing; past it: OFFSET_OUT_OF_RANGE.
    assert!(log.read(120, 1000).unwrap().records.is_empty());
    assert_eq!(log.read(121, 1000).map_err(|e| e.code()).err(), Some(1));

    broker.shutdown().await;
    drop(log);
    drop(broker);

    let broker = open(dir.path()).await;
    let log = broker.partition("events", 1).unwrap();
    assert_eq!(log.high_watermark(), 120);
    assert_eq!(log.segment_base_offsets(), segments);
    let (recs, _) = log.read_records(57, 100_000).unwrap();
    assert_eq!(recs[0].offset, 57);
    let res = log
        .append_records(&records("after", 2, 5_000), Durability::Fsynced)
        .await
        .unwrap();
    assert_eq!(res.base_offset, 120);
    assert_eq!(broker.partition("events", 0).unwrap().high_watermark(), 0);
}

#[tokio::test]
async fn read_returns_at_least_one_whole_batch() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker.create_topic("big", 1, &configs(&[])).unwrap();
    let log = broker.partition("big", 0).unwrap();
    let big = vec![sluice_broker::new_record(None, Some(&vec![7u8; 10_000]), 1)];
    log.append_records(&big, Durability::Written).await.unwrap();
    log.append_records(&big, Durability::Written).await.unwrap();
    let read = log.read(0, 10).unwrap();
    let recs = decode_records(&read.records).unwrap();
    assert_eq!(recs.len(), 1, "one whole batch although max_bytes is 10");
    let read = log.read(0, 15_000).unwrap();
    assert_eq!(
        decode_records(&read.records).unwrap().len(),
        1,
        "the second batch does not fit whole"
    );
    let read = log.read(0, 1 << 20).unwrap();
    assert_eq!(decode_records(&read.records).unwrap().len(), 2);
}

#[tokio::test]
async fn subscribe_wakes_on_append_and_timestamps_are_searchable() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker.create_topic("t", 1, &configs(&[])).unwrap();
    let log = broker.partition("t", 0).unwrap();
    let mut rx = log.subscribe();
    let writer = log.clone();
    let task = tokio::spawn(async move {
        for ts in [100, 200, 300] {
            writer
                .append_records(&records("x", 2, ts), Durability::Written)
                .await
                .unwrap();
        }
    });
    while *rx.borrow_and_update() < 6 {
        rx.changed().await.unwrap();
    }
    task.await.unwrap();
    assert_eq!(log.offset_for_timestamp(150), Some((2, 200)));
    assert_eq!(log.offset_for_timestamp(100), Some((0, 100)));
    assert_eq!(log.offset_for_timestamp(301), None);
    assert_eq!(log.offset_for_timestamp(-1), Some((6, -1)));
    assert_eq!(log.offset_for_timestamp(-2), Some((0, -1)));
    assert_eq!(log.offset_for_timestamp(-3), Some((4, 300)));
}

#[tokio::test]
async fn corrupt_batches_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker
        .create_topic("t", 1, &configs(&[("max.message.bytes", "200")]))
        .unwrap();
    let log = broker.partition("t", 0).unwrap();
    let mut batch = idempotent_batch(-1, -1, -1, &["a", "b"]);
    let last = batch.len() - 1;
    batch[last] ^= 0x55;
    let err = log.append(batch, Durability::Written).await.unwrap_err();
    assert_eq!(err.code(), 2, "{err}");
    let too_big = vec![sluice_broker::new_record(None, Some(&[1u8; 500]), 1)];
    assert_eq!(
        log.append_records(&too_big, Durability::Written)
            .await
            .unwrap_err()
            .code(),
        10
    );
    assert_eq!(log.high_watermark(), 0, "nothing was written");
}

#[tokio::test]
async fn log_append_time_restamps_batches() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker
        .create_topic(
            "t",
            1,
            &configs(&[("message.timestamp.type", "LogAppendTime")]),
        )
        .unwrap();
    let log = broker.partition("t", 0).unwrap();
    let res = log
        .append_records(&records("x", 1, 5), Durability::Written)
        .await
        .unwrap();
    assert!(res.log_append_time_ms > 1_600_000_000_000);
    let recs = decode_records(&log.read(0, 1000).unwrap().records).unwrap();
    assert_eq!(recs[0].timestamp, res.log_append_time_ms);
}

#[tokio::test]
async fn topics_are_created_validated_persisted_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    let meta = broker
        .create_topic("b", 3, &configs(&[("retention.ms", "1000")]))
        .unwrap();
    broker.create_topic("a", -1, &configs(&[])).unwrap();
    assert_eq!(
        broker
            .create_topic("b", 1, &configs(&[]))
            .unwrap_err()
            .code(),
        36
    );
    assert_eq!(
        broker
            .create_topic("bad/name", 1, &configs(&[]))
            .unwrap_err()
            .code(),
        17
    );
    assert_eq!(
        broker
            .create_topic("c", 0, &configs(&[]))
            .unwrap_err()
            .code(),
        37
    );
    assert_eq!(
        broker
            .create_topic("c", 1, &configs(&[("retention.msec", "1")]))
            .unwrap_err()
            .code(),
        40
    );
    assert_eq!(
        broker
            .topics()
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        vec!["a", "b"]
    );
    assert_eq!(broker.partition("b", 3).unwrap_err().code(), 3);
    assert_eq!(broker.partition("zzz", 0).unwrap_err().code(), 3);

    // murmur2 for keys, round robin without.
    let p = broker.partition_for_key("b", Some(b"foobar")).unwrap();
    assert_eq!(p, ((-790332482i32) & 0x7fffffff) % 3);
    let spread: Vec<i32> = (0..6)
        .map(|_| broker.partition_for_key("b", None).unwrap())
        .collect();
    for part in 0..3 {
        assert_eq!(
            spread.iter().filter(|p| **p == part).count(),
            2,
            "{spread:?}"
        );
    }

    let pid1 = broker.allocate_producer_id().unwrap();
    broker.shutdown().await;
    drop(broker);
    let broker = open(dir.path()).await;
    let b = broker.topic("b").unwrap();
    assert_eq!(b.id, meta.id);
    assert_eq!(b.partitions, 3);
    assert_eq!(b.config.retention_ms, 1000);
    assert!(broker.allocate_producer_id().unwrap() > pid1);

    broker.delete_topic("b").unwrap();
    assert!(broker.topic("b").is_none());
    assert!(!dir.path().join("topics").join("b").exists());
    assert_eq!(broker.delete_topic("b").unwrap_err().code(), 3);
    drop(broker);
    let broker = open(dir.path()).await;
    assert!(broker.topic("b").is_none());
    assert!(broker.topic("a").is_some());
}

#[tokio::test]
async fn topic_configs_can_be_altered_and_partitions_added() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker
        .create_topic("t", 1, &configs(&[("retention.ms", "1000")]))
        .unwrap();
    assert!(broker.validate_new_topic("u", 2, &configs(&[])).is_ok());
    assert!(broker.topic("u").is_none(), "validate_only creates nothing");
    assert_eq!(
        broker
            .validate_new_topic("t", 1, &configs(&[]))
            .unwrap_err()
            .code(),
        36
    );

    let meta = broker
        .alter_topic_config(
            "t",
            &configs(&[("cleanup.policy", "compact")]),
            &["retention.ms".to_string()],
        )
        .unwrap();
    assert!(meta.config.cleanup_policy.compact);
    assert_eq!(meta.config.retention_ms, 7 * 24 * 3600 * 1000);
    assert_eq!(
        broker.partition("t", 0).unwrap().config().cleanup_policy,
        meta.config.cleanup_policy
    );
    assert_eq!(
        broker
            .alter_topic_config("t", &configs(&[("segment.bytes", "x")]), &[])
            .unwrap_err()
            .code(),
        40
    );

    assert_eq!(broker.create_partitions("t", 1).unwrap_err().code(), 37);
    broker.create_partitions("t", 3).unwrap();
    broker
        .partition("t", 2)
        .unwrap()
        .append_records(
            &[sluice_broker::new_record(Some(b"k"), Some(b"v"), 1)],
            Durability::Written,
        )
        .await
        .unwrap();
    broker.shutdown().await;
    drop(broker);

    let broker = open(dir.path()).await;
    let t = broker.topic("t").unwrap();
    assert_eq!(t.partitions, 3);
    assert!(t.config.cleanup_policy.compact);
    assert_eq!(t.config.to_kafka_configs()["cleanup.policy"], "compact");
    assert_eq!(broker.partition("t", 2).unwrap().high_watermark(), 1);
}

#[tokio::test]
async fn segments_roll_by_age() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker
        .create_topic("t", 1, &configs(&[("segment.ms", "50")]))
        .unwrap();
    let log = broker.partition("t", 0).unwrap();
    // As in Kafka, a segment's age is the newest record's time minus its first batch's time.
    for ts in [1_000, 1_030, 1_060, 1_200, 1_210] {
        log.append_records(&records("r", 1, ts), Durability::Written)
            .await
            .unwrap();
    }
    assert_eq!(log.segment_base_offsets(), vec![0, 2, 3]);
    // The age survives a restart: a record 60 ms after the active segment's first one rolls it.
    broker.shutdown().await;
    drop(log);
    drop(broker);
    let broker = open(dir.path()).await;
    let log = broker.partition("t", 0).unwrap();
    log.append_records(&records("r", 1, 1_220), Durability::Written)
        .await
        .unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 2, 3]);
    log.append_records(&records("r", 1, 1_261), Durability::Written)
        .await
        .unwrap();
    assert_eq!(log.segment_base_offsets(), vec![0, 2, 3, 6]);
    assert_eq!(segment_files(log.dir()).len(), 4);
}
