//! SQL cursors: DECLARE, FETCH, MOVE and CLOSE, on the portal machinery of
//! [`crate::pgwire::portal`].
//!
//! `DECLARE name CURSOR FOR query` starts the query (a push query runs from then on, and is
//! listed by SHOW QUERIES) and keeps its result as an [`OpenPortal`] under the cursor's name;
//! `FETCH n FROM name` sends the next n rows (waiting for a push query to produce them), `MOVE`
//! skips them, `CLOSE` drops the result, which stops the query. As in PostgreSQL:
//!
//! - a cursor lives in its transaction block: COMMIT and ROLLBACK close it, unless it was declared
//!   `WITH HOLD` (then it survives COMMIT, and is closed by the ROLLBACK of the block that
//!   declared it, or by CLOSE, or when the connection ends); ROLLBACK TO a savepoint closes the
//!   cursors declared after it;
//! - outside a block, DECLARE without HOLD is refused (SQLSTATE 25P01): the implicit transaction
//!   of the statement would close the cursor at once;
//! - cursors read forwards only (Sluice's results are streams): FETCH PRIOR / BACKWARD / FIRST /
//!   LAST / ABSOLUTE / RELATIVE and negative counts are SQLSTATE 55000;
//! - SQL cursors and protocol portals share one namespace: a driver may Describe the portal
//!   named after a cursor (psycopg does) and gets its columns.

use std::collections::HashMap;
use std::sync::LazyLock;

use parking_lot::Mutex;
use regex::Regex;

use crate::pgwire::portal::OpenPortal;
use crate::pgwire::transaction::identifier;

/// A cursor statement, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorCommand {
    /// DECLARE name [BINARY] [...] CURSOR [WITH[OUT] HOLD] FOR query.
    Declare {
        name: String,
        binary: bool,
        hold: bool,
        query: String,
    },
    /// FETCH / MOVE: `count` rows forward (`None`: all of them); `discard` for MOVE.
    Fetch {
        name: String,
        count: Option<usize>,
        discard: bool,
    },
    /// CLOSE name (`None`: CLOSE ALL).
    Close(Option<String>),
}

/// A cursor statement Sluice cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorError {
    /// SQLSTATE.
    pub code: &'static str,
    /// What the user did wrong.
    pub message: String,
}

fn syntax(message: impl Into<String>) -> CursorError {
    CursorError {
        code: "42601",
        message: message.into(),
    }
}

static DECLARE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?is)^DECLARE\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)\s+((?:[A-Za-z]+\s+)*?)CURSOR(?:\s+(WITH|WITHOUT)\s+HOLD)?\s+FOR\s+(.+)$"#,
    )
    .unwrap_or_else(|e| panic!("static regex: {e}"))
});

/// Whether `sql` starts like a cursor statement (so Sluice's parser is not asked about it).
pub fn is_cursor_statement(sql: &str) -> bool {
    let first = sql
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_end_matches(';')
        .to_ascii_uppercase();
    matches!(first.as_str(), "DECLARE" | "FETCH" | "MOVE" | "CLOSE")
}

/// The words of `text`, a quoted identifier kept whole.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            let mut word = String::from('"');
            chars.next();
            while let Some(c) = chars.next() {
                word.push(c);
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        word.push('"');
                        chars.next();
                    } else {
                        break;
                    }
                }
            }
            out.push(word);
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '"' {
                    break;
                }
                word.push(c);
                chars.next();
            }
            out.push(word);
        }
    }
    out
}

fn backwards() -> CursorError {
    CursorError {
        code: "55000",
        message: "cursor can only scan forward".to_owned(),
    }
}

impl CursorCommand {
    /// The cursor statement `sql` is: `None` if it is none, `Some(Err)` if it is a malformed or
    /// unsupported one.
    pub fn parse(sql: &str) -> Option<Result<CursorCommand, CursorError>> {
        let text = sql.trim().trim_end_matches(';').trim();
        let first = text.split_whitespace().next()?.to_ascii_uppercase();
        match first.as_str() {
            "DECLARE" => Some(parse_declare(text)),
            "FETCH" | "MOVE" => Some(parse_fetch(text, first == "MOVE")),
            "CLOSE" => {
                let w = words(text);
                Some(match w.as_slice() {
                    [_, all] if all.eq_ignore_ascii_case("ALL") => Ok(CursorCommand::Close(None)),
                    [_, name] => Ok(CursorCommand::Close(Some(identifier(name)))),
                    _ => Err(syntax("CLOSE takes a cursor name or ALL")),
                })
            }
            _ => None,
        }
    }
}

