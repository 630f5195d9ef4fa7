//! The checks of [`super::check_select`], each against ksqlDB's message.

use super::*;
use crate::catalog::SourceInfo;
use crate::sql::{Statement, parse_statement};
use crate::types::{Column, SqlType};

fn source(name: &str, columns: Vec<Column>) -> SourceInfo {
    SourceInfo::test_stream(name, columns)
}

fn catalog() -> Catalog {
    let mut catalog = Catalog::default();
    let input = source(
        "INPUT",
        vec![
            Column::key("ID", SqlType::Int),
            Column::value("NAME", SqlType::String),
            Column::value("B", SqlType::array(SqlType::Int)),
            Column::value("C", SqlType::array(SqlType::Int)),
        ],
    );
    let other = source(
        "OTHER",
        vec![
            Column::key("ID", SqlType::Int),
            Column::value("F1", SqlType::Int),
        ],
    );
    catalog.sources.insert("INPUT".into(), input);
    catalog.sources.insert("OTHER".into(), other);
    catalog
}

fn check(sql: &str) -> std::result::Result<(), String> {
    let Ok(Statement::Query(query)) = parse_statement(sql) else {
        panic!("not a query: {sql}");
    };
    check_select(&query, &catalog(), true).map_err(|e| e.to_string())
}

#[test]
fn valid_queries_pass() {
    check("SELECT ID, NAME, B = C, ID + 1.5 > 2 FROM input WHERE name = 'x' AND id >= 1;").unwrap();
    check("SELECT i.ID, UCASE(i.NAME) FROM input i WHERE ROWTIME > '2020-01-01';").unwrap();
    check("SELECT * FROM input i JOIN other o WITHIN 1 SECOND ON i.id = o.id;").unwrap();
    check("SELECT ID, DATEADD(DAYS, 1, NAME) FROM input;").unwrap();
}

#[test]
fn ambiguous_join_columns_are_placed() {
    assert_eq!(
        check("SELECT i.ID, ID FROM input i JOIN other o WITHIN 1 SECOND ON i.id = o.id;")
            .unwrap_err(),
        "Line: 1, Col: 14: Column 'ID' is ambiguous. Could be I.ID or O.ID."
    );
}

#[test]
fn having_knows_aggregate_types() {
    assert_eq!(
        check(
            "SELECT NAME, COUNT(*) FROM input GROUP BY NAME HAVING COUNT(*) > 1 AND SUM(ID) > '1';"
        )
        .unwrap_err(),
        "Error in HAVING expression: Cannot compare SUM(ID) (INTEGER) to '1' (STRING) with \
         GREATER_THAN."
    );
}

#[test]
fn unknown_columns_name_the_clause() {
    assert_eq!(
        check("SELECT * FROM input WHERE ABS(BOB) < 10;").unwrap_err(),
        "WHERE column 'BOB' cannot be resolved."
    );
    assert_eq!(
        check("SELECT ID, I.BOB, NAME FROM input I;").unwrap_err(),
        "SELECT column 'I.BOB' cannot be resolved."
    );
    assert_eq!(
        check("SELECT unknown.* FROM input i JOIN other o WITHIN 1 SECOND ON i.id = o.id;")
            .unwrap_err(),
        "'UNKNOWN' is not a valid stream/table name or alias."
    );
    assert_eq!(
        check("SELECT * FROM input i JOIN other o WITHIN 1 SECOND ON unknown.id = o.id;")
            .unwrap_err(),
        "'UNKNOWN' is not a valid stream/table name or alias."
    );
}

#[test]
fn where_must_be_a_well_typed_predicate() {
    assert_eq!(
        check("SELECT * FROM input WHERE ID >= 'not an int';").unwrap_err(),
        "Error in WHERE expression: Cannot compare ID (INTEGER) to 'not an int' (STRING) with \
         GREATER_THAN_OR_EQUAL."
    );
    assert_eq!(
        check("SELECT * FROM input WHERE 'not a boolean';").unwrap_err(),
        "Type error in WHERE expression: Should evaluate to boolean but is 'not a boolean' \
         (STRING) instead."
    );
    assert_eq!(
        check("SELECT * FROM input WHERE RANDOM() + 1.5;").unwrap_err(),
        "Type error in WHERE expression: Should evaluate to boolean but is (RANDOM() + 1.5) \
         (DOUBLE) instead."
    );
    assert_eq!(
        check("SELECT * FROM input WHERE TRUE + 1.5;").unwrap_err(),
        "Error in WHERE expression: Error processing expression: (true + 1.5). Unsupported \
         arithmetic types. BOOLEAN DECIMAL"
    );
}

#[test]
fn select_expressions_are_type_checked() {
    assert_eq!(
        check("SELECT ID, B < C FROM input;").unwrap_err(),
        "Cannot compare B (ARRAY<INTEGER>) to C (ARRAY<INTEGER>) with LESS_THAN."
    );
    assert_eq!(
        check("SELECT ID, null AS X FROM input;").unwrap_err(),
        "Can't infer a type of null. Please explicitly cast it to a required type, e.g. \
         CAST(null AS VARCHAR)."
    );
    assert_eq!(
        check("SELECT ID, CASE WHEN ID < 2 THEN null ELSE null END AS X FROM input;").unwrap_err(),
        "Invalid Case expression. All case branches have NULL type"
    );
}

#[test]
fn persistent_queries_keep_system_names_and_values() {
    assert_eq!(
        check("SELECT i.ID, i.ROWTIME AS ROWTIME, NAME FROM input i JOIN other o WITHIN 1 SECOND ON i.id = o.id;")
            .unwrap_err(),
        "Reserved column name in select: `ROWTIME`. Please remove or alias the column."
    );
    assert_eq!(
        check("SELECT ID, NAME AS WINDOWEND FROM input;").unwrap_err(),
        "`WINDOWEND` is a reserved column name. You cannot use it as an alias for a column."
    );
    assert_eq!(
        check("SELECT ID FROM input;").unwrap_err(),
        "The projection contains no value columns."
    );
}
