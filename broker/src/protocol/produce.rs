//! Produce: append the client's record batches, as they are, to the partitions it chose.
//!
//! `acks` maps to [`Durability`]: 0 → `None` (and no response at all), 1 → `Written`,
//! -1 (all) → `Fsynced`. Batches keep their compression (gzip, snappy, lz4, zstd): the log
//! validates each one (`log/validator.rs`: CRC, counts, records, timestamps, flags, producer
//! fields; a refused batch gets its Kafka error code in its partition's response, and the
//! connection stays open) and assigns offsets. Partitions of one request are appended
//! concurrently so that `acks=all` writes to several partitions share fsync rounds.
//! Internal topics (`__consumer_offsets`, `_sluice_*` ...) refuse client writes with
//! INVALID_TOPIC_EXCEPTION, as Kafka's `ReplicaManager` does.

use bytes::BytesMut;
use futures::future::join_all;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use tracing::debug;

use super::dispatch::{Context, Header};
use super::{internal_topic_refusal, sb};
use crate::Durability;

/// Handle a Produce request; `None` for acks=0, which Kafka never answers.
pub async fn handle(
    ctx: &Context,
    _header: &Header,
    req: ProduceRequest,
) -> Option<ProduceResponse> {
    let durability = match req.acks {
        0 => Some(Durability::None),
        1 => Some(Durability::Written),
        -1 => Some(Durability::Fsynced),
        _ => None,
    };
    let mut responses = Vec::with_capacity(req.topic_data.len());
    for topic in req.topic_data {
        let name = topic.name.to_string();
        let appends = topic.partition_data.into_iter().map(|p| {
            let name = name.clone();
            async move {
                let index = p.index;
                let mut out = PartitionProduceResponse::default()
                    .with_index(index)
                    .with_base_offset(-1)
                    .with_log_append_time_ms(-1)
                    .with_log_start_offset(-1);
                let Some(durability) = durability else {
                    return out.with_error_code(ResponseError::InvalidRequiredAcks.code());
                };
                if let Some(message) = internal_topic_refusal(&name, "produce to") {
                    return out
                        .with_error_code(ResponseError::InvalidTopicException.code())
                        .with_error_message(Some(sb(message)));
                }
                let bytes = p
                    .records
                    .map(|b| BytesMut::from(&b[..]))
                    .unwrap_or_default();
                if bytes.is_empty() {
                    return out.with_error_code(ResponseError::InvalidRecord.code());
                }
                let result = match ctx.broker.partition(&name, index) {
                    Ok(log) => log.append(bytes, durability).await,
                    Err(e) => Err(e),
                };
                match result {
                    Ok(r) => {
                        out.base_offset = r.base_offset;
                        out.log_append_time_ms = r.log_append_time_ms;
                        out.log_start_offset = r.log_start_offset;
                        out
                    }
                    Err(e) => {
                        debug!(topic = %name, partition = index, %e, "produce refused");
                        out.error_code = e.response_error().code();
                        out.error_message = Some(sb(e.to_string()));
                        out
                    }
                }
            }
        });
        let partition_responses = join_all(appends).await;
        responses.push(
            TopicProduceResponse::default()
                .with_name(topic.name)
                .with_partition_responses(partition_responses),
        );
    }
    if req.acks == 0 {
        return None;
    }
    Some(ProduceResponse::default().with_responses(responses))
}
