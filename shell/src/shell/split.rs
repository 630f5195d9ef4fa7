//! Splits SQL text into statements on `;`, the way psql does: a `;` inside a quoted string,
//! a quoted identifier, a `--` line comment or a `/* */` block comment does not end a statement.
//!
//! Used by `-f`/`-e` (a whole script) and by the REPL (is the statement typed so far complete?).

/// The lexical state at the end of some SQL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Normal,
    SingleQuote,
    DoubleQuote,
    LineComment,
    BlockComment(u32),
}

/// The statements of `text`, each trimmed and without its `;`, plus the unterminated rest
/// (trimmed; empty when the text ends with a complete statement or only whitespace/comments).
pub fn split_statements(text: &str) -> (Vec<String>, String) {
    let mut statements = Vec::new();
    let mut state = State::Normal;
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        match state {
            State::Normal => match c {
                b'\'' => state = State::SingleQuote,
                b'"' => state = State::DoubleQuote,
                b'-' if next == Some(b'-') => {
                    state = State::LineComment;
                    i += 1;
                }
                b'/' if next == Some(b'*') => {
                    state = State::BlockComment(1);
                    i += 1;
                }
                b';' => {
                    push_statement(&mut statements, &text[start..i]);
                    start = i + 1;
                }
                _ => {}
            },
            State::SingleQuote => {
                if c == b'\'' {
                    if next == Some(b'\'') {
                        i += 1;
                    } else {
                        state = State::Normal;
                    }
                }
            }
            State::DoubleQuote => {
                if c == b'"' {
                    if next == Some(b'"') {
                        i += 1;
                    } else {
                        state = State::Normal;
                    }
                }
            }
            State::LineComment => {
                if c == b'\n' {
                    state = State::Normal;
                }
            }
            State::BlockComment(depth) => {
                if c == b'*' && next == Some(b'/') {
                    state = if depth == 1 {
                        State::Normal
                    } else {
                        State::BlockComment(depth - 1)
                    };
                    i += 1;
                } else if c == b'/' && next == Some(b'*') {
                    state = State::BlockComment(depth + 1);
                    i += 1;
                }
            }
        }
        i += 1;
    }
    let rest = &text[start..];
    let rest = if is_blank(rest) {
        String::new()
    } else {
        rest.trim().to_owned()
    };
    (statements, rest)
}

fn push_statement(statements: &mut Vec<String>, text: &str) {
    if !is_blank(text) {
        statements.push(text.trim().to_owned());
    }
}

/// True when `text` holds only whitespace and comments.
fn is_blank(text: &str) -> bool {
    strip_comments(text).is_empty()
}

/// `text` without its leading whitespace and comments.
pub fn strip_comments(text: &str) -> &str {
    let mut rest = text.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("--") {
            rest = match after.find('\n') {
                Some(end) => after[end + 1..].trim_start(),
                None => "",
            };
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = match after.find("*/") {
                Some(end) => after[end + 2..].trim_start(),
                None => "",
            };
        } else {
            return rest;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_semicolons() {
        let (stmts, rest) = split_statements("SELECT 1; SELECT 2;\nSELECT 3");
        assert_eq!(stmts, vec!["SELECT 1", "SELECT 2"]);
        assert_eq!(rest, "SELECT 3");
    }

    #[test]
    fn semicolons_in_strings_and_identifiers_do_not_split() {
        let (stmts, rest) = split_statements("SELECT 'a;b', 'it''s;' AS \"x;\"\"y\"; SELECT 2;");
        assert_eq!(
            stmts,
            vec!["SELECT 'a;b', 'it''s;' AS \"x;\"\"y\"", "SELECT 2"]
        );
        assert_eq!(rest, "");
    }

    #[test]
    fn semicolons_in_comments_do_not_split() {
        let text = "-- a; comment\nSELECT 1 /* x; /* nested; */ y; */ + 1;\n-- trailing;\n";
        let (stmts, rest) = split_statements(text);
        assert_eq!(
            stmts,
            vec!["-- a; comment\nSELECT 1 /* x; /* nested; */ y; */ + 1"]
        );
        assert_eq!(rest, "");
    }

    #[test]
    fn empty_statements_are_dropped() {
        let (stmts, rest) = split_statements(";;  ; /* only a comment */ ;");
        assert!(stmts.is_empty());
        assert_eq!(rest, "");
    }

    #[test]
    fn unterminated_string_stays_in_the_rest() {
        let (stmts, rest) = split_statements("SELECT 'abc;");
        assert!(stmts.is_empty());
        assert_eq!(rest, "SELECT 'abc;");
    }
}