fn parse_declare(text: &str) -> Result<CursorCommand, CursorError> {
    let c = DECLARE
        .captures(text)
        .ok_or_else(|| syntax("expected DECLARE name [BINARY] CURSOR [WITH HOLD] FOR query"))?;
    let mut binary = false;
    for option in c[2].split_whitespace().map(str::to_ascii_uppercase) {
        match option.as_str() {
            "BINARY" => binary = true,
            "ASENSITIVE" | "INSENSITIVE" | "NO" | "SCROLL" => {}
            other => return Err(syntax(format!("unexpected {other} in DECLARE"))),
        }
    }
    Ok(CursorCommand::Declare {
        name: identifier(&c[1]),
        binary,
        hold: c
            .get(3)
            .is_some_and(|h| h.as_str().eq_ignore_ascii_case("WITH")),
        query: c[4].trim().to_owned(),
    })
}

fn parse_fetch(text: &str, discard: bool) -> Result<CursorCommand, CursorError> {
    let w = words(text);
    let mut rest: Vec<&str> = w[1..].iter().map(String::as_str).collect();
    let name = rest
        .pop()
        .ok_or_else(|| syntax("FETCH needs a cursor name"))?;
    if let Some(last) = rest.last()
        && (last.eq_ignore_ascii_case("FROM") || last.eq_ignore_ascii_case("IN"))
    {
        rest.pop();
    }
    let upper: Vec<String> = rest.iter().map(|s| s.to_ascii_uppercase()).collect();
    let upper: Vec<&str> = upper.iter().map(String::as_str).collect();
    let number = |s: &str| -> Result<Option<usize>, CursorError> {
        let n: i64 = s
            .parse()
            .map_err(|_| syntax(format!("unexpected {s} in FETCH")))?;
        match n {
            n if n < 0 => Err(backwards()),
            0 => Err(CursorError {
                code: "0A000",
                message: "FETCH 0 (the current row again) is not supported".to_owned(),
            }),
            n => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
        }
    };
    let count = match upper.as_slice() {
        [] | ["NEXT"] | ["FORWARD"] => Some(1),
        ["ALL"] | ["FORWARD", "ALL"] => None,
        ["FORWARD", n] => number(n)?,
        [n] if n.parse::<i64>().is_ok() => number(n)?,
        ["PRIOR" | "FIRST" | "LAST" | "BACKWARD", ..] | ["ABSOLUTE" | "RELATIVE", _] => {
            return Err(backwards());
        }
        _ => return Err(syntax(format!("unexpected {} in FETCH", rest.join(" ")))),
    };
    Ok(CursorCommand::Fetch {
        name: identifier(name),
        count,
        discard,
    })
}

/// One declared cursor.
#[derive(Debug)]
pub struct Cursor {
    /// Its running result.
    pub portal: OpenPortal,
    /// Declared WITH HOLD: survives COMMIT.
    pub hold: bool,
    /// How many savepoints were open when it was declared.
    pub level: usize,
    /// Declared in the block still open (a ROLLBACK of it closes the cursor, held or not).
    pub in_open_block: bool,
}

/// The SQL cursors of one connection. A Mutex because the handler is shared as `&self`; only
/// this connection's task touches it, never across an await (a cursor is taken out while it is
/// read).
#[derive(Debug, Default)]
pub struct Cursors {
    open: Mutex<HashMap<String, Cursor>>,
}

impl Cursors {
    /// Whether a cursor `name` exists (declared, possibly being read).
    pub fn contains(&self, name: &str) -> bool {
        self.open.lock().contains_key(name)
    }

    /// Takes cursor `name` out to read it.
    pub fn take(&self, name: &str) -> Option<Cursor> {
        self.open.lock().remove(name)
    }

    /// Keeps `cursor` as `name` (after a FETCH, or at DECLARE).
    pub fn keep(&self, name: &str, cursor: Cursor) {
        self.open.lock().insert(name.to_owned(), cursor);
    }

