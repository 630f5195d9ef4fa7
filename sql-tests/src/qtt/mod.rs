//! The ksqlDB query-validation-test runner (`qtt`).
//!
//! ksqlDB specifies its SQL surface with JSON test files (statements, input records, expected
//! output records or an expected rejection, post conditions). This module runs such files
//! against Sluice: each case on a fresh broker and engine, inputs one record per epoch, outputs
//! compared per topic in order, and a verdict per case: passed, failed (with a short diff) or
//! skipped (only for what Sluice does not have yet: AVRO, PROTOBUF, JSON_SR, schema registry).
//! See docs/conformance.md for the current pass rates.

pub mod case;
pub mod codec;
pub mod compare;
pub mod execute;
pub mod post;
pub mod report;
pub mod runner;
pub mod settle;

pub use case::{Case, read_file};
pub use execute::{Outcome, Verdict, run_case};
pub use runner::{CaseResult, FileResult, RunOptions, RunSummary, collect_files, run_file};
