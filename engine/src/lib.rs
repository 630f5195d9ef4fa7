//! Sluice engine.

pub mod sql;
