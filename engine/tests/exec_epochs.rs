//! One plan, many epochs: the deterministic driver runs a filter+projection query for 1,000
//! epochs (one record each) and the output is exactly what the query says, in order.

mod exec_support;

use std::sync::Arc;

use datafusion::physical_plan::displayable;
use exec_support::*;
use sluice_engine::query::EpochOutcome;
use sluice_engine::testing::TestDriver;

#[tokio::test]
async fn filter_projection_runs_1000_epochs_with_one_plan() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topics(&broker, 2, 1);
    let mut driver = TestDriver::start(broker.clone(), filter_query("CSAS_BIG_ORDERS_0"))
        .await
        .unwrap();
    let plan = driver.query().plan().clone();
    let explain = displayable(plan.as_ref()).indent(false).to_string();
    assert!(
        explain.contains("TopicSinkExec: topic=big_orders"),
        "{explain}"
    );
    assert!(
        explain.contains("TopicScanExec: topic=orders, partitions=[0, 1]"),
        "{explain}"
    );
    assert!(!explain.contains("RepartitionExec"), "{explain}");

    let mut got = Vec::new();
    for i in 0..1000 {
        let (k, v, ts) = order(i);
        let outcome = driver
            .pipe(SOURCE, Some(k.as_bytes()), Some(v.as_bytes()), ts)
            .await
            .unwrap();
        let EpochOutcome::Committed {
            epoch,
            records_in,
            records_out,
        } = outcome
        else {
            panic!("record {i} ran no epoch");
        };
        assert_eq!((epoch, records_in), (i as u64 + 1, 1));
        assert_eq!(records_out, u64::from(expected(i).is_some()));
        got.extend(driver.read_output(SINK).unwrap());
        assert!(Arc::ptr_eq(&plan, driver.query().plan()));
    }
    let got: Vec<(String, String, i64)> = got
        .into_iter()
        .map(|r| {
            (
                String::from_utf8(r.key.unwrap().to_vec()).unwrap(),
                String::from_utf8(r.value.unwrap().to_vec()).unwrap(),
                r.timestamp_ms,
            )
        })
        .collect();
    let want: Vec<_> = (0..1000).filter_map(expected).collect();
    assert_eq!(got.len(), 334);
    assert_eq!(got, want);
    assert_eq!(driver.processing_log_count(), 0);
    assert_eq!(driver.advance().await.unwrap(), EpochOutcome::Idle);
    broker.shutdown().await;
}
