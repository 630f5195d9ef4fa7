//! The producer: partitions records, packs them into RecordBatch v2 batches and keeps several
//! Produce requests in flight on one connection.
//!
//! Records go to the partition the caller names, else to `murmur2(key) % partitions` (the Kafka
//! Java client's default partitioner, shared with the broker) for keyed records, else round robin.
//! Each partition collects records until its batch reaches `batch_bytes`; then that batch and
//! every other batch at least half full go out together in one Produce request (as Kafka's sender
//! drains all ready partitions of a broker at once) while the caller keeps adding records. At
//! most `max_in_flight` requests wait for acknowledgement at once; the next dispatch waits for
//! the oldest. Requests are written in dispatch order, so a partition's batches never overtake
//! each other. `flush` sends what is left and waits for every acknowledgement. No retries: a
//! failed request fails `send`/`flush` (retrying safely needs the idempotent producer, which
//! this client does not implement yet).

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::ProduceRequest;
use kafka_protocol::messages::TopicName;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions};
use tokio::task::JoinSet;

use super::client::Client;
use super::error::{ClientError, Result, check};
use crate::log::now_ms;
use crate::log::records::plain_record;

/// How many replicas must have a record before the server acknowledges it (Kafka's `acks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// `acks=0`: the server sends no response; records count as sent, not acknowledged.
    None,
    /// `acks=1`: acknowledged once the leader wrote it.
    Leader,
    /// `acks=all` (-1): acknowledged once durable (fsync'd on Sluice).
    All,
}

impl Acks {
    fn wire(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

impl std::str::FromStr for Acks {
    type Err = ClientError;
    fn from_str(s: &str) -> Result<Acks> {
        match s {
            "0" => Ok(Acks::None),
            "1" => Ok(Acks::Leader),
            "all" | "-1" => Ok(Acks::All),
            other => Err(ClientError::InvalidArgument(format!(
                "acks must be all, -1, 1 or 0, not {other:?}"
            ))),
        }
    }
}

/// Producer settings.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// Acknowledgement level.
    pub acks: Acks,
    /// A partition's batch is sent once its records reach this many bytes (Kafka's
    /// `batch.size`).
    pub batch_bytes: usize,
    /// Produce requests waiting for acknowledgement at once (Kafka's
    /// `max.in.flight.requests.per.connection`).
    pub max_in_flight: usize,
    /// Compression of each batch.
    pub compression: Compression,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: Acks::All,
            batch_bytes: 256 * 1024,
            max_in_flight: 8,
            compression: Compression::None,
        }
    }
}

/// A record to produce.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerRecord {
    /// Explicit partition; `None` lets the partitioner choose.
    pub partition: Option<i32>,
    /// Record key.
    pub key: Option<Bytes>,
    /// Record value (`None` is a tombstone).
    pub value: Option<Bytes>,
    /// Headers, in order.
    pub headers: Vec<(String, Option<Bytes>)>,
    /// Timestamp in ms since the epoch; `None` uses the current time.
    pub timestamp: Option<i64>,
}

impl ProducerRecord {
    /// A record with an optional key and a value.
    pub fn new(key: Option<impl Into<Bytes>>, value: impl Into<Bytes>) -> ProducerRecord {
        ProducerRecord {
            key: key.map(Into::into),
            value: Some(value.into()),
            ..ProducerRecord::default()
        }
    }
}

/// Where an acknowledged batch landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchAck {
    /// Partition written.
    pub partition: i32,
    /// Offset of the batch's first record (-1 for acks=0).
    pub base_offset: i64,
    /// Records in the batch.
    pub records: usize,
}

#[derive(Default)]
struct PendingBatch {
    records: Vec<Record>,
    bytes: usize,
}

/// Records acknowledged by one request, and the first partition error it reported.
type RequestOutcome = (u64, Option<ClientError>);

/// A batching, pipelining producer for one or more topics.
pub struct Producer {
    client: Client,
    config: ProducerConfig,
    round_robin: usize,
    /// Open batches: topic -> one per partition (looked up by `&str`, no allocation per record).
    batches: HashMap<String, Vec<PendingBatch>>,
    in_flight: JoinSet<Result<RequestOutcome>>,
    acked: u64,
    first_error: Option<ClientError>,
}

