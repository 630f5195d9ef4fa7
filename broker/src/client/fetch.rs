//! Fetch: read records of partitions from given offsets, and decode the returned batches.
//!
//! A fetch response holds whole RecordBatch v2 batches, the first of which may start before the
//! requested offset (Kafka returns the batch containing it) and the last of which may be cut
//! short by `max_bytes`. Decoding therefore splits the bytes batch by batch, skips records before
//! the requested offset, skips control batches and stops at a partial batch at the end.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use futures::future::BoxFuture;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::client::Client;
use super::error::{ClientError, Result};

/// A record read from a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    /// Topic name.
    pub topic: Arc<str>,
    /// Partition index.
    pub partition: i32,
    /// The record's offset.
    pub offset: i64,
    /// Timestamp in ms since the epoch.
    pub timestamp: i64,
    /// Record key.
    pub key: Option<Bytes>,
    /// Record value (`None` for a tombstone).
    pub value: Option<Bytes>,
    /// Headers, in order.
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// How much a fetch waits for and returns.
#[derive(Debug, Clone, Copy)]
pub struct FetchOptions {
    /// How long the server may hold the request waiting for `min_bytes`.
    pub max_wait: Duration,
    /// Bytes the server waits for before answering.
    pub min_bytes: i32,
    /// Upper bound of the whole response (at least one batch is always returned).
    pub max_bytes: i32,
    /// Upper bound per partition.
    pub partition_max_bytes: i32,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            max_wait: Duration::from_millis(500),
            min_bytes: 1,
            max_bytes: 50 * 1024 * 1024,
            partition_max_bytes: 8 * 1024 * 1024,
        }
    }
}

/// What one partition returned.
#[derive(Debug)]
pub struct PartitionFetch {
    /// Topic name.
    pub topic: Arc<str>,
    /// Partition index.
    pub partition: i32,
    /// The partition's high-water mark (next offset to be written).
    pub high_watermark: i64,
    /// The partition's log start offset (-1 if the server's version does not report it).
    pub log_start_offset: i64,
    /// Records at or after the requested offset, in offset order.
    pub records: Vec<ConsumerRecord>,
    /// The offset to fetch next: after the last record returned, or the requested offset.
    pub next_offset: i64,
    /// The partition-level error, if any (e.g. OFFSET_OUT_OF_RANGE).
    pub error: Option<ClientError>,
}

/// A partition to fetch and the offset to start at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FetchPosition {
    /// Topic name.
    pub topic: Arc<str>,
    /// Partition index.
    pub partition: i32,
    /// First offset wanted.
    pub offset: i64,
}

impl Client {
    /// Fetches `positions` in one request, long-polling up to `options.max_wait`.
    pub async fn fetch(
        &self,
        positions: &[FetchPosition],
        options: FetchOptions,
    ) -> Result<Vec<PartitionFetch>> {
        self.start_fetch(positions, options)
            .await?
            .response()
            .await?
            .decode()
    }

    /// Sends a fetch and returns without waiting for the answer, so that a consumer can have
    /// the next fetch on its way while it decodes the last one.
    pub async fn start_fetch(
        &self,
        positions: &[FetchPosition],
        options: FetchOptions,
    ) -> Result<PendingFetch> {
        let version = self.version::<FetchRequest>()?;
        let mut topics: Vec<FetchTopic> = Vec::new();
        for pos in positions {
            let mut partition = FetchPartition::default();
            partition.partition = pos.partition;
            partition.fetch_offset = pos.offset;
            partition.partition_max_bytes = options.partition_max_bytes;
            match topics
                .iter_mut()
                .find(|t| t.topic.0.as_str() == &*pos.topic)
            {
                Some(topic) => topic.partitions.push(partition),
                None => {
                    let mut topic = FetchTopic::default();
                    topic.topic = TopicName(StrBytes::from_string(pos.topic.to_string()));
                    topic.partitions = vec![partition];
                    topics.push(topic);
                }
            }
        }
        let mut request = FetchRequest::default();
        request.replica_id = BrokerId(-1);
        request.max_wait_ms = i32::try_from(options.max_wait.as_millis()).unwrap_or(i32::MAX);
        request.min_bytes = options.min_bytes;
        request.max_bytes = options.max_bytes;
        request.isolation_level = 1; // READ_COMMITTED: never see records past the stable offset.
        request.session_id = 0;
        request.session_epoch = -1; // no incremental fetch session
        request.topics = topics;
        let response = self
            .start_request(&request, version, options.max_wait)
            .await?;
        Ok(PendingFetch {
            response: Box::pin(response),
            positions: positions.to_vec(),
        })
    }
}

