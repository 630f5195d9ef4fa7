//! Tab completion in the REPL: SQL keywords plus the names of streams, tables and their columns,
//! which the REPL refreshes from the server (SHOW STREAMS, SHOW TABLES, DESCRIBE) at start and
//! after each DDL statement.

use std::sync::{Arc, Mutex};

use rustyline::completion::Completer;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};
use tokio_postgres::{Client, SimpleQueryMessage};

/// Keywords offered by completion.
const KEYWORDS: &[&str] = &[
    "AND",
    "AS",
    "BEGINNING",
    "BETWEEN",
    "BY",
    "CASE",
    "CAST",
    "CHANGES",
    "COUNT",
    "CREATE",
    "DELETE",
    "DESCRIBE",
    "DISTINCT",
    "DROP",
    "ELSE",
    "EMIT",
    "END",
    "EXPLAIN",
    "FALSE",
    "FROM",
    "FULL",
    "GROUP",
    "HAVING",
    "HOPPING",
    "IN",
    "INNER",
    "INSERT",
    "INTERVAL",
    "INTO",
    "IS",
    "JOIN",
    "KAFKA_TOPIC",
    "KEY",
    "LEFT",
    "LIKE",
    "LIMIT",
    "LIST",
    "NOT",
    "NULL",
    "ON",
    "OR",
    "ORDER",
    "PARTITIONS",
    "PRIMARY",
    "PRINT",
    "QUERIES",
    "QUERY",
    "RUN",
    "SCRIPT",
    "SELECT",
    "SESSION",
    "SHOW",
    "SIZE",
    "STREAM",
    "STREAMS",
    "TABLE",
    "TABLES",
    "TERMINATE",
    "THEN",
    "TOPICS",
    "TRUE",
    "TUMBLING",
    "VALUES",
    "VALUE_FORMAT",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
];

/// The names completion knows, shared between the REPL (which refreshes them) and the editor.
#[derive(Debug, Default, Clone)]
pub struct Names(Arc<Mutex<Vec<String>>>);

impl Names {
    /// Replaces the known names.
    pub fn set(&self, mut names: Vec<String>) {
        names.sort();
        names.dedup();
        if let Ok(mut guard) = self.0.lock() {
            *guard = names;
        }
    }

    fn snapshot(&self) -> Vec<String> {
        self.0.lock().map(|g| g.clone()).unwrap_or_default()
    }

    /// Fetches stream, table and column names from the server; a failing lookup leaves the
    /// names as they were (completion is a convenience, not worth an error).
    pub async fn refresh(&self, client: &Client) {
        let mut names = Vec::new();
        let mut sources = Vec::new();
        for show in ["SHOW STREAMS", "SHOW TABLES"] {
            sources.extend(first_column(client, show).await);
        }
        for source in &sources {
            names.extend(first_column(client, &format!("DESCRIBE {source}")).await);
        }
        names.extend(sources);
        if !names.is_empty() {
            self.set(names);
        }
    }
}

async fn first_column(client: &Client, query: &str) -> Vec<String> {
    match client.simple_query(query).await {
        Ok(messages) => messages
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
                _ => None,
            })
            .collect(),
        Err(e) => {
            tracing::debug!(error = %e, query, "completion lookup failed");
            Vec::new()
        }
    }
}

/// The candidates for the word ending at `pos` in `line`: where it starts, and the matches.
/// Keywords keep the case the user typed (lower-case prefix, lower-case keyword); names are
/// offered as stored.
pub fn candidates(line: &str, pos: usize, names: &[String]) -> (usize, Vec<String>) {
    let before = &line[..pos];
    let start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = &before[start..];
    if word.is_empty() {
        return (start, Vec::new());
    }
    let lower = word.to_lowercase();
    let lower_case = word.chars().all(|c| !c.is_uppercase());
    let mut out: Vec<String> = names
        .iter()
        .filter(|n| n.to_lowercase().starts_with(&lower))
        .cloned()
        .collect();
    out.extend(
        KEYWORDS
            .iter()
            .filter(|k| k.to_lowercase().starts_with(&lower))
            .map(|k| {
                if lower_case {
                    k.to_lowercase()
                } else {
                    (*k).to_owned()
                }
            }),
    );
    out.dedup();
    (start, out)
}

/// The rustyline helper: completion only.
pub struct ShellHelper {
    /// Names to complete besides keywords.
    pub names: Names,
}

impl Completer for ShellHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        Ok(candidates(line, pos, &self.names.snapshot()))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_keywords_in_the_case_typed() {
        let (start, c) = candidates("SEL", 3, &[]);
        assert_eq!((start, c), (0, vec!["SELECT".to_owned()]));
        let (start, c) = candidates("select * fr", 11, &[]);
        assert_eq!((start, c), (9, vec!["from".to_owned()]));
    }

    #[test]
    fn completes_names_before_keywords() {
        let names = vec![
            "ORDERS".to_owned(),
            "ORDER_ID".to_owned(),
            "amount".to_owned(),
        ];
        let (start, c) = candidates("SELECT * FROM ord", 17, &names);
        assert_eq!(start, 14);
        assert_eq!(c, vec!["ORDERS", "ORDER_ID", "order"]);
        let (_, c) = candidates("SELECT am", 9, &names);
        assert_eq!(c, vec!["amount"]);
    }

    #[test]
    fn nothing_after_a_space() {
        assert!(candidates("SELECT ", 7, &[]).1.is_empty());
    }

    #[test]
    fn names_are_sorted_and_unique() {
        let names = Names::default();
        names.set(vec!["b".to_owned(), "a".to_owned(), "b".to_owned()]);
        assert_eq!(names.snapshot(), vec!["a", "b"]);
    }
}
