//! Unit tests of the group state machine, driven with explicit instants.

use super::*;

const SEC: Duration = Duration::from_secs(1);

fn params(member_id: &str, client: &str, protocols: &[&str]) -> JoinParams {
    JoinParams {
        member_id: member_id.to_string(),
        group_instance_id: None,
        client_id: client.to_string(),
        client_host: "/127.0.0.1".to_string(),
        session_timeout: 10 * SEC,
        rebalance_timeout: 30 * SEC,
        protocol_type: "consumer".to_string(),
        protocols: protocols
            .iter()
            .map(|p| (p.to_string(), Bytes::from(format!("{client}:{p}"))))
            .collect(),
        require_known_member_id: true,
    }
}

fn now_value<T: std::fmt::Debug>(r: Reply<T>) -> T {
    match r {
        Reply::Now(v) => v,
        Reply::Later(_) => panic!("expected an immediate answer"),
    }
}

fn later<T: std::fmt::Debug>(r: Reply<T>) -> oneshot::Receiver<T> {
    match r {
        Reply::Later(rx) => rx,
        Reply::Now(v) => panic!("expected to wait, got {v:?}"),
    }
}

/// Join `client` with the MEMBER_ID_REQUIRED round; returns its id and the pending receiver.
fn join_new(
    g: &mut Group,
    client: &str,
    protocols: &[&str],
    t: Instant,
) -> (String, oneshot::Receiver<JoinResult>) {
    let first = now_value(g.join(params("", client, protocols), t));
    assert_eq!(first.error_code, ResponseError::MemberIdRequired.code());
    assert!(first.member_id.starts_with(client));
    let id = first.member_id;
    let rx = later(g.join(params(&id, client, protocols), t));
    (id, rx)
}

#[test]
fn two_members_join_sync_and_one_leaves() {
    let t0 = Instant::now();
    let mut g = Group::new("g", SEC);
    let (a, mut rx_a) = join_new(&mut g, "a", &["range", "roundrobin"], t0);
    let (b, mut rx_b) = join_new(&mut g, "b", &["roundrobin", "range"], t0);
    assert_eq!(g.state(), GroupState::PreparingRebalance);
    // The initial delay holds the rebalance open.
    g.tick(t0 + SEC / 2);
    assert!(rx_a.try_recv().is_err());
    g.tick(t0 + 2 * SEC);
    let ja = rx_a.try_recv().unwrap();
    let jb = rx_b.try_recv().unwrap();
    assert_eq!(g.state(), GroupState::CompletingRebalance);
    assert_eq!((ja.generation_id, jb.generation_id), (1, 1));
    // One vote each: the tie goes to the first candidate in the first member's order.
    assert_eq!(ja.protocol_name.as_deref(), Some("range"));
    assert_eq!(ja.leader, ja.member_id.clone().min(jb.member_id.clone()));
    let (leader, follower) = if ja.leader == a { (a, b) } else { (b, a) };
    let leader_result = if ja.leader == ja.member_id { &ja } else { &jb };
    assert_eq!(leader_result.members.len(), 2);
    let follower_result = if ja.leader == ja.member_id { &jb } else { &ja };
    assert!(follower_result.members.is_empty());

    // The follower syncs first and waits for the leader's assignment.
    let mut rx_f = later(g.sync(&follower, 1, vec![], t0 + 2 * SEC));
    assert!(rx_f.try_recv().is_err());
    let assignments = vec![
        (leader.clone(), Bytes::from_static(b"L")),
        (follower.clone(), Bytes::from_static(b"F")),
    ];
    let mut rx_l = later(g.sync(&leader, 1, assignments, t0 + 2 * SEC));
    assert_eq!(
        rx_l.try_recv().unwrap().assignment,
        Bytes::from_static(b"L")
    );
    assert_eq!(
        rx_f.try_recv().unwrap().assignment,
        Bytes::from_static(b"F")
    );
    assert_eq!(g.state(), GroupState::Stable);

    assert_eq!(g.heartbeat(&follower, 1, t0 + 3 * SEC), 0);
    assert_eq!(
        g.heartbeat(&follower, 0, t0 + 3 * SEC),
        ResponseError::IllegalGeneration.code()
    );
    assert_eq!(
        g.heartbeat("nobody", 1, t0 + 3 * SEC),
        ResponseError::UnknownMemberId.code()
    );

    // The leader leaves: the follower is told to rejoin and becomes the leader of generation 2.
    assert_eq!(g.leave(&leader, None, t0 + 4 * SEC), 0);
    assert_eq!(
        g.heartbeat(&follower, 1, t0 + 4 * SEC),
        ResponseError::RebalanceInProgress.code()
    );
    let mut rx = later(g.join(params(&follower, "x", &["range"]), t0 + 4 * SEC));
    let j = rx.try_recv().unwrap();
    assert_eq!((j.generation_id, j.leader.as_str()), (2, follower.as_str()));
    assert_eq!(j.members.len(), 1);
}

/// A Stable group of two members "a" and "b" at generation 1, formed at `t0 + 2s`.
fn stable_pair(t0: Instant) -> (Group, String, String) {
    let mut g = Group::new("g", SEC);
    let (a, mut rx_a) = join_new(&mut g, "a", &["range"], t0);
    let (b, mut rx_b) = join_new(&mut g, "b", &["range"], t0);
    g.tick(t0 + 2 * SEC);
    let leader = rx_a.try_recv().unwrap().leader;
    assert_eq!(rx_b.try_recv().unwrap().leader, leader);
    let _ = g.sync(&leader, 1, vec![], t0 + 2 * SEC);
    assert_eq!(g.state(), GroupState::Stable);
    (g, a, b)
}

