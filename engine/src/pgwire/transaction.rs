//! Transaction blocks as drivers drive them: BEGIN / COMMIT / ROLLBACK, SAVEPOINT, RELEASE,
//! ROLLBACK TO, and the failed-transaction state.
//!
//! Sluice's statements are not transactional: each takes effect when it runs, and ROLLBACK undoes
//! nothing. What a block does here is what drivers and tools rely on to stay in step with the
//! server, kept as PostgreSQL keeps it:
//!
//! - ReadyForQuery says `I` outside a block, `T` inside one and `E` once a statement failed
//!   inside one; in `E` every statement is refused (SQLSTATE 25P02) until ROLLBACK, ROLLBACK TO
//!   a savepoint, or COMMIT (which then rolls back and says so in its tag);
//! - savepoints form a stack: RELEASE drops the named one and every later one, ROLLBACK TO keeps
//!   the named one, drops the later ones and leaves the failed state; an unknown name is SQLSTATE
//!   3B001; SAVEPOINT, RELEASE and ROLLBACK TO outside a block are SQLSTATE 25P01;
//! - portals and SQL cursors belong to their block: COMMIT and ROLLBACK close them (a cursor
//!   declared WITH HOLD survives COMMIT), ROLLBACK TO closes those opened after the savepoint.
//!
//! [`TransactionCommand::parse`] recognises the statements; the handler applies them
//! ([`crate::pgwire::handler::QueryHandler::transaction_statement`]).

use std::sync::LazyLock;

use regex::Regex;

/// A transaction-control statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactionCommand {
    /// BEGIN [WORK | TRANSACTION] ..., START TRANSACTION ...
    Begin,
    /// COMMIT, END [WORK | TRANSACTION], COMMIT AND NO CHAIN.
    Commit,
    /// ROLLBACK, ABORT.
    Rollback,
    /// SAVEPOINT name.
    Savepoint(String),
    /// RELEASE [SAVEPOINT] name.
    Release(String),
    /// ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name.
    RollbackTo(String),
}

static ROLLBACK_TO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)^(?:ROLLBACK|ABORT)(?:\s+(?:WORK|TRANSACTION))?\s+TO\s+(?:SAVEPOINT\s+)?("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)$"#)
        .unwrap_or_else(|e| panic!("static regex: {e}"))
});
static SAVEPOINT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)^SAVEPOINT\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)$"#)
        .unwrap_or_else(|e| panic!("static regex: {e}"))
});
static RELEASE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)^RELEASE\s+(?:SAVEPOINT\s+)?("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)$"#)
        .unwrap_or_else(|e| panic!("static regex: {e}"))
});

/// An identifier as Postgres reads it: a quoted one as written, an unquoted one in lower case.
pub fn identifier(raw: &str) -> String {
    match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => raw.to_ascii_lowercase(),
    }
}

impl TransactionCommand {
    /// The transaction command `sql` is, or `None` for any other statement.
    pub fn parse(sql: &str) -> Option<TransactionCommand> {
        let text = sql.trim().trim_end_matches(';').trim();
        let mut words = text.split_whitespace().map(str::to_ascii_uppercase);
        let first = words.next()?;
        let second = words.next();
        match first.as_str() {
            "BEGIN" => Some(TransactionCommand::Begin),
            "START" if second.as_deref() == Some("TRANSACTION") => Some(TransactionCommand::Begin),
            "COMMIT" | "END" => Some(TransactionCommand::Commit),
            "ROLLBACK" | "ABORT" => match ROLLBACK_TO.captures(text) {
                Some(c) => Some(TransactionCommand::RollbackTo(identifier(&c[1]))),
                None if text
                    .split_whitespace()
                    .any(|w| w.eq_ignore_ascii_case("TO")) =>
                {
                    None
                }
                None => Some(TransactionCommand::Rollback),
            },
            "SAVEPOINT" => SAVEPOINT
                .captures(text)
                .map(|c| TransactionCommand::Savepoint(identifier(&c[1]))),
            "RELEASE" => RELEASE
                .captures(text)
                .map(|c| TransactionCommand::Release(identifier(&c[1]))),
            _ => None,
        }
    }