impl Producer {
    /// A producer sending through `client`.
    pub fn new(client: Client, config: ProducerConfig) -> Producer {
        Producer {
            client,
            config,
            round_robin: 0,
            batches: HashMap::new(),
            in_flight: JoinSet::new(),
            acked: 0,
            first_error: None,
        }
    }

    /// Records acknowledged so far (with acks=0: records sent).
    pub fn acked(&self) -> u64 {
        self.acked
    }

    /// Adds `record` to its partition's batch. When a batch is full, it is sent in one Produce
    /// request together with every other batch that is at least half full (as Kafka's sender
    /// drains all ready partitions of a broker into one request). Fails with the first error an
    /// earlier request met, or when the topic does not exist.
    pub async fn send(&mut self, topic: &str, record: ProducerRecord) -> Result<()> {
        if let Some(err) = self.first_error.take() {
            return Err(err);
        }
        if !self.batches.contains_key(topic) {
            // First record for this topic: learn its partition count (one Metadata request).
            let partitions = self.partition_count(topic).await?;
            let empty = (0..partitions).map(|_| PendingBatch::default()).collect();
            self.batches.insert(topic.to_owned(), empty);
        }
        // One hash lookup per record: the topic's batches also tell the partition count.
        let Some(batches) = self.batches.get_mut(topic) else {
            return Err(ClientError::UnknownTopic {
                topic: topic.to_owned(),
            });
        };
        let partitions = batches.len() as i32;
        let partition = match (record.partition, &record.key) {
            (Some(p), _) if p < 0 || p >= partitions => {
                return Err(ClientError::InvalidArgument(format!(
                    "partition {p} does not exist: topic {topic:?} has {partitions} partitions"
                )));
            }
            (Some(p), _) => p,
            (None, Some(key)) => partition_for_key(key, partitions),
            (None, None) => {
                self.round_robin = self.round_robin.wrapping_add(1);
                (self.round_robin % partitions as usize) as i32
            }
        };
        let size = record.key.as_ref().map_or(0, Bytes::len)
            + record.value.as_ref().map_or(0, Bytes::len)
            + 16;
        let batch = &mut batches[partition as usize];
        let offset_delta = batch.records.len() as i64;
        batch.records.push(to_wire_record(record, offset_delta));
        batch.bytes += size;
        if batch.bytes >= self.config.batch_bytes {
            self.dispatch(self.config.batch_bytes / 2).await?;
        }
        Ok(())
    }

    /// Sends every partly filled batch and waits until every request is acknowledged. Returns
    /// the records acknowledged in total, or the first error.
    pub async fn flush(&mut self) -> Result<u64> {
        self.dispatch(1).await?;
        while let Some(done) = self.in_flight.join_next().await {
            self.settle(done);
        }
        match self.first_error.take() {
            Some(err) => Err(err),
            None => Ok(self.acked),
        }
    }

    async fn partition_count(&self, topic: &str) -> Result<i32> {
        let info = self.client.topic(topic).await?;
        let n = info.partitions.len() as i32;
        if n == 0 {
            return Err(ClientError::UnknownTopic {
                topic: topic.to_owned(),
            });
        }
        Ok(n)
    }

