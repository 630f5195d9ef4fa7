//! The members of a consumer group and what they exchange with the coordinator: the JoinGroup
//! parameters, the join and sync results, and the reply that is either ready now or arrives when
//! the rebalance moves on.

use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::oneshot;

/// What a member sent in JoinGroup.
#[derive(Debug, Clone)]
pub struct JoinParams {
    /// Empty on a first join.
    pub member_id: String,
    /// Static membership id (KIP-345), if any.
    pub group_instance_id: Option<String>,
    /// The client's id, used as the prefix of new member ids.
    pub client_id: String,
    /// The client's address.
    pub client_host: String,
    /// A member silent for longer than this is expelled.
    pub session_timeout: Duration,
    /// How long a rebalance waits for this member to rejoin.
    pub rebalance_timeout: Duration,
    /// Usually "consumer".
    pub protocol_type: String,
    /// Assignment strategies in preference order, with the member's subscription metadata.
    pub protocols: Vec<(String, Bytes)>,
    /// JoinGroup v4+: a first join is answered with MEMBER_ID_REQUIRED and a fresh id.
    pub require_known_member_id: bool,
}

/// One member as the leader sees it in the join response.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinedMember {
    /// The member's id.
    pub member_id: String,
    /// Its static id, if any.
    pub group_instance_id: Option<String>,
    /// Its metadata for the chosen protocol.
    pub metadata: Bytes,
}

/// The answer to a JoinGroup.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinResult {
    /// Kafka error code (0 = none).
    pub error_code: i16,
    /// The generation the member joined.
    pub generation_id: i32,
    /// The group's protocol type.
    pub protocol_type: Option<String>,
    /// The chosen assignment strategy.
    pub protocol_name: Option<String>,
    /// The leader's member id.
    pub leader: String,
    /// The member's (possibly new) id.
    pub member_id: String,
    /// Every member with its metadata; only filled for the leader.
    pub members: Vec<JoinedMember>,
}

impl JoinResult {
    /// A failed join.
    pub fn error(code: i16, member_id: String) -> JoinResult {
        JoinResult {
            error_code: code,
            generation_id: -1,
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            member_id,
            members: Vec::new(),
        }
    }
}

/// The answer to a SyncGroup.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncResult {
    /// Kafka error code (0 = none).
    pub error_code: i16,
    /// The group's protocol type.
    pub protocol_type: Option<String>,
    /// The chosen assignment strategy.
    pub protocol_name: Option<String>,
    /// This member's assignment, as the leader encoded it.
    pub assignment: Bytes,
}

impl SyncResult {
    /// A failed sync.
    pub fn error(code: i16) -> SyncResult {
        SyncResult {
            error_code: code,
            protocol_type: None,
            protocol_name: None,
            assignment: Bytes::new(),
        }
    }
}

/// An answer available now, or one that arrives when the group's rebalance moves on.
#[derive(Debug)]
pub enum Reply<T> {
    /// The answer is ready.
    Now(T),
    /// Wait on this channel; it is closed (with no value) if the member is expelled first.
    Later(oneshot::Receiver<T>),
}

/// A member of a group.
#[derive(Debug)]
pub struct Member {
    /// The member's id.
    pub id: String,
    /// Static membership id.
    pub group_instance_id: Option<String>,
    /// The client id it connected with.
    pub client_id: String,
    /// The client's address.
    pub client_host: String,
    /// Session timeout it asked for.
    pub session_timeout: Duration,
    /// Rebalance timeout it asked for.
    pub rebalance_timeout: Duration,
    /// Strategies with metadata, in preference order.
    pub protocols: Vec<(String, Bytes)>,
    /// The assignment from the last completed sync.
    pub assignment: Bytes,
    pub(super) last_seen: Instant,
    pub(super) join_waiter: Option<oneshot::Sender<JoinResult>>,
    pub(super) sync_waiter: Option<oneshot::Sender<SyncResult>>,
}

impl Member {
    pub(super) fn metadata_for(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }
}
