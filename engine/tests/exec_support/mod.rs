//! Shared set-up of the execution tests: a broker in a temporary directory, a JSON source of
//! orders keyed by a KAFKA string, and the filter+projection query over it.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use sluice_broker::{Broker, BrokerConfig, Durability, new_record};
use sluice_engine::exec::{FormatDecoder, FormatEncoder};
use sluice_engine::format::{FormatKind, RecordFormat};
use sluice_engine::query::{QuerySource, QuerySpec};
use sluice_engine::types::{Column, LogicalSchema, SqlType};

pub const SOURCE: &str = "orders";
pub const SINK: &str = "big_orders";

/// Opens (or reopens) a broker over `dir`.
pub async fn broker(dir: &Path) -> Broker {
    Broker::open(BrokerConfig::new(dir)).await.unwrap()
}

/// Creates the source and sink topics.
pub fn create_topics(broker: &Broker, source_partitions: i32, sink_partitions: i32) {
    broker
        .create_topic(SOURCE, source_partitions, &BTreeMap::new())
        .unwrap();
    broker
        .create_topic(SINK, sink_partitions, &BTreeMap::new())
        .unwrap();
}

fn format() -> RecordFormat {
    RecordFormat::new(FormatKind::Kafka, FormatKind::Json)
}

/// `CREATE STREAM big_orders AS SELECT K, ID, AMOUNT FROM orders WHERE AMOUNT > 100` (ROWTIME is
/// selected too so the output records keep the input timestamps, as ksqlDB does).
pub fn filter_query(id: &str) -> QuerySpec {
    let source = LogicalSchema::from_columns([
        Column::key("K", SqlType::String),
        Column::value("ID", SqlType::BigInt),
        Column::value("AMOUNT", SqlType::BigInt),
        Column::value("NOTE", SqlType::String),
    ]);
    let sink = LogicalSchema::from_columns([
        Column::key("K", SqlType::String),
        Column::value("ID", SqlType::BigInt),
        Column::value("AMOUNT", SqlType::BigInt),
    ]);
    QuerySpec {
        id: id.to_string(),
        sql: format!("SELECT ROWTIME, K, ID, AMOUNT FROM {SOURCE} WHERE AMOUNT > 100"),
        sources: vec![QuerySource {
            name: SOURCE.to_string(),
            topic: SOURCE.to_string(),
            decoder: Arc::new(FormatDecoder::new(source, format())),
        }],
        sink_topic: SINK.to_string(),
        encoder: Arc::new(FormatEncoder::new(sink, format())),
    }
}

/// The i-th test order: key, value, timestamp. Every third order is above 100.
pub fn order(i: i64) -> (String, String, i64) {
    let amount = if i % 3 == 0 { 150 + i } else { 50 };
    (
        format!("k{}", i % 7),
        format!(r#"{{"ID":{i},"AMOUNT":{amount},"NOTE":"n{i}"}}"#),
        1_000 + i,
    )
}

/// Appends orders `range` to the source, partitioned by key, `per_batch` records a batch.
pub async fn produce_orders(
    broker: &Broker,
    range: std::ops::Range<i64>,
    per_batch: usize,
    durability: Durability,
) {
    let mut by_partition: BTreeMap<i32, Vec<_>> = BTreeMap::new();
    for i in range {
        let (k, v, ts) = order(i);
        let p = broker
            .partition_for_key(SOURCE, Some(k.as_bytes()))
            .expect("partition for key");
        by_partition.entry(p).or_default().push(new_record(
            Some(k.as_bytes()),
            Some(v.as_bytes()),
            ts,
        ));
    }
    for (p, records) in by_partition {
        let log = broker.partition(SOURCE, p).expect("source partition");
        for chunk in records.chunks(per_batch) {
            log.append_records(chunk, durability)
                .await
                .expect("append orders");
        }
    }
}

/// Appends orders `ids` to partition 0 of the source, one record a batch (so each is visible
/// to a running query on its own).
pub async fn produce_one_by_one(broker: &Broker, ids: std::ops::Range<i64>) {
    let log = broker.partition(SOURCE, 0).expect("source partition");
    for i in ids {
        let (k, v, ts) = order(i);
        log.append_records(
            &[new_record(Some(k.as_bytes()), Some(v.as_bytes()), ts)],
            Durability::Written,
        )
        .await
        .expect("append order");
    }
}

/// What the query writes for order i, if anything: key, value, timestamp.
pub fn expected(i: i64) -> Option<(String, String, i64)> {
    (i % 3 == 0).then(|| {
        (
            format!("k{}", i % 7),
            format!(r#"{{"ID":{i},"AMOUNT":{}}}"#, 150 + i),
            1_000 + i,
        )
    })
}
