//! Decoding is bounded by the bytes present, never by a count the peer wrote: one test per site
//! where kafka-protocol 0.18.0 reserved memory from a wire count (see vendor/README.md). Before
//! the patch each of these aborted the test process (an allocation failure cannot be caught).

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    CreateTopicsRequest, JoinGroupRequest, MetadataRequest, ProduceRequest, SyncGroupRequest,
};
use kafka_protocol::protocol::Decodable;
use kafka_protocol::records::RecordBatchDecoder;

/// Zigzag varint (the record format's signed varint).
fn put_varint(buf: &mut BytesMut, v: i32) {
    put_unsigned_varint(buf, ((v << 1) ^ (v >> 31)) as u32);
}

/// Unsigned LEB128 varint (the flexible versions' compact lengths).
fn put_unsigned_varint(buf: &mut BytesMut, mut v: u32) {
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

/// A v2 record batch around `records` (raw record bytes) claiming `count` records; CRC valid.
fn batch(records: &[u8], count: i32) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i64(0); // base offset
    b.put_i32(0); // batch length, patched below
    b.put_i32(-1); // partition leader epoch
    b.put_i8(2); // magic
    b.put_u32(0); // crc, patched below
    b.put_i16(0); // attributes
    b.put_i32(count.saturating_sub(1).max(0)); // last offset delta
    b.put_i64(1_000); // base timestamp
    b.put_i64(1_000); // max timestamp
    b.put_i64(-1); // producer id
    b.put_i16(-1); // producer epoch
    b.put_i32(-1); // base sequence
    b.put_i32(count);
    b.put_slice(records);
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b.freeze()
}

/// One record with no key and value and `headers` claimed headers (none present).
fn record_claiming_headers(headers: i32) -> Vec<u8> {
    let mut body = BytesMut::new();
    body.put_i8(0); // attributes
    put_varint(&mut body, 0); // timestamp delta
    put_varint(&mut body, 0); // offset delta
    put_varint(&mut body, -1); // key
    put_varint(&mut body, -1); // value
    put_varint(&mut body, headers);
    let mut r = BytesMut::new();
    put_varint(&mut r, body.len() as i32);
    r.put_slice(&body);
    r.to_vec()
}

fn err_text<T: std::fmt::Debug>(r: anyhow::Result<T>) -> String {
    format!("{:#}", r.expect_err("decoding must fail"))
}

#[test]
fn array_count_larger_than_the_bytes_is_refused() {
    // Metadata v4 (non-flexible): topics is an Array with an i32 count.
    let mut b = BytesMut::new();
    b.put_i32(i32::MAX);
    b.put_i16(5);
    b.put_slice(b"topic");
    let e = err_text(MetadataRequest::decode(&mut b.freeze(), 4));
    assert!(e.contains("2147483647"), "{e}");
}

#[test]
fn compact_array_count_larger_than_the_bytes_is_refused() {
    // Metadata v9 (flexible): topics is a CompactArray with a varint count + 1.
    let mut b = BytesMut::new();
    put_unsigned_varint(&mut b, u32::MAX);
    b.put_slice(&[0; 16]);
    let e = err_text(MetadataRequest::decode(&mut b.freeze(), 9));
    assert!(e.contains("4294967294"), "{e}");
}

#[test]
fn nested_array_counts_are_bounded_too() {
    // CreateTopics v4: one topic "t" with 2^31-1 partitions asked for and an assignments array
    // claiming 2^31-1 entries. The partition count is only a number; the array must not allocate.
    let mut b = BytesMut::new();
    b.put_i32(1); // topics
    b.put_i16(1);
    b.put_slice(b"t");
    b.put_i32(i32::MAX); // num_partitions
    b.put_i16(1); // replication factor
    b.put_i32(i32::MAX); // assignments
    let e = err_text(CreateTopicsRequest::decode(&mut b.freeze(), 4));
    assert!(e.contains("2147483647"), "{e}");

    // The same request with no assignments decodes: the count of partitions is the handler's to
    // judge, and decoding it allocates nothing.
    let mut b = BytesMut::new();
    b.put_i32(1);
    b.put_i16(1);
    b.put_slice(b"t");
    b.put_i32(i32::MAX);
    b.put_i16(1);
    b.put_i32(0); // assignments
    b.put_i32(0); // configs
    b.put_i32(30_000); // timeout
    b.put_i8(0); // validate only
    let req = CreateTopicsRequest::decode(&mut b.freeze(), 4).unwrap();
    assert_eq!(req.topics[0].num_partitions, i32::MAX);
}

