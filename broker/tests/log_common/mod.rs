//! Helpers shared by the broker's log tests: opening a broker in a temp dir and building batches.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::records::{Compression, RecordBatchEncoder, RecordEncodeOptions};
use sluice_broker::{Broker, BrokerConfig, PartitionLog, Record, new_record};

/// A broker config in `dir` whose background tasks stay out of the way of the tests (they call
/// `run_*_now` themselves).
pub fn config(dir: &Path) -> BrokerConfig {
    let mut c = BrokerConfig::new(dir);
    c.retention_check_interval = Duration::from_secs(3600);
    c.compaction_interval = Duration::from_secs(3600);
    c
}

pub async fn open(dir: &Path) -> Broker {
    Broker::open(config(dir)).await.expect("open broker")
}

/// A broker in `dir` with a one-partition topic `topic` whose segments roll at 1 KiB (so a few
/// batches span several segments), and that partition's log.
pub async fn open_with_small_segments(dir: &Path, topic: &str) -> (Broker, Arc<PartitionLog>) {
    let broker = open(dir).await;
    broker
        .create_topic(topic, 1, &configs(&[("segment.bytes", "1024")]))
        .expect("create topic");
    let log = broker.partition(topic, 0).expect("partition");
    (broker, log)
}

pub fn configs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `n` records with values `"{prefix}-{i}"` and the given timestamp.
pub fn records(prefix: &str, n: usize, ts: i64) -> Vec<Record> {
    (0..n)
        .map(|i| new_record(None, Some(format!("{prefix}-{i}").as_bytes()), ts))
        .collect()
}

/// One batch from an idempotent producer.
pub fn idempotent_batch(
    producer_id: i64,
    epoch: i16,
    base_sequence: i32,
    values: &[&str],
) -> BytesMut {
    let recs: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut r = new_record(Some(b"k"), Some(v.as_bytes()), now_ms() + i as i64);
            r.producer_id = producer_id;
            r.producer_epoch = epoch;
            r.sequence = base_sequence + i as i32;
            r.offset = i as i64;
            r
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        recs.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode");
    buf
}

pub fn values(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or(b"<null>")).into_owned())
        .collect()
}

pub fn segment_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("partition dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".log"))
        .collect();
    v.sort();
    v
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}
