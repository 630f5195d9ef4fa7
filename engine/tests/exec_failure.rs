//! An epoch that fails commits nothing, and the query refuses further epochs until it is
//! created again (its sink may hold records of the failed epoch).

mod exec_support;

use exec_support::*;
use sluice_engine::query::{PersistentQuery, QueryError, QueryOptions, StartFrom};

#[tokio::test]
async fn a_failed_epoch_commits_nothing_and_stops_the_query() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    create_topics(&broker, 1, 1);
    let mut spec = filter_query("CSAS_BIG_ORDERS_4");
    // The sink wants AMOUNT, which the SELECT no longer produces: every row fails to encode.
    spec.sql = format!("SELECT ROWTIME, K, ID FROM {SOURCE} WHERE AMOUNT > 100");
    let options = QueryOptions {
        start_from: StartFrom::Earliest,
        ..QueryOptions::default()
    };
    let mut query = PersistentQuery::create(broker.clone(), spec, options)
        .await
        .unwrap();
    let (k, v, ts) = order(0);
    broker
        .partition(SOURCE, 0)
        .unwrap()
        .append_records(
            &[sluice_broker::new_record(
                Some(k.as_bytes()),
                Some(v.as_bytes()),
                ts,
            )],
            sluice_broker::Durability::Written,
        )
        .await
        .unwrap();
    let err = query.run_epoch().await.unwrap_err();
    assert!(
        matches!(err, QueryError::Execution { epoch: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("AMOUNT"), "{err}");
    assert_eq!(query.last_commit().epoch, 0);
    assert_eq!(query.last_commit().sources[SOURCE][&0], 0);
    let again = query.run_epoch().await.unwrap_err();
    assert!(matches!(again, QueryError::Failed { .. }), "{again}");
    assert_eq!(broker.partition(SINK, 0).unwrap().high_watermark(), 0);
    broker.shutdown().await;
}

#[tokio::test]
async fn a_query_over_a_missing_topic_or_column_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    let err = PersistentQuery::create(broker.clone(), filter_query("Q"), QueryOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, QueryError::UnknownTopic { ref topic, .. } if topic == SINK),
        "{err}"
    );
    create_topics(&broker, 1, 1);
    let mut spec = filter_query("Q");
    spec.sql = format!("SELECT NOPE FROM {SOURCE}");
    let err = PersistentQuery::create(broker.clone(), spec, QueryOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, QueryError::Plan { .. }), "{err}");
    assert!(err.to_string().contains("NOPE"), "{err}");
    broker.shutdown().await;
}
