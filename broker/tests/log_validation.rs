//! Every batch a client appends is validated as Kafka's LogValidator does: record counts against
//! the records present, inner offsets, keys, timestamps, control and transactional flags, producer
//! fields, and compressed records inflated under max.message.bytes. Refusals carry Kafka's codes
//! and leave the log as it was.

mod log_common;

use std::io::Write;

use bytes::{BufMut, BytesMut};
use log_common::*;
use sluice_broker::{Durability, PartitionLog, decode_records};

const CORRUPT_MESSAGE: i16 = 2;
const INVALID_TIMESTAMP: i16 = 32;
const INVALID_TXN_STATE: i16 = 48;
const INVALID_RECORD: i16 = 87;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn put_varint(buf: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        buf.push((z as u8) | 0x80);
        z >>= 7;
    }
    buf.push(z as u8);
}

/// A record as it is on the wire, with every field chosen by the test.
#[derive(Clone)]
struct Rec {
    ts_delta: i64,
    offset_delta: i64,
    key: Option<&'static [u8]>,
    value: Option<&'static [u8]>,
    headers: i64,
}

fn rec(offset_delta: i64) -> Rec {
    Rec {
        ts_delta: 0,
        offset_delta,
        key: Some(b"k"),
        value: Some(b"value"),
        headers: 0,
    }
}

fn encode(recs: &[Rec]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in recs {
        let mut body = vec![0u8];
        put_varint(&mut body, r.ts_delta);
        put_varint(&mut body, r.offset_delta);
        for field in [r.key, r.value] {
            match field {
                Some(b) => {
                    put_varint(&mut body, b.len() as i64);
                    body.extend_from_slice(b);
                }
                None => put_varint(&mut body, -1),
            }
        }
        put_varint(&mut body, r.headers);
        put_varint(&mut out, body.len() as i64);
        out.extend_from_slice(&body);
    }
    out
}

/// The batch header fields a test may set.
#[derive(Clone, Copy)]
struct Head {
    count: i32,
    last_delta: i32,
    attributes: i16,
    base_ts: i64,
    max_ts: i64,
    producer_id: i64,
    epoch: i16,
    base_sequence: i32,
}

fn head(count: i32) -> Head {
    let now = now_ms();
    Head {
        count,
        last_delta: count - 1,
        attributes: 0,
        base_ts: now,
        max_ts: now,
        producer_id: -1,
        epoch: -1,
        base_sequence: -1,
    }
}

/// A whole v2 batch with a valid CRC around `records` (already compressed when the attributes
/// say so).
fn batch(h: Head, records: &[u8]) -> BytesMut {
    let mut b = BytesMut::new();
    b.put_i64(0);
    b.put_i32(0);
    b.put_i32(-1);
    b.put_i8(2);
    b.put_u32(0);
    b.put_i16(h.attributes);
    b.put_i32(h.last_delta);
    b.put_i64(h.base_ts);
    b.put_i64(h.max_ts);
    b.put_i64(h.producer_id);
    b.put_i16(h.epoch);
    b.put_i32(h.base_sequence);
    b.put_i32(h.count);
    b.put_slice(records);
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}
fn snappy(data: &[u8]) -> Vec<u8> {
    let mut out = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01".to_vec();
    for chunk in data.chunks(32 * 1024) {
        let block = snap::raw::Encoder::new().compress_vec(chunk).unwrap();
        out.extend_from_slice(&(block.len() as u32).to_be_bytes());
        out.extend_from_slice(&block);
    }
    out
}
fn lz4(data: &[u8]) -> Vec<u8> {
    let mut e = lz4::EncoderBuilder::new().build(Vec::new()).unwrap();
    e.write_all(data).unwrap();
    let (out, r) = e.finish();
    r.unwrap();
    out
}
fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 3).unwrap()
}

