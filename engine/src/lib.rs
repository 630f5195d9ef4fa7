//! Sluice engine.

pub mod functions;
