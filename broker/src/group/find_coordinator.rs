//! FindCoordinator: this single broker coordinates every group and every transaction.
//!
//! v0–v3 ask for one key; v4 batches keys in `coordinator_keys`.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};

use crate::protocol::dispatch::{Context, Header};
use crate::protocol::sb;

/// Handle a FindCoordinator request.
pub async fn handle(
    ctx: &Context,
    header: &Header,
    req: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let node = BrokerId(ctx.node_id);
    let host = sb(ctx.advertised_host.clone());
    let mut resp = FindCoordinatorResponse::default();
    // Key type 0 is a group, 1 a transaction; this broker coordinates both.
    let error = if req.key_type == 0 || req.key_type == 1 {
        0
    } else {
        ResponseError::CoordinatorNotAvailable.code()
    };
    if header.version < 4 {
        resp.error_code = error;
        resp.node_id = node;
        resp.host = host;
        resp.port = ctx.advertised_port;
        return resp;
    }
    resp.coordinators = req
        .coordinator_keys
        .iter()
        .map(|key| {
            Coordinator::default()
                .with_key(key.clone())
                .with_node_id(node)
                .with_host(host.clone())
                .with_port(ctx.advertised_port)
                .with_error_code(error)
        })
        .collect();
    resp
}
