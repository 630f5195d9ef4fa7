//! Parses every statement of ksqlDB's query-validation tests (QTT) with Sluice's parser.
//!
//! The suite lives outside the repository, in `shared/qtt` beside it (the repository's parent
//! folder), or in the folder named by `SLUICE_QTT_DIR`; without it this test fails. Every
//! statement must parse, except in cases whose expected exception is a parse error: there some
//! statement must fail. Deliberate differences from ksqlDB are listed in [`KNOWN_DIFFERENCES`]
//! by statement text, with the reason.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sluice_engine::sql::parse_statements;

/// Statements whose outcome differs from ksqlDB on purpose: (statement text, reason). The test
/// checks that each still behaves as described ("parsed: ..." parses, "rejected ..." fails).
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "RUN SCRIPT 'foo';",
        "parsed: ksqlDB's server rejects RUN SCRIPT (its CLI runs it); Sluice parses it so the \
         shell can run scripts, and the server refuses it when executing",
    ),
    (
        "SELECT * FROM riderLocations LIMIT -1;",
        "rejected while parsing (LIMIT takes a non-negative integer); ksqlDB parses it and \
         rejects it when planning, so the user sees an error either way",
    ),
    (
        "SELECT * FROM riderLocations LIMIT 2.5;",
        "rejected while parsing (LIMIT takes a non-negative integer); ksqlDB parses it and \
         rejects it when planning, so the user sees an error either way",
    ),
];

/// One statement outcome that contradicts the expectation.
struct Failure {
    file: String,
    statement: String,
    problem: String,
}

#[test]
fn every_qtt_statement_parses_as_ksqldb_does() {
    let root = std::env::var_os("SLUICE_QTT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/qtt"));
    assert!(
        root.join("query-validation-tests").is_dir(),
        "no ksqlDB query-validation tests at {}: put them there (a folder holding \
         query-validation-tests/) or name their folder in SLUICE_QTT_DIR",
        root.display()
    );
    let mut parsed = 0usize;
    let mut rejected_as_expected = 0usize;
    let mut known = 0usize;
    let mut round_trips = 0usize;
    let mut failures = Vec::new();
    for folder in ["query-validation-tests", "rest-query-validation-tests"] {
        for file in json_files(&root.join(folder)) {
            let text = std::fs::read_to_string(&file).expect("qtt file is readable");
            let json: Value = serde_json::from_str(&strip_lenient_json(&text))
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", file.display()));
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
            let name = name.unwrap_or_default();
            for case in json["tests"].as_array().into_iter().flatten() {
                let statements: Vec<String> = case["statements"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str())
                    .map(|s| s.replace("{FORMAT}", "JSON"))
                    .collect();
                let is_known = |s: &String| KNOWN_DIFFERENCES.iter().any(|(k, _)| k == s);
                let expects_error = expects_parse_error(case);
                if expects_error && statements.iter().any(is_known) {
                    known += 1;
                    continue;
                }
                let (known_here, statements): (Vec<String>, Vec<String>) =
                    statements.into_iter().partition(is_known);
                known += known_here.len();
                let results: Vec<_> = statements.iter().map(|s| parse_statements(s)).collect();
                if expects_error {
                    if let Some(Err(error)) = results.iter().find(|r| r.is_err()) {
                        rejected_as_expected += 1;
                        println!("rejected as ksqlDB does ({name}): {error}");
                    } else {
                        failures.push(Failure {
                            file: name.clone(),
                            statement: statements.join("\n    "),
                            problem: format!(
                                "parsed, but ksqlDB rejects it: {}",
                                case["expectedException"]
                            ),
                        });
                    }
                    continue;
                }
                for (statement, result) in statements.iter().zip(results) {
                    match result {
                        Ok(trees) => {
                            parsed += 1;
                            if !statement.contains("=>") && !statement.contains("->") {
                                round_trips += 1;
                                check_display_round_trip(&trees, statement, &name, &mut failures);
                            }
                        }
                        Err(error) => failures.push(Failure {
                            file: name.clone(),
                            statement: statement.clone(),
                            problem: error.to_string(),
                        }),
                    }
                }
            }
        }
    }
    println!(
        "qtt parse: {parsed} statements parsed ({round_trips} also printed and parsed back), \
         {rejected_as_expected} cases rejected as ksqlDB does, {known} known differences, {} \
         failures",
        failures.len()
    );
    for (statement, reason) in KNOWN_DIFFERENCES {
        println!("known difference: {statement}\n    {reason}");
        let parses = parse_statements(statement).is_ok();
        assert_eq!(
            parses,
            reason.starts_with("parsed"),
            "known difference no longer behaves as described: {statement}"
        );
    }
    for failure in failures.iter().take(200) {
        println!(
            "FAIL {}: {}\n    {}",
            failure.file, failure.problem, failure.statement
        );
    }
    assert!(
        parsed > 4000,
        "the suite should hold over 4000 statements, parsed {parsed}"
    );
    assert!(
        failures.is_empty(),
        "{} statements disagree with ksqlDB (see the output above)",
        failures.len()
    );
}

/// The tree's `Display` must parse back to the same tree (lambdas and `->` excepted, see
/// `Statement`'s `Display`).
fn check_display_round_trip(
    trees: &[sluice_engine::sql::Statement],
    statement: &str,
    file: &str,
    failures: &mut Vec<Failure>,
) {
    for tree in trees {
        let printed = tree.to_string();
        let problem = match parse_statements(&printed) {
            Ok(again) if again.len() == 1 && &again[0] == tree => continue,
            Ok(_) => format!("Display does not parse back to the same tree: {printed}"),
            Err(error) => format!("Display does not parse back ({error}): {printed}"),
        };
        failures.push(Failure {
            file: file.to_string(),
            statement: statement.to_string(),
            problem,
        });
    }
}

/// Whether ksqlDB rejects this case while parsing.
fn expects_parse_error(case: &Value) -> bool {
    let exception = &case["expectedException"];
    let exception_type = exception["type"].as_str().unwrap_or_default();
    let message = exception["message"]
        .as_str()
        .or_else(|| case["expectedError"]["message"].as_str())
        .unwrap_or_default();
    exception_type.ends_with("ParseFailedException")
        || message.to_ascii_lowercase().contains("syntax error")
}

/// The `.json` files of `folder`, sorted.
fn json_files(folder: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// Removes `//` and `/* */` comments, then trailing commas, outside strings.
fn strip_lenient_json(text: &str) -> String {
    strip_trailing_commas(&strip_comments(text))
}

/// Removes `//` and `/* */` comments outside strings.
fn strip_comments(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut in_string = false;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            out.push(c);
            if c == '\\' && i + 1 < chars.len() {
                out.push(chars[i + 1]);
                i += 2;
                continue;
            }
            if c == '"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
                i += 1;
            }
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Removes a `,` that is followed (after whitespace) by `}` or `]`, outside strings.
fn strip_trailing_commas(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for (i, &c) in chars.iter().enumerate() {
        if in_string {
            in_string = escaped || c != '"';
            escaped = !escaped && c == '\\';
        } else if c == '"' {
            in_string = true;
        } else if c == ',' {
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            if matches!(next, Some('}') | Some(']')) {
                continue;
            }
        }
        out.push(c);
    }
    out
}
