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
    // Projection pushdown: the scan decodes all columns but hands on only the four used.
    assert!(
        explain.contains(r#"projection=["ROWTIME", "K", "ID", "AMOUNT"]"#),
        "{explain}"
    );
    // Nothing in a filter+projection plan keeps state between executions.
    assert!(!driver.query().resets_each_epoch());

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

/// Two sources in one plan (UNION ALL): each source's scan reads its own slice, and a plan with
/// an operator outside the known-stateless set runs reset copies epoch after epoch.
#[tokio::test]
async fn two_sources_in_one_plan_run_many_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topics(&broker, 2, 1);
    broker
        .create_topic("returns", 3, &Default::default())
        .unwrap();
    let mut spec = filter_query("CSAS_BIG_ORDERS_5");
    let mut returns = spec.sources[0].clone();
    returns.name = "returns".into();
    returns.topic = "returns".into();
    spec.sources.push(returns);
    spec.sql = format!(
        "SELECT ROWTIME, K, ID, AMOUNT FROM {SOURCE} WHERE AMOUNT > 100 \
         UNION ALL SELECT ROWTIME, K, ID, AMOUNT FROM returns WHERE AMOUNT > 100"
    );
    let mut driver = TestDriver::start(broker.clone(), spec).await.unwrap();
    let explain = displayable(driver.query().plan().as_ref())
        .indent(false)
        .to_string();
    assert!(
        explain.contains("TopicScanExec: topic=returns, partitions=[0, 1, 2]"),
        "{explain}"
    );
    assert!(driver.query().resets_each_epoch(), "{explain}");
    let mut got = Vec::new();
    for i in 0..200 {
        let (k, v, ts) = order(i);
        let topic = if i % 2 == 0 { SOURCE } else { "returns" };
        driver
            .pipe(topic, Some(k.as_bytes()), Some(v.as_bytes()), ts)
            .await
            .unwrap();
        got.extend(
            driver
                .read_output(SINK)
                .unwrap()
                .into_iter()
                .map(|r| String::from_utf8(r.value.unwrap().to_vec()).unwrap()),
        );
    }
    let want: Vec<String> = (0..200).filter_map(expected).map(|(_, v, _)| v).collect();
    assert_eq!(got, want);
    let commit = driver.query().last_commit();
    assert_eq!(commit.epoch, 200);
    let read: i64 = commit.sources.values().flat_map(|p| p.values()).sum();
    assert_eq!(read, 200);
    broker.shutdown().await;
}

/// A chain of queries (orders -> big_orders -> huge_orders): one piped record flows through both
/// in one step.
#[tokio::test]
async fn a_piped_record_flows_through_a_chain_of_queries() {
    use sluice_engine::exec::{FormatDecoder, FormatEncoder};
    use sluice_engine::format::{FormatKind, RecordFormat};
    use sluice_engine::types::{Column, LogicalSchema, SqlType};

    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topics(&broker, 1, 2);
    broker
        .create_topic("huge_orders", 1, &Default::default())
        .unwrap();
    let mut driver = TestDriver::start(broker.clone(), filter_query("CSAS_BIG_ORDERS_6"))
        .await
        .unwrap();
    let schema = LogicalSchema::from_columns([
        Column::key("K", SqlType::String),
        Column::value("ID", SqlType::BigInt),
        Column::value("AMOUNT", SqlType::BigInt),
    ]);
    let format = RecordFormat::new(FormatKind::Kafka, FormatKind::Json);
    driver
        .add_query(sluice_engine::query::QuerySpec {
            id: "CSAS_HUGE_ORDERS_7".into(),
            sql: format!("SELECT ROWTIME, K, ID, AMOUNT FROM {SINK} WHERE AMOUNT > 1000"),
            sources: vec![sluice_engine::query::QuerySource {
                name: SINK.into(),
                topic: SINK.into(),
                decoder: Arc::new(FormatDecoder::new(schema.clone(), format.clone())),
            }],
            sink_topic: "huge_orders".into(),
            encoder: Arc::new(FormatEncoder::new(schema, format)),
        })
        .await
        .unwrap();
    let mut huge = Vec::new();
    for i in 0..1200 {
        let (k, v, ts) = order(i);
        driver
            .pipe(SOURCE, Some(k.as_bytes()), Some(v.as_bytes()), ts)
            .await
            .unwrap();
        huge.extend(
            driver
                .read_output("huge_orders")
                .unwrap()
                .into_iter()
                .map(|r| {
                    (
                        String::from_utf8(r.value.unwrap().to_vec()).unwrap(),
                        r.timestamp_ms,
                    )
                }),
        );
        // Nothing is left behind in the chain after a step.
        assert_eq!(
            driver.added_queries()[0].last_commit().sources[SINK]
                .values()
                .sum::<i64>(),
            (0..=i).filter(|j| expected(*j).is_some()).count() as i64
        );
    }
    let want: Vec<(String, i64)> = (0..1200)
        .filter(|i| i % 3 == 0 && 150 + i > 1000)
        .map(|i| (format!(r#"{{"ID":{i},"AMOUNT":{}}}"#, 150 + i), 1000 + i))
        .collect();
    assert!(!want.is_empty());
    assert_eq!(huge, want);
    broker.shutdown().await;
}
