//! SELECT and its clauses: FROM with joins and WITHIN, WINDOW, WHERE, GROUP BY, PARTITION BY,
//! HAVING, EMIT and LIMIT, including the positions of syntax errors.

use sluice_engine::sql::sqlparser::ast::SelectItem;
use sluice_engine::sql::{Emit, JoinKind, Query, Statement, TimeUnit, WindowKind, parse_statement};

fn query(sql: &str) -> Query {
    match parse_statement(sql) {
        Ok(Statement::Query(query)) => *query,
        other => panic!("{sql}\n{other:?}"),
    }
}

fn error(sql: &str) -> (u64, u64, String) {
    let error = parse_statement(sql).expect_err(sql);
    (error.line, error.column, error.message)
}

#[test]
fn push_query_with_where_emit_and_limit() {
    let q = query(
        "SELECT id, name AS n FROM users WHERE id > 10 AND name LIKE 'a%' EMIT CHANGES LIMIT 5;",
    );
    assert_eq!(q.projection.len(), 2);
    assert!(
        matches!(&q.projection[1], SelectItem::ExprWithAlias { alias, .. } if alias.value == "N")
    );
    assert_eq!(q.from.source.name.value, "USERS");
    assert_eq!(
        q.selection.as_ref().map(ToString::to_string).as_deref(),
        Some("ID > 10 AND NAME LIKE 'a%'")
    );
    assert_eq!(q.emit, Some(Emit::Changes));
    assert_eq!(q.limit, Some(5));
    let pull = query("SELECT * FROM users WHERE id = 1;");
    assert_eq!(pull.emit, None);
    assert!(matches!(pull.projection[0], SelectItem::Wildcard(_)));
}

#[test]
fn source_aliases_and_qualified_columns() {
    let q = query("SELECT u.id, u.* FROM users u;");
    assert_eq!(
        q.from.source.alias.as_ref().map(|a| a.value.as_str()),
        Some("U")
    );
    assert!(matches!(q.projection[1], SelectItem::QualifiedWildcard(..)));
    let q = query("SELECT * FROM users AS `u`;");
    assert_eq!(q.from.source.reference_name().value, "u");
    let q = query("SELECT * FROM users EMIT CHANGES;");
    assert!(q.from.source.alias.is_none(), "EMIT is not an alias");
}

#[test]
fn joins_of_every_kind_with_within_and_grace() {
    let q = query(
        "SELECT * FROM a JOIN b WITHIN 10 SECONDS ON a.id = b.id \
         INNER JOIN c ON a.id = c.id \
         LEFT JOIN d WITHIN (1 SECOND, 2 MINUTES) GRACE PERIOD 3 HOURS ON a.id = d.id \
         RIGHT OUTER JOIN e ON a.id = e.id \
         FULL OUTER JOIN f ON a.id = f.id \
         LEFT OUTER JOIN g WITHIN 1 DAY GRACE PERIOD 5 MILLISECONDS ON a.id = g.id \
         FULL JOIN h ON a.id = h.id EMIT CHANGES;",
    );
    let kinds: Vec<JoinKind> = q.from.joins.iter().map(|j| j.kind).collect();
    assert_eq!(
        kinds,
        [
            JoinKind::Inner,
            JoinKind::Inner,
            JoinKind::Left,
            JoinKind::Right,
            JoinKind::Full,
            JoinKind::Left,
            JoinKind::Full
        ]
    );
    let first = q.from.joins[0].within.expect("WITHIN");
    assert_eq!(
        (first.before.as_millis(), first.after.as_millis()),
        (10_000, 10_000)
    );
    assert_eq!(first.grace, None);
    let third = q.from.joins[2].within.expect("WITHIN");
    assert_eq!(third.before.as_millis(), 1_000);
    assert_eq!(third.after.as_millis(), 120_000);
    assert_eq!(third.grace.map(|g| g.unit), Some(TimeUnit::Hours));
    assert!(q.from.joins[1].within.is_none());
    assert_eq!(q.from.joins[3].on.to_string(), "A.ID = E.ID");
}

#[test]
fn join_errors_point_at_the_token() {
    assert_eq!(
        error("SELECT * FROM a JOIN b WITHIN 10 WEEKS ON a.id = b.id;"),
        (
            1,
            34,
            "mismatched input 'WEEKS' expecting a time unit (MILLISECONDS, SECONDS, MINUTES, HOURS, DAYS)"
                .to_string()
        )
    );
    let (line, column, message) = error("SELECT * FROM a JOIN b WHERE a.id = b.id;");
    assert_eq!((line, column), (1, 24));
    assert_eq!(message, "mismatched input 'WHERE' expecting ON");
    let (_, column, _) = error("SELECT * FROM EXPLODE(arr);");
    assert_eq!(column, 22);
}

