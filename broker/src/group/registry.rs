//! The group coordinator: every consumer group this broker coordinates, and their offsets.
//!
//! One lock guards the map of groups: every group operation is a short, synchronous state change
//! (waiting happens on oneshot channels outside the lock), so contention stays low. A background
//! task ticks every group so that session timeouts expel silent members and rebalances end at
//! their deadline.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::watch;

use super::coordinator::Group;
use super::offsets::{OffsetStore, OffsetStoreError};
use crate::Broker;

/// Default of [`GroupConfig::max_size`] (Kafka's is unbounded).
pub const DEFAULT_GROUP_MAX_SIZE: usize = 1000;

/// Settings of the group coordinator, with Kafka's defaults.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// How long the first rebalance of an empty group waits for more members
    /// (`group.initial.rebalance.delay.ms`, 3 s).
    pub initial_rebalance_delay: Duration,
    /// Smallest session timeout a member may ask for (`group.min.session.timeout.ms`, 6 s).
    pub min_session_timeout: Duration,
    /// Largest session timeout a member may ask for (`group.max.session.timeout.ms`, 30 min).
    pub max_session_timeout: Duration,
    /// How often session timeouts and rebalance deadlines are checked.
    pub tick_interval: Duration,
    /// Most members in one group, counting ids handed out and not used yet (Kafka's
    /// `group.max.size`); a JoinGroup past it gets GROUP_MAX_SIZE_REACHED.
    pub max_size: usize,
    /// Most assignment protocols one member may offer in a JoinGroup (clients send one to three);
    /// more is INVALID_REQUEST.
    pub max_protocols_per_member: usize,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            initial_rebalance_delay: Duration::from_secs(3),
            min_session_timeout: Duration::from_secs(6),
            max_session_timeout: Duration::from_secs(30 * 60),
            tick_interval: Duration::from_millis(100),
            max_size: DEFAULT_GROUP_MAX_SIZE,
            max_protocols_per_member: 64,
        }
    }
}

/// Consumer groups and committed offsets; shared by every connection.
#[derive(Debug)]
pub struct GroupCoordinator {
    groups: Mutex<HashMap<String, Group>>,
    /// Committed offsets, durable in `__consumer_offsets`.
    pub offsets: OffsetStore,
    /// The settings it runs with.
    pub config: GroupConfig,
    stop: watch::Sender<bool>,
}

impl GroupCoordinator {
    /// Load committed offsets and start the ticking task.
    pub async fn start(
        broker: Broker,
        config: GroupConfig,
    ) -> Result<Arc<GroupCoordinator>, OffsetStoreError> {
        let offsets = OffsetStore::open(broker).await?;
        let (stop, mut stopped) = watch::channel(false);
        let coordinator = Arc::new(GroupCoordinator {
            groups: Mutex::new(HashMap::new()),
            offsets,
            config,
            stop,
        });
        let weak: Weak<GroupCoordinator> = Arc::downgrade(&coordinator);
        let interval = coordinator.config.tick_interval;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stopped.wait_for(|s| *s) => break,
                    _ = tokio::time::sleep(interval) => {}
                }
                let Some(c) = weak.upgrade() else { break };
                c.tick(Instant::now());
            }
        });
        Ok(coordinator)
    }

    /// Stop the ticking task.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    fn tick(&self, now: Instant) {
        let mut groups = self.groups.lock();
        for g in groups.values_mut() {
            g.tick(now);
        }
        groups.retain(|_, g| !g.is_idle());
    }

    /// Run `f` on group `id`, creating it (empty) if it does not exist.
    pub fn with_group<R>(&self, id: &str, f: impl FnOnce(&mut Group) -> R) -> R {
        let mut groups = self.groups.lock();
        let group = groups
            .entry(id.to_string())
            .or_insert_with(|| Group::new(id, self.config.initial_rebalance_delay));
        f(group)
    }

    /// Run `f` on group `id` if it has live state.
    pub fn with_existing<R>(&self, id: &str, f: impl FnOnce(&mut Group) -> R) -> Option<R> {
        self.groups.lock().get_mut(id).map(f)
    }

    /// Forget group `id` if it has no members; false when it has some.
    pub fn remove_if_empty(&self, id: &str) -> bool {
        let mut groups = self.groups.lock();
        match groups.get(id) {
            Some(g) if g.members().next().is_some() => false,
            _ => {
                groups.remove(id);
                true
            }
        }
    }

    /// Does group `id` have live state (members or a pending join)?
    pub fn is_live(&self, id: &str) -> bool {
        self.groups.lock().contains_key(id)
    }

    /// Ids of all groups: those with members and those with committed offsets.
    pub fn group_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.groups.lock().keys().cloned().collect();
        ids.extend(self.offsets.groups());
        ids.sort();
        ids.dedup();
        ids
    }
}
