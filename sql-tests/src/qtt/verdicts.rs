//! The committed list of every case's verdict, and what changed against it.
//!
//! A pass rate can stay the same while cases swap (one breaks, another is fixed) or while cases
//! slip from failed into skipped. So the guard is a list with one line per case,
//! `FILE<TAB>CASE<TAB>VERDICT` where VERDICT is `pass`, `fail` or `skip: REASON`, FILE is the
//! path under the folder of cases (`query-validation-tests/sum.json`) and CASE the expanded
//! name (` - JSON` for a format, ` #2` for a name given twice). Comparing a run with the list:
//!
//! - a **regression** breaks the build: a listed `pass` that now fails or is skipped, a listed
//!   `fail` that is now skipped, a skip whose reason changed, a listed case that did not run, or
//!   a case that ran and is not listed;
//! - an **improvement** is reported: a listed `fail` or `skip` that now passes, a listed `skip`
//!   that now runs and fails. The list is then updated on purpose (see docs/conformance.md:
//!   `UPDATE_QTT_VERDICTS=1`), so the next regression of that case is caught.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::execute::Verdict;
use super::runner::RunSummary;

/// One line of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file, relative to the folder of cases, with `/` separators.
    pub file: String,
    /// The case's name.
    pub case: String,
    /// `pass`, `fail` or `skip: REASON`.
    pub verdict: String,
}

/// What a run changed against the list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drift {
    /// Changes that break the build, one line each.
    pub regressions: Vec<String>,
    /// Changes for the better, reported; the list should be updated.
    pub improvements: Vec<String>,
}

/// A verdict as the list writes it.
pub fn verdict_word(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Passed => "pass".to_string(),
        Verdict::Failed(_) => "fail".to_string(),
        Verdict::Skipped(reason) => format!("skip: {}", one_line(reason)),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The key of `file` in the list: its path under `root` (or its file name when it is not
/// under it).
pub fn file_key(root: &Path, file: &Path) -> String {
    let relative = file
        .strip_prefix(root)
        .unwrap_or_else(|_| file.file_name().map_or(file, |n| Path::new(n)));
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The entries of a run, in the order run (files sorted, cases in file order). An unreadable
/// file is one entry named `(file not read)` with verdict `fail`.
pub fn entries_of(summary: &RunSummary, root: &Path) -> Vec<Entry> {
    let mut out = Vec::new();
    for file in &summary.files {
        let key = file_key(root, &file.path);
        if file.error.is_some() {
            out.push(Entry {
                file: key.clone(),
                case: "(file not read)".to_string(),
                verdict: "fail".to_string(),
            });
        }
        for case in &file.cases {
            out.push(Entry {
                file: key.clone(),
                case: one_line(&case.name),
                verdict: verdict_word(&case.verdict),
            });
        }
    }
    out
}

const HEADER: &str = "\
# The verdict of every ksqlDB query-validation case under Sluice's qtt runner, one a line:
# FILE<TAB>CASE<TAB>pass|fail|skip: REASON. Checked by sql-tests/tests/qtt_runner.rs: a case
# listed as pass that fails breaks the build. Do not edit by hand; after a deliberate change run
#   UPDATE_QTT_VERDICTS=1 cargo test --workspace --test qtt_runner
# and commit the result (docs/conformance.md).
";

/// The list's text for `entries`.
pub fn render(entries: &[Entry]) -> String {
    let mut text = HEADER.to_string();
    for e in entries {
        text.push_str(&format!("{}\t{}\t{}\n", e.file, e.case, e.verdict));
    }
    text
}

/// Reads a list (comment lines start with `#`).
pub fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(3, '\t');
        let (Some(file), Some(case), Some(verdict)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!(
                "line {}: not FILE<TAB>CASE<TAB>VERDICT: {line}",
                i + 1
            ));
        };
        if !(verdict == "pass" || verdict == "fail" || verdict.starts_with("skip: ")) {
            return Err(format!("line {}: unknown verdict {verdict:?}", i + 1));
        }
        out.push(Entry {
            file: file.to_string(),
            case: case.to_string(),
            verdict: verdict.to_string(),
        });
    }
    Ok(out)
}

