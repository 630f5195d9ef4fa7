//! Which statements the catalog views answer, and the rewrites that let DataFusion run them.
//!
//! Postgres clients send two kinds of statements Sluice's ksqlDB dialect does not know:
//! queries of `pg_catalog` / `information_schema` (psql's `\d`, JDBC's metadata, BI tools'
//! schema browsers) and driver start-up statements (`SET extra_float_digits = 3`,
//! `SHOW search_path`, `SELECT version()`). [`classify`] tells them apart from Sluice
//! statements by their text; [`rewrite`] turns Postgres-only syntax DataFusion does not parse
//! (`OPERATOR(pg_catalog.~)`, `COLLATE pg_catalog.default`, `::regclass`, `pg_catalog.f(...)`)
//! into plain SQL with the same meaning over our tables.

use std::sync::LazyLock;

use regex::Regex;

/// What a statement is, for the catalog views.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A query of the catalog views (or of the Postgres functions they define).
    Query,
    /// `SET name = value` / `SET name TO value` / `SET SESSION name ...` of a Postgres setting.
    Set { name: String, value: String },
    /// `SHOW name` of a Postgres setting (`SHOW ALL` too).
    Show { name: String },
    /// `BEGIN`, `COMMIT`, `ROLLBACK`, `DISCARD ALL` ...: accepted, nothing to do (Sluice has no
    /// transactions; every statement takes effect at once). The command tag names the
    /// statement, as for every command.
    NoOp,
}

/// Relations the catalog views hold, as they may appear unqualified in a client's query.
const CATALOG_RELATIONS: &[&str] = &[
    "pg_namespace",
    "pg_class",
    "pg_attribute",
    "pg_type",
    "pg_database",
    "pg_settings",
    "pg_proc",
    "pg_description",
    "pg_index",
    "pg_am",
    "pg_roles",
    "pg_user",
    "pg_tables",
    "pg_views",
    "pg_range",
    "pg_enum",
    "pg_extension",
    "pg_constraint",
    "pg_attrdef",
    "pg_tablespace",
    "pg_collation",
    "pg_inherits",
    "pg_opclass",
];

/// Functions whose call marks a FROM-less SELECT as one for the catalog views.
const SESSION_FUNCTIONS: &[&str] = &[
    "version",
    "current_schema",
    "current_schemas",
    "current_database",
    "current_catalog",
    "current_user",
    "session_user",
    "current_setting",
    "set_config",
    "pg_backend_pid",
    "pg_postmaster_start_time",
    "inet_server_addr",
    "inet_server_port",
    "pg_is_in_recovery",
    "txid_current",
    "has_table_privilege",
    "has_schema_privilege",
    "has_database_privilege",
    "pg_encoding_to_char",
    "format_type",
    "to_regclass",
    "to_regtype",
    "to_regproc",
    "to_regnamespace",
    "obj_description",
    "col_description",
];

static SET_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?is)^SET\s+(?:SESSION\s+|LOCAL\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*(?:=|\s+TO\s+|\s)\s*(.*?)$")
        .unwrap_or_else(|e| panic!("static regex: {e}"))
});
static SHOW_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?is)^SHOW\s+([A-Za-z_][A-Za-z0-9_.]*(?:\s+[A-Za-z_]+)*)$")
        .unwrap_or_else(|e| panic!("static regex: {e}"))
});
static WORD_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b([a-z_][a-z0-9_]*)\b").unwrap_or_else(|e| panic!("static regex: {e}"))
});

/// Sluice's own SHOW targets (`SHOW STREAMS`, `SHOW QUERIES` ...): these stay Sluice's.
const SLUICE_SHOW: &[&str] = &[
    "STREAMS",
    "TABLES",
    "QUERIES",
    "PROPERTIES",
    "TOPICS",
    "ALL TOPICS",
    "FUNCTIONS",
    "TYPES",
    "VARIABLES",
    "CONNECTORS",
    "STREAMS EXTENDED",
    "TABLES EXTENDED",
    "QUERIES EXTENDED",
    "TOPICS EXTENDED",
    "ALL TOPICS EXTENDED",
];

/// The statement `sql` with a trailing `;` and surrounding blanks removed.
fn trimmed(sql: &str) -> &str {
    sql.trim().trim_end_matches(';').trim()
}

/// How the catalog views handle `sql`, or `None` when it is a Sluice statement.
pub fn classify(sql: &str) -> Option<Route> {
    let text = trimmed(sql);
    let upper = text.to_ascii_uppercase();
    let first = upper.split_whitespace().next().unwrap_or("");
    match first {
        "BEGIN" | "START" | "COMMIT" | "END" | "ROLLBACK" | "ABORT" | "DISCARD" | "DEALLOCATE"
        | "UNLISTEN" | "RESET" => return Some(Route::NoOp),
        "SET" => {
            // Sluice's own SET quotes the property name: SET 'auto.offset.reset'='earliest'.
            let captures = SET_RE.captures(text)?;
            let name = captures.get(1)?.as_str().to_ascii_lowercase();
            let raw = captures.get(2).map(|m| m.as_str()).unwrap_or("").trim();
            let value = raw.trim_matches('\'').trim_matches('"').to_owned();
            return Some(Route::Set { name, value });
        }
        "SHOW" => {
            let captures = SHOW_RE.captures(text)?;
            let name = captures.get(1)?.as_str();
            if SLUICE_SHOW.contains(&name.to_ascii_uppercase().as_str()) {
                return None;
            }
            return Some(Route::Show {
                name: name.to_ascii_lowercase(),
            });
        }
        "SELECT" | "WITH" => {}
        _ => return None,
    }
    let lower = text.to_ascii_lowercase();
    if lower.contains("pg_catalog.") || lower.contains("information_schema.") {
        return Some(Route::Query);
    }
    let words: Vec<&str> = WORD_RE.find_iter(&lower).map(|m| m.as_str()).collect();
    if words.iter().any(|w| CATALOG_RELATIONS.contains(w)) {
        return Some(Route::Query);
    }
    let has_from = words.contains(&"from");
    if !has_from && words.iter().any(|w| SESSION_FUNCTIONS.contains(w)) {
        return Some(Route::Query);
    }
    None
}

