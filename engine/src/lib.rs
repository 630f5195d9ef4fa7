//! Sluice engine: the ksqlDB dialect planned into DataFusion physical plans that run continuously,
//! epoch by epoch, over the broker's topics (see docs/architecture.md, "Engine").

pub mod catalog;
pub mod engine;
pub mod exec;
pub mod format;
pub mod functions;
pub mod pgwire;
pub mod processing_log;
pub mod query;
pub mod sql;
pub mod testing;
pub mod types;

pub use catalog::{EngineError, RowStream, Session, StatementResult};
pub use engine::Engine;