/// A fetch on the wire; [`PendingFetch::response`] waits for it.
pub struct PendingFetch {
    response: BoxFuture<'static, Result<FetchResponse>>,
    positions: Vec<FetchPosition>,
}

impl PendingFetch {
    /// The positions this fetch asked for.
    pub fn positions(&self) -> &[FetchPosition] {
        &self.positions
    }

    /// Waits for the response; the batches are not decoded yet.
    pub async fn response(self) -> Result<RawFetch> {
        let response = self.response.await?;
        if response.error_code != 0 {
            return Err(ClientError::kafka("fetch", response.error_code, None));
        }
        let mut partitions = Vec::new();
        for topic in response.responses {
            let name: Arc<str> = Arc::from(topic.topic.0.as_str());
            for p in topic.partitions {
                let requested = self
                    .positions
                    .iter()
                    .find(|pos| *pos.topic == *name && pos.partition == p.partition_index)
                    .map_or(0, |pos| pos.offset);
                let error = match p.error_code {
                    0 => None,
                    code if code == ResponseError::UnknownTopicOrPartition.code() => {
                        Some(ClientError::UnknownTopic {
                            topic: name.to_string(),
                        })
                    }
                    code => Some(ClientError::kafka(
                        format!("fetch {name}-{} at offset {requested}", p.partition_index),
                        code,
                        None,
                    )),
                };
                let next_offset = match (&p.records, &error) {
                    (Some(bytes), None) => scan_next_offset(bytes, requested),
                    _ => requested,
                };
                partitions.push(RawPartition {
                    topic: name.clone(),
                    partition: p.partition_index,
                    high_watermark: p.high_watermark,
                    log_start_offset: p.log_start_offset,
                    requested,
                    next_offset,
                    error,
                    records: p.records,
                });
            }
        }
        Ok(RawFetch { partitions })
    }
}

/// A fetch response whose batches are not decoded yet.
pub struct RawFetch {
    partitions: Vec<RawPartition>,
}

struct RawPartition {
    topic: Arc<str>,
    partition: i32,
    high_watermark: i64,
    log_start_offset: i64,
    requested: i64,
    next_offset: i64,
    error: Option<ClientError>,
    records: Option<Bytes>,
}

impl RawFetch {
    /// Where each partition continues after this response, read from the batch headers only;
    /// `None` when a partition reported an error (the caller must handle it first).
    pub fn next_positions(&self) -> Option<Vec<FetchPosition>> {
        self.partitions
            .iter()
            .map(|p| {
                p.error.is_none().then(|| FetchPosition {
                    topic: p.topic.clone(),
                    partition: p.partition,
                    offset: p.next_offset,
                })
            })
            .collect()
    }

    /// Decodes every partition's batches.
    pub fn decode(self) -> Result<Vec<PartitionFetch>> {
        let mut out = Vec::with_capacity(self.partitions.len());
        for p in self.partitions {
            let records = match (&p.records, &p.error) {
                (Some(bytes), None) => {
                    decode_records(&p.topic, p.partition, bytes.clone(), p.requested)?.records
                }
                _ => Vec::new(),
            };
            out.push(PartitionFetch {
                topic: p.topic,
                partition: p.partition,
                high_watermark: p.high_watermark,
                log_start_offset: p.log_start_offset,
                records,
                next_offset: p.next_offset,
                error: p.error,
            });
        }
        Ok(out)
    }
}

