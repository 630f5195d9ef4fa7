//! A backlog larger than one epoch: the running query works it off in capped epochs, and sink
//! appends larger than `max.message.bytes` are split into batches the broker accepts.

mod exec_support;

use std::sync::Arc;
use std::time::Duration;

use exec_support::*;
use sluice_broker::{Durability, decode_records, new_record};
use sluice_engine::exec::{FormatDecoder, FormatEncoder};
use sluice_engine::format::{FormatKind, RecordFormat};
use sluice_engine::query::{
    PersistentQuery, QueryOptions, QuerySource, QuerySpec, StartFrom, spawn,
};
use sluice_engine::types::{Column, LogicalSchema, SqlType};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_backlog_is_worked_off_in_capped_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topics(&broker, 2, 1);
    let note = "x".repeat(300);
    const N: i64 = 12_000;
    for p in 0..2 {
        let log = broker.partition(SOURCE, p).unwrap();
        let records: Vec<_> = (0..N / 2)
            .map(|i| {
                let id = i * 2 + p as i64;
                let v = format!(r#"{{"ID":{id},"AMOUNT":{},"NOTE":"{note}"}}"#, 200 + id);
                new_record(Some(format!("k{id}").as_bytes()), Some(v.as_bytes()), id)
            })
            .collect();
        for chunk in records.chunks(1000) {
            log.append_records(chunk, Durability::Written)
                .await
                .unwrap();
        }
    }
    let schema = LogicalSchema::from_columns([
        Column::key("K", SqlType::String),
        Column::value("ID", SqlType::BigInt),
        Column::value("AMOUNT", SqlType::BigInt),
        Column::value("NOTE", SqlType::String),
    ]);
    let format = RecordFormat::new(FormatKind::Kafka, FormatKind::Json);
    let spec = QuerySpec {
        id: "CSAS_BACKLOG".into(),
        sql: format!("SELECT ROWTIME, K, ID, AMOUNT, NOTE FROM {SOURCE} WHERE AMOUNT > 100"),
        sources: vec![QuerySource {
            name: SOURCE.into(),
            topic: SOURCE.into(),
            decoder: Arc::new(FormatDecoder::new(schema.clone(), format.clone())),
        }],
        sink_topic: SINK.into(),
        encoder: Arc::new(FormatEncoder::new(schema, format)),
    };
    let options = QueryOptions {
        max_records_per_partition: 4_000,
        start_from: StartFrom::Earliest,
        ..QueryOptions::default()
    };
    let query = PersistentQuery::create(broker.clone(), spec, options)
        .await
        .unwrap();
    let handle = spawn(query);
    let mut commits = handle.commits();
    loop {
        let done = commits
            .borrow_and_update()
            .sources
            .get(SOURCE)
            .is_some_and(|o| o.values().sum::<i64>() == N);
        if done {
            break;
        }
        tokio::time::timeout(Duration::from_secs(120), commits.changed())
            .await
            .expect("no progress for 120 s")
            .expect("the query task ended");
    }
    let query = handle.stop().await.unwrap();
    // 6,000 records per partition at 4,000 per epoch: two epochs, each writing ~1.3 MB per
    // sink partition, more than one batch may hold.
    assert_eq!(query.last_commit().epoch, 2);

    let sink = broker.partition(SINK, 0).unwrap();
    assert_eq!(sink.high_watermark(), N);
    let max_batch = sink.config().max_message_bytes;
    let mut offset = 0;
    let mut ids = Vec::new();
    while offset < N {
        let read = sink.read(offset, 1).unwrap();
        // Every stored batch was accepted below max.message.bytes.
        assert!(read.records.len() <= max_batch);
        let records = decode_records(&read.records).unwrap();
        offset = records.last().unwrap().offset + 1;
        for r in records {
            let v: serde_json::Value = serde_json::from_slice(r.value.as_ref().unwrap()).unwrap();
            assert_eq!(v["NOTE"].as_str().unwrap().len(), 300);
            ids.push(v["ID"].as_i64().unwrap());
        }
    }
    ids.sort_unstable();
    assert_eq!(ids, (0..N).collect::<Vec<_>>());
    broker.shutdown().await;
}