type Codec = (&'static str, i16, fn(&[u8]) -> Vec<u8>);
const CODECS: &[Codec] = &[
    ("gzip", 1, gzip),
    ("snappy", 2, snappy),
    ("lz4", 3, lz4),
    ("zstd", 4, zstd),
];

async fn topic(pairs: &[(&str, &str)]) -> (tempfile::TempDir, sluice_broker::Broker) {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker.create_topic("t", 1, &configs(pairs)).unwrap();
    (dir, broker)
}

async fn refused(log: &PartitionLog, b: BytesMut) -> i16 {
    let hw = log.high_watermark();
    let e = log
        .append(b, Durability::Written)
        .await
        .expect_err("the batch must be refused");
    assert_eq!(
        log.high_watermark(),
        hw,
        "a refused batch moved the log: {e}"
    );
    e.code()
}

async fn accepted(log: &PartitionLog, b: BytesMut) -> sluice_broker::AppendResult {
    log.append(b, Durability::Written).await.unwrap()
}

#[tokio::test]
async fn record_count_must_match_the_records_present() {
    let (_d, broker) = topic(&[]).await;
    let log = broker.partition("t", 0).unwrap();
    let two = encode(&[rec(0), rec(1)]);
    assert_eq!(refused(&log, batch(head(3), &two)).await, INVALID_RECORD);
    assert_eq!(refused(&log, batch(head(1), &two)).await, INVALID_RECORD);
    // The 2^31-1 claim that once moved the high-water mark to 2^31.
    assert_eq!(
        refused(&log, batch(head(i32::MAX), &two)).await,
        INVALID_RECORD
    );
    // Zero records, and a last offset delta that disagrees with the count.
    let none = Head {
        last_delta: 0,
        ..head(0)
    };
    assert_eq!(refused(&log, batch(none, &[])).await, INVALID_RECORD);
    let h = Head {
        last_delta: 5,
        ..head(2)
    };
    assert_eq!(refused(&log, batch(h, &two)).await, INVALID_RECORD);
    // Bytes after the last record, and a record longer than its length.
    let mut trailing = two.clone();
    trailing.extend_from_slice(&[0, 0, 0]);
    assert_eq!(
        refused(&log, batch(head(2), &trailing)).await,
        INVALID_RECORD
    );
    let mut cut = two.clone();
    cut.truncate(two.len() - 2);
    assert_eq!(refused(&log, batch(head(2), &cut)).await, INVALID_RECORD);
    // The honest batch is taken.
    assert_eq!(accepted(&log, batch(head(2), &two)).await.last_offset, 1);
    assert_eq!(log.high_watermark(), 2);
}

#[tokio::test]
async fn header_counts_are_checked_against_the_bytes() {
    let (_d, broker) = topic(&[]).await;
    let log = broker.partition("t", 0).unwrap();
    let r = Rec {
        headers: i32::MAX as i64,
        ..rec(0)
    };
    assert_eq!(
        refused(&log, batch(head(1), &encode(&[r]))).await,
        INVALID_RECORD
    );
    let r = Rec {
        headers: -3,
        ..rec(0)
    };
    assert_eq!(
        refused(&log, batch(head(1), &encode(&[r]))).await,
        INVALID_RECORD
    );
}

#[tokio::test]
async fn inner_offsets_are_rewritten_for_every_codec() {
    let (_d, broker) = topic(&[]).await;
    let log = broker.partition("t", 0).unwrap();
    let zeros = encode(&[rec(0), rec(0), rec(0)]);
    let r = accepted(&log, batch(head(3), &zeros)).await;
    assert_eq!((r.base_offset, r.last_offset), (0, 2));
    for (name, attr, compress) in CODECS {
        let h = Head {
            attributes: *attr,
            ..head(3)
        };
        let r = accepted(&log, batch(h, &compress(&zeros))).await;
        assert_eq!(r.last_offset - r.base_offset, 2, "{name}");
    }
    let read = log.read(0, 1 << 20).unwrap();
    let offsets: Vec<i64> = decode_records(&read.records)
        .unwrap()
        .iter()
        .map(|r| r.offset)
        .collect();
    assert_eq!(offsets, (0..15).collect::<Vec<_>>());
}

#[tokio::test]
async fn control_and_transactional_batches_from_clients_are_refused() {
    let (_d, broker) = topic(&[]).await;
    let log = broker.partition("t", 0).unwrap();
    let pid = broker.allocate_producer_id().unwrap();
    let one = encode(&[rec(0)]);
    let control = Head {
        attributes: 1 << 5,
        ..head(1)
    };
    assert_eq!(refused(&log, batch(control, &one)).await, INVALID_RECORD);
    let txn = Head {
        attributes: 1 << 4,
        producer_id: pid,
        epoch: 0,
        base_sequence: 0,
        ..head(1)
    };
    assert_eq!(refused(&log, batch(txn, &one)).await, INVALID_TXN_STATE);
    let txn_without_producer = Head {
        attributes: 1 << 4,
        ..head(1)
    };
    assert_eq!(
        refused(&log, batch(txn_without_producer, &one)).await,
        INVALID_RECORD
    );
}

#[tokio::test]
async fn a_producer_id_without_a_sequence_cannot_fence_its_owner() {
    let (_d, broker) = topic(&[]).await;
    let log = broker.partition("t", 0).unwrap();
    let pid = broker.allocate_producer_id().unwrap();
    let one = encode(&[rec(0)]);
    let owner = |seq| Head {
        producer_id: pid,
        epoch: 1,
        base_sequence: seq,
        ..head(1)
    };
    accepted(&log, batch(owner(0), &one)).await;
    let forged = Head {
        producer_id: pid,
        epoch: 9,
        base_sequence: -1,
        ..head(1)
    };
    assert_eq!(refused(&log, batch(forged, &one)).await, INVALID_RECORD);
    // The owner carries on at its epoch.
    let r = accepted(&log, batch(owner(1), &one)).await;
    assert!(!r.duplicate);
    assert_eq!(log.high_watermark(), 2);
}

#[tokio::test]
async fn timestamps_are_checked_against_the_topic_bounds() {
    let hour = 3_600_000i64;
    let (_d, broker) = topic(&[
        ("message.timestamp.after.max.ms", "3600000"),
        ("message.timestamp.before.max.ms", "86400000"),
    ])
    .await;
    let log = broker.partition("t", 0).unwrap();
    let one = encode(&[rec(0)]);
    let at = |ts: i64| Head {
        base_ts: ts,
        max_ts: ts,
        ..head(1)
    };
    let ten_years = 10 * 365 * 24 * hour;
    assert_eq!(
        refused(&log, batch(at(now_ms() + ten_years), &one)).await,
        INVALID_TIMESTAMP
    );
    assert_eq!(
        refused(&log, batch(at(now_ms() - 2 * 24 * hour), &one)).await,
        INVALID_TIMESTAMP
    );
    // A record whose delta takes it out of range, in a compressed batch.
    let late = encode(&[
        rec(0),
        Rec {
            ts_delta: ten_years,
            ..rec(1)
        },
    ]);
    let h = Head {
        attributes: 4,
        ..head(2)
    };
    assert_eq!(
        refused(&log, batch(h, &zstd(&late))).await,
        INVALID_TIMESTAMP
    );
    // No timestamp (-1) is not range-checked; in range is fine.
    accepted(&log, batch(at(-1), &one)).await;
    accepted(&log, batch(at(now_ms() - hour), &one)).await;

    // Kafka's defaults accept any timestamp.
    let (_d2, broker) = topic(&[]).await;
    let log = broker.partition("t", 0).unwrap();
    accepted(&log, batch(at(now_ms() + ten_years), &one)).await;
}

#[tokio::test]
async fn a_lying_max_timestamp_is_corrected() {
    let (_d, broker) = topic(&[]).await;
    let log = broker.partition("t", 0).unwrap();
    let now = now_ms();
    let h = Head {
        max_ts: now + 10 * 365 * 24 * 3_600_000,
        ..head(1)
    };
    accepted(&log, batch(h, &encode(&[rec(0)]))).await;
    let read = log.read(0, 1 << 20).unwrap();
    let stored = sluice_broker::log::batch::validate_batch(&read.records).unwrap();
    assert_eq!(stored.max_timestamp, now);
}

#[tokio::test]
async fn producers_may_not_claim_log_append_time() {
    let (_d, broker) = topic(&[("message.timestamp.type", "LogAppendTime")]).await;
    let log = broker.partition("t", 0).unwrap();
    let h = Head {
        attributes: 1 << 3,
        ..head(1)
    };
    assert_eq!(
        refused(&log, batch(h, &encode(&[rec(0)]))).await,
        INVALID_TIMESTAMP
    );
}

#[tokio::test]
async fn compacted_topics_need_keys() {
    let (_d, broker) = topic(&[("cleanup.policy", "compact")]).await;
    let log = broker.partition("t", 0).unwrap();
    let keyless = Rec {
        key: None,
        ..rec(0)
    };
    assert_eq!(
        refused(&log, batch(head(1), &encode(&[keyless]))).await,
        INVALID_RECORD
    );
}

#[tokio::test]
async fn compressed_batches_inflate_under_max_message_bytes() {
    let (_d, broker) = topic(&[("max.message.bytes", "65536")]).await;
    let log = broker.partition("t", 0).unwrap();
    // 600 records of 1 KiB values: 600 KiB inflated, a few KiB compressed.
    static BIG: [u8; 1024] = [b'x'; 1024];
    let bomb: Vec<Rec> = (0..600)
        .map(|i| Rec {
            value: Some(&BIG),
            ..rec(i)
        })
        .collect();
    let raw = encode(&bomb);
    for (name, attr, compress) in CODECS {
        let h = Head {
            attributes: *attr,
            ..head(600)
        };
        let z = compress(&raw);
        assert!(z.len() < 65_536, "{name}: {}", z.len());
        assert_eq!(refused(&log, batch(h, &z)).await, CORRUPT_MESSAGE, "{name}");
        // The same records in a small batch are fine.
        let small = encode(&bomb[..10]);
        let h = Head {
            attributes: *attr,
            ..head(10)
        };
        accepted(&log, batch(h, &compress(&small))).await;
    }
    // Garbage that claims a codec is CORRUPT_MESSAGE too; an unknown codec as well.
    for attr in [1, 2, 3, 4, 5, 7] {
        let h = Head {
            attributes: attr,
            ..head(1)
        };
        let code = refused(&log, batch(h, &[0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4])).await;
        assert_eq!(code, CORRUPT_MESSAGE, "codec {attr}");
    }
}