    /// The columns of cursor `name`, for Describe.
    pub fn fields(&self, name: &str) -> Option<Vec<pgwire::api::results::FieldInfo>> {
        self.open
            .lock()
            .get(name)
            .map(|c| c.portal.fields().to_vec())
    }

    /// CLOSE name: whether it existed. Its query stops.
    pub fn close(&self, name: &str) -> bool {
        self.open.lock().remove(name).is_some()
    }

    /// CLOSE ALL.
    pub fn close_all(&self) {
        self.open.lock().clear();
    }

    /// The block ended: COMMIT keeps held cursors (now outside any block), ROLLBACK closes the
    /// ones the block declared and keeps older held ones.
    pub fn end_block(&self, committed: bool) {
        self.open.lock().retain(|_, c| {
            let keep = c.hold && (committed || !c.in_open_block);
            c.in_open_block = false;
            c.level = 0;
            keep
        });
    }

    /// ROLLBACK TO a savepoint leaving `depth` savepoints: cursors declared after it close.
    pub fn rollback_to(&self, depth: usize) {
        self.open
            .lock()
            .retain(|_, c| !(c.in_open_block && c.level >= depth));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> Result<CursorCommand, CursorError> {
        CursorCommand::parse(sql).expect("a cursor statement")
    }

    #[test]
    fn declare_forms() {
        assert_eq!(
            parse("DECLARE c CURSOR FOR SELECT * FROM s EMIT CHANGES;"),
            Ok(CursorCommand::Declare {
                name: "c".into(),
                binary: false,
                hold: false,
                query: "SELECT * FROM s EMIT CHANGES".into()
            })
        );
        assert_eq!(
            parse("declare \"My Cur\" binary no scroll cursor with hold for\n select 1"),
            Ok(CursorCommand::Declare {
                name: "My Cur".into(),
                binary: true,
                hold: true,
                query: "select 1".into()
            })
        );
        assert!(matches!(
            parse("DECLARE c CURSOR WITHOUT HOLD FOR SELECT 1"),
            Ok(CursorCommand::Declare { hold: false, .. })
        ));
        assert_eq!(parse("DECLARE c FOR SELECT 1").unwrap_err().code, "42601");
        assert_eq!(
            parse("DECLARE c BOGUS CURSOR FOR SELECT 1")
                .unwrap_err()
                .code,
            "42601"
        );
    }

    #[test]
    fn fetch_forms() {
        let f = |sql: &str| {
            parse(sql).map(|c| match c {
                CursorCommand::Fetch { name, count, .. } => (name, count),
                other => panic!("{other:?}"),
            })
        };
        assert_eq!(f("FETCH c"), Ok(("c".into(), Some(1))));
        assert_eq!(f("FETCH NEXT FROM c"), Ok(("c".into(), Some(1))));
        assert_eq!(
            f("fetch forward 100 from \"_pg3_c\""),
            Ok(("_pg3_c".into(), Some(100)))
        );
        assert_eq!(f("FETCH 5 IN C"), Ok(("c".into(), Some(5))));
        assert_eq!(f("FETCH ALL FROM c"), Ok(("c".into(), None)));
        assert_eq!(f("FETCH FORWARD ALL c"), Ok(("c".into(), None)));
        assert_eq!(f("FETCH PRIOR FROM c").unwrap_err().code, "55000");
        assert_eq!(f("FETCH -1 FROM c").unwrap_err().code, "55000");
        assert_eq!(f("FETCH BACKWARD 2 FROM c").unwrap_err().code, "55000");
        assert_eq!(f("FETCH 0 FROM c").unwrap_err().code, "0A000");
        assert_eq!(f("FETCH lots FROM c").unwrap_err().code, "42601");
        assert!(matches!(
            parse("MOVE 3 IN c"),
            Ok(CursorCommand::Fetch {
                discard: true,
                count: Some(3),
                ..
            })
        ));
    }

    #[test]
    fn close_forms() {
        assert_eq!(parse("CLOSE c"), Ok(CursorCommand::Close(Some("c".into()))));
        assert_eq!(parse("close all;"), Ok(CursorCommand::Close(None)));
        assert_eq!(parse("CLOSE").unwrap_err().code, "42601");
        assert!(CursorCommand::parse("SELECT 1").is_none());
    }
}