/// Compares a run with the list. `complete`: the run covered every file of the list (no filter,
/// the whole folder), so a listed case that did not run is a regression; otherwise only the
/// cases that ran are compared.
pub fn compare(listed: &[Entry], ran: &[Entry], complete: bool) -> Drift {
    let mut drift = Drift::default();
    let mut expected: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for e in listed {
        if expected.insert((&e.file, &e.case), &e.verdict).is_some() {
            drift
                .regressions
                .push(format!("{}: {}: listed twice", e.file, e.case));
        }
    }
    for e in ran {
        let Some(was) = expected.remove(&(e.file.as_str(), e.case.as_str())) else {
            drift.regressions.push(format!(
                "{}: {}: not in the verdict list (now {})",
                e.file, e.case, e.verdict
            ));
            continue;
        };
        let now = e.verdict.as_str();
        if was == now {
            continue;
        }
        let line = format!("{}: {}: listed {was}, now {now}", e.file, e.case);
        let better = now == "pass" || (was.starts_with("skip") && now == "fail");
        if better {
            drift.improvements.push(line);
        } else {
            drift.regressions.push(line);
        }
    }
    if complete {
        for ((file, case), was) in expected {
            drift
                .regressions
                .push(format!("{file}: {case}: listed {was}, did not run"));
        }
    }
    drift
}

/// Reads the list at `path` (a missing file is an error, not an empty list).
pub fn read_list(path: &Path) -> Result<Vec<Entry>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the verdict list {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes the list for `entries` to `path`.
pub fn write_list(path: &PathBuf, entries: &[Entry]) -> Result<(), String> {
    std::fs::write(path, render(entries))
        .map_err(|e| format!("cannot write the verdict list {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(case: &str, verdict: &str) -> Entry {
        Entry {
            file: "q/a.json".into(),
            case: case.into(),
            verdict: verdict.into(),
        }
    }

    #[test]
    fn the_list_reads_back_what_it_writes() {
        let entries = vec![
            e("x - JSON", "pass"),
            e("y", "skip: AVRO format not supported yet"),
        ];
        assert_eq!(parse(&render(&entries)).unwrap(), entries);
        assert!(parse("a\tb\tmaybe\n").is_err());
        assert!(parse("a b pass\n").is_err());
    }

    #[test]
    fn a_pass_that_fails_or_slips_into_skipped_is_a_regression() {
        let listed = vec![
            e("a", "pass"),
            e("b", "pass"),
            e("c", "fail"),
            e("d", "skip: X"),
        ];
        let ran = vec![
            e("a", "fail"),
            e("b", "skip: X"),
            e("c", "skip: X"),
            e("d", "skip: Y"),
        ];
        let drift = compare(&listed, &ran, true);
        assert_eq!(drift.regressions.len(), 4, "{drift:?}");
        assert!(drift.improvements.is_empty());
    }

    #[test]
    fn a_fail_that_passes_is_reported_not_a_regression() {
        let listed = vec![e("a", "fail"), e("b", "skip: X")];
        let ran = vec![e("a", "pass"), e("b", "fail")];
        let drift = compare(&listed, &ran, true);
        assert!(drift.regressions.is_empty(), "{drift:?}");
        assert_eq!(drift.improvements.len(), 2);
    }

    #[test]
    fn missing_and_unlisted_cases_are_regressions_in_a_complete_run() {
        let listed = vec![e("a", "pass"), e("b", "fail")];
        let ran = vec![e("a", "pass"), e("c", "fail")];
        let drift = compare(&listed, &ran, true);
        assert_eq!(drift.regressions.len(), 2, "{drift:?}");
        // A filtered run compares only what ran.
        let drift = compare(&listed, &ran[..1], false);
        assert!(drift.regressions.is_empty(), "{drift:?}");
    }

    #[test]
    fn files_are_keyed_by_their_path_under_the_root() {
        let root = Path::new("/x/qtt");
        assert_eq!(
            file_key(root, Path::new("/x/qtt/query-validation-tests/sum.json")),
            "query-validation-tests/sum.json"
        );
        assert_eq!(file_key(root, Path::new("/elsewhere/sum.json")), "sum.json");
    }
}
