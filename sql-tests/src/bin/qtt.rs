//! `qtt PATH... [-v] [--filter SUBSTR] [--timeout SECS] [--causes] [--verdicts FILE
//! [--write-verdicts]]`: runs ksqlDB query-validation-test files (or folders of them) against
//! Sluice and prints, per file and in total, how many cases passed, failed and were skipped
//! (with the reason). Ends with the line `qtt totals: passed=P failed=F skipped=S`.
//!
//! Without `--verdicts` it exits non-zero only when the runner itself cannot run (bad
//! arguments, unreadable paths), never because cases failed. With `--verdicts FILE` it compares
//! each case's verdict with the list (cases keyed by their path under the first PATH, which
//! must then be a folder) and exits 1 when a case lost its recorded verdict; with
//! `--write-verdicts` it writes the list instead.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use sluice_sql_tests::qtt::report::{
    failure_causes, failures, file_line, skip_reasons, totals_line,
};
use sluice_sql_tests::qtt::verdicts::{compare, entries_of, read_list, write_list};
use sluice_sql_tests::qtt::{RunOptions, RunSummary, collect_files, run_file};

const USAGE: &str = "usage: qtt PATH... [-v|--verbose] [--filter SUBSTR] [--timeout SECS] \
                     [--causes] [--verdicts FILE [--write-verdicts]]";

struct Args {
    paths: Vec<PathBuf>,
    verbose: bool,
    causes: bool,
    verdicts: Option<PathBuf>,
    write_verdicts: bool,
    options: RunOptions,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        paths: Vec::new(),
        verbose: false,
        causes: false,
        verdicts: None,
        write_verdicts: false,
        options: RunOptions::default(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "-v" | "--verbose" => args.verbose = true,
            "--causes" => args.causes = true,
            "--verdicts" => {
                args.verdicts = Some(PathBuf::from(it.next().ok_or("--verdicts needs a file")?));
            }
            "--write-verdicts" => args.write_verdicts = true,
            "--filter" => args.options.filter = Some(it.next().ok_or("--filter needs a value")?),
            "--timeout" => {
                let secs: u64 = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--timeout needs a number of seconds")?;
                args.options.case_timeout = Duration::from_secs(secs);
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}\n{USAGE}")),
            path => args.paths.push(PathBuf::from(path)),
        }
    }
    if args.paths.is_empty() {
        return Err(USAGE.to_string());
    }
    if args.verdicts.is_some() && !args.paths[0].is_dir() {
        return Err("--verdicts: the first PATH must be the folder the list is relative to".into());
    }
    if args.write_verdicts && (args.verdicts.is_none() || args.options.filter.is_some()) {
        return Err("--write-verdicts needs --verdicts FILE and no --filter".into());
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("qtt: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("qtt: {e}");
            ExitCode::from(1)
        }
    }
}

/// Runs the cases; Ok(false) when cases lost their recorded verdict.
async fn run(args: Args) -> Result<bool, String> {
    for p in &args.paths {
        if !p.exists() {
            return Err(format!("{} does not exist", p.display()));
        }
    }
    let files = collect_files(&args.paths).map_err(|e| e.to_string())?;
    let mut summary = RunSummary::default();
    for file in files {
        let result = run_file(&file, &args.options, &mut summary.unchecked, &mut |_| {}).await;
        println!("{}", file_line(&result));
        if args.verbose {
            for f in failures(&result) {
                println!("{f}");
            }
        }
        summary.files.push(result);
    }
    for (reason, n) in skip_reasons(&summary) {
        println!("skipped {n}: {reason}");
    }
    if !summary.unchecked.is_empty() {
        let kinds: Vec<_> = summary.unchecked.iter().map(String::as_str).collect();
        println!("post conditions not checked: {}", kinds.join(", "));
    }
    if args.causes {
        for (cause, n) in failure_causes(&summary) {
            println!("cause {n}: {cause}");
        }
    }
    println!("{}", totals_line(&summary));
    let Some(list) = &args.verdicts else {
        return Ok(true);
    };
    let ran = entries_of(&summary, &args.paths[0]);
    if args.write_verdicts {
        write_list(list, &ran)?;
        println!("wrote {} verdicts to {}", ran.len(), list.display());
        return Ok(true);
    }
    let complete = args.options.filter.is_none() && args.paths.len() == 1;
    let drift = compare(&read_list(list)?, &ran, complete);
    for line in &drift.improvements {
        println!("improved: {line}");
    }
    for line in &drift.regressions {
        println!("REGRESSION: {line}");
    }
    println!(
        "verdicts: {} regressions, {} improvements against {}",
        drift.regressions.len(),
        drift.improvements.len(),
        list.display()
    );
    Ok(drift.regressions.is_empty())
}
