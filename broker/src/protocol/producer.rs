//! InitProducerId: hand a producer its id. Without a transactional id it is a fresh idempotent
//! producer id from the broker's durable allocator (never reused across restarts, so the log's
//! sequence checks stay sound); with one, the transaction coordinator binds the id to a producer
//! id and a new epoch, fencing older producers of the same id ([`crate::txn::TxnCoordinator`]).

use kafka_protocol::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use tracing::{debug, warn};

use super::dispatch::{Context, Header};

/// Handle an InitProducerId request.
pub async fn init(
    ctx: &Context,
    header: &Header,
    req: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let out = InitProducerIdResponse::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    if let Some(id) = req.transactional_id.as_ref().filter(|t| !t.is_empty()) {
        let expected = (req.producer_id.0 >= 0).then_some((req.producer_id.0, req.producer_epoch));
        return match ctx
            .txns
            .init_producer_id(id.as_str(), req.transaction_timeout_ms, expected)
            .await
        {
            Ok((pid, epoch)) => out
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch),
            Err(e) => {
                debug!(transactional_id = %id.as_str(), %e, "InitProducerId refused");
                let code = match e.response_error() {
                    ResponseError::ProducerFenced if header.version < 4 => {
                        ResponseError::InvalidProducerEpoch.code()
                    }
                    r => r.code(),
                };
                out.with_error_code(code)
            }
        };
    }
    match ctx.broker.allocate_producer_id() {
        Ok(id) => out.with_producer_id(ProducerId(id)).with_producer_epoch(0),
        Err(e) => {
            warn!(%e, "cannot allocate a producer id");
            out.with_error_code(e.response_error().code())
        }
    }
}
