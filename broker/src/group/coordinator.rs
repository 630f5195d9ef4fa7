//! The consumer group state machine, kept apart from the wire (as tansu keeps its coordinator).
//!
//! A [`Group`] moves through Kafka's states: `Empty` → `PreparingRebalance` (members (re)join) →
//! `CompletingRebalance` (waiting for the leader's assignment in SyncGroup) → `Stable`. A join or
//! sync that must wait for other members is answered through a oneshot channel kept on the
//! member; [`Group::tick`] is called periodically to end a rebalance whose timeout passed and to
//! expel members whose session timed out. Time is passed in (`now`), so every transition is
//! testable without sleeping.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::ResponseError;
use tokio::sync::oneshot;

pub use super::member::{JoinParams, JoinResult, JoinedMember, Member, Reply, SyncResult};

/// Kafka's group states, named as DescribeGroups reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    /// No members (committed offsets may still exist).
    Empty,
    /// Members are (re)joining; the join responses go out when all have or the timeout passes.
    PreparingRebalance,
    /// Join responses are out; waiting for the leader's SyncGroup with the assignment.
    CompletingRebalance,
    /// Every member has its assignment.
    Stable,
}

impl GroupState {
    /// The name Kafka uses in DescribeGroups and ListGroups.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
        }
    }
}

/// A consumer group: membership, generation, leader and assignments.
#[derive(Debug)]
pub struct Group {
    /// The group id.
    pub id: String,
    state: GroupState,
    generation: i32,
    protocol_type: Option<String>,
    protocol: Option<String>,
    leader: Option<String>,
    members: BTreeMap<String, Member>,
    /// Ids handed out with MEMBER_ID_REQUIRED, until when they may be used.
    pending: HashMap<String, Instant>,
    rebalance_deadline: Option<Instant>,
    delay_until: Option<Instant>,
    initial_delay: Duration,
}

fn code(e: ResponseError) -> i16 {
    e.code()
}

impl Group {
    /// A new, empty group; the first rebalance of an empty group waits `initial_delay` for more
    /// members (Kafka's `group.initial.rebalance.delay.ms`).
    pub fn new(id: &str, initial_delay: Duration) -> Group {
        Group {
            id: id.to_string(),
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            pending: HashMap::new(),
            rebalance_deadline: None,
            delay_until: None,
            initial_delay,
        }
    }

    /// The current state.
    pub fn state(&self) -> GroupState {
        self.state
    }

    /// The current generation.
    pub fn generation(&self) -> i32 {
        self.generation
    }

    /// The protocol type ("consumer"), once a member joined.
    pub fn protocol_type(&self) -> Option<&str> {
        self.protocol_type.as_deref()
    }

    /// The chosen strategy of the current generation.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The leader's member id.
    pub fn leader(&self) -> Option<&str> {
        self.leader.as_deref()
    }

    /// The members, by id.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// Is `member_id` in the group?
    pub fn has_member(&self, member_id: &str) -> bool {
        self.members.contains_key(member_id)
    }

    /// Members plus ids handed out with MEMBER_ID_REQUIRED and not used yet: what
    /// `group.max.size` limits.
    pub fn size_with_pending(&self) -> usize {
        self.members.len() + self.pending.len()
    }

    /// Is `member_id` a member or an id handed out and not used yet?
    pub fn knows(&self, member_id: &str) -> bool {
        self.members.contains_key(member_id) || self.pending.contains_key(member_id)
    }

