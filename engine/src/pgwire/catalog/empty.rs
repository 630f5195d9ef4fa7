//! Subqueries over catalogs Sluice has no objects of, answered before planning.
//!
//! psql's `\d name` asks, per column, `(SELECT pg_get_expr(d.adbin, ...) FROM pg_attrdef d WHERE
//! d.adrelid = a.attrelid AND ... AND a.atthasdef)`: correlated subqueries whose predicates
//! DataFusion cannot decorrelate (a predicate on the outer row alone, a `<>` between both). Their
//! FROM lists name tables that are always empty here (no defaults, collations, indexes,
//! constraints ...), so a scalar subquery is NULL and `EXISTS (...)` is false whatever the outer
//! row: [`fold_empty_subqueries`] writes exactly that.

use crate::pgwire::catalog::tables::is_empty_table;

/// `sql` with every `(SELECT ...)` whose FROM list inner-joins an always-empty catalog table
/// replaced by `NULL` (`false` after EXISTS). `IN (SELECT ...)` is left alone.
pub fn fold_empty_subqueries(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(start) = find_subquery(rest) {
        let Some(len) = closing_paren(&rest[start..]) else {
            break;
        };
        let inner = &rest[start + 1..start + len - 1];
        let before = rest[..start].trim_end().to_ascii_uppercase();
        let replacement = if before.ends_with(" IN") || before.ends_with("ANY") || before.ends_with("ALL")
                // A derived table (`JOIN (SELECT ...) AS t`) is a relation, not a value.
                || before.ends_with("JOIN")
                || before.ends_with("FROM")
                || before.ends_with("LATERAL")
        {
            None
        } else if reads_an_empty_table(inner) {
            Some(if before.ends_with("EXISTS") {
                "false"
            } else {
                "NULL"
            })
        } else {
            None
        };
        match replacement {
            Some(value) => {
                let head = rest[..start].trim_end();
                // `EXISTS (...)` as a whole becomes `false`.
                let head = if value == "false" {
                    &head[..head.len() - "EXISTS".len()]
                } else {
                    &rest[..start]
                };
                out.push_str(head);
                out.push_str(value);
            }
            None => out.push_str(&rest[..start + len]),
        }
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

/// Where the next `(SELECT` starts in `sql` (outside string literals).
fn find_subquery(sql: &str) -> Option<usize> {
    let bytes = sql.as_bytes();
    let mut in_string = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\'' => in_string = !in_string,
            b'(' if !in_string => {
                let after = sql[i + 1..].trim_start();
                if after
                    .get(..6)
                    .is_some_and(|w| w.eq_ignore_ascii_case("select"))
                {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The length of the parenthesised text starting at `sql[0] == '('`, closing paren included.
fn closing_paren(sql: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    for (i, b) in sql.bytes().enumerate() {
        match b {
            b'\'' => in_string = !in_string,
            b'(' if !in_string => depth += 1,
            b')' if !in_string => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether the top-level FROM list of the subquery `inner` names an always-empty table as one of
/// its comma-separated items (a cross product with an empty table is empty). Subqueries with
/// nested subqueries or joins are left to the planner.
fn reads_an_empty_table(inner: &str) -> bool {
    let lower = inner.trim_start().to_ascii_lowercase();
    if lower.get(6..).is_some_and(|r| r.contains("select")) || lower.contains(" join ") {
        return false;
    }
    let Some(from) = lower.find(" from ").or_else(|| lower.find("\nfrom ")) else {
        return false;
    };
    let list = &lower[from + 6..];
    let end = [" where ", "\nwhere ", " group ", " order ", " limit "]
        .iter()
        .filter_map(|k| list.find(k))
        .min()
        .unwrap_or(list.len());
    list[..end].split(',').any(|item| {
        let table = item.split_whitespace().next().unwrap_or("");
        let table = table.trim_start_matches("pg_catalog.");
        is_empty_table(table)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subqueries_over_empty_catalogs_fold_to_null() {
        let psql = "SELECT a.attname,\n  (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true)\n   FROM pg_catalog.pg_attrdef d\n   WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef),\n  a.attnotnull,\n  (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t\n   WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation\nFROM pg_catalog.pg_attribute a";
        assert_eq!(
            fold_empty_subqueries(psql),
            "SELECT a.attname,\n  NULL,\n  a.attnotnull,\n  NULL AS attcollation\nFROM pg_catalog.pg_attribute a"
        );
    }

    #[test]
    fn derived_tables_stay() {
        let sql = "SELECT t.a FROM pg_type t LEFT OUTER JOIN (SELECT e.enumtypid FROM pg_catalog.pg_enum e GROUP BY e.enumtypid) AS l ON t.oid = l.enumtypid";
        assert_eq!(fold_empty_subqueries(sql), sql);
    }

    #[test]
    fn other_subqueries_stay() {
        let sql = "SELECT (SELECT max(oid) FROM pg_class), 1 WHERE x IN (SELECT indrelid FROM pg_index) AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = 1) AND y = '(SELECT 1 FROM pg_index)'";
        assert_eq!(
            fold_empty_subqueries(sql),
            "SELECT (SELECT max(oid) FROM pg_class), 1 WHERE x IN (SELECT indrelid FROM pg_index) AND NOT false AND y = '(SELECT 1 FROM pg_index)'"
        );
    }
}
