//! The log against what a hostile client or a broken disk leaves in it: forged batches are
//! skipped by replays and by the cleaner (which goes on with other partitions), compaction's key
//! map stays within its budget, future timestamps do not pin segments forever, and a retried
//! acks=all duplicate after a crash is acknowledged only once its data is fsynced.

mod log_common;

use std::collections::BTreeMap;

use bytes::{BufMut, BytesMut};
use log_common::*;
use sluice_broker::{Durability, PartitionLog, Record, new_record};

fn varint(out: &mut BytesMut, n: i64) {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    loop {
        let b = (z & 0x7f) as u8;
        z >>= 7;
        if z == 0 {
            out.put_u8(b);
            return;
        }
        out.put_u8(b | 0x80);
    }
}

/// One uncompressed record with the given offset delta, key and value.
fn raw_record(offset_delta: i64, key: &[u8], value: &[u8]) -> BytesMut {
    let mut body = BytesMut::new();
    body.put_u8(0);
    varint(&mut body, 0);
    varint(&mut body, offset_delta);
    varint(&mut body, key.len() as i64);
    body.put_slice(key);
    varint(&mut body, value.len() as i64);
    body.put_slice(value);
    varint(&mut body, 0);
    let mut out = BytesMut::new();
    varint(&mut out, body.len() as i64);
    out.put_slice(&body);
    out
}

/// A v2 batch with a valid CRC around `records`, claiming `count` records and `last_delta`.
fn raw_batch(records: &[u8], count: i32, last_delta: i32) -> BytesMut {
    let ts = now_ms();
    let mut after_crc = BytesMut::new();
    after_crc.put_i16(0);
    after_crc.put_i32(last_delta);
    after_crc.put_i64(ts);
    after_crc.put_i64(ts);
    after_crc.put_i64(-1);
    after_crc.put_i16(-1);
    after_crc.put_i32(-1);
    after_crc.put_i32(count);
    after_crc.put_slice(records);
    let mut out = BytesMut::new();
    out.put_i64(0);
    out.put_i32((4 + 1 + 4 + after_crc.len()) as i32);
    out.put_i32(0);
    out.put_i8(2);
    out.put_u32(crc32c::crc32c(&after_crc));
    out.put_slice(&after_crc);
    out
}

/// Three records all at offset delta 0 (a reader advancing by record offsets would loop).
fn zero_offsets_batch() -> BytesMut {
    let mut records = BytesMut::new();
    for v in [b"z0", b"z1", b"z2"] {
        records.put_slice(&raw_record(0, b"k", v));
    }
    raw_batch(&records, 3, 2)
}

/// One record in a batch whose header claims 2^31-1 records (a decoder would reserve room
/// for all of them).
fn huge_count_batch() -> BytesMut {
    raw_batch(&raw_record(0, b"k", b"huge"), i32::MAX, i32::MAX - 1)
}

#[tokio::test]
async fn replay_skips_forged_batches_and_moves_on_by_the_log_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker.create_topic("t", 1, &BTreeMap::new()).unwrap();
    let log = broker.partition("t", 0).unwrap();
    let one = |v: &str| vec![new_record(Some(b"k"), Some(v.as_bytes()), now_ms())];
    log.append_records(&one("first"), Durability::Written)
        .await
        .unwrap();
    // Forged batches that the log validator now refuses, as a log written before it existed may
    // hold them.
    log.append_unvalidated_for_tests(zero_offsets_batch(), Durability::Written)
        .await
        .unwrap();
    log.append_unvalidated_for_tests(huge_count_batch(), Durability::Written)
        .await
        .unwrap();
    let last = log
        .append_records(&one("last"), Durability::Written)
        .await
        .unwrap();
    let mut seen: Vec<(i64, String)> = Vec::new();
    let stats = log
        .replay(0, |r| {
            seen.push((
                r.offset,
                String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned(),
            ))
        })
        .unwrap();
    assert_eq!(
        seen,
        vec![
            (0, "first".to_string()),
            (1, "z0".to_string()),
            (last.base_offset, "last".to_string())
        ]
    );
    assert_eq!(
        stats.skipped_batches, 1,
        "the batch claiming 2^31-1 records"
    );
    assert_eq!(stats.skipped_records, 2, "the repeats of offset 1");
}

