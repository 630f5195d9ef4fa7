//! LeaveGroup: members leave at once instead of waiting for their session to time out.
//!
//! v0–v2 name one member; v3+ carry a batch of members (by member id or static instance id), each
//! answered with its own error code.

use std::time::Instant;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};

use crate::protocol::dispatch::{Context, Header};

/// Handle a LeaveGroup request.
pub async fn handle(ctx: &Context, header: &Header, req: LeaveGroupRequest) -> LeaveGroupResponse {
    let now = Instant::now();
    let group = req.group_id.as_str();
    let unknown = ResponseError::UnknownMemberId.code();
    let mut resp = LeaveGroupResponse::default();
    if header.version < 3 {
        resp.error_code = ctx
            .groups
            .with_existing(group, |g| g.leave(req.member_id.as_str(), None, now))
            .unwrap_or(unknown);
        return resp;
    }
    resp.members = req
        .members
        .iter()
        .map(|m| {
            let instance = m.group_instance_id.as_ref().map(|s| s.as_str());
            let code = ctx
                .groups
                .with_existing(group, |g| g.leave(m.member_id.as_str(), instance, now))
                .unwrap_or(unknown);
            MemberResponse::default()
                .with_member_id(m.member_id.clone())
                .with_group_instance_id(m.group_instance_id.clone())
                .with_error_code(code)
        })
        .collect();
    resp
}