#[test]
fn byte_strings_claiming_more_than_present_are_refused() {
    // SyncGroup v3: one assignment whose Bytes length claims 2 GiB.
    let mut b = BytesMut::new();
    b.put_i16(1);
    b.put_slice(b"g"); // group id
    b.put_i32(1); // generation
    b.put_i16(1);
    b.put_slice(b"m"); // member id
    b.put_i16(-1); // group instance id
    b.put_i32(1); // assignments
    b.put_i16(1);
    b.put_slice(b"m");
    b.put_i32(i32::MAX);
    b.put_slice(&[0; 8]);
    assert!(SyncGroupRequest::decode(&mut b.freeze(), 3).is_err());

    // JoinGroup v6 (flexible): one protocol whose metadata CompactBytes claims 4 GiB.
    let mut b = BytesMut::new();
    put_unsigned_varint(&mut b, 2);
    b.put_slice(b"g");
    b.put_i32(10_000);
    b.put_i32(10_000);
    put_unsigned_varint(&mut b, 1); // member id ""
    put_unsigned_varint(&mut b, 0); // group instance id null
    put_unsigned_varint(&mut b, 9);
    b.put_slice(b"consumer");
    put_unsigned_varint(&mut b, 2); // one protocol
    put_unsigned_varint(&mut b, 6);
    b.put_slice(b"range");
    put_unsigned_varint(&mut b, u32::MAX);
    b.put_slice(&[0; 8]);
    assert!(JoinGroupRequest::decode(&mut b.freeze(), 6).is_err());
}

#[test]
fn record_count_larger_than_the_bytes_is_refused() {
    let rec = record_claiming_headers(0);
    let mut b = batch(&rec, i32::MAX);
    let e = err_text(RecordBatchDecoder::decode(&mut b));
    assert!(e.contains("2147483647"), "{e}");

    // The honest count decodes.
    let mut b = batch(&rec, 1);
    assert_eq!(RecordBatchDecoder::decode(&mut b).unwrap().records.len(), 1);
}

#[test]
fn header_count_larger_than_the_bytes_is_refused() {
    let mut b = batch(&record_claiming_headers(i32::MAX), 1);
    let e = err_text(RecordBatchDecoder::decode(&mut b));
    assert!(e.contains("2147483647"), "{e}");
}

#[test]
fn produce_request_with_huge_topic_and_partition_counts_is_refused() {
    // Produce v7: transactional id null, acks, timeout, topics claiming 2^31-1.
    let mut b = BytesMut::new();
    b.put_i16(-1);
    b.put_i16(1);
    b.put_i32(1000);
    b.put_i32(i32::MAX);
    assert!(ProduceRequest::decode(&mut b.freeze(), 7).is_err());
}

/// Found by the `record_batch` fuzz target (fuzz/regressions/record_batch/crash-7cb6d7e3...):
/// a record whose timestamp delta overflows the batch's base timestamp panicked the decoder
/// ("attempt to add with overflow"). Kafka's reader wraps; so does the patched decoder, and the
/// log validator refuses such a record.
#[test]
fn timestamp_and_offset_deltas_that_overflow_do_not_panic() {
    let mut body = BytesMut::new();
    body.put_i8(0); // attributes
    // timestamp delta i64::MAX (zigzag varlong)
    let mut z = (i64::MAX as u64) << 1;
    while z >= 0x80 {
        body.put_u8((z as u8) | 0x80);
        z >>= 7;
    }
    body.put_u8(z as u8);
    put_varint(&mut body, i32::MAX); // offset delta
    put_varint(&mut body, -1); // key
    put_varint(&mut body, -1); // value
    put_varint(&mut body, 0); // headers
    let mut rec = BytesMut::new();
    put_varint(&mut rec, body.len() as i32);
    rec.put_slice(&body);
    let mut b = batch(&rec, 1);
    let bytes = b.clone();
    let set = RecordBatchDecoder::decode(&mut b).unwrap();
    assert_eq!(set.records[0].timestamp, 1_000i64.wrapping_add(i64::MAX));

    let header = sluice_broker::log::batch::validate_batch(&bytes).unwrap();
    let e = sluice_broker::log::validator::check_batch(
        &bytes,
        &header,
        &sluice_broker::TopicConfig::default(),
        1_000,
    )
    .unwrap_err();
    assert_eq!(e.code(), 87, "{e}");
}