    /// Sends every batch holding at least `min_bytes` in one request, once fewer than
    /// `max_in_flight` requests are outstanding.
    async fn dispatch(&mut self, min_bytes: usize) -> Result<()> {
        while self.in_flight.len() >= self.config.max_in_flight.max(1) {
            if let Some(done) = self.in_flight.join_next().await {
                self.settle(done);
            }
        }
        if let Some(err) = self.first_error.take() {
            return Err(err);
        }
        let mut topic_data = Vec::new();
        let mut count = 0u64;
        for (topic, batches) in &mut self.batches {
            let mut partition_data = Vec::new();
            for (partition, batch) in batches.iter_mut().enumerate() {
                if batch.records.is_empty() || batch.bytes < min_bytes {
                    continue;
                }
                let batch = std::mem::take(batch);
                count += batch.records.len() as u64;
                let mut data = PartitionProduceData::default();
                data.index = partition as i32;
                data.records = Some(encode_batch(&batch.records, self.config.compression)?);
                partition_data.push(data);
            }
            if !partition_data.is_empty() {
                let mut data = TopicProduceData::default();
                data.name = TopicName(StrBytes::from_string(topic.clone()));
                data.partition_data = partition_data;
                topic_data.push(data);
            }
        }
        if topic_data.is_empty() {
            return Ok(());
        }
        let mut request = ProduceRequest::default();
        request.acks = self.config.acks.wire();
        request.timeout_ms = self.client.timeout_ms();
        request.topic_data = topic_data;
        let version = self.client.version::<ProduceRequest>()?;
        if self.config.acks == Acks::None {
            self.client.send_no_response(&request, version).await?;
            self.acked += count;
            return Ok(());
        }
        // The request is written here, before the next one, so that batches of a partition
        // reach the server in the order they were filled; the task only awaits the answer.
        let response = self
            .client
            .start_request(&request, version, Duration::ZERO)
            .await?;
        let counts: Vec<(String, i32, u64)> = request
            .topic_data
            .iter()
            .flat_map(|t| {
                t.partition_data.iter().map(move |p| {
                    let records = p.records.as_ref().map_or(0, batch_record_count);
                    (t.name.0.to_string(), p.index, records)
                })
            })
            .collect();
        self.in_flight.spawn(async move {
            let response = response.await?;
            Ok(read_acks(&counts, &response))
        });
        Ok(())
    }

    fn settle(
        &mut self,
        done: std::result::Result<Result<RequestOutcome>, tokio::task::JoinError>,
    ) {
        match done {
            Ok(Ok((acked, error))) => {
                self.acked += acked;
                if let Some(err) = error {
                    self.first_error.get_or_insert(err);
                }
            }
            Ok(Err(err)) => {
                self.first_error.get_or_insert(err);
            }
            Err(join) => {
                self.first_error
                    .get_or_insert(ClientError::InvalidArgument(format!(
                        "produce task failed: {join}"
                    )));
            }
        }
    }
}

/// The record count in an encoded batch's header (bytes 57..61 of a RecordBatch v2).
fn batch_record_count(batch: &Bytes) -> u64 {
    batch
        .get(57..61)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as u64)
}

/// Counts the records acknowledged per partition; returns the first partition error too.
fn read_acks(
    sent: &[(String, i32, u64)],
    response: &kafka_protocol::messages::ProduceResponse,
) -> RequestOutcome {
    let mut acked = 0;
    let mut first_error = None;
    for (topic, partition, records) in sent {
        let answer = response
            .responses
            .iter()
            .filter(|t| t.name.0.as_str() == topic)
            .flat_map(|t| t.partition_responses.iter())
            .find(|p| p.index == *partition);
        match answer {
            Some(p) if p.error_code == 0 => acked += records,
            Some(p) => {
                first_error.get_or_insert_with(|| {
                    ClientError::kafka(
                        format!("produce to {topic}-{partition}"),
                        p.error_code,
                        p.error_message.as_ref().map(|m| m.to_string()),
                    )
                });
            }
            None => {
                first_error.get_or_insert_with(|| ClientError::Protocol {
                    api: "Produce",
                    reason: format!("the response has no entry for {topic}-{partition}"),
                });
            }
        }
    }
    (acked, first_error)
}

/// Sends `records` as one batch to one partition and waits for its acknowledgement. Used where
/// each request's latency matters (the latency benchmark) or for a one-off write.
pub async fn produce_batch(
    client: &Client,
    topic: &str,
    partition: i32,
    records: Vec<ProducerRecord>,
    acks: Acks,
) -> Result<BatchAck> {
    let count = records.len();
    let wire: Vec<Record> = records
        .into_iter()
        .enumerate()
        .map(|(i, r)| to_wire_record(r, i as i64))
        .collect();
    let encoded = encode_batch(&wire, Compression::None)?;
    let request = produce_request(topic, partition, encoded, acks, client.timeout_ms());
    let version = client.version::<ProduceRequest>()?;
    if acks == Acks::None {
        client.send_no_response(&request, version).await?;
        return Ok(BatchAck {
            partition,
            base_offset: -1,
            records: count,
        });
    }
    let response = client
        .request_at(&request, version, Default::default())
        .await?;
    read_ack(topic, partition, count, &response)
}