    /// Handle a JoinGroup.
    pub fn join(&mut self, p: JoinParams, now: Instant) -> Reply<JoinResult> {
        if let Some(group_type) = &self.protocol_type
            && !self.members.is_empty()
            && (*group_type != p.protocol_type || !self.shares_a_protocol(&p.protocols))
        {
            return Reply::Now(JoinResult::error(
                code(ResponseError::InconsistentGroupProtocol),
                p.member_id,
            ));
        }
        if p.protocols.is_empty() || p.protocol_type.is_empty() {
            return Reply::Now(JoinResult::error(
                code(ResponseError::InconsistentGroupProtocol),
                p.member_id,
            ));
        }
        let member_id = if p.member_id.is_empty() {
            // A static member rejoining without its id takes over its old membership.
            let existing = p.group_instance_id.as_ref().and_then(|iid| {
                self.members
                    .values()
                    .find(|m| m.group_instance_id.as_ref() == Some(iid))
                    .map(|m| m.id.clone())
            });
            match existing {
                Some(id) => id,
                None => {
                    let id = format!("{}-{}", p.client_id, uuid_like());
                    if p.require_known_member_id && p.group_instance_id.is_none() {
                        self.pending.insert(id.clone(), now + p.session_timeout);
                        return Reply::Now(JoinResult::error(
                            code(ResponseError::MemberIdRequired),
                            id,
                        ));
                    }
                    id
                }
            }
        } else if self.members.contains_key(&p.member_id)
            || self.pending.remove(&p.member_id).is_some()
        {
            p.member_id.clone()
        } else {
            return Reply::Now(JoinResult::error(
                code(ResponseError::UnknownMemberId),
                p.member_id,
            ));
        };

        let (tx, rx) = oneshot::channel();
        let existed = self.members.contains_key(&member_id);
        let unchanged = self
            .members
            .get(&member_id)
            .is_some_and(|m| m.protocols == p.protocols);
        if let Some(m) = self.members.get_mut(&member_id) {
            m.session_timeout = p.session_timeout;
            m.rebalance_timeout = p.rebalance_timeout;
            m.protocols = p.protocols;
            m.last_seen = now;
            m.join_waiter = Some(tx);
        } else {
            self.members.insert(
                member_id.clone(),
                Member {
                    id: member_id.clone(),
                    group_instance_id: p.group_instance_id,
                    client_id: p.client_id,
                    client_host: p.client_host,
                    session_timeout: p.session_timeout,
                    rebalance_timeout: p.rebalance_timeout,
                    protocols: p.protocols,
                    assignment: Bytes::new(),
                    last_seen: now,
                    join_waiter: Some(tx),
                    sync_waiter: None,
                },
            );
        }
        self.protocol_type = Some(p.protocol_type);

        match self.state {
            // A member that rejoins with the same subscription (it may have lost the response)
            // gets the current generation back without disturbing the others; in Stable only a
            // follower does, since a leader rejoining means it wants a new assignment.
            GroupState::Stable | GroupState::CompletingRebalance
                if unchanged
                    && (self.state == GroupState::CompletingRebalance
                        || self.leader.as_deref() != Some(member_id.as_str())) =>
            {
                if let Some(m) = self.members.get_mut(&member_id) {
                    m.join_waiter = None;
                }
                return Reply::Now(self.join_result(&member_id));
            }
            // During the initial delay of an empty group, each new member extends the wait by
            // another delay (up to the rebalance deadline), as Kafka's InitialDelayedJoin does, so
            // consumers started a few seconds apart share the first generation.
            GroupState::PreparingRebalance => {
                if let (Some(until), Some(deadline)) = (self.delay_until, self.rebalance_deadline)
                    && !existed
                {
                    self.delay_until = Some((now + self.initial_delay).min(deadline).max(until));
                }
            }
            _ => self.prepare_rebalance(now),
        }
        self.try_complete_join(now);
        Reply::Later(rx)
    }

    fn shares_a_protocol(&self, protocols: &[(String, Bytes)]) -> bool {
        // Linear in the protocols of all members, whatever a client sends.
        let mut candidates: HashSet<&str> = protocols.iter().map(|(n, _)| n.as_str()).collect();
        for m in self.members.values() {
            let theirs: HashSet<&str> = m.protocols.iter().map(|(n, _)| n.as_str()).collect();
            candidates.retain(|n| theirs.contains(n));
            if candidates.is_empty() {
                return false;
            }
        }
        !candidates.is_empty()
    }

    fn prepare_rebalance(&mut self, now: Instant) {
        let was_empty = self.state == GroupState::Empty;
        self.state = GroupState::PreparingRebalance;
        let longest = self
            .members
            .values()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or_default();
        self.rebalance_deadline = Some(now + longest);
        self.delay_until = was_empty.then(|| now + self.initial_delay);
        for m in self.members.values_mut() {
            if let Some(tx) = m.sync_waiter.take() {
                let _ = tx.send(SyncResult::error(code(ResponseError::RebalanceInProgress)));
            }
        }
    }

