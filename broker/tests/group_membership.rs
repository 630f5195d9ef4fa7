//! A consumer group over the wire: two members join (with the MEMBER_ID_REQUIRED round), get a
//! leader, sync assignments, heartbeat; one leaves and the other is rebalanced into a new
//! generation.

mod protocol_support;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use protocol_support::{Client, start, test_config};

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn join(member_id: &str) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(s("g1")))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(s(member_id))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![
            JoinGroupRequestProtocol::default()
                .with_name(s("range"))
                .with_metadata(Bytes::from_static(b"sub")),
        ])
}

async fn join_round(c: &mut Client) -> String {
    let first = c.send(7, &join("")).await;
    assert_eq!(first.error_code, ResponseError::MemberIdRequired.code());
    first.member_id.to_string()
}

fn heartbeat(member: &str, generation: i32) -> HeartbeatRequest {
    HeartbeatRequest::default()
        .with_group_id(GroupId(s("g1")))
        .with_member_id(s(member))
        .with_generation_id(generation)
}

fn sync(
    member: &str,
    generation: i32,
    assignments: Vec<(String, &'static [u8])>,
) -> SyncGroupRequest {
    SyncGroupRequest::default()
        .with_group_id(GroupId(s("g1")))
        .with_member_id(s(member))
        .with_generation_id(generation)
        .with_protocol_type(Some(s("consumer")))
        .with_protocol_name(Some(s("range")))
        .with_assignments(
            assignments
                .into_iter()
                .map(|(m, a)| {
                    SyncGroupRequestAssignment::default()
                        .with_member_id(s(&m))
                        .with_assignment(Bytes::from_static(a))
                })
                .collect(),
        )
}

#[tokio::test]
async fn two_members_join_sync_heartbeat_and_rebalance_when_one_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), test_config()).await;
    let mut a = Client::connect_as(server.addr, "consumer-a").await;
    let mut b = Client::connect_as(server.addr, "consumer-b").await;

    let coordinator = a
        .send(
            4,
            &FindCoordinatorRequest::default().with_coordinator_keys(vec![s("g1")]),
        )
        .await;
    assert_eq!(coordinator.coordinators[0].error_code, 0);
    assert_eq!(
        coordinator.coordinators[0].port,
        i32::from(server.addr.port())
    );

    let id_a = join_round(&mut a).await;
    let id_b = join_round(&mut b).await;
    assert_ne!(id_a, id_b);
    // Both joins wait for each other (and the initial delay), then answer together.
    let pending_a = a.send_only(7, &join(&id_a)).await;
    let pending_b = b.send_only(7, &join(&id_b)).await;
    let ja = a.recv::<JoinGroupRequest>(7, pending_a).await;
    let jb = b.recv::<JoinGroupRequest>(7, pending_b).await;
    assert_eq!((ja.error_code, jb.error_code), (0, 0));
    assert_eq!(ja.generation_id, 1);
    assert_eq!(jb.generation_id, 1);
    assert_eq!(ja.leader, jb.leader);
    assert_eq!(ja.protocol_name.as_ref().map(|p| p.as_str()), Some("range"));
    let (leader, lc, follower, fc) = if ja.leader.as_str() == id_a {
        (id_a.clone(), &mut a, id_b.clone(), &mut b)
    } else {
        (id_b.clone(), &mut b, id_a.clone(), &mut a)
    };
    let leader_view = if ja.leader.as_str() == id_a { &ja } else { &jb };
    let mut members: Vec<String> = leader_view
        .members
        .iter()
        .map(|m| m.member_id.to_string())
        .collect();
    members.sort();
    let mut expected = vec![id_a.clone(), id_b.clone()];
    expected.sort();
    assert_eq!(members, expected, "the leader sees every member");

    // The follower's sync waits for the leader's.
    let f_sync = fc.send_only(5, &sync(&follower, 1, vec![])).await;
    let l_resp = lc
        .send(
            5,
            &sync(
                &leader,
                1,
                vec![
                    (leader.clone(), b"to-leader"),
                    (follower.clone(), b"to-follower"),
                ],
            ),
        )
        .await;
    assert_eq!(l_resp.error_code, 0);
    assert_eq!(&l_resp.assignment[..], b"to-leader");
    let f_resp = fc.recv::<SyncGroupRequest>(5, f_sync).await;
    assert_eq!(f_resp.error_code, 0);
    assert_eq!(&f_resp.assignment[..], b"to-follower");

    assert_eq!(fc.send(4, &heartbeat(&follower, 1)).await.error_code, 0);
    assert_eq!(
        fc.send(4, &heartbeat(&follower, 0)).await.error_code,
        ResponseError::IllegalGeneration.code()
    );
    assert_eq!(
        fc.send(4, &heartbeat("stranger", 1)).await.error_code,
        ResponseError::UnknownMemberId.code()
    );

    let described = fc
        .send(
            5,
            &DescribeGroupsRequest::default().with_groups(vec![GroupId(s("g1"))]),
        )
        .await;
    assert_eq!(described.groups[0].group_state.as_str(), "Stable");
    assert_eq!(described.groups[0].members.len(), 2);
    let listed = fc.send(4, &ListGroupsRequest::default()).await;
    assert!(listed.groups.iter().any(|g| g.group_id.as_str() == "g1"));

    // The leader leaves (batched LeaveGroup v3+): the follower is told to rejoin.
    let left = lc
        .send(
            5,
            &LeaveGroupRequest::default()
                .with_group_id(GroupId(s("g1")))
                .with_members(vec![MemberIdentity::default().with_member_id(s(&leader))]),
        )
        .await;
    assert_eq!(left.members[0].error_code, 0);
    assert_eq!(
        fc.send(4, &heartbeat(&follower, 1)).await.error_code,
        ResponseError::RebalanceInProgress.code()
    );
    let rejoin = fc.send(7, &join(&follower)).await;
    assert_eq!(rejoin.error_code, 0);
    assert_eq!(rejoin.generation_id, 2);
    assert_eq!(rejoin.leader.as_str(), follower);
    assert_eq!(rejoin.members.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn old_join_version_gets_a_member_id_at_once_and_bad_session_timeouts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), test_config()).await;
    let mut c = Client::connect(server.addr).await;
    let r = c.send(3, &join("")).await;
    assert_eq!(r.error_code, 0);
    assert_eq!(r.leader, r.member_id);
    let r = c.send(5, &join("").with_session_timeout_ms(10)).await;
    assert_eq!(r.error_code, ResponseError::InvalidSessionTimeout.code());
    server.stop().await;
}
