//! JoinGroup: a member (re)joins its group and waits for the rebalance to assign a generation.
//!
//! Validation (group id, session timeout bounds, `group.max.size`, protocols per member) happens
//! here; the state machine in
//! [`super::coordinator`] decides who is leader and when the responses go out.

use std::time::{Duration, Instant};

use kafka_protocol::ResponseError;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};

use super::coordinator::{JoinParams, JoinResult, Reply};
use crate::protocol::dispatch::{Context, Header};
use crate::protocol::sb;

/// Handle a JoinGroup request.
pub async fn handle(ctx: &Context, header: &Header, req: JoinGroupRequest) -> JoinGroupResponse {
    let group_id = req.group_id.as_str().to_string();
    let member_id = req.member_id.as_str().to_string();
    let fail = |e: ResponseError| {
        to_response(
            header.version,
            JoinResult::error(e.code(), member_id.clone()),
        )
    };
    if group_id.is_empty() {
        return fail(ResponseError::InvalidGroupId);
    }
    let cfg = &ctx.groups.config;
    let session = Duration::from_millis(req.session_timeout_ms.max(0) as u64);
    if session < cfg.min_session_timeout || session > cfg.max_session_timeout {
        return fail(ResponseError::InvalidSessionTimeout);
    }
    if req.protocols.len() > cfg.max_protocols_per_member {
        return fail(ResponseError::InvalidRequest);
    }
    // JoinGroup v0 has no rebalance timeout: Kafka uses the session timeout.
    let rebalance = if req.rebalance_timeout_ms > 0 {
        Duration::from_millis(req.rebalance_timeout_ms as u64)
    } else {
        session
    };
    let params = JoinParams {
        member_id: member_id.clone(),
        group_instance_id: req.group_instance_id.as_ref().map(|s| s.to_string()),
        client_id: if header.client_id.is_empty() {
            "consumer".to_string()
        } else {
            header.client_id.clone()
        },
        client_host: format!("/{}", header.peer.ip()),
        session_timeout: session,
        rebalance_timeout: rebalance,
        protocol_type: req.protocol_type.to_string(),
        protocols: req
            .protocols
            .iter()
            .map(|p| (p.name.to_string(), p.metadata.clone()))
            .collect(),
        require_known_member_id: header.version >= 4,
    };
    let max_size = cfg.max_size;
    let reply = ctx.groups.with_group(&group_id, |g| {
        // A new member (or a first join asking for an id) may not grow the group past
        // group.max.size; known members may always rejoin.
        let new = params.member_id.is_empty() || !g.knows(&params.member_id);
        if new && g.size_with_pending() >= max_size {
            Reply::Now(JoinResult::error(
                ResponseError::GroupMaxSizeReached.code(),
                params.member_id.clone(),
            ))
        } else {
            g.join(params, Instant::now())
        }
    });
    let result = match reply {
        Reply::Now(r) => r,
        Reply::Later(rx) => {
            let mut shutdown = ctx.shutdown.clone();
            tokio::select! {
                r = rx => r.unwrap_or_else(|_| JoinResult::error(ResponseError::UnknownMemberId.code(), member_id.clone())),
                _ = shutdown.wait_for(|s| *s) => JoinResult::error(ResponseError::CoordinatorNotAvailable.code(), member_id.clone()),
            }
        }
    };
    to_response(header.version, result)
}

fn to_response(version: i16, r: JoinResult) -> JoinGroupResponse {
    let mut resp = JoinGroupResponse::default();
    resp.error_code = r.error_code;
    resp.generation_id = r.generation_id;
    resp.protocol_type = r.protocol_type.map(sb);
    // Before v7 the protocol name is not nullable.
    resp.protocol_name = match r.protocol_name {
        Some(n) => Some(sb(n)),
        None if version < 7 => Some(sb(String::new())),
        None => None,
    };
    resp.leader = sb(r.leader);
    resp.member_id = sb(r.member_id);
    resp.members = r
        .members
        .into_iter()
        .map(|m| {
            JoinGroupResponseMember::default()
                .with_member_id(sb(m.member_id))
                .with_group_instance_id(m.group_instance_id.map(sb))
                .with_metadata(m.metadata)
        })
        .collect();
    resp
}
