//! Persistent queries: a physical plan built once from SQL and executed again every epoch.
//!
//! [`PersistentQuery`] owns the plan, the per-partition committed offsets and the commit store;
//! [`PersistentQuery::run_epoch`] runs one epoch (fix the slice, execute, commit) and
//! [`spawn`] runs epochs in a tokio task that sleeps on the sources' high-water marks.
//! [`PushQuery`] runs the same loop for `EMIT CHANGES` with a client as the sink.
//! See docs/architecture.md, "Epochs".

pub mod commit;
pub mod error;
pub mod push;
pub mod recovery;
pub mod runner;
pub mod session;
mod streaming_plan;
pub mod task;

pub use commit::{OFFSETS_TOPIC, QueryCommit, QueryOffsetsStore};
pub use error::QueryError;
pub use push::{PushHandle, PushQuery, spawn_push};
pub use recovery::truncate_sink_partition;
pub use runner::{
    EpochOutcome, PersistentQuery, Progress, QueryOptions, QuerySource, QuerySpec, Recovery,
    StartFrom,
};
pub use session::streaming_session;
pub use task::{QueryHandle, QueryStats, spawn};
