//! InitProducerId: hand an idempotent producer its id from the broker's durable allocator.
//!
//! Ids are never reused across restarts, so the log's sequence checks stay sound. Transactions are
//! not served: a request with a transactional id is refused with a message saying so, which
//! clients report as a fatal error instead of retrying forever.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use tracing::warn;

use super::dispatch::{Context, Header};

/// Handle an InitProducerId request.
pub async fn init(
    ctx: &Context,
    _header: &Header,
    req: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let out = InitProducerIdResponse::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    if req.transactional_id.as_ref().is_some_and(|t| !t.is_empty()) {
        return out.with_error_code(ResponseError::TransactionalIdAuthorizationFailed.code());
    }
    match ctx.broker.allocate_producer_id() {
        Ok(id) => out.with_producer_id(ProducerId(id)).with_producer_epoch(0),
        Err(e) => {
            warn!(%e, "cannot allocate a producer id");
            out.with_error_code(e.response_error().code())
        }
    }
}