/// A Postgres rewrite: a pattern and what it becomes.
struct Rule {
    pattern: Regex,
    replacement: &'static str,
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let rule = |pattern: &str, replacement: &'static str| Rule {
        pattern: Regex::new(pattern).unwrap_or_else(|e| panic!("static regex {pattern}: {e}")),
        replacement,
    };
    vec![
        // `x OPERATOR(pg_catalog.~) y` is `x ~ y`.
        rule(
            r"(?i)OPERATOR\s*\(\s*(?:pg_catalog\.)?([~!*<>=]+)\s*\)",
            " $1 ",
        ),
        // Collations are not modelled: every text compares bytewise.
        rule(r#"(?i)\s+COLLATE\s+(?:pg_catalog\.)?"?[A-Za-z_]+"?"#, ""),
        // Oids are plain integers here; casts to the oid alias types (regclass ...) are
        // rewritten on the parsed statement (postgres_sql.rs).
        rule(r"(?i)::\s*(?:pg_catalog\.)?oid\b", "::BIGINT"),
        rule(
            r"(?i)::\s*(?:pg_catalog\.)?(?:name|bpchar|\x22char\x22)\b",
            "::TEXT",
        ),
        rule(r"(?i)::\s*pg_catalog\.", "::"),
        // `pg_catalog.f(...)` is the function `f` (DataFusion has no schema-qualified functions).
        rule(r"(?i)\bpg_catalog\.([A-Za-z_][A-Za-z0-9_]*)\s*\(", "$1("),
        // `ANY(array)` comparisons against literals psql sends as `= ANY(ARRAY[...])` stay as
        // they are; `pg_catalog.array_to_string` is handled by the rule above.
    ]
});

/// `sql` in the SQL DataFusion parses, with the same meaning over the catalog views.
pub fn rewrite(sql: &str) -> String {
    let mut text = trimmed(sql).to_owned();
    for rule in RULES.iter() {
        text = rule
            .pattern
            .replace_all(&text, rule.replacement)
            .into_owned();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_queries_and_start_up_statements_are_routed() {
        assert_eq!(classify("SELECT version();"), Some(Route::Query));
        assert_eq!(
            classify("select n.nspname from pg_catalog.pg_namespace n"),
            Some(Route::Query)
        );
        assert_eq!(classify("SELECT oid FROM pg_type"), Some(Route::Query));
        assert_eq!(
            classify("SELECT * FROM information_schema.tables"),
            Some(Route::Query)
        );
        assert_eq!(
            classify("SET extra_float_digits = 3"),
            Some(Route::Set {
                name: "extra_float_digits".into(),
                value: "3".into()
            })
        );
        assert_eq!(
            classify("SET application_name TO 'psql'"),
            Some(Route::Set {
                name: "application_name".into(),
                value: "psql".into()
            })
        );
        assert_eq!(
            classify("SHOW search_path"),
            Some(Route::Show {
                name: "search_path".into()
            })
        );
        assert_eq!(
            classify("SHOW TRANSACTION ISOLATION LEVEL"),
            Some(Route::Show {
                name: "transaction isolation level".into()
            })
        );
        assert_eq!(classify("BEGIN"), Some(Route::NoOp));
    }

    #[test]
    fn sluice_statements_are_not_routed() {
        assert_eq!(classify("SET 'auto.offset.reset'='earliest';"), None);
        assert_eq!(classify("SHOW STREAMS;"), None);
        assert_eq!(classify("show queries extended"), None);
        assert_eq!(classify("SELECT * FROM orders EMIT CHANGES;"), None);
        assert_eq!(
            classify("CREATE STREAM s (id INT) WITH (kafka_topic='s');"),
            None
        );
        assert_eq!(classify("SELECT id FROM versions EMIT CHANGES"), None);
    }

    #[test]
    fn postgres_only_syntax_is_rewritten() {
        assert_eq!(
            rewrite(
                "WHERE c.relname OPERATOR(pg_catalog.~) '^(orders)$' COLLATE pg_catalog.default"
            ),
            "WHERE c.relname  ~  '^(orders)$'"
        );
        assert_eq!(
            rewrite("SELECT '16384'::pg_catalog.oid, 'x'::pg_catalog.regclass"),
            "SELECT '16384'::BIGINT, 'x'::regclass"
        );
        assert_eq!(
            rewrite("SELECT pg_catalog.format_type(a.atttypid, a.atttypmod)"),
            "SELECT format_type(a.atttypid, a.atttypmod)"
        );
        assert_eq!(rewrite("SELECT x::pg_catalog.text"), "SELECT x::text");
    }
}