    fn try_complete_join(&mut self, now: Instant) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        let all_joined = self.members.values().all(|m| m.join_waiter.is_some());
        let delay_over = self.delay_until.is_none_or(|t| now >= t);
        let timed_out = self.rebalance_deadline.is_some_and(|t| now >= t);
        if !((all_joined && delay_over) || timed_out) {
            return;
        }
        // Members that did not rejoin in time are out of the new generation.
        self.members.retain(|_, m| m.join_waiter.is_some());
        self.generation += 1;
        self.rebalance_deadline = None;
        self.delay_until = None;
        if self.members.is_empty() {
            self.state = GroupState::Empty;
            self.protocol = None;
            self.leader = None;
            return;
        }
        self.protocol = self.select_protocol();
        if self
            .leader
            .as_ref()
            .is_none_or(|l| !self.members.contains_key(l))
        {
            self.leader = self.members.keys().next().cloned();
        }
        self.state = GroupState::CompletingRebalance;
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            let result = self.join_result(&id);
            if let Some(m) = self.members.get_mut(&id) {
                m.assignment = Bytes::new();
                if let Some(tx) = m.join_waiter.take() {
                    let _ = tx.send(result);
                }
            }
        }
    }

    /// Each member votes for its most preferred strategy among those every member supports.
    fn select_protocol(&self) -> Option<String> {
        // Hash sets and maps keep this linear in the protocols of all members.
        let first = self.members.values().next()?;
        let mut supported: HashSet<&str> =
            first.protocols.iter().map(|(n, _)| n.as_str()).collect();
        for m in self.members.values().skip(1) {
            let theirs: HashSet<&str> = m.protocols.iter().map(|(n, _)| n.as_str()).collect();
            supported.retain(|n| theirs.contains(n));
        }
        let mut votes: HashMap<&str, usize> = HashMap::new();
        for m in self.members.values() {
            if let Some((name, _)) = m
                .protocols
                .iter()
                .find(|(n, _)| supported.contains(n.as_str()))
            {
                *votes.entry(name.as_str()).or_default() += 1;
            }
        }
        let best = votes.values().copied().max()?;
        // Ties go to the first member's preference order, as before.
        first
            .protocols
            .iter()
            .map(|(n, _)| n.as_str())
            .find(|n| votes.get(n) == Some(&best))
            .map(str::to_string)
    }

    fn join_result(&self, member_id: &str) -> JoinResult {
        let is_leader = self.leader.as_deref() == Some(member_id);
        let protocol = self.protocol.clone().unwrap_or_default();
        JoinResult {
            error_code: 0,
            generation_id: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol.clone(),
            leader: self.leader.clone().unwrap_or_default(),
            member_id: member_id.to_string(),
            members: if is_leader {
                self.members
                    .values()
                    .map(|m| JoinedMember {
                        member_id: m.id.clone(),
                        group_instance_id: m.group_instance_id.clone(),
                        metadata: m.metadata_for(&protocol),
                    })
                    .collect()
            } else {
                Vec::new()
            },
        }
    }

    /// Check that `member_id` of `generation` may act in the group (Heartbeat, Sync, commits).
    fn check_member(&self, member_id: &str, generation: i32) -> Result<(), i16> {
        if !self.members.contains_key(member_id) {
            return Err(code(ResponseError::UnknownMemberId));
        }
        if generation != self.generation {
            return Err(code(ResponseError::IllegalGeneration));
        }
        Ok(())
    }

    /// May `member_id` of `generation` commit offsets now? Kafka's rules: a client outside the
    /// group (generation < 0) may commit only while the group is empty; a member must be known and
    /// of the current generation, and not in the middle of handing out assignments.
    pub fn check_commit(&self, member_id: &str, generation: i32) -> Result<(), i16> {
        if generation < 0 && self.members.is_empty() {
            return Ok(());
        }
        self.check_member(member_id, generation)?;
        if self.state == GroupState::CompletingRebalance {
            return Err(code(ResponseError::RebalanceInProgress));
        }
        Ok(())
    }

    /// Handle a SyncGroup; the leader's carries the assignment of every member.
    pub fn sync(
        &mut self,
        member_id: &str,
        generation: i32,
        assignments: Vec<(String, Bytes)>,
        now: Instant,
    ) -> Reply<SyncResult> {
        if let Err(e) = self.check_member(member_id, generation) {
            return Reply::Now(SyncResult::error(e));
        }
        if let Some(m) = self.members.get_mut(member_id) {
            m.last_seen = now;
        }
        match self.state {
            GroupState::Empty | GroupState::PreparingRebalance => {
                Reply::Now(SyncResult::error(code(ResponseError::RebalanceInProgress)))
            }
            GroupState::Stable => Reply::Now(self.sync_result(member_id)),
            GroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                if let Some(m) = self.members.get_mut(member_id) {
                    m.sync_waiter = Some(tx);
                }
                if self.leader.as_deref() == Some(member_id) {
                    let mut given: HashMap<String, Bytes> = assignments.into_iter().collect();
                    for m in self.members.values_mut() {
                        m.assignment = given.remove(&m.id).unwrap_or_default();
                    }
                    self.state = GroupState::Stable;
                    let ids: Vec<String> = self.members.keys().cloned().collect();
                    for id in ids {
                        let result = self.sync_result(&id);
                        if let Some(tx) =
                            self.members.get_mut(&id).and_then(|m| m.sync_waiter.take())
                        {
                            let _ = tx.send(result);
                        }
                    }
                }
                Reply::Later(rx)
            }
        }
    }

    fn sync_result(&self, member_id: &str) -> SyncResult {
        SyncResult {
            error_code: 0,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol.clone(),
            assignment: self
                .members
                .get(member_id)
                .map(|m| m.assignment.clone())
                .unwrap_or_default(),
        }
    }

    /// Handle a Heartbeat: the member is alive; tells it when it must rejoin.
    pub fn heartbeat(&mut self, member_id: &str, generation: i32, now: Instant) -> i16 {
        if let Err(e) = self.check_member(member_id, generation) {
            return e;
        }
        if let Some(m) = self.members.get_mut(member_id) {
            m.last_seen = now;
        }
        match self.state {
            GroupState::PreparingRebalance => code(ResponseError::RebalanceInProgress),
            _ => 0,
        }
    }

    /// Handle a LeaveGroup for one member (by member id, or by static instance id).
    pub fn leave(&mut self, member_id: &str, instance_id: Option<&str>, now: Instant) -> i16 {
        let id = if member_id.is_empty() {
            instance_id.and_then(|iid| {
                self.members
                    .values()
                    .find(|m| m.group_instance_id.as_deref() == Some(iid))
                    .map(|m| m.id.clone())
            })
        } else {
            Some(member_id.to_string())
        };
        match id.and_then(|id| self.members.remove(&id)) {
            Some(_) => {
                self.after_removal(now);
                0
            }
            None => code(ResponseError::UnknownMemberId),
        }
    }

    fn after_removal(&mut self, now: Instant) {
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                if self.members.is_empty() {
                    self.state = GroupState::Empty;
                    self.generation += 1;
                    self.leader = None;
                    self.protocol = None;
                } else {
                    self.prepare_rebalance(now);
                }
            }
            GroupState::PreparingRebalance => self.try_complete_join(now),
            GroupState::Empty => {}
        }
    }

    /// Expel members whose session timed out and end a rebalance whose time is up.
    pub fn tick(&mut self, now: Instant) {
        self.pending.retain(|_, until| *until > now);
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| {
                m.join_waiter.is_none() && now.duration_since(m.last_seen) > m.session_timeout
            })
            .map(|m| m.id.clone())
            .collect();
        for id in &expired {
            tracing::info!(group = %self.id, member = %id, "session timed out; member expelled");
            self.members.remove(id);
        }
        if !expired.is_empty() {
            self.after_removal(now);
        }
        self.try_complete_join(now);
    }

    /// Has this group no members, nothing pending, and so nothing worth keeping in memory?
    pub fn is_idle(&self) -> bool {
        self.state == GroupState::Empty && self.members.is_empty() && self.pending.is_empty()
    }
}

/// A random suffix for member ids, shaped like a UUID as Kafka's are.
fn uuid_like() -> String {
    let bytes: [u8; 16] = rand::random();
    uuid::Uuid::from_bytes(bytes).hyphenated().to_string()
}

#[cfg(test)]
#[path = "coordinator_tests.rs"]
mod tests;
