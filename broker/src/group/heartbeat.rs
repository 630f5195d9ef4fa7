//! Heartbeat: a member says it is alive and learns whether it must rejoin.

use std::time::Instant;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use crate::protocol::dispatch::{Context, Header};

/// Handle a Heartbeat request.
pub async fn handle(ctx: &Context, _header: &Header, req: HeartbeatRequest) -> HeartbeatResponse {
    let code = ctx
        .groups
        .with_existing(req.group_id.as_str(), |g| {
            g.heartbeat(req.member_id.as_str(), req.generation_id, Instant::now())
        })
        .unwrap_or(ResponseError::UnknownMemberId.code());
    HeartbeatResponse::default().with_error_code(code)
}
