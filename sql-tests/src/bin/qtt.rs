//! `qtt PATH... [-v] [--filter SUBSTR] [--timeout SECS] [--causes]`: runs ksqlDB
//! query-validation-test files (or folders of them) against Sluice and prints, per file and in
//! total, how many cases passed, failed and were skipped (with the reason). Ends with the line
//! `qtt totals: passed=P failed=F skipped=S`. Exits non-zero only when the runner itself
//! cannot run (bad arguments, unreadable paths), never because cases failed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use sluice_sql_tests::qtt::report::{
    failure_causes, failures, file_line, skip_reasons, totals_line,
};
use sluice_sql_tests::qtt::{RunOptions, RunSummary, collect_files, run_file};

const USAGE: &str =
    "usage: qtt PATH... [-v|--verbose] [--filter SUBSTR] [--timeout SECS] [--causes]";

struct Args {
    paths: Vec<PathBuf>,
    verbose: bool,
    causes: bool,
    options: RunOptions,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        paths: Vec::new(),
        verbose: false,
        causes: false,
        options: RunOptions::default(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "-v" | "--verbose" => args.verbose = true,
            "--causes" => args.causes = true,
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
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qtt: {e}");
            ExitCode::from(1)
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
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
    Ok(())
}
