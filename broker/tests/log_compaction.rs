//! Compaction on real segments: the latest value per key survives at its original offset,
//! tombstones go once older than delete.retention.ms, and the result survives a restart.

mod log_common;

use std::collections::BTreeMap;

use log_common::*;
use sluice_broker::{Durability, Record, new_record};

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
    // k1 deleted with an old producer timestamp, k2 just now: both tombstones must survive a
    // pass within delete.retention.ms (1 day by default), whatever their record timestamps.
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
    assert_eq!(
        broker.run_compaction_now().await.unwrap(),
        0,
        "nothing new to clean"
    );
    assert_eq!(log.high_watermark(), hw);
    assert_eq!(
        log.segment_base_offsets(),
        segments_before,
        "segments keep their base offsets"
    );
    assert_eq!(segment_files(log.dir()).len(), segments_before.len());

    let check = |recs: &[Record], tombstones_gone: bool| {
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
        if tombstones_gone {
            want.remove("k1");
            want.remove("k2");
        }
        assert_eq!(got, want);
    };
    let after = read_all(&log);
    assert!(after.len() < before);
    check(&after, false);
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
    check(&read_all(&log), false);
    assert_eq!(log.high_watermark(), hw);

    // Once delete.retention.ms has passed for their segment, the tombstones go entirely.
    broker
        .alter_topic_config("c", &configs(&[("delete.retention.ms", "0")]), &[])
        .unwrap();
    assert!(broker.run_compaction_now().await.unwrap() > 0);
    check(&read_all(&log), true);
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
    let (broker, log) = open_with_small_segments(dir.path(), "d").await;
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

#[tokio::test]
async fn compacted_topics_refuse_records_without_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker
        .create_topic("c", 1, &configs(&[("cleanup.policy", "compact")]))
        .unwrap();
    let log = broker.partition("c", 0).unwrap();
    let mixed = [
        new_record(Some(b"k"), Some(b"v"), now_ms()),
        new_record(None, Some(b"v"), now_ms()),
    ];
    let err = log
        .append_records(&mixed, Durability::Written)
        .await
        .unwrap_err();
    assert_eq!(err.code(), 87, "{err}");
    assert_eq!(log.high_watermark(), 0);
    log.append_records(&mixed[..1], Durability::Written)
        .await
        .unwrap();
    assert_eq!(log.high_watermark(), 1);
}

#[tokio::test]
async fn compressed_batches_are_stored_as_sent_and_compacted_with_their_codec() {
    use kafka_protocol::records::{Compression, RecordBatchEncoder, RecordEncodeOptions};
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker
        .create_topic(
            "z",
            1,
            &configs(&[("cleanup.policy", "compact"), ("segment.bytes", "600")]),
        )
        .unwrap();
    let log = broker.partition("z", 0).unwrap();
    let now = now_ms();
    for (round, codec) in [
        Compression::Gzip,
        Compression::Zstd,
        Compression::Lz4,
        Compression::Snappy,
    ]
    .into_iter()
    .enumerate()
    {
        let recs: Vec<Record> = (0..4)
            .map(|k| {
                let mut r = new_record(
                    Some(format!("k{k}").as_bytes()),
                    Some(format!("r{round}").as_bytes()),
                    now,
                );
                r.offset = k;
                r.sequence = k as i32 - 1;
                r
            })
            .collect();
        let mut buf = bytes::BytesMut::new();
        RecordBatchEncoder::encode(
            &mut buf,
            recs.iter(),
            &RecordEncodeOptions {
                version: 2,
                compression: codec,
            },
        )
        .unwrap();
        let sent = buf.clone();
        let res = log.append(buf, Durability::Written).await.unwrap();
        // Stored as sent: only the base offset and leader epoch differ.
        let stored = log.read(res.base_offset, 1 << 20).unwrap().records;
        assert_eq!(&stored[12..16], &0i32.to_be_bytes());
        assert_eq!(
            &stored[16..sent.len()],
            &sent[16..],
            "{codec:?} batch bytes kept"
        );
        assert_eq!(stored[22] & 0x7, codec as u8);
    }
    // One more keyed record per key to make every older batch partly obsolete, then roll.
    for i in 0..12 {
        log.append_records(
            &[new_record(
                Some(format!("k{}", i % 2).as_bytes()),
                Some(b"latest"),
                now,
            )],
            Durability::Written,
        )
        .await
        .unwrap();
    }
    assert!(broker.run_compaction_now().await.unwrap() > 0);
    let all = read_all(&log);
    let latest: BTreeMap<String, String> = all
        .iter()
        .map(|r| {
            (
                String::from_utf8(r.key.clone().unwrap().to_vec()).unwrap(),
                String::from_utf8(r.value.clone().unwrap().to_vec()).unwrap(),
            )
        })
        .collect();
    assert_eq!(latest["k2"], "r3");
    assert_eq!(latest["k3"], "r3");
    assert_eq!(latest["k0"], "latest");
    assert_eq!(
        all.iter()
            .filter(|r| r.key.as_deref() == Some(&b"k2"[..]))
            .count(),
        1,
        "older k2 values compacted away"
    );
}