/// Batch header: base offset (8), batch length (4) counting the bytes after it.
const LOG_OVERHEAD: usize = 12;
/// Where a v2 batch header keeps the last offset delta.
const LAST_OFFSET_DELTA_AT: usize = 23;

/// One past the last offset covered by a complete batch in `bytes`, from headers only.
fn scan_next_offset(bytes: &[u8], requested: i64) -> i64 {
    let mut next = requested;
    let mut rest = bytes;
    while rest.len() >= LAST_OFFSET_DELTA_AT + 4 {
        let length = (&rest[8..12]).get_i32();
        let total = LOG_OVERHEAD + length.max(0) as usize;
        if length < 0 || rest.len() < total {
            break;
        }
        let base = (&rest[..8]).get_i64();
        let last_delta = (&rest[LAST_OFFSET_DELTA_AT..]).get_i32();
        next = next.max(base + i64::from(last_delta) + 1);
        rest = &rest[total..];
    }
    next
}

/// Records decoded from a fetch response, and where to fetch next.
#[derive(Debug)]
pub struct Decoded {
    /// Records at or after the requested offset, control records left out.
    pub records: Vec<ConsumerRecord>,
    /// One past the last offset covered by a complete batch (its header's last offset delta),
    /// or the requested offset when no batch was complete. Taken from the batch headers rather
    /// than the last record, so a batch whose tail records compaction removed, or a trailing
    /// control batch, is not fetched again forever.
    pub next_offset: i64,
}

