//! Consumer groups: the coordinator state machine, committed offsets, and the Kafka APIs that use
//! them (one file per API, as in tansu's `broker/group/`).
//!
//! [`coordinator`] is the pure state machine of one group; [`registry`] holds every group and
//! ticks them; [`offsets`] stores commits in `__consumer_offsets`. The remaining files turn wire
//! requests into calls on those and back.

pub mod coordinator;
pub mod member;
pub mod offsets;
pub mod registry;

pub(crate) mod delete;
pub(crate) mod describe;
pub(crate) mod find_coordinator;
pub(crate) mod heartbeat;
pub(crate) mod join;
pub(crate) mod leave;
pub(crate) mod offset_commit;
pub(crate) mod offset_fetch;
pub(crate) mod sync;

pub use coordinator::{Group, GroupState};
pub use offsets::{CommittedOffset, OFFSETS_TOPIC, OffsetStore, OffsetStoreError};
pub use registry::{GroupConfig, GroupCoordinator};
