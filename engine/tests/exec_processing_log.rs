//! A record that does not decode goes to the processing log; the query keeps running and the
//! records after it still come out.

mod exec_support;

use exec_support::*;
use sluice_broker::{Durability, new_record};
use sluice_engine::query::EpochOutcome;
use sluice_engine::testing::TestDriver;

fn value_of(r: &sluice_engine::testing::TestRecord) -> String {
    String::from_utf8(r.value.clone().unwrap().to_vec()).unwrap()
}

#[tokio::test]
async fn a_bad_record_is_logged_and_later_records_still_come_out() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topics(&broker, 1, 1);
    let mut driver = TestDriver::start(broker.clone(), filter_query("CSAS_BIG_ORDERS_2"))
        .await
        .unwrap();

    let good = |id: i64| format!(r#"{{"ID":{id},"AMOUNT":500,"NOTE":"ok"}}"#);
    driver
        .pipe(SOURCE, Some(b"a"), Some(good(1).as_bytes()), 10)
        .await
        .unwrap();
    // Not JSON at all, then a field of the wrong type.
    let bad = driver
        .pipe(SOURCE, Some(b"a"), Some(b"{not json"), 11)
        .await
        .unwrap();
    assert!(matches!(
        bad,
        EpochOutcome::Committed {
            records_in: 1,
            records_out: 0,
            ..
        }
    ));
    driver
        .pipe(SOURCE, Some(b"a"), Some(br#"{"ID":"x","AMOUNT":500}"#), 12)
        .await
        .unwrap();
    driver
        .pipe(SOURCE, Some(b"a"), Some(good(4).as_bytes()), 13)
        .await
        .unwrap();

    let out = driver.read_output(SINK).unwrap();
    let values: Vec<String> = out.iter().map(value_of).collect();
    assert_eq!(
        values,
        vec![r#"{"ID":1,"AMOUNT":500}"#, r#"{"ID":4,"AMOUNT":500}"#]
    );
    assert_eq!(driver.processing_log_count(), 2);
    let log = driver.processing_log();
    assert_eq!(
        log.iter()
            .map(|e| (e.topic.as_str(), e.partition, e.offset))
            .collect::<Vec<_>>(),
        vec![(SOURCE, 0, 1), (SOURCE, 0, 2)]
    );
    assert!(
        log[0].message.starts_with("Failed to deserialise value"),
        "{}",
        log[0].message
    );
    broker.shutdown().await;
}

#[tokio::test]
async fn a_bad_record_inside_a_batch_does_not_drop_its_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topics(&broker, 1, 1);
    let mut driver = TestDriver::start(broker.clone(), filter_query("CSAS_BIG_ORDERS_3"))
        .await
        .unwrap();
    // One Kafka batch of three records, the middle one bad; the driver's epochs take one
    // record each, so the scan cuts the same batch three times.
    let log = broker.partition(SOURCE, 0).unwrap();
    let records = [
        new_record(Some(b"a"), Some(br#"{"ID":1,"AMOUNT":200}"#), 1),
        new_record(Some(b"a"), Some(b"[1,2"), 2),
        new_record(Some(b"a"), Some(br#"{"ID":3,"AMOUNT":300}"#), 3),
    ];
    log.append_records(&records, Durability::Written)
        .await
        .unwrap();
    for _ in 0..3 {
        assert!(matches!(
            driver.advance().await.unwrap(),
            EpochOutcome::Committed { records_in: 1, .. }
        ));
    }
    assert_eq!(driver.advance().await.unwrap(), EpochOutcome::Idle);
    let out = driver.read_output(SINK).unwrap();
    assert_eq!(
        out.iter().map(value_of).collect::<Vec<_>>(),
        vec![r#"{"ID":1,"AMOUNT":200}"#, r#"{"ID":3,"AMOUNT":300}"#]
    );
    assert_eq!(
        out.iter().map(|r| r.timestamp_ms).collect::<Vec<_>>(),
        vec![1, 3]
    );
    assert_eq!(driver.processing_log()[0].offset, 1);
    assert_eq!(driver.processing_log_count(), 1);
    broker.shutdown().await;
}

#[tokio::test]
async fn headers_of_piped_records_reach_the_decoder() {
    use sluice_engine::exec::{FormatDecoder, FormatEncoder};
    use sluice_engine::format::{FormatKind, RecordFormat};
    use sluice_engine::types::{Column, LogicalSchema, SqlType};
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topics(&broker, 1, 1);
    let source = LogicalSchema::from_columns([
        Column::value("ID", SqlType::BigInt),
        Column::header("TENANT", "tenant"),
    ]);
    let sink = LogicalSchema::from_columns([
        Column::value("ID", SqlType::BigInt),
        Column::value("TENANT", SqlType::Bytes),
    ]);
    let format = RecordFormat::new(FormatKind::None, FormatKind::Json);
    let mut spec = filter_query("CSAS_HEADERS");
    spec.sql = format!("SELECT ROWTIME, ID, TENANT FROM {SOURCE}");
    spec.sources[0].decoder = Arc::new(FormatDecoder::new(source, format.clone()));
    spec.encoder = Arc::new(FormatEncoder::new(sink, format));
    let mut driver = TestDriver::start(broker.clone(), spec).await.unwrap();
    let mut record = new_record(None, Some(br#"{"ID":7}"#), 5);
    record
        .headers
        .insert("tenant".into(), Some(bytes::Bytes::from_static(b"acme")));
    driver.pipe_record(SOURCE, Some(0), record).await.unwrap();
    let out = driver.read_output(SINK).unwrap();
    assert_eq!(out.len(), 1);
    // BYTES are written as base64 in JSON, as ksqlDB does: "acme" -> "YWNtZQ==".
    assert_eq!(value_of(&out[0]), r#"{"ID":7,"TENANT":"YWNtZQ=="}"#);
    assert_eq!(out[0].timestamp_ms, 5);
    broker.shutdown().await;
}

/// A value the sink format cannot encode (a BIGINT beyond the range of the KAFKA-format INT
/// column) drops that record only: it goes to the processing log as a serialization error
/// naming the source record, and the rows around it, in the same batch, are written.
#[tokio::test]
async fn a_value_the_sink_cannot_encode_drops_only_that_record() {
    use sluice_engine::exec::{FormatEncoder, ProcessingErrorKind};
    use sluice_engine::format::{FormatKind, RecordFormat};
    use sluice_engine::types::{Column, LogicalSchema, SqlType};
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topics(&broker, 1, 1);
    let sink = LogicalSchema::from_columns([
        Column::key("K", SqlType::String),
        Column::value("V", SqlType::Int),
    ]);
    let mut spec = filter_query("CSAS_NARROW");
    spec.sql = format!(
        "SELECT ROWTIME, K, AMOUNT AS V, ROWPARTITION AS \"__SRC_PARTITION\", \
         ROWOFFSET AS \"__SRC_OFFSET\" FROM {SOURCE}"
    );
    spec.encoder = Arc::new(FormatEncoder::new(
        sink,
        RecordFormat::new(FormatKind::Kafka, FormatKind::Kafka),
    ));
    let mut driver = TestDriver::start(broker.clone(), spec).await.unwrap();
    let log = broker.partition(SOURCE, 0).unwrap();
    let amounts = [7i64, 5_000_000_000, 9, -3_000_000_000, 11];
    let records: Vec<_> = amounts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let value = format!(r#"{{"ID":{i},"AMOUNT":{a}}}"#);
            new_record(Some(b"a"), Some(value.as_bytes()), i as i64)
        })
        .collect();
    log.append_records(&records, Durability::Written)
        .await
        .unwrap();
    while driver.advance().await.unwrap() != EpochOutcome::Idle {}
    let out = driver.read_output(SINK).unwrap();
    let values: Vec<i32> = out
        .iter()
        .map(|r| i32::from_be_bytes(r.value.clone().unwrap()[..].try_into().unwrap()))
        .collect();
    assert_eq!(values, vec![7, 9, 11]);
    let entries = driver.processing_log();
    assert_eq!(
        entries
            .iter()
            .map(|e| (e.kind, e.topic.as_str(), e.partition, e.offset))
            .collect::<Vec<_>>(),
        vec![
            (ProcessingErrorKind::Serialization, SOURCE, 0, 1),
            (ProcessingErrorKind::Serialization, SOURCE, 0, 3),
        ]
    );
    assert!(
        entries[0]
            .message
            .starts_with("Error serializing message to topic: big_orders."),
        "{}",
        entries[0].message
    );
    broker.shutdown().await;
}