/// Decodes the record batches in `bytes`, keeping records at or after `from_offset`.
pub fn decode_records(
    topic: &Arc<str>,
    partition: i32,
    mut bytes: Bytes,
    from_offset: i64,
) -> Result<Decoded> {
    const ATTRIBUTES_AT: usize = 21;
    const CONTROL_FLAG: u16 = 0x20;
    let mut out = Vec::new();
    let mut next_offset = from_offset;
    while bytes.len() >= LOG_OVERHEAD {
        let length = (&bytes[8..12]).get_i32();
        if length < 0 {
            return Err(ClientError::Protocol {
                api: "Fetch",
                reason: format!("record batch with negative length {length}"),
            });
        }
        let total = LOG_OVERHEAD + length as usize;
        if bytes.len() < total {
            break; // a partial batch at the end, cut by max_bytes
        }
        let batch = bytes.split_to(total);
        if batch.len() >= LAST_OFFSET_DELTA_AT + 4 {
            let base = (&batch[..8]).get_i64();
            let last_delta = (&batch[LAST_OFFSET_DELTA_AT..]).get_i32();
            next_offset = next_offset.max(base + i64::from(last_delta) + 1);
        }
        if batch.len() > ATTRIBUTES_AT + 2
            && (&batch[ATTRIBUTES_AT..]).get_u16() & CONTROL_FLAG != 0
        {
            continue; // transaction markers are not user records
        }
        let max = crate::log::inflate::DEFAULT_MAX_INFLATED_BYTES;
        let set =
            crate::log::inflate::decode_batch(&batch, max).map_err(|e| ClientError::Protocol {
                api: "Fetch",
                reason: format!("cannot decode a record batch of {topic}-{partition}: {e}"),
            })?;
        out.reserve(set.records.len());
        for record in set.records {
            if record.offset < from_offset || record.control {
                continue;
            }
            out.push(ConsumerRecord {
                topic: topic.clone(),
                partition,
                offset: record.offset,
                timestamp: record.timestamp,
                key: record.key,
                value: record.value,
                headers: record
                    .headers
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            });
        }
    }
    Ok(Decoded {
        records: out,
        next_offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use kafka_protocol::indexmap::IndexMap;
    use kafka_protocol::records::{
        Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    };

    fn batch(base: i64, values: &[&str]) -> BytesMut {
        let records: Vec<Record> = values
            .iter()
            .enumerate()
            .map(|(i, v)| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: base + i as i64,
                sequence: -1,
                timestamp: 1000 + i as i64,
                key: Some(Bytes::from(format!("k{i}"))),
                value: Some(Bytes::copy_from_slice(v.as_bytes())),
                headers: IndexMap::new(),
            })
            .collect();
        let mut buf = BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        };
        RecordBatchEncoder::encode(&mut buf, records.iter(), &options).unwrap();
        buf
    }

    #[test]
    fn skips_records_before_the_requested_offset_and_partial_tail() {
        let mut bytes = batch(10, &["a", "b", "c"]);
        bytes.extend_from_slice(&batch(13, &["d", "e"]));
        let third = batch(15, &["f"]);
        bytes.extend_from_slice(&third[..third.len() - 3]);
        let topic: Arc<str> = Arc::from("t");
        let bytes_copy = bytes.clone();
        let decoded = decode_records(&topic, 2, bytes.freeze(), 11).unwrap();
        assert_eq!(
            decoded.next_offset, 15,
            "the partial batch at 15 is fetched again"
        );
        assert_eq!(scan_next_offset(&bytes_copy, 11), 15);
        let records = decoded.records;
        let got: Vec<(i64, &[u8])> = records
            .iter()
            .map(|r| (r.offset, r.value.as_deref().unwrap()))
            .collect();
        assert_eq!(
            got,
            vec![(11, &b"b"[..]), (12, b"c"), (13, b"d"), (14, b"e")]
        );
        assert!(records.iter().all(|r| r.partition == 2 && &*r.topic == "t"));
        assert_eq!(records[0].key.as_deref(), Some(&b"k1"[..]));
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        let mut bytes = batch(0, &["a"]);
        let len = bytes.len();
        bytes[len - 2] ^= 0xff;
        bytes[16] = 7; // magic
        let topic: Arc<str> = Arc::from("t");
        assert!(decode_records(&topic, 0, bytes.freeze(), 0).is_err());
    }
}

#[cfg(test)]
mod header_tests {
    use super::*;
    use bytes::BytesMut;

    #[test]
    fn next_offset_comes_from_the_batch_header_not_the_last_record() {
        let mut bytes = BytesMut::new();
        let record = kafka_protocol::records::Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: kafka_protocol::records::TimestampType::Creation,
            offset: 22,
            sequence: -1,
            timestamp: 0,
            key: Some(Bytes::from_static(b"k")),
            value: Some(Bytes::from_static(b"v")),
            headers: Default::default(),
        };
        let options = kafka_protocol::records::RecordEncodeOptions {
            version: 2,
            compression: kafka_protocol::records::Compression::None,
        };
        kafka_protocol::records::RecordBatchEncoder::encode(&mut bytes, [&record], &options)
            .unwrap();
        // Rewrite the header as compaction leaves it: the batch spans 20..=29 (base offset 20,
        // last offset delta 9) and only its first record (offset 20) survived. The CRC covers
        // the last offset delta, so it is recomputed.
        bytes[..8].copy_from_slice(&20i64.to_be_bytes());
        bytes[23..27].copy_from_slice(&9i32.to_be_bytes());
        let crc = crc32c::crc32c(&bytes[21..]);
        bytes[17..21].copy_from_slice(&crc.to_be_bytes());
        let topic: Arc<str> = Arc::from("t");
        let decoded = decode_records(&topic, 0, bytes.freeze(), 23).unwrap();
        assert!(
            decoded.records.is_empty(),
            "offset 20 is before 23 and skipped"
        );
        assert_eq!(decoded.next_offset, 30);
    }
}