    /// Whether the statement may run in a failed transaction (it ends or repairs it).
    pub fn allowed_when_failed(&self) -> bool {
        matches!(
            self,
            TransactionCommand::Commit
                | TransactionCommand::Rollback
                | TransactionCommand::RollbackTo(_)
        )
    }
}

/// Whether `sql` starts like a transaction statement (so Sluice's parser, which does not know
/// them, is not asked about it).
pub fn is_transaction_statement(sql: &str) -> bool {
    let first = sql
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_end_matches(';')
        .to_ascii_uppercase();
    matches!(
        first.as_str(),
        "BEGIN" | "START" | "COMMIT" | "END" | "ROLLBACK" | "ABORT" | "SAVEPOINT" | "RELEASE"
    )
}

/// The savepoints of the open transaction block, oldest first.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Savepoints {
    names: Vec<String>,
}

/// A savepoint name that is not on the stack (SQLSTATE 3B001).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoSuchSavepoint(pub String);

impl Savepoints {
    /// SAVEPOINT `name`: a new level (a name may repeat; the newest is the one named later).
    pub fn push(&mut self, name: String) {
        self.names.push(name);
    }

    /// How many savepoints are open (the level a cursor declared now belongs to).
    pub fn depth(&self) -> usize {
        self.names.len()
    }

    fn position(&self, name: &str) -> Result<usize, NoSuchSavepoint> {
        self.names
            .iter()
            .rposition(|n| n == name)
            .ok_or_else(|| NoSuchSavepoint(name.to_owned()))
    }

    /// RELEASE `name`: drops it and every later savepoint.
    pub fn release(&mut self, name: &str) -> Result<(), NoSuchSavepoint> {
        let at = self.position(name)?;
        self.names.truncate(at);
        Ok(())
    }

    /// ROLLBACK TO `name`: drops every later savepoint and keeps `name`. Returns the depth left
    /// (cursors declared at a greater depth are closed).
    pub fn rollback_to(&mut self, name: &str) -> Result<usize, NoSuchSavepoint> {
        let at = self.position(name)?;
        self.names.truncate(at + 1);
        Ok(at + 1)
    }

    /// The block ended: no savepoints.
    pub fn clear(&mut self) {
        self.names.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_recognised() {
        use TransactionCommand::*;
        assert_eq!(TransactionCommand::parse("BEGIN"), Some(Begin));
        assert_eq!(
            TransactionCommand::parse("start transaction isolation level serializable;"),
            Some(Begin)
        );
        assert_eq!(TransactionCommand::parse("START"), None);
        assert_eq!(TransactionCommand::parse("end"), Some(Commit));
        assert_eq!(TransactionCommand::parse("ABORT"), Some(Rollback));
        assert_eq!(
            TransactionCommand::parse("SAVEPOINT \"_pg3_1\""),
            Some(Savepoint("_pg3_1".into()))
        );
        assert_eq!(
            TransactionCommand::parse("savepoint A1"),
            Some(Savepoint("a1".into()))
        );
        assert_eq!(
            TransactionCommand::parse("RELEASE SAVEPOINT a"),
            Some(Release("a".into()))
        );
        assert_eq!(
            TransactionCommand::parse("release \"x\"\"y\""),
            Some(Release("x\"y".into()))
        );
        assert_eq!(
            TransactionCommand::parse("ROLLBACK TO SAVEPOINT a"),
            Some(RollbackTo("a".into()))
        );
        assert_eq!(
            TransactionCommand::parse("rollback work to b;"),
            Some(RollbackTo("b".into()))
        );
        // Malformed: no name.
        assert_eq!(TransactionCommand::parse("ROLLBACK TO"), None);
        assert_eq!(TransactionCommand::parse("SAVEPOINT"), None);
        assert_eq!(TransactionCommand::parse("SELECT 1"), None);
    }

    #[test]
    fn savepoints_stack_like_postgres() {
        let mut s = Savepoints::default();
        s.push("a".into());
        s.push("b".into());
        s.push("c".into());
        assert_eq!(s.rollback_to("b"), Ok(2));
        assert_eq!(s.depth(), 2);
        assert_eq!(s.release("c"), Err(NoSuchSavepoint("c".into())));
        s.release("a").unwrap();
        assert_eq!(s.depth(), 0);
        s.push("a".into());
        s.push("a".into());
        s.release("a").unwrap();
        assert_eq!(s.depth(), 1);
    }
}
