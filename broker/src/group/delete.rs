//! DeleteGroups: remove consumer groups and their committed offsets
//! (`kafka-consumer-groups --delete`, admin clients' `deleteGroups`).
//!
//! As in Kafka, only a group without members can be deleted (NON_EMPTY_GROUP otherwise), and a
//! group that is neither live nor has offsets is GROUP_ID_NOT_FOUND.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};
use tracing::{info, warn};

use crate::protocol::dispatch::{Context, Header};

/// Handle a DeleteGroups request.
pub async fn handle(
    ctx: &Context,
    _header: &Header,
    req: DeleteGroupsRequest,
) -> DeleteGroupsResponse {
    let mut results = Vec::with_capacity(req.groups_names.len());
    for id in &req.groups_names {
        let group = id.as_str();
        let known =
            ctx.groups.is_live(group) || !ctx.groups.offsets.group_offsets(group).is_empty();
        let code = if !known {
            ResponseError::GroupIdNotFound.code()
        } else if !ctx.groups.remove_if_empty(group) {
            ResponseError::NonEmptyGroup.code()
        } else {
            match ctx.groups.offsets.delete_group(group).await {
                Ok(n) => {
                    info!(%group, offsets = n, "consumer group deleted");
                    0
                }
                Err(err) => {
                    warn!(%group, %err, "cannot delete the group's offsets");
                    ResponseError::UnknownServerError.code()
                }
            }
        };
        results.push(
            DeletableGroupResult::default()
                .with_group_id(id.clone())
                .with_error_code(code),
        );
    }
    DeleteGroupsResponse::default().with_results(results)
}
