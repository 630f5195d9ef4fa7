//! The qtt runner from outside: its verdicts on cases written to pass, fail and be skipped
//! (sql-tests/qtt-cases/), and every ksqlDB case against the committed verdict list
//! (sql-tests/qtt-verdicts.txt, see docs/conformance.md).
//!
//! `UPDATE_QTT_VERDICTS=1` rewrites the list from the run instead of comparing (commit it after
//! reading the diff). `SLUICE_QTT_DIR` names the folder of ksqlDB's cases (default: shared/qtt
//! beside the repository); without it the test fails. `SLUICE_QTT_EXTRA_DIR` names a further
//! folder of cases run the same way, compared with the `qtt-verdicts.txt` inside it when there
//! is one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sluice_sql_tests::qtt::execute::judge_written;
use sluice_sql_tests::qtt::report::{failures, file_line, totals_line};
use sluice_sql_tests::qtt::verdicts::{compare, entries_of, read_list, write_list};
use sluice_sql_tests::qtt::{RunOptions, RunSummary, Verdict, collect_files, qtt_root, run_file};

async fn run(paths: &[PathBuf]) -> RunSummary {
    let mut summary = RunSummary::default();
    let options = RunOptions::default();
    for file in collect_files(paths).unwrap() {
        let mut unchecked = BTreeSet::new();
        let result = run_file(&file, &options, &mut unchecked, &mut |_| {}).await;
        summary.unchecked.extend(unchecked);
        summary.files.push(result);
    }
    summary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_passes_fails_and_skips_its_own_cases_as_named() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("qtt-cases/runner-verdicts.json");
    let summary = run(&[file]).await;
    let cases: Vec<_> = summary.files.iter().flat_map(|f| &f.cases).collect();
    assert!(cases.len() >= 20, "{} cases", cases.len());
    for f in &summary.files {
        assert!(f.error.is_none(), "{}", file_line(f));
    }
    let mut wrong = Vec::new();
    for case in &cases {
        let ok = match &case.verdict {
            Verdict::Skipped(reason) => case.name.ends_with("- AVRO") && reason.contains("AVRO"),
            Verdict::Passed => case.name.starts_with("pass:") && !case.name.ends_with("- AVRO"),
            Verdict::Failed(reason) => {
                // A case says why it must fail: `fail (WHY): ...` with WHY in the reason.
                case.name.starts_with("fail") && why(&case.name).is_none_or(|w| reason.contains(w))
            }
        };
        if !ok {
            wrong.push(format!("{}: {:?}", case.name, case.verdict));
        }
    }
    assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));
    let failed: Vec<_> = summary.files.iter().flat_map(failures).collect();
    let text = failed.join("\n");
    // The diffs say what differed, with both sides.
    assert!(
        text.contains("expected key=\"k\" value={\"V\":8}"),
        "{text}"
    );
    assert!(
        text.contains("actual   key=\"k\" value={\"V\":7}"),
        "{text}"
    );
    assert!(
        text.contains("expected: a message no engine writes"),
        "{text}"
    );
    assert!(text.contains("actual:   NOPE does not exist"), "{text}");
    assert!(text.contains("ts=6") && text.contains("ts=5"), "{text}");
}

#[test]
fn records_written_into_a_sink_are_read_and_compared_strictly() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("qtt-cases/bytes/written-records.json");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let tests = file["tests"].as_array().unwrap();
    assert!(tests.len() >= 15, "{} cases", tests.len());
    let mut wrong = Vec::new();
    for test in tests {
        let name = test["name"].as_str().unwrap();
        let verdict = judge_written(test).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ok = match &verdict {
            Verdict::Passed => name.starts_with("pass:"),
            Verdict::Failed(reason) => {
                name.starts_with("fail") && why(name).is_none_or(|w| reason.contains(w))
            }
            Verdict::Skipped(_) => false,
        };
        if !ok {
            wrong.push(format!("{name}: {verdict:?}"));
        }
    }
    assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));
}

/// `fail (WHY): ...` → `WHY`.
fn why(name: &str) -> Option<&str> {
    name.strip_prefix("fail (")?
        .split_once("):")
        .map(|(w, _)| w)
}

/// Runs every case under `root`, then compares with the list at `list` (or writes it when
/// `UPDATE_QTT_VERDICTS=1`, or when `optional` and there is no list yet: then only prints).
async fn check_folder(root: &Path, list: &Path, optional: bool) {
    let summary = run(&[root.to_path_buf()]).await;
    for f in &summary.files {
        println!("{}", file_line(f));
    }
    println!("{}", totals_line(&summary));
    let ran = entries_of(&summary, root);
    assert!(!ran.is_empty(), "no cases under {}", root.display());
    if std::env::var("UPDATE_QTT_VERDICTS").is_ok_and(|v| v == "1") {
        write_list(&list.to_path_buf(), &ran).unwrap();
        println!("wrote {} verdicts to {}", ran.len(), list.display());
        return;
    }
    if optional && !list.exists() {
        println!("no verdict list at {}: nothing to compare", list.display());
        return;
    }
    let listed = read_list(list).unwrap_or_else(|e| panic!("{e}"));
    let drift = compare(&listed, &ran, true);
    for line in &drift.improvements {
        println!("improved (update the list): {line}");
    }
    if !drift.improvements.is_empty() {
        println!(
            "{} cases are better than {} says: run UPDATE_QTT_VERDICTS=1 cargo test --workspace \
             --test qtt_runner and commit the list",
            drift.improvements.len(),
            list.display()
        );
    }
    if !drift.regressions.is_empty() {
        let failing: Vec<_> = summary.files.iter().flat_map(failures).collect();
        println!("failing cases:\n{}", failing.join("\n"));
    }
    assert!(
        drift.regressions.is_empty(),
        "{} cases lost their recorded verdict (if deliberate, run UPDATE_QTT_VERDICTS=1 cargo \
         test --workspace --test qtt_runner and commit {}):\n{}",
        drift.regressions.len(),
        list.display(),
        drift.regressions.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ksqldb_case_keeps_its_recorded_verdict() {
    let root = qtt_root().unwrap_or_else(|e| panic!("{e}"));
    let list = Path::new(env!("CARGO_MANIFEST_DIR")).join("qtt-verdicts.txt");
    check_folder(&root, &list, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_cases_keep_their_recorded_verdicts() {
    let Some(dir) = std::env::var_os("SLUICE_QTT_EXTRA_DIR") else {
        println!("SLUICE_QTT_EXTRA_DIR is not set: no extra cases");
        return;
    };
    let root = PathBuf::from(dir);
    assert!(
        root.is_dir(),
        "SLUICE_QTT_EXTRA_DIR={} is not a folder",
        root.display()
    );
    check_folder(&root, &root.join("qtt-verdicts.txt"), true).await;
}
