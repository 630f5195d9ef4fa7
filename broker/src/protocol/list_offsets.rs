//! ListOffsets: the offset for a timestamp, or the latest (-1) / earliest (-2) offset.
//!
//! Served up to v6: v7 introduced -3 (offset of the max timestamp), which the log does not index.
//! Under `isolation_level=1` (read_committed) the latest offset is the last stable offset, and a
//! timestamp lookup never answers an offset at or past it.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use super::dispatch::{Context, Header};

/// Handle a ListOffsets request.
pub async fn handle(
    ctx: &Context,
    _header: &Header,
    req: ListOffsetsRequest,
) -> ListOffsetsResponse {
    let committed = req.isolation_level == 1;
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let out = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index)
                        .with_timestamp(-1)
                        .with_offset(-1);
                    // -3 (max timestamp, v7+) and the tiered-storage specials are not served.
                    if p.timestamp < -2 {
                        return out.with_error_code(ResponseError::UnsupportedVersion.code());
                    }
                    match ctx.broker.partition(t.name.as_str(), p.partition_index) {
                        Err(e) => out.with_error_code(e.response_error().code()),
                        // Kafka answers a timestamp past every record with offset -1.
                        Ok(log) if committed && p.timestamp == -1 => {
                            out.with_offset(log.last_stable_offset())
                        }
                        Ok(log) => match log.offset_for_timestamp(p.timestamp) {
                            Some((offset, _))
                                if committed
                                    && p.timestamp >= 0
                                    && offset >= log.last_stable_offset() =>
                            {
                                out
                            }
                            Some((offset, ts)) => out.with_offset(offset).with_timestamp(ts),
                            None => out,
                        },
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}
