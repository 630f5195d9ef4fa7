//! The source log changing under a query: retention deleting records it has not read yet, and a
//! source cut back below the query's committed offset (records lost in a broker crash before
//! their fsync). The query keeps running and reads what is there.

mod exec_support;

use std::sync::Arc;

use datafusion::execution::TaskContext;
use datafusion::physical_plan::{ExecutionPlan, collect};
use exec_support::*;
use sluice_engine::exec::{
    CollectingProcessingLog, EpochSlice, FormatDecoder, ProcessingLog, TopicScanExec,
};
use sluice_engine::format::{FormatKind, RecordFormat};
use sluice_engine::query::EpochOutcome;
use sluice_engine::testing::TestDriver;
use sluice_engine::types::{Column, LogicalSchema, SqlType};

fn ids(driver: &mut TestDriver) -> Vec<String> {
    driver
        .read_output(SINK)
        .unwrap()
        .into_iter()
        .map(|r| String::from_utf8(r.value.unwrap().to_vec()).unwrap())
        .collect()
}

#[tokio::test]
async fn records_deleted_before_they_were_read_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topics(&broker, 1, 1);
    let mut driver = TestDriver::start(broker.clone(), filter_query("Q_RETENTION"))
        .await
        .unwrap();
    produce_one_by_one(&broker, 0..30).await;
    broker.delete_records(SOURCE, 0, 10).unwrap();
    while driver.advance().await.unwrap() != EpochOutcome::Idle {}
    let want: Vec<String> = (10..30).filter_map(expected).map(|(_, v, _)| v).collect();
    assert_eq!(ids(&mut driver), want);
    assert_eq!(driver.query().last_commit().sources[SOURCE][&0], 30);
    broker.shutdown().await;
}

#[tokio::test]
async fn a_scan_whose_slice_start_was_deleted_reads_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topics(&broker, 1, 1);
    produce_one_by_one(&broker, 0..30).await;
    let schema = LogicalSchema::from_columns([
        Column::key("K", SqlType::String),
        Column::value("ID", SqlType::BigInt),
    ]);
    let slice = EpochSlice::new();
    let log = Arc::new(CollectingProcessingLog::default());
    let scan = TopicScanExec::try_new(
        broker.clone(),
        SOURCE,
        vec![0],
        Arc::new(FormatDecoder::new(
            schema,
            RecordFormat::new(FormatKind::Kafka, FormatKind::Json),
        )),
        slice.clone(),
        None,
        log.clone(),
    )
    .unwrap()
    .with_read_bytes(1);
    // The epoch fixed its slice, then retention ran before the scan read it.
    slice.set(0, 0..25);
    broker.delete_records(SOURCE, 0, 12).unwrap();
    let batches = collect(
        Arc::new(scan) as Arc<dyn ExecutionPlan>,
        Arc::new(TaskContext::default()),
    )
    .await
    .unwrap();
    let offsets: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            let col = b
                .column_by_name("ROWOFFSET")
                .unwrap()
                .as_any()
                .downcast_ref::<arrow::array::Int64Array>()
                .unwrap()
                .clone();
            col.values().to_vec()
        })
        .collect();
    assert_eq!(offsets, (12..25).collect::<Vec<_>>());
    // One batch per read: a read of 1 byte still returns one whole batch.
    assert_eq!(batches.len(), 13);
    assert_eq!(log.count(), 0);
    broker.shutdown().await;
}

#[tokio::test]
async fn a_source_cut_below_the_committed_offset_is_read_from_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topics(&broker, 1, 1);
    let mut driver = TestDriver::start(broker.clone(), filter_query("Q_CUT"))
        .await
        .unwrap();
    produce_one_by_one(&broker, 0..30).await;
    while driver.advance().await.unwrap() != EpochOutcome::Idle {}
    ids(&mut driver);
    // The broker comes back without offsets 20.. (acknowledged with acks=1, lost in a crash
    // before their fsync) and the query restarts; new records then reuse those offsets.
    broker
        .partition(SOURCE, 0)
        .unwrap()
        .truncate_to(20)
        .await
        .unwrap();
    drop(driver);
    let mut driver = TestDriver::start(broker.clone(), filter_query("Q_CUT"))
        .await
        .unwrap();
    ids(&mut driver);
    produce_one_by_one(&broker, 30..36).await;
    while driver.advance().await.unwrap() != EpochOutcome::Idle {}
    let want: Vec<String> = (30..36).filter_map(expected).map(|(_, v, _)| v).collect();
    assert_eq!(ids(&mut driver), want);
    assert_eq!(driver.query().last_commit().sources[SOURCE][&0], 26);
    broker.shutdown().await;
}
