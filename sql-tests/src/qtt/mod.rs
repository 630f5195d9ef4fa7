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
pub mod verdicts;

pub use case::{Case, read_file};
pub use execute::{Outcome, Verdict, run_case};
pub use runner::{CaseResult, FileResult, RunOptions, RunSummary, collect_files, run_file};

/// The environment variable naming the folder of ksqlDB's cases (holding
/// `query-validation-tests/`), instead of the default `../shared/qtt` beside the repository.
pub const QTT_DIR_VAR: &str = "SLUICE_QTT_DIR";

/// The folder of ksqlDB's cases: `$SLUICE_QTT_DIR`, else `shared/qtt` in the repository's
/// parent folder. An error (not a silent skip) when it is not there: the conformance guard
/// cannot pass without the cases it guards.
pub fn qtt_root() -> Result<std::path::PathBuf, String> {
    let root = match std::env::var_os(QTT_DIR_VAR) {
        Some(dir) => std::path::PathBuf::from(dir),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/qtt"),
    };
    if !root.join("query-validation-tests").is_dir() {
        return Err(format!(
            "no ksqlDB query-validation tests at {}: put them there (a folder holding \
             query-validation-tests/) or name their folder in {QTT_DIR_VAR}",
            root.display()
        ));
    }
    Ok(root.canonicalize().unwrap_or(root))
}
