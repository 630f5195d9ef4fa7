//! [`GroupConsumer`]: a member of a Kafka consumer group.
//!
//! It finds the group coordinator, joins with the "consumer" protocol and the range assignor
//! (the leader computes everyone's partitions), syncs to receive its own partitions, fetches the
//! group's committed offsets for them and then polls through a [`Consumer`]. A background task
//! heartbeats on a connection of its own (so that a long-polling fetch never delays it) and flags
//! a rebalance; the next poll commits what was consumed and joins again. `commit` stores offsets
//! in the group; `close` leaves the group so the others rebalance at once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    FindCoordinatorRequest, GroupId, HeartbeatRequest, JoinGroupRequest, LeaveGroupRequest,
    SyncGroupRequest,
};
use kafka_protocol::protocol::StrBytes;
use tracing::{Instrument, debug, info, warn};

use super::assignor::{
    RANGE_ASSIGNOR, decode_assignment, decode_subscription, encode_assignment, encode_subscription,
    range_assign,
};
use super::client::Client;
use super::consumer::{Consumer, StartFrom};
use super::error::{ClientError, Result, check};
use super::fetch::ConsumerRecord;
use super::group_offsets;

const MEMBER_ID_REQUIRED: i16 = 79;

/// Group membership settings.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// The group id.
    pub group_id: String,
    /// Where partitions without a committed offset start.
    pub start_from: StartFrom,
    /// The coordinator expels a member silent for this long.
    pub session_timeout: Duration,
    /// How long the coordinator waits for members to rejoin during a rebalance.
    pub rebalance_timeout: Duration,
    /// Time between heartbeats.
    pub heartbeat_interval: Duration,
}

impl GroupConfig {
    /// Settings with Kafka's usual timings for `group_id`.
    pub fn new(group_id: impl Into<String>, start_from: StartFrom) -> GroupConfig {
        GroupConfig {
            group_id: group_id.into(),
            start_from,
            session_timeout: Duration::from_secs(10),
            rebalance_timeout: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(1),
        }
    }
}

/// The current generation of this member.
#[derive(Debug, Clone)]
struct Membership {
    member_id: String,
    generation: i32,
}

/// A consumer that shares the partitions of its topics with the other members of its group.
pub struct GroupConsumer {
    config: GroupConfig,
    topics: Vec<String>,
    coordinator: Client,
    consumer: Consumer,
    membership: Membership,
    assignment: Vec<(String, i32)>,
    rejoin: Arc<AtomicBool>,
    heartbeat: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for GroupConsumer {
    fn drop(&mut self) {
        if let Some(task) = self.heartbeat.take() {
            task.abort();
        }
    }
}

impl GroupConsumer {
    /// Joins `config.group_id` subscribed to `topics` and positions every assigned partition at
    /// its committed offset (or `config.start_from`).
    pub async fn join(
        client: Client,
        config: GroupConfig,
        topics: Vec<String>,
    ) -> Result<GroupConsumer> {
        let coordinator_addr = find_coordinator(&client, &config.group_id).await?;
        // A connection of its own, also when the coordinator is the bootstrap node: heartbeats
        // must not queue behind a long-polling fetch.
        let coordinator = client.connect_to(&coordinator_addr).await?;
        let mut member = GroupConsumer {
            consumer: Consumer::new(client, config.start_from),
            config,
            topics,
            coordinator,
            membership: Membership {
                member_id: String::new(),
                generation: -1,
            },
            assignment: Vec::new(),
            rejoin: Arc::new(AtomicBool::new(false)),
            heartbeat: None,
        };
        member.rejoin_group().await?;
        Ok(member)
    }

    /// The partitions assigned to this member in the current generation.
    pub fn assignment(&self) -> &[(String, i32)] {
        &self.assignment
    }

    /// This member's id in the group.
    pub fn member_id(&self) -> &str {
        &self.membership.member_id
    }

    /// The group generation this member belongs to.
    pub fn generation(&self) -> i32 {
        self.membership.generation
    }

    /// Fetches records of the assigned partitions, waiting up to `max_wait`. When the
    /// coordinator started a rebalance, first commits the current positions and rejoins.
    pub async fn poll(&mut self, max_wait: Duration) -> Result<Vec<ConsumerRecord>> {
        if self.rejoin.load(Ordering::Acquire) {
            let positions = self.positions();
            if let Err(err) = self.commit(&positions).await {
                warn!(group = %self.config.group_id, %err, "commit before rebalance failed");
            }
            self.rejoin_group().await?;
        }
        self.consumer.poll(max_wait).await
    }

    /// The next offset to read of each assigned partition.
    pub fn positions(&self) -> BTreeMap<(String, i32), i64> {
        self.consumer
            .positions()
            .iter()
            .map(|((t, p), o)| ((t.to_string(), *p), *o))
            .collect()
    }

    /// Commits `offsets` (topic, partition -> next offset to read) for the group.
    pub async fn commit(&self, offsets: &BTreeMap<(String, i32), i64>) -> Result<()> {
        group_offsets::commit(
            &self.coordinator,
            &self.config.group_id,
            self.membership.generation,
            &self.membership.member_id,
            offsets,
        )
        .await
    }

