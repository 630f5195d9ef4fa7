//! Deterministic test driver.
