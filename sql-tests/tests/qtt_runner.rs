//! The qtt runner from outside: its verdicts on cases written to pass, fail and be skipped
//! (sql-tests/qtt-cases/), and the pass rate over the ksqlDB files the stateless issues cover
//! when ../shared/qtt is present.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sluice_sql_tests::qtt::report::{failures, file_line, totals_line};
use sluice_sql_tests::qtt::{RunOptions, RunSummary, Verdict, collect_files, run_file};

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
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("qtt-cases");
    let summary = run(&[dir]).await;
    let cases: Vec<_> = summary.files.iter().flat_map(|f| &f.cases).collect();
    assert!(cases.len() >= 12, "{} cases", cases.len());
    for case in &cases {
        let ok = match &case.verdict {
            Verdict::Skipped(reason) => case.name.ends_with("- AVRO") && reason.contains("AVRO"),
            Verdict::Passed => case.name.starts_with("pass:") && !case.name.ends_with("- AVRO"),
            Verdict::Failed(_) => case.name.starts_with("fail:"),
        };
        assert!(ok, "{}: {:?}", case.name, case.verdict);
    }
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
    assert_eq!(
        totals_line(&summary),
        "qtt totals: passed=5 failed=7 skipped=1"
    );
}

/// The ksqlDB files of the covered features (filters, projections, CAST, CASE, literals, NULL,
/// operators, scalar functions, INSERT INTO, the JSON/DELIMITED/KAFKA formats).
const COVERED: &[&str] = &[
    "project-filter",
    "where",
    "select",
    "cast",
    "case-expression",
    "literals",
    "null",
    "operators",
    "binary-arithmetic",
    "binary-comparison",
    "comparison-expression",
    "math",
    "string",
    "concat",
    "substring",
    "replace",
    "instr",
    "len",
    "initcap",
    "string-lpad-rpad",
    "date",
    "dateadd",
    "datesub",
    "datestring",
    "format-date",
    "parse-date",
    "stringdate",
    "insert-into",
    "json",
    "delimited",
    "kafka",
    "formats",
    "serdes",
    "elements",
];

/// Passed out of the cases that ran (not skipped), in percent, reached on 2026-11-23 (89%: 290
/// passed, 33 failed, with the validation, null-value and key work of issue 3), less a small
/// margin: raise it as the engine gets better.
const MIN_PASS_PERCENT: usize = 87;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn covered_ksqldb_files_pass_at_the_recorded_rate() {
    // ../shared/qtt relative to the repository root.
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/qtt/query-validation-tests");
    if !root.exists() {
        eprintln!(
            "no ksqlDB test files at {}: nothing to check",
            root.display()
        );
        return;
    }
    let files: Vec<_> = COVERED
        .iter()
        .map(|f| root.join(format!("{f}.json")))
        .collect();
    let summary = run(&files).await;
    for f in &summary.files {
        println!("{}", file_line(f));
        assert!(f.error.is_none(), "{}", file_line(f));
    }
    let (p, f, s) = summary.totals();
    let percent = p * 100 / (p + f).max(1);
    println!("{}", totals_line(&summary));
    println!(
        "covered pass rate: {percent}% of {} cases run ({s} skipped)",
        p + f
    );
    assert!(p + f > 250, "too few cases ran: {}", p + f);
    assert!(
        percent >= MIN_PASS_PERCENT,
        "pass rate {percent}% < {MIN_PASS_PERCENT}%"
    );
}