    /// Leaves the group, so that the remaining members rebalance without waiting for the
    /// session timeout. Commit first if the positions should be kept.
    pub async fn close(mut self) -> Result<()> {
        if let Some(task) = self.heartbeat.take() {
            task.abort();
        }
        let version = self.coordinator.version::<LeaveGroupRequest>()?;
        let mut request = LeaveGroupRequest::default();
        request.group_id = group_id(&self.config.group_id);
        if version >= 3 {
            let mut member = MemberIdentity::default();
            member.member_id = StrBytes::from_string(self.membership.member_id.clone());
            request.members = vec![member];
        } else {
            request.member_id = StrBytes::from_string(self.membership.member_id.clone());
        }
        let response = self.coordinator.request(&request).await?;
        check(
            response.error_code,
            || format!("leave group {:?}", self.config.group_id),
            None,
        )?;
        for member in response.members {
            check(
                member.error_code,
                || format!("leave group {:?}", self.config.group_id),
                None,
            )?;
        }
        Ok(())
    }

    /// Joins (or rejoins) the group, syncs the assignment and positions the consumer.
    async fn rejoin_group(&mut self) -> Result<()> {
        if let Some(task) = self.heartbeat.take() {
            task.abort();
        }
        self.rejoin.store(false, Ordering::Release);
        // A rebalance that restarts under us, or a coordinator still loading, is retried for
        // about one rebalance timeout; anything else is the caller's error.
        let deadline = tokio::time::Instant::now() + self.config.rebalance_timeout;
        loop {
            let attempt = match self.join_group().await {
                Ok(joined) => self.sync_group(joined).await,
                Err(err) => Err(err),
            };
            match attempt {
                Ok(assignment) => {
                    self.assignment = assignment;
                    break;
                }
                Err(err) if rejoinable(&err) && tokio::time::Instant::now() < deadline => {
                    debug!(group = %self.config.group_id, %err, "joining again");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(err) => return Err(err),
            }
        }
        info!(group = %self.config.group_id, member = %self.membership.member_id,
            generation = self.membership.generation, assignment = ?self.assignment, "joined group");
        self.position_assigned().await?;
        self.start_heartbeat();
        Ok(())
    }

    /// JoinGroup until the coordinator accepts us. Returns the leader's view of the members
    /// (empty for followers).
    async fn join_group(&mut self) -> Result<Vec<(String, Vec<String>)>> {
        let version = self.coordinator.version::<JoinGroupRequest>()?;
        let metadata = encode_subscription(&self.topics)?;
        loop {
            let mut protocol = JoinGroupRequestProtocol::default();
            protocol.name = StrBytes::from_static_str(RANGE_ASSIGNOR);
            protocol.metadata = metadata.clone();
            let mut request = JoinGroupRequest::default();
            request.group_id = group_id(&self.config.group_id);
            request.session_timeout_ms = millis(self.config.session_timeout);
            if version >= 1 {
                request.rebalance_timeout_ms = millis(self.config.rebalance_timeout);
            }
            request.member_id = StrBytes::from_string(self.membership.member_id.clone());
            request.protocol_type = StrBytes::from_static_str("consumer");
            request.protocols = vec![protocol];
            let response = self
                .coordinator
                .request_at(&request, version, self.config.rebalance_timeout)
                .await?;
            if response.error_code == MEMBER_ID_REQUIRED {
                self.membership.member_id = response.member_id.to_string();
                continue;
            }
            if response.error_code == ResponseError::UnknownMemberId.code() {
                self.membership.member_id.clear();
                continue;
            }
            check(
                response.error_code,
                || format!("join group {:?}", self.config.group_id),
                None,
            )?;
            self.membership = Membership {
                member_id: response.member_id.to_string(),
                generation: response.generation_id,
            };
            if response.leader != response.member_id {
                return Ok(Vec::new());
            }
            let mut members = Vec::new();
            for member in response.members {
                let topics = decode_subscription(member.metadata)?;
                members.push((member.member_id.to_string(), topics));
            }
            return Ok(members);
        }
    }

    /// SyncGroup: the leader sends everyone's assignment; each member receives its own.
    async fn sync_group(&self, members: Vec<(String, Vec<String>)>) -> Result<Vec<(String, i32)>> {
        let version = self.coordinator.version::<SyncGroupRequest>()?;
        let assignments = if members.is_empty() {
            Vec::new()
        } else {
            self.leader_assignments(members).await?
        };
        let mut request = SyncGroupRequest::default();
        request.group_id = group_id(&self.config.group_id);
        request.generation_id = self.membership.generation;
        request.member_id = StrBytes::from_string(self.membership.member_id.clone());
        if version >= 5 {
            request.protocol_type = Some(StrBytes::from_static_str("consumer"));
            request.protocol_name = Some(StrBytes::from_static_str(RANGE_ASSIGNOR));
        }
        request.assignments = assignments;
        let response = self
            .coordinator
            .request_at(&request, version, self.config.rebalance_timeout)
            .await?;
        check(
            response.error_code,
            || format!("sync group {:?}", self.config.group_id),
            None,
        )?;
        decode_assignment(response.assignment)
    }

    async fn leader_assignments(
        &self,
        members: Vec<(String, Vec<String>)>,
    ) -> Result<Vec<SyncGroupRequestAssignment>> {
        let mut all_topics: Vec<&str> = members
            .iter()
            .flat_map(|(_, topics)| topics.iter().map(String::as_str))
            .collect();
        all_topics.sort_unstable();
        all_topics.dedup();
        let metadata = self.consumer.client().metadata(Some(&all_topics)).await?;
        let counts: BTreeMap<String, i32> = metadata
            .topics
            .iter()
            .map(|t| (t.name.clone(), t.partitions.len() as i32))
            .collect();
        let subscriptions: BTreeMap<String, Vec<String>> = members.into_iter().collect();
        let plan = range_assign(&subscriptions, &counts);
        let mut assignments = Vec::new();
        for (member, topics) in plan {
            let mut a = SyncGroupRequestAssignment::default();
            a.member_id = StrBytes::from_string(member);
            a.assignment = encode_assignment(&topics)?;
            assignments.push(a);
        }
        Ok(assignments)
    }

    /// Points the consumer at the committed offset of each assigned partition.
    async fn position_assigned(&mut self) -> Result<()> {
        let committed = self.fetch_committed().await?;
        self.consumer.unassign_all();
        for (topic, partition) in self.assignment.clone() {
            let offset = committed
                .get(&(topic.clone(), partition))
                .copied()
                .filter(|o| *o >= 0);
            self.consumer.assign(&topic, partition, offset).await?;
        }
        Ok(())
    }

    /// OffsetFetch for the assigned partitions: (topic, partition) -> committed offset (-1
    /// when none).
    async fn fetch_committed(&self) -> Result<BTreeMap<(String, i32), i64>> {
        group_offsets::fetch_committed(
            &self.coordinator,
            &self.config.group_id,
            &self.membership.member_id,
            &self.assignment,
        )
        .await
    }

    fn start_heartbeat(&mut self) {
        let coordinator = self.coordinator.clone();
        let rejoin = self.rejoin.clone();
        let interval = self.config.heartbeat_interval;
        let group = self.config.group_id.clone();
        let membership = self.membership.clone();
        let span =
            tracing::debug_span!("heartbeat", group = %group, member = %membership.member_id);
        self.heartbeat = Some(tokio::spawn(
            async move {
                let mut ticker = tokio::time::interval(interval);
                ticker.tick().await;
                loop {
                    ticker.tick().await;
                    let mut request = HeartbeatRequest::default();
                    request.group_id = group_id(&group);
                    request.generation_id = membership.generation;
                    request.member_id = StrBytes::from_string(membership.member_id.clone());
                    match coordinator.request(&request).await {
                        Ok(response) if response.error_code == 0 => {}
                        Ok(response) => {
                            debug!(code = response.error_code, "heartbeat asks to rejoin");
                            rejoin.store(true, Ordering::Release);
                            return;
                        }
                        Err(err) => {
                            warn!(%err, "heartbeat failed");
                            if !err.is_retriable() {
                                rejoin.store(true, Ordering::Release);
                                return;
                            }
                        }
                    }
                }
            }
            .instrument(span),
        ));
    }
}

/// FindCoordinator for a group; returns the coordinator's `host:port`.
async fn find_coordinator(client: &Client, group: &str) -> Result<String> {
    let version = client.version::<FindCoordinatorRequest>()?;
    let mut request = FindCoordinatorRequest::default();
    if version >= 4 {
        request.coordinator_keys = vec![StrBytes::from_string(group.to_owned())];
    } else {
        request.key = StrBytes::from_string(group.to_owned());
    }
    let context = || format!("find the coordinator of group {group:?}");
    // The coordinator may still be loading the offsets topic right after start-up.
    for attempt in 0..20 {
        let response = client.request(&request).await?;
        let (code, message, host, port) = if version >= 4 {
            let Some(c) = response.coordinators.first() else {
                return Err(ClientError::Protocol {
                    api: "FindCoordinator",
                    reason: "no coordinator in the response".to_owned(),
                });
            };
            (
                c.error_code,
                c.error_message.clone(),
                c.host.to_string(),
                c.port,
            )
        } else {
            (
                response.error_code,
                response.error_message.clone(),
                response.host.to_string(),
                response.port,
            )
        };
        let err = ClientError::kafka(context(), code, message.map(|m| m.to_string()));
        if code == 0 {
            return Ok(format!("{host}:{port}"));
        }
        if !err.is_retriable() || attempt == 19 {
            return Err(err);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(ClientError::kafka(
        context(),
        ResponseError::CoordinatorNotAvailable.code(),
        None,
    ))
}

/// Errors after which joining again can succeed.
fn rejoinable(err: &ClientError) -> bool {
    err.kafka_code() == Some(ResponseError::RebalanceInProgress.code())
        || err.kafka_code() == Some(ResponseError::IllegalGeneration.code())
        || err.is_retriable()
}

fn group_id(s: &str) -> GroupId {
    GroupId(StrBytes::from_string(s.to_owned()))
}

fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}
