//! Shared set-up of the engine tests: a broker in a temporary directory, JSON records produced
//! through the broker's in-process API, and reading a topic back.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use sluice_broker::{Broker, BrokerConfig, Durability, decode_records, new_record};
use sluice_engine::{Engine, StatementResult};

/// Opens (or reopens) a broker over `dir`.
pub async fn broker(dir: &Path) -> Broker {
    Broker::open(BrokerConfig::new(dir)).await.unwrap()
}

/// Creates `topic` with `partitions` partitions.
pub fn create_topic(broker: &Broker, topic: &str, partitions: i32) {
    broker
        .create_topic(topic, partitions, &BTreeMap::new())
        .unwrap();
}

/// Appends one record to the partition its key hashes to, as a Kafka producer would.
pub async fn produce(broker: &Broker, topic: &str, key: &str, value: &str, timestamp: i64) {
    produce_value(broker, topic, key, Some(value), timestamp).await;
}

/// Like [`produce`], with a value that may be null (a tombstone).
pub async fn produce_value(
    broker: &Broker,
    topic: &str,
    key: &str,
    value: Option<&str>,
    timestamp: i64,
) {
    let partition = broker
        .partition_for_key(topic, Some(key.as_bytes()))
        .unwrap();
    broker
        .partition(topic, partition)
        .unwrap()
        .append_records(
            &[new_record(
                Some(key.as_bytes()),
                value.map(str::as_bytes),
                timestamp,
            )],
            Durability::Written,
        )
        .await
        .unwrap();
}

/// A record read back: (key, value, timestamp), as text.
pub type TextRecord = (Option<String>, Option<String>, i64);

/// Every record of `topic`, partition by partition, in offset order.
pub fn read_topic(broker: &Broker, topic: &str) -> Vec<TextRecord> {
    let text = |b: Option<bytes::Bytes>| b.map(|b| String::from_utf8_lossy(&b).into_owned());
    let mut out = Vec::new();
    let partitions = broker.topic(topic).unwrap().partitions;
    for p in 0..partitions {
        let log = broker.partition(topic, p).unwrap();
        let mut offset = log.log_start_offset();
        while offset < log.high_watermark() {
            let read = log.read(offset, 1 << 20).unwrap();
            let records = decode_records(&read.records).unwrap();
            let last = records.iter().map(|r| r.offset).max().unwrap();
            for r in records.into_iter().filter(|r| r.offset >= offset) {
                out.push((text(r.key), text(r.value), r.timestamp));
            }
            offset = last + 1;
        }
    }
    out
}

/// Waits until `topic` holds at least `count` records (fails the test after a minute, which
/// only a hung query reaches), then returns them all.
pub async fn wait_for_records(broker: &Broker, topic: &str, count: usize) -> Vec<TextRecord> {
    for _ in 0..600 {
        let records = read_topic(broker, topic);
        if records.len() >= count {
            return records;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{topic} still holds {} records, expected {count}",
        read_topic(broker, topic).len()
    );
}

/// Runs `sql` and fails the test with the engine's message if it fails.
pub async fn run(engine: &Engine, sql: &str) -> Vec<StatementResult> {
    match engine.execute(sql).await {
        Ok(results) => results,
        Err(e) => panic!("{sql}\nfailed: {e}"),
    }
}

/// The message of the error `sql` gives (fails the test if it succeeds).
pub async fn error_of(engine: &Engine, sql: &str) -> String {
    match engine.execute(sql).await {
        Ok(_) => panic!("{sql}\nsucceeded but should fail"),
        Err(e) => e.to_string(),
    }
}

/// The text rows of a statement that returns rows (SHOW, EXPLAIN).
pub async fn rows(engine: &Engine, sql: &str) -> sluice_engine::catalog::Rows {
    let mut results = run(engine, sql).await;
    match results.pop() {
        Some(StatementResult::Rows(rows)) => rows,
        other => panic!("{sql} returned {other:?}, not rows"),
    }
}
