//! EndTxn (v0–v3): commit or abort. Answered once every marker is written and fsync'd.

use kafka_protocol::messages::{EndTxnRequest, EndTxnResponse};
use tracing::debug;

use super::add_partitions::wire_code;
use crate::protocol::dispatch::{Context, Header};

/// Handle an EndTxn request.
pub async fn handle(ctx: &Context, header: &Header, req: EndTxnRequest) -> EndTxnResponse {
    let result = ctx
        .txns
        .end_txn(
            req.transactional_id.as_str(),
            req.producer_id.0,
            req.producer_epoch,
            req.committed,
        )
        .await;
    if let Err(e) = &result {
        debug!(transactional_id = %req.transactional_id.as_str(), %e, "EndTxn refused");
    }
    EndTxnResponse::default()
        .with_error_code(result.err().map_or(0, |e| wire_code(&e, header.version)))
}
