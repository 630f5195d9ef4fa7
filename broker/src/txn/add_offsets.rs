//! AddOffsetsToTxn (v0–v3): the producer will commit a group's offsets in this transaction
//! (`send_offsets_to_transaction`); `__consumer_offsets` joins the transaction.

use kafka_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};

use super::add_partitions::wire_code;
use crate::protocol::dispatch::{Context, Header};

/// Handle an AddOffsetsToTxn request.
pub async fn handle(
    ctx: &Context,
    header: &Header,
    req: AddOffsetsToTxnRequest,
) -> AddOffsetsToTxnResponse {
    let result = ctx
        .txns
        .add_offsets(
            req.transactional_id.as_str(),
            req.producer_id.0,
            req.producer_epoch,
            req.group_id.as_str(),
        )
        .await;
    AddOffsetsToTxnResponse::default()
        .with_error_code(result.err().map_or(0, |e| wire_code(&e, header.version)))
}
