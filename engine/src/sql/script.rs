//! Splitting a script into statements.
//!
//! `RUN SCRIPT`, the shell and the test runners receive many statements in one text. They are cut
//! at each `;` that is outside a string ('it''s'), a quoted identifier (`` `a;b` `` or `"a;b"`) and
//! a comment (`-- ...` to the end of the line, `/* ... */`), so each piece can be parsed, executed
//! and reported on its own, with its position in the script kept for error messages.

use crate::sql::{ParseError, Statement, parse_statement};

/// One statement cut out of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptStatement<'a> {
    /// The statement's text, trimmed, without the terminating `;`.
    pub text: &'a str,
    /// Byte offset of `text` within the script.
    pub offset: usize,
    /// 1-based line where `text` starts.
    pub line: u64,
    /// 1-based column where `text` starts.
    pub column: u64,
}

/// Cuts `script` into statements at each `;` outside strings, quoted identifiers and comments.
///
/// Pieces that hold only whitespace and comments are dropped; a last statement without `;` is
/// kept. An unterminated string or comment runs to the end of the script (the parser then reports
/// it).
pub fn split_statements(script: &str) -> Vec<ScriptStatement<'_>> {
    let bytes = script.as_bytes();
    let mut statements = Vec::new();
    let mut has_content = false;
    let mut content_start = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'`' | b'"' => {
                if !has_content {
                    has_content = true;
                    content_start = i;
                }
                i = skip_quoted(bytes, i);
                continue;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = match script[i + 2..].find("*/") {
                    Some(end) => i + 2 + end + 2,
                    None => bytes.len(),
                };
                continue;
            }
            b';' => {
                if has_content {
                    statements.push(piece(script, content_start, i));
                }
                has_content = false;
            }
            byte if !byte.is_ascii_whitespace() && !has_content => {
                has_content = true;
                content_start = i;
            }
            _ => {}
        }
        i += 1;
    }
    if has_content {
        statements.push(piece(script, content_start, bytes.len()));
    }
    statements
}

/// One statement of a script with its text and the outcome of parsing it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedStatement<'a> {
    /// Where the statement is in the script, and its text (store this, not the tree's Display).
    pub source: ScriptStatement<'a>,
    /// The statement, or why it does not parse, with line and column counted in the whole script.
    pub result: Result<Statement, ParseError>,
}

/// Splits `script` and parses each statement on its own, so one bad statement does not hide the
/// others; error positions are those of the whole script. `RUN SCRIPT`, the shell and the test
/// runners use this.
pub fn parse_script(script: &str) -> Vec<ParsedStatement<'_>> {
    split_statements(script)
        .into_iter()
        .map(|source| {
            let result = parse_statement(source.text).map_err(|error| shift(error, &source));
            ParsedStatement { source, result }
        })
        .collect()
}

/// Moves an error's position from the statement's own coordinates to the script's.
fn shift(mut error: ParseError, source: &ScriptStatement<'_>) -> ParseError {
    if error.line == 0 {
        return error;
    }
    if error.line == 1 {
        error.column += source.column - 1;
    }
    error.line += source.line - 1;
    error
}

/// The index just after the quoted run that starts at `open` (a doubled quote is an escape).
fn skip_quoted(bytes: &[u8], open: usize) -> usize {
    let quote = bytes[open];
    let mut i = open + 1;
    while i < bytes.len() {
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// The statement between `from` (its first significant byte) and `to` (its `;` or the end).
fn piece(script: &str, from: usize, to: usize) -> ScriptStatement<'_> {
    let text = script[from..to].trim_end();
    let before = &script[..from];
    let line = before.matches('\n').count() as u64 + 1;
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    let column = script[line_start..from].chars().count() as u64 + 1;
    ScriptStatement {
        text,
        offset: from,
        line,
        column,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(script: &str) -> Vec<&str> {
        split_statements(script).iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_on_semicolons() {
        assert_eq!(
            texts("SHOW STREAMS; SHOW TABLES;\nSHOW TOPICS"),
            vec!["SHOW STREAMS", "SHOW TABLES", "SHOW TOPICS"]
        );
    }

    #[test]
    fn keeps_semicolons_in_strings_identifiers_and_comments() {
        let script = "SET 'a;b' = 'it''s;'; -- no; split\nSELECT `x;y`, \"p;q\" /* ; */ FROM s;";
        assert_eq!(
            texts(script),
            vec![
                "SET 'a;b' = 'it''s;'",
                "SELECT `x;y`, \"p;q\" /* ; */ FROM s"
            ]
        );
    }

    #[test]
    fn drops_empty_and_comment_only_pieces() {
        assert_eq!(
            texts(";; -- only a comment\n /* and this */ ;"),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn reports_where_each_statement_starts() {
        let statements = split_statements("SHOW STREAMS;\n  DESCRIBE s;");
        assert_eq!((statements[0].line, statements[0].column), (1, 1));
        assert_eq!((statements[1].line, statements[1].column), (2, 3));
        assert_eq!(statements[1].offset, 16);
    }

    #[test]
    fn parse_script_reports_errors_in_script_coordinates() {
        let parsed = parse_script("SHOW STREAMS;\n  SELECT * FORM s; SHOW TABLES;\nSELEC 1;");
        assert_eq!(parsed.len(), 4);
        assert!(parsed[0].result.is_ok());
        let error = parsed[1].result.as_ref().unwrap_err();
        assert_eq!((error.line, error.column), (2, 12));
        assert!(
            parsed[2].result.is_ok(),
            "a bad statement does not hide the next one"
        );
        assert_eq!(parsed[2].source.text, "SHOW TABLES");
        let error = parsed[3].result.as_ref().unwrap_err();
        assert_eq!((error.line, error.column), (3, 1));
    }

    #[test]
    fn unterminated_string_runs_to_the_end() {
        assert_eq!(texts("SELECT 'a; b"), vec!["SELECT 'a; b"]);
    }
}
