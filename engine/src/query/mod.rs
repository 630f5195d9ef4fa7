//! Persistent queries: a physical plan built once from SQL and executed again every epoch.
//!
//! [`PersistentQuery`] owns the plan, the per-partition committed offsets and the commit store;
//! [`PersistentQuery::run_epoch`] runs one epoch (fix the slice, execute, commit) and
//! [`spawn`] runs epochs in a tokio task that sleeps on the sources' high-water marks.
//! See docs/architecture.md, "Epochs".

pub mod commit;
pub mod error;
pub mod runner;
pub mod session;
pub mod task;

pub use commit::{OFFSETS_TOPIC, QueryCommit, QueryOffsetsStore};
pub use error::QueryError;
pub use runner::{EpochOutcome, PersistentQuery, QueryOptions, QuerySource, QuerySpec, StartFrom};
pub use session::streaming_session;
pub use task::{QueryHandle, spawn};