#[test]
fn silent_member_is_expelled_and_triggers_a_rebalance() {
    let t0 = Instant::now();
    let (mut g, a, b) = stable_pair(t0);
    // Only `a` keeps heartbeating; `b`, last seen when it joined at t0, times out after 10 s.
    for s in 3..=10 {
        assert_eq!(g.heartbeat(&a, 1, t0 + s * SEC), 0, "at {s}s");
        g.tick(t0 + s * SEC);
    }
    assert!(g.has_member(&b));
    g.tick(t0 + 11 * SEC);
    assert!(!g.has_member(&b));
    assert_eq!(g.state(), GroupState::PreparingRebalance);
    assert_eq!(
        g.heartbeat(&a, 1, t0 + 14 * SEC),
        ResponseError::RebalanceInProgress.code()
    );
    let mut rx = later(g.join(params(&a, "a", &["range"]), t0 + 14 * SEC));
    let j = rx.try_recv().unwrap();
    assert_eq!((j.generation_id, j.leader.as_str()), (2, a.as_str()));
}

#[test]
fn rebalance_timeout_drops_members_that_do_not_rejoin() {
    let t0 = Instant::now();
    let (mut g, a, b) = stable_pair(t0);
    // `a` (the leader) rejoins with a new subscription; `b` only heartbeats and never rejoins.
    let mut rx = later(g.join(params(&a, "a", &["range", "sticky"]), t0 + 3 * SEC));
    for s in 4..=32 {
        let hb = g.heartbeat(&b, 1, t0 + s * SEC);
        assert_eq!(hb, ResponseError::RebalanceInProgress.code());
        g.tick(t0 + s * SEC);
        assert!(rx.try_recv().is_err(), "still waiting for b at {s}s");
    }
    g.tick(t0 + 34 * SEC);
    let j = rx.try_recv().unwrap();
    assert_eq!(j.generation_id, 2);
    assert!(!g.has_member(&b));
    assert_eq!(
        g.heartbeat(&b, 2, t0 + 34 * SEC),
        ResponseError::UnknownMemberId.code()
    );
}

#[test]
fn unknown_member_and_inconsistent_protocols_are_refused() {
    let t0 = Instant::now();
    let mut g = Group::new("g", Duration::ZERO);
    let r = now_value(g.join(params("ghost", "a", &["range"]), t0));
    assert_eq!(r.error_code, ResponseError::UnknownMemberId.code());
    let (_a, _rx) = join_new(&mut g, "a", &["range"], t0);
    let r = now_value(g.join(params("", "b", &["sticky"]), t0));
    assert_eq!(
        r.error_code,
        ResponseError::InconsistentGroupProtocol.code()
    );
}

#[test]
fn join_without_member_id_round_gets_an_id_at_once() {
    let t0 = Instant::now();
    let mut g = Group::new("g", Duration::ZERO);
    let mut p = params("", "old-client", &["range"]);
    p.require_known_member_id = false;
    let mut rx = later(g.join(p, t0));
    let j = rx.try_recv().unwrap();
    assert_eq!(j.error_code, 0);
    assert_eq!(j.leader, j.member_id);
    assert_eq!(j.generation_id, 1);
}

#[test]
fn last_member_leaving_empties_the_group() {
    let t0 = Instant::now();
    let mut g = Group::new("g", Duration::ZERO);
    let (a, mut rx) = join_new(&mut g, "a", &["range"], t0);
    let _ = rx.try_recv().unwrap();
    assert_eq!(g.leave(&a, None, t0), 0);
    assert_eq!(g.state(), GroupState::Empty);
    assert!(g.is_idle());
    assert_eq!(g.leave(&a, None, t0), ResponseError::UnknownMemberId.code());
}

#[test]
fn rejoining_with_the_same_subscription_returns_the_current_generation() {
    let t0 = Instant::now();
    let (mut g, a, b) = stable_pair(t0);
    let follower = if g.leader() == Some(a.as_str()) { b } else { a };
    // Same client, same subscription metadata as when it joined.
    let client = follower.split('-').next().unwrap().to_string();
    let r = now_value(g.join(params(&follower, &client, &["range"]), t0 + 3 * SEC));
    assert_eq!((r.error_code, r.generation_id), (0, 1));
    assert!(r.members.is_empty());
    assert_eq!(g.state(), GroupState::Stable, "no rebalance");
    // The leader rejoining starts a new generation.
    let leader = g.leader().unwrap().to_string();
    let _rx = later(g.join(params(&leader, "x", &["range"]), t0 + 3 * SEC));
    assert_eq!(g.state(), GroupState::PreparingRebalance);
}

#[test]
fn each_new_member_extends_the_initial_delay() {
    let t0 = Instant::now();
    let mut g = Group::new("g", 3 * SEC);
    let (_a, mut rx_a) = join_new(&mut g, "a", &["range"], t0);
    // b arrives 2 s later: the first generation now waits until 5 s.
    let (_b, mut rx_b) = join_new(&mut g, "b", &["range"], t0 + 2 * SEC);
    g.tick(t0 + 4 * SEC);
    assert!(rx_a.try_recv().is_err(), "still within the extended delay");
    g.tick(t0 + 5 * SEC);
    assert_eq!(rx_a.try_recv().unwrap().generation_id, 1);
    assert_eq!(rx_b.try_recv().unwrap().generation_id, 1);
}
