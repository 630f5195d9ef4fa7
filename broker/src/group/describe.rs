//! DescribeGroups and ListGroups: what admin tools (`kafka-consumer-groups`) show.

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{
    DescribeGroupsRequest, DescribeGroupsResponse, GroupId, ListGroupsRequest, ListGroupsResponse,
};

use crate::protocol::dispatch::{Context, Header};
use crate::protocol::sb;

/// Handle a DescribeGroups request. A group without live members is reported as `Empty` when it
/// has committed offsets and as `Dead` (Kafka's answer for an unknown group) when it has none.
pub async fn describe(
    ctx: &Context,
    _header: &Header,
    req: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let mut resp = DescribeGroupsResponse::default();
    resp.groups = req
        .groups
        .iter()
        .map(|id| {
            let live = ctx.groups.with_existing(id.as_str(), |g| {
                let state = g.state();
                let protocol = g.protocol().unwrap_or_default().to_string();
                let members = g
                    .members()
                    .map(|m| {
                        DescribedGroupMember::default()
                            .with_member_id(sb(m.id.clone()))
                            .with_group_instance_id(m.group_instance_id.clone().map(sb))
                            .with_client_id(sb(m.client_id.clone()))
                            .with_client_host(sb(m.client_host.clone()))
                            .with_member_metadata(
                                m.protocols
                                    .iter()
                                    .find(|(n, _)| *n == protocol)
                                    .map(|(_, md)| md.clone())
                                    .unwrap_or_default(),
                            )
                            .with_member_assignment(m.assignment.clone())
                    })
                    .collect();
                DescribedGroup::default()
                    .with_group_state(sb(state.name().to_string()))
                    .with_protocol_type(sb(g.protocol_type().unwrap_or_default().to_string()))
                    .with_protocol_data(sb(protocol))
                    .with_members(members)
            });
            let group = live.unwrap_or_else(|| {
                let has_offsets = !ctx.groups.offsets.group_offsets(id.as_str()).is_empty();
                DescribedGroup::default().with_group_state(sb(if has_offsets {
                    "Empty"
                } else {
                    "Dead"
                }
                .to_string()))
            });
            group
                .with_group_id(id.clone())
                .with_authorized_operations(i32::MIN)
        })
        .collect();
    resp
}

/// Handle a ListGroups request (with the v4+ state filter).
pub async fn list(ctx: &Context, _header: &Header, req: ListGroupsRequest) -> ListGroupsResponse {
    let mut resp = ListGroupsResponse::default();
    resp.groups = ctx
        .groups
        .group_ids()
        .into_iter()
        .filter_map(|id| {
            let (state, ptype) = ctx
                .groups
                .with_existing(&id, |g| {
                    (
                        g.state().name(),
                        g.protocol_type().unwrap_or("consumer").to_string(),
                    )
                })
                .unwrap_or(("Empty", "consumer".to_string()));
            let wanted = req.states_filter.is_empty()
                || req
                    .states_filter
                    .iter()
                    .any(|s| s.as_str().eq_ignore_ascii_case(state));
            wanted.then(|| {
                ListedGroup::default()
                    .with_group_id(GroupId(sb(id)))
                    .with_protocol_type(sb(ptype))
                    .with_group_state(sb(state.to_string()))
                    .with_group_type(sb("classic".to_string()))
            })
        })
        .collect();
    resp
}
