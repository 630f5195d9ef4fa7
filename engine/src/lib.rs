//! Sluice engine.

pub mod format;
pub mod types;