/// The partition of a keyed record: the broker's murmur2 partitioner, as Kafka's Java client.
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    crate::topic::partition_for_key(key, partitions)
}

/// Converts a record for the encoder; `offset_delta` is its position in its batch (the encoder
/// writes offsets relative to the first record, and the server assigns the real ones).
fn to_wire_record(record: ProducerRecord, offset_delta: i64) -> Record {
    let timestamp = record.timestamp.unwrap_or_else(now_ms);
    let mut headers = IndexMap::new();
    for (k, v) in record.headers {
        headers.insert(StrBytes::from_string(k), v);
    }
    Record {
        key: record.key,
        value: record.value,
        headers,
        ..plain_record(offset_delta, offset_delta as i32 - 1, timestamp)
    }
}

/// Encodes records (numbered from 0) as one RecordBatch v2.
fn encode_batch(records: &[Record], compression: Compression) -> Result<Bytes> {
    let mut buf = BytesMut::with_capacity(
        records
            .iter()
            .map(|r| {
                r.value.as_ref().map_or(0, Bytes::len) + r.key.as_ref().map_or(0, Bytes::len) + 24
            })
            .sum::<usize>()
            + 64,
    );
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode(&mut buf, records.iter(), &options).map_err(|e| {
        ClientError::Protocol {
            api: "RecordBatch",
            reason: e.to_string(),
        }
    })?;
    Ok(buf.freeze())
}

fn produce_request(
    topic: &str,
    partition: i32,
    records: Bytes,
    acks: Acks,
    timeout_ms: i32,
) -> ProduceRequest {
    let mut partition_data = PartitionProduceData::default();
    partition_data.index = partition;
    partition_data.records = Some(records);
    let mut topic_data = TopicProduceData::default();
    topic_data.name = TopicName(StrBytes::from_string(topic.to_owned()));
    topic_data.partition_data = vec![partition_data];
    let mut request = ProduceRequest::default();
    request.acks = acks.wire();
    request.timeout_ms = timeout_ms;
    request.topic_data = vec![topic_data];
    request
}

fn read_ack(
    topic: &str,
    partition: i32,
    count: usize,
    response: &kafka_protocol::messages::ProduceResponse,
) -> Result<BatchAck> {
    for topic_response in &response.responses {
        for p in &topic_response.partition_responses {
            if p.index != partition {
                continue;
            }
            check(
                p.error_code,
                || format!("produce to {topic}-{partition}"),
                p.error_message.as_deref(),
            )?;
            return Ok(BatchAck {
                partition,
                base_offset: p.base_offset,
                records: count,
            });
        }
    }
    Err(ClientError::Protocol {
        api: "Produce",
        reason: format!("the response has no entry for {topic}-{partition}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_encode_as_one_batch_without_sequence() {
        let records: Vec<Record> = (0..500)
            .map(|i| to_wire_record(ProducerRecord::new(None::<Bytes>, format!("v{i}")), i))
            .collect();
        let encoded = encode_batch(&records, Compression::None).unwrap();
        assert_eq!(batch_record_count(&encoded), 500);
        let batch_len = u32::from_be_bytes([encoded[8], encoded[9], encoded[10], encoded[11]]);
        assert_eq!(batch_len as usize + 12, encoded.len(), "exactly one batch");
        let base_sequence =
            i32::from_be_bytes([encoded[53], encoded[54], encoded[55], encoded[56]]);
        assert_eq!(base_sequence, -1);
        let producer_id = i64::from_be_bytes(encoded[43..51].try_into().unwrap());
        assert_eq!(producer_id, -1);
    }
}
