//! DeleteRecords: move partitions' log start offsets forward (`kafka-delete-records`,
//! admin clients' `deleteRecords`); whole segments before the new start are deleted by the log.
//! An offset of -1 means the high-water mark, i.e. delete everything currently in the partition.
//! Internal topics refuse it with INVALID_TOPIC_EXCEPTION, as in Kafka.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};
use tracing::{debug, info};

use super::dispatch::{Context, Header};
use super::internal_topic_refusal;

/// Handle a DeleteRecords request.
pub async fn delete(
    ctx: &Context,
    _header: &Header,
    req: DeleteRecordsRequest,
) -> DeleteRecordsResponse {
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let out = DeleteRecordsPartitionResult::default()
                        .with_partition_index(p.partition_index)
                        .with_low_watermark(-1);
                    if let Some(message) = internal_topic_refusal(t.name.as_str(), "delete records of") {
                        debug!(%message, "DeleteRecords refused");
                        return out.with_error_code(ResponseError::InvalidTopicException.code());
                    }
                    match ctx
                        .broker
                        .delete_records(t.name.as_str(), p.partition_index, p.offset)
                    {
                        Ok(start) => {
                            info!(topic = %t.name.as_str(), partition = p.partition_index, log_start_offset = start, "records deleted");
                            out.with_low_watermark(start)
                        }
                        Err(e) => out.with_error_code(e.response_error().code()),
                    }
                })
                .collect();
            DeleteRecordsTopicResult::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    DeleteRecordsResponse::default().with_topics(topics)
}
