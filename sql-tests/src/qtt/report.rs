//! The runner's text output: a line per file, failing cases with `-v`, skip reasons, failure
//! causes, and the totals line that always comes last.

use std::collections::BTreeMap;

use super::execute::Verdict;
use super::runner::{FileResult, RunSummary};

/// `file.json: passed=P failed=F skipped=S` (plus the read error of an unreadable file).
pub fn file_line(file: &FileResult) -> String {
    let (p, f, s) = file.counts();
    let name = file.path.file_name().map_or_else(
        || file.path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut line = format!("{name}: passed={p} failed={f} skipped={s}");
    if let Some(e) = &file.error {
        line.push_str(&format!(" (not read: {e})"));
    }
    line
}

/// Each failing case of `file` with its diff (for `-v`).
pub fn failures(file: &FileResult) -> Vec<String> {
    file.cases
        .iter()
        .filter_map(|c| match &c.verdict {
            Verdict::Failed(reason) => Some(format!("  FAIL {}\n    {reason}", c.name)),
            _ => None,
        })
        .collect()
}

/// Skip reasons with their counts, most frequent first.
pub fn skip_reasons(summary: &RunSummary) -> Vec<(String, usize)> {
    count(summary, |v| match v {
        Verdict::Skipped(r) => Some(r.clone()),
        _ => None,
    })
}

/// Failure causes with their counts, most frequent first: the first line of each failure with
/// numbers, quoted names and SQL cut off, so the same cause in different cases groups together.
pub fn failure_causes(summary: &RunSummary) -> Vec<(String, usize)> {
    count(summary, |v| match v {
        Verdict::Failed(r) => Some(cause_of(r)),
        _ => None,
    })
}

fn count(summary: &RunSummary, key: impl Fn(&Verdict) -> Option<String>) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for file in &summary.files {
        for case in &file.cases {
            if let Some(k) = key(&case.verdict) {
                *counts.entry(k).or_default() += 1;
            }
        }
    }
    let mut list: Vec<_> = counts.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    list
}

/// A failure's first line, generalised: digits become `N`, text in quotes becomes `'..'`.
pub fn cause_of(reason: &str) -> String {
    let first = reason.lines().next().unwrap_or_default();
    if first.contains("was rejected with another message") {
        let actual = reason
            .lines()
            .find_map(|l| l.trim().strip_prefix("actual:"))
            .unwrap_or_default();
        return format!("rejected with another message: {}", cause_of(actual.trim()));
    }
    if first.starts_with("topic ") && first.contains(", record #") {
        return "an output record differs (value, key or timestamp)".to_string();
    }
    if first.starts_with("topic ") && first.contains(" records, got ") {
        return "output records missing or extra".to_string();
    }
    // Statement failures: keep the engine's message, not which statement it was.
    let first = first
        .split_once(" failed: ")
        .map_or(first, |(_, message)| message);
    let mut out = String::new();
    let mut in_quote: Option<char> = None;
    let mut last_digit = false;
    for ch in first.chars() {
        if let Some(q) = in_quote {
            if ch == q {
                in_quote = None;
                out.push_str("..");
                out.push(ch);
            }
            continue;
        }
        if ch == '\'' || ch == '"' || ch == '`' {
            in_quote = Some(ch);
            out.push(ch);
        } else if ch.is_ascii_digit() {
            if !last_digit {
                out.push('N');
            }
            last_digit = true;
            continue;
        } else {
            out.push(ch);
        }
        last_digit = false;
    }
    out.chars().take(140).collect()
}

/// The line that ends every run.
pub fn totals_line(summary: &RunSummary) -> String {
    let (p, f, s) = summary.totals();
    format!("qtt totals: passed={p} failed={f} skipped={s}")
}

#[cfg(test)]
mod tests {
    use super::cause_of;

    #[test]
    fn causes_group_cases_that_differ_only_in_names_and_numbers() {
        assert_eq!(
            cause_of("statement 2 failed: Column 'X1' cannot be resolved at 1:12\n  sql"),
            cause_of("statement 3 failed: Column 'ABC' cannot be resolved at 4:9")
        );
        assert_ne!(
            cause_of("topic T, record #0:"),
            cause_of("timed out after 60 s")
        );
    }
}
