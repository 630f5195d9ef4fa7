//! Sluice engine.

pub mod format;
pub mod sql;
pub mod types;