#[test]
fn windows_tumbling_hopping_session() {
    let q = query(
        "SELECT k, COUNT(*) FROM s WINDOW TUMBLING (SIZE 1 HOUR, RETENTION 7 DAYS, GRACE PERIOD 10 MINUTES) \
         GROUP BY k EMIT FINAL;",
    );
    let window = q.window.expect("window");
    assert_eq!(
        window.kind,
        WindowKind::Tumbling {
            size: duration(1, TimeUnit::Hours)
        }
    );
    assert_eq!(window.retention, Some(duration(7, TimeUnit::Days)));
    assert_eq!(window.grace, Some(duration(10, TimeUnit::Minutes)));
    assert_eq!(q.emit, Some(Emit::Final));

    let q = query(
        "SELECT k, SUM(v) FROM s WINDOW HOPPING (SIZE 30 SECONDS, ADVANCE BY 10 SECONDS) GROUP BY k;",
    );
    assert_eq!(
        q.window.expect("window").kind,
        WindowKind::Hopping {
            size: duration(30, TimeUnit::Seconds),
            advance: duration(10, TimeUnit::Seconds)
        }
    );
    let q = query(
        "SELECT k, COUNT(*) FROM s WINDOW SESSION (5 MINUTES, GRACE PERIOD 0 MILLISECONDS) GROUP BY k;",
    );
    let window = q.window.expect("window");
    assert_eq!(
        window.kind,
        WindowKind::Session {
            gap: duration(5, TimeUnit::Minutes)
        }
    );
    assert_eq!(window.grace, Some(duration(0, TimeUnit::Milliseconds)));
    let q = query("SELECT k, COUNT(*) FROM s WINDOW w1 SESSION (5 MINUTES) GROUP BY k;");
    assert!(q.window.is_some(), "a window may carry a name");
}

#[test]
fn window_errors() {
    let (_, column, message) = error("SELECT * FROM s WINDOW SLIDING (SIZE 1 HOUR) GROUP BY k;");
    assert_eq!(column, 24);
    assert_eq!(
        message,
        "mismatched input 'SLIDING' expecting {TUMBLING, HOPPING, SESSION}"
    );
    let (_, column, message) = error("SELECT * FROM s WINDOW HOPPING (SIZE 1 HOUR) GROUP BY k;");
    assert_eq!(column, 44);
    assert_eq!(message, "mismatched input ')' expecting ','");
    let (_, _, message) = error(
        "SELECT * FROM s WINDOW TUMBLING (SIZE 1 HOUR, GRACE PERIOD 1 SECOND, GRACE PERIOD 2 SECONDS) GROUP BY k;",
    );
    assert_eq!(message, "GRACE PERIOD is given twice");
}

#[test]
fn group_by_partition_by_having() {
    let q =
        query("SELECT a, b, COUNT(*) FROM s GROUP BY a, b + 1 HAVING COUNT(*) > 2 EMIT CHANGES;");
    let keys: Vec<String> = q.group_by.iter().map(ToString::to_string).collect();
    assert_eq!(keys, ["A", "B + 1"]);
    assert_eq!(
        q.having.map(|h| h.to_string()).as_deref(),
        Some("COUNT(*) > 2")
    );
    let q = query("SELECT a, b, COUNT(*) FROM s GROUP BY (a, b);");
    assert_eq!(q.group_by.len(), 2, "a parenthesised list is the list");
    let q = query("SELECT * FROM s WHERE x = 1 PARTITION BY a->b, c EMIT CHANGES;");
    assert_eq!(q.partition_by.len(), 2);
}

#[test]
fn grouping_takes_value_expressions_only() {
    let (_, column, message) = error("SELECT COUNT(*) FROM t GROUP BY data AND id;");
    assert_eq!(column, 38);
    assert_eq!(message, "mismatched input 'AND' expecting ';'");
    assert!(parse_statement("SELECT * FROM i PARTITION BY name AND age;").is_err());
    assert!(parse_statement("SELECT f1, COUNT(*) FROM t GROUP BY f3, (f2, f1);").is_err());
}

#[test]
fn clause_order_is_fixed() {
    let (_, column, message) = error("SELECT * FROM s EMIT CHANGES WHERE x = 1;");
    assert_eq!(column, 30);
    assert_eq!(message, "mismatched input 'WHERE' expecting ';'");
    let (_, column, message) = error("SELECT * FROM s EMIT SOMETIMES;");
    assert_eq!(column, 22);
    assert_eq!(
        message,
        "mismatched input 'SOMETIMES' expecting {CHANGES, FINAL}"
    );
    assert!(parse_statement("SELECT * FROM s ORDER BY x;").is_err());
    assert!(parse_statement("SELECT * FROM s LIMIT -1;").is_err());
}

#[test]
fn struct_star_select_item() {
    let q = query("SELECT k, v->*, v->a->* FROM s;");
    assert!(matches!(q.projection[1], SelectItem::QualifiedWildcard(..)));
    assert!(matches!(q.projection[2], SelectItem::QualifiedWildcard(..)));
}

#[test]
fn display_round_trips_a_query() {
    let sql = "SELECT A, COUNT(*) AS C FROM S S1 LEFT OUTER JOIN T ON S1.ID = T.ID WINDOW TUMBLING (SIZE 1 MINUTES) WHERE X > 1 GROUP BY A HAVING COUNT(*) > 1 EMIT CHANGES LIMIT 3";
    let q = query(sql);
    assert_eq!(q.to_string(), sql);
    assert_eq!(query(&q.to_string()), q);
}

fn duration(value: u64, unit: TimeUnit) -> sluice_engine::sql::Duration {
    sluice_engine::sql::Duration { value, unit }
}
