//! SyncGroup: the leader hands in every member's assignment; every member gets its own back.

use std::time::Instant;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};

use super::coordinator::{Reply, SyncResult};
use crate::protocol::dispatch::{Context, Header};
use crate::protocol::sb;

/// Handle a SyncGroup request.
pub async fn handle(ctx: &Context, _header: &Header, req: SyncGroupRequest) -> SyncGroupResponse {
    let member_id = req.member_id.to_string();
    let assignments = req
        .assignments
        .iter()
        .map(|a| (a.member_id.to_string(), a.assignment.clone()))
        .collect();
    let reply = ctx.groups.with_existing(req.group_id.as_str(), |g| {
        g.sync(&member_id, req.generation_id, assignments, Instant::now())
    });
    let result = match reply {
        None => error(ResponseError::UnknownMemberId),
        Some(Reply::Now(r)) => r,
        Some(Reply::Later(rx)) => {
            let mut shutdown = ctx.shutdown.clone();
            tokio::select! {
                r = rx => r.unwrap_or_else(|_| error(ResponseError::RebalanceInProgress)),
                _ = shutdown.wait_for(|s| *s) => error(ResponseError::CoordinatorNotAvailable),
            }
        }
    };
    let mut resp = SyncGroupResponse::default();
    resp.error_code = result.error_code;
    resp.protocol_type = result.protocol_type.map(sb);
    resp.protocol_name = result.protocol_name.map(sb);
    resp.assignment = result.assignment;
    resp
}

fn error(e: ResponseError) -> SyncResult {
    SyncResult {
        error_code: e.code(),
        protocol_type: None,
        protocol_name: None,
        assignment: Default::default(),
    }
}