#[tokio::test]
async fn the_cleaner_skips_a_partition_it_cannot_compact_and_compacts_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    // A forged batch gets in while the topic is not compacted; then it is switched to compact.
    for topic in ["bad", "good"] {
        broker
            .create_topic(topic, 1, &configs(&[("segment.bytes", "1024")]))
            .unwrap();
        let log = broker.partition(topic, 0).unwrap();
        for round in 0..30 {
            let recs: Vec<Record> = (0..3)
                .map(|k| {
                    new_record(
                        Some(format!("k{k}").as_bytes()),
                        Some(format!("v{round}").as_bytes()),
                        now_ms() - 60_000,
                    )
                })
                .collect();
            log.append_records(&recs, Durability::Written)
                .await
                .unwrap();
        }
    }
    let bad = broker.partition("bad", 0).unwrap();
    bad.append_unvalidated_for_tests(huge_count_batch(), Durability::Written)
        .await
        .unwrap();
    let compact = configs(&[("cleanup.policy", "compact")]);
    for topic in ["bad", "good"] {
        broker.alter_topic_config(topic, &compact, &[]).unwrap();
    }
    assert_eq!(
        bad.append(huge_count_batch(), Durability::Written)
            .await
            .unwrap_err()
            .code(),
        87,
        "the log validator refuses a forged count: INVALID_RECORD"
    );
    let cleaned = broker.run_compaction_now().await.unwrap();
    assert!(cleaned > 0, "the good partition was compacted");
    let good = broker.partition("good", 0).unwrap();
    assert!(good.size_bytes() < bad.size_bytes());
}

#[tokio::test]
async fn a_small_key_map_compacts_over_several_passes_and_keeps_every_latest_value() {
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
    let ts = now_ms() - 60_000;
    let mut latest: BTreeMap<String, String> = BTreeMap::new();
    for round in 0..4 {
        for chunk in 0..10 {
            let recs: Vec<Record> = (0..10)
                .map(|i| {
                    let key = format!("key-{:03}", chunk * 10 + i);
                    let value = format!("r{round}");
                    latest.insert(key.clone(), value.clone());
                    new_record(Some(key.as_bytes()), Some(value.as_bytes()), ts)
                })
                .collect();
            log.append_records(&recs, Durability::Written)
                .await
                .unwrap();
        }
    }
    // About 28 keys fit a 2 KiB map (key + 64 bytes each); the log holds 100 distinct keys in
    // 400 records, so one pass cannot see them all: each pass maps from where the last stopped.
    let budget = 2048;
    let before = log.size_bytes();
    log.compact_with_budget(now_ms(), budget).unwrap();
    let after_one = log.size_bytes();
    for _ in 0..40 {
        log.compact_with_budget(now_ms(), budget).unwrap();
    }
    let after_all = log.size_bytes();
    assert!(
        after_all < after_one,
        "later passes went on where the first stopped"
    );
    assert!(
        after_all < before / 2,
        "most superseded records are gone: {after_all} of {before}"
    );
    let mut got: BTreeMap<String, String> = BTreeMap::new();
    log.replay(0, |r| {
        got.insert(
            String::from_utf8_lossy(r.key.as_deref().unwrap()).into_owned(),
            String::from_utf8_lossy(r.value.as_deref().unwrap()).into_owned(),
        );
    })
    .unwrap();
    assert_eq!(got, latest, "the latest value of every key survives");
}

#[tokio::test]
async fn far_future_timestamps_do_not_keep_a_segment_past_its_retention() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker
        .create_topic(
            "t",
            1,
            &configs(&[("retention.ms", "3600000"), ("segment.bytes", "1024")]),
        )
        .unwrap();
    let log = broker.partition("t", 0).unwrap();
    let ten_years = 10 * 365 * 24 * 3600 * 1000i64;
    for b in 0..80 {
        log.append_records(
            &records(&format!("future{b}"), 2, now_ms() + ten_years),
            Durability::Written,
        )
        .await
        .unwrap();
    }
    let segments = segment_files(log.dir()).len();
    assert!(segments > 2);
    // Now: nothing is older than an hour.
    assert_eq!(log.apply_retention(now_ms()).unwrap(), 0);
    // Two hours later the segments were written more than retention.ms ago, whatever their
    // records claim.
    let deleted = log.apply_retention(now_ms() + 2 * 3_600_000).unwrap();
    assert!(deleted >= segments - 1, "{deleted} of {segments} deleted");
}

#[tokio::test]
async fn a_retried_acks_all_duplicate_after_a_crash_waits_for_an_fsync() {
    let dir = tempfile::tempdir().unwrap();
    let pid = 4242;
    {
        let broker = open(dir.path()).await;
        broker.create_topic("t", 1, &BTreeMap::new()).unwrap();
        let log = broker.partition("t", 0).unwrap();
        // Written to the page cache only (acks=1), then the process "dies".
        log.append(
            idempotent_batch(pid, 0, 0, &["a", "b"]),
            Durability::Written,
        )
        .await
        .unwrap();
        assert_eq!(log.fsync_count(), 0);
        drop(log);
        drop(broker);
    }
    let broker = open(dir.path()).await;
    let log: std::sync::Arc<PartitionLog> = broker.partition("t", 0).unwrap();
    let retry = log
        .append(
            idempotent_batch(pid, 0, 0, &["a", "b"]),
            Durability::Fsynced,
        )
        .await
        .unwrap();
    assert!(retry.duplicate);
    assert!(
        log.fsync_count() >= 1,
        "the recovered segment was fsynced before the duplicate was acknowledged"
    );
}
