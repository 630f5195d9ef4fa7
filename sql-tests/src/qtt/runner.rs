//! Running files and folders of cases: one task per case, bounded in time, panics caught.
//!
//! Each case runs on its own tokio task in its own temporary directory (fresh broker, fresh
//! engine), so a case cannot leak topics, queries or state into the next. A panic inside a case
//! ends its task with a join error, which becomes a failure carrying the panic message; a case
//! still running after the time limit is aborted and fails. The run always goes on.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::case::{Case, read_file};
use super::execute::{Verdict, run_case};

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Only cases whose name contains this.
    pub filter: Option<String>,
    /// Time limit per case.
    pub case_timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            filter: None,
            case_timeout: Duration::from_secs(60),
        }
    }
}

/// One case's result.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// Case name (with the expanded format).
    pub name: String,
    /// Its verdict.
    pub verdict: Verdict,
}

/// One file's results.
#[derive(Debug, Clone)]
pub struct FileResult {
    /// The file.
    pub path: PathBuf,
    /// Each case, in file order (empty when the file did not read).
    pub cases: Vec<CaseResult>,
    /// Why the file could not be read, if it could not.
    pub error: Option<String>,
}

impl FileResult {
    /// (passed, failed, skipped); an unreadable file counts as one failure.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for case in &self.cases {
            match case.verdict {
                Verdict::Passed => c.0 += 1,
                Verdict::Failed(_) => c.1 += 1,
                Verdict::Skipped(_) => c.2 += 1,
            }
        }
        if self.error.is_some() {
            c.1 += 1;
        }
        c
    }
}

/// The whole run.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    /// Per file, in the order run.
    pub files: Vec<FileResult>,
    /// Post-condition kinds seen but not checked, over the run.
    pub unchecked: BTreeSet<String>,
}

impl RunSummary {
    /// (passed, failed, skipped) over every file.
    pub fn totals(&self) -> (usize, usize, usize) {
        self.files.iter().fold((0, 0, 0), |acc, f| {
            let c = f.counts();
            (acc.0 + c.0, acc.1 + c.1, acc.2 + c.2)
        })
    }
}

/// The `.json` files of `paths` (folders searched recursively, sorted by path).
pub fn collect_files(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found)?;
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Runs every case of `file`; `on_case` sees each result as it comes.
pub async fn run_file(
    file: &Path,
    options: &RunOptions,
    unchecked: &mut BTreeSet<String>,
    on_case: &mut dyn FnMut(&CaseResult),
) -> FileResult {
    let cases = match read_file(file) {
        Ok(c) => c,
        Err(e) => {
            return FileResult {
                path: file.to_path_buf(),
                cases: Vec::new(),
                error: Some(e.to_string()),
            };
        }
    };
    let mut results = Vec::new();
    for case in cases {
        if let Some(f) = &options.filter
            && !case.name.contains(f.as_str())
        {
            continue;
        }
        let result = CaseResult {
            name: case.name.clone(),
            verdict: run_one(case, options.case_timeout, unchecked).await,
        };
        on_case(&result);
        results.push(result);
    }
    FileResult {
        path: file.to_path_buf(),
        cases: results,
        error: None,
    }
}

/// Runs one case on its own task in its own temp dir.
async fn run_one(case: Case, limit: Duration, unchecked: &mut BTreeSet<String>) -> Verdict {
    if let Some(reason) = &case.skip {
        return Verdict::Skipped(reason.clone());
    }
    let dir = match tempfile::Builder::new().prefix("sluice-qtt-").tempdir() {
        Ok(d) => d,
        Err(e) => return Verdict::Failed(format!("no temp dir: {e}")),
    };
    let path = dir.path().to_path_buf();
    let mut task = tokio::spawn(async move { run_case(&case, &path).await });
    let verdict = match tokio::time::timeout(limit, &mut task).await {
        Ok(Ok(outcome)) => {
            unchecked.extend(outcome.unchecked);
            outcome.verdict
        }
        Ok(Err(join)) if join.is_panic() => {
            let payload = join.into_panic();
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic without a message".to_string());
            Verdict::Failed(format!("panicked: {message}"))
        }
        Ok(Err(join)) => Verdict::Failed(format!("the case's task ended: {join}")),
        Err(_) => {
            task.abort();
            let _ = task.await;
            Verdict::Failed(format!("timed out after {} s", limit.as_secs()))
        }
    };
    drop(dir);
    verdict
}
