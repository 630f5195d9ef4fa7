//! AddPartitionsToTxn (v0–v3): a transactional producer names the partitions it is about to
//! write; the coordinator records them durably and lets the producer's batches in.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse};

use super::coordinator::TxnError;
use crate::protocol::dispatch::{Context, Header};

/// PRODUCER_FENCED is INVALID_PRODUCER_EPOCH for clients older than v2 (as Kafka answers).
pub(crate) fn wire_code(e: &TxnError, version: i16) -> i16 {
    match e.response_error() {
        ResponseError::ProducerFenced if version < 2 => ResponseError::InvalidProducerEpoch.code(),
        r => r.code(),
    }
}

/// Handle an AddPartitionsToTxn request.
pub async fn handle(
    ctx: &Context,
    header: &Header,
    req: AddPartitionsToTxnRequest,
) -> AddPartitionsToTxnResponse {
    let wanted: Vec<(String, i32)> = req
        .v3_and_below_topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| (t.name.to_string(), *p)))
        .collect();
    let result = ctx
        .txns
        .add_partitions(
            req.v3_and_below_transactional_id.as_str(),
            req.v3_and_below_producer_id.0,
            req.v3_and_below_producer_epoch,
            &wanted,
        )
        .await;
    let code_for = |topic: &str, partition: i32| match &result {
        Ok(()) => 0,
        Err(TxnError::UnknownPartition(t, p)) => {
            if t == topic && *p == partition {
                ResponseError::UnknownTopicOrPartition.code()
            } else {
                ResponseError::OperationNotAttempted.code()
            }
        }
        Err(e) => wire_code(e, header.version),
    };
    let mut resp = AddPartitionsToTxnResponse::default();
    resp.results_by_topic_v3_and_below = req
        .v3_and_below_topics
        .iter()
        .map(|t| {
            AddPartitionsToTxnTopicResult::default()
                .with_name(t.name.clone())
                .with_results_by_partition(
                    t.partitions
                        .iter()
                        .map(|p| {
                            AddPartitionsToTxnPartitionResult::default()
                                .with_partition_index(*p)
                                .with_partition_error_code(code_for(t.name.as_str(), *p))
                        })
                        .collect(),
                )
        })
        .collect();
    resp
}
