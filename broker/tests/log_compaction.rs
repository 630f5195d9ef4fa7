//! Compaction on real segments: the latest value per key survives at its original offset,
//! tombstones go once older than delete.retention.ms, and the result survives a restart.

mod log_common;

use std::collections::BTreeMap;

use log_common::*;
use sluice_broker::{Durability, Record, new_record};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn read_all(log: &sluice_broker::PartitionLog) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    let mut next = log.log_start_offset();
    while next < log.high_watermark() {
        let (recs, _) = log.read_records(next, 1 << 20).unwrap();
        if recs.is_empty() {
            break;
        }
        next = recs.last().unwrap().offset + 1;
        out.extend(recs);
    }
    out
}

#[tokio::test]
async fn compaction_keeps_latest_per_key_at_original_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker
        .create_topic(
            "c",
            1,
            &configs(&[("cleanup.policy", "compact"), ("segment.bytes", "2048")]),
        )
        .unwrap();
    let log = broker.partition("c", 0).unwrap();
    let now = now_ms();
    let old = now - 2 * 24 * 3600 * 1000;
    // Expected survivors: key -> (offset, value).
    let mut latest: BTreeMap<String, (i64, Option<String>)> = BTreeMap::new();
    for round in 0..20 {
        let recs: Vec<Record> = (0..5)
            .map(|k| {
                new_record(
                    Some(format!("k{k}").as_bytes()),
                    Some(format!("v{round}-{k}").as_bytes()),
                    now,
                )
            })
            .collect();
        let res = log
            .append_records(&recs, Durability::Written)
            .await
            .unwrap();
        for k in 0..5 {
            latest.insert(
                format!("k{k}"),
                (res.base_offset + k, Some(format!("v{round}-{k}"))),
            );
        }
    }
    // k1 deleted long ago (tombstone older than delete.retention.ms), k2 deleted just now.
    let res = log
        .append_records(&[new_record(Some(b"k1"), None, old)], Durability::Written)
        .await
        .unwrap();
    latest.insert("k1".into(), (res.base_offset, None));
    let res = log
        .append_records(&[new_record(Some(b"k2"), None, now)], Durability::Written)
        .await
        .unwrap();
    latest.insert("k2".into(), (res.base_offset, None));
    // Push everything above into closed segments.
    for i in 0..40 {
        let res = log
            .append_records(
                &[new_record(
                    Some(format!("filler{i}").as_bytes()),
                    Some(&[0u8; 100]),
                    now,
                )],
                Durability::Written,
            )
            .await
            .unwrap();
        latest.insert(
            format!("filler{i}"),
            (
                res.base_offset,
                Some(String::from_utf8(vec![0u8; 100]).unwrap()),
            ),
        );
    }
    let hw = log.high_watermark();
    let segments_before = log.segment_base_offsets();
    assert!(segments_before.len() > 2);
    let before = read_all(&log).len();
    assert_eq!(before as i64, hw);

    let cleaned = broker.run_compaction_now().await.unwrap();
    assert!(cleaned > 0, "some segment was rewritten");
    assert_eq!(log.high_watermark(), hw);
    assert_eq!(
        log.segment_base_offsets(),
        segments_before,
        "segments keep their base offsets"
    );
    assert_eq!(segment_files(log.dir()).len(), segments_before.len());

    let check = |recs: &[Record]| {
        let mut got: BTreeMap<String, (i64, Option<String>)> = BTreeMap::new();
        for r in recs {
            let key = String::from_utf8(r.key.clone().unwrap().to_vec()).unwrap();
            let value = r
                .value
                .as_ref()
                .map(|v| String::from_utf8(v.to_vec()).unwrap());
            assert!(
                got.insert(key.clone(), (r.offset, value)).is_none(),
                "key {key} appears twice"
            );
        }
        let mut want = latest.clone();
        want.remove("k1"); // old tombstone: gone entirely
        assert_eq!(got, want);
    };
    let after = read_all(&log);
    assert!(after.len() < before);
    check(&after);
    // Offsets are preserved and increasing.
    assert!(after.windows(2).all(|w| w[0].offset < w[1].offset));
    // A read at a compacted-away offset returns the next surviving batch.
    let (recs, _) = log.read_records(0, 1 << 20).unwrap();
    assert!(recs[0].offset > 0);

    // Compaction is durable.
    broker.shutdown().await;
    drop(log);
    drop(broker);
    let broker = open(dir.path()).await;
    let log = broker.partition("c", 0).unwrap();
    check(&read_all(&log));
    assert_eq!(log.high_watermark(), hw);
    let res = log
        .append_records(
            &[new_record(Some(b"k0"), Some(b"again"), now)],
            Durability::Written,
        )
        .await
        .unwrap();
    assert_eq!(res.base_offset, hw);
}

#[tokio::test]
async fn delete_policy_topics_are_not_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker
        .create_topic("d", 1, &configs(&[("segment.bytes", "1024")]))
        .unwrap();
    let log = broker.partition("d", 0).unwrap();
    for i in 0..40 {
        log.append_records(
            &[new_record(
                Some(b"same"),
                Some(format!("{i}").as_bytes()),
                now_ms(),
            )],
            Durability::Written,
        )
        .await
        .unwrap();
    }
    assert_eq!(broker.run_compaction_now().await.unwrap(), 0);
    assert_eq!(read_all(&log).len(), 40);
}
