//! The ksqlDB statements, one test per statement form, checked through the public parser API.

use sluice_engine::sql::{
    ColumnConstraint, Explain, ListKind, PropertyValue, SourceKind, Statement, TerminateTarget,
    TimeUnit, TypeExpr, TypeExprField, parse_statement, parse_statements,
};

fn parse(sql: &str) -> Statement {
    parse_statement(sql).unwrap_or_else(|e| panic!("{sql}\n{e}"))
}

#[test]
fn create_stream_with_columns_keys_headers_and_properties() {
    let sql = "CREATE STREAM IF NOT EXISTS pageviews (
        viewtime BIGINT, `userId` VARCHAR KEY, page STRING, hs ARRAY<STRUCT<key STRING, value BYTES>> HEADERS,
        h BYTES HEADER('trace'), amount DECIMAL(10, 2)
    ) WITH (KAFKA_TOPIC='pageviews', value_format='JSON', PARTITIONS=3, 'REPLICAS'=1,
            WRAP_SINGLE_VALUE=false, TIMESTAMP='viewtime', timestamp_format='yyyy', VALUE_DELIMITER='|',
            KEY_FORMAT='KAFKA', custom_thing=-1.5);";
    let Statement::CreateSource(create) = parse(sql) else {
        panic!("not a CREATE STREAM")
    };
    assert_eq!(create.kind, SourceKind::Stream);
    assert!(create.if_not_exists && !create.or_replace && !create.is_source);
    assert_eq!(create.name.value, "PAGEVIEWS");
    let names: Vec<_> = create
        .columns
        .iter()
        .map(|c| c.name.value.as_str())
        .collect();
    assert_eq!(names, ["VIEWTIME", "userId", "PAGE", "HS", "H", "AMOUNT"]);
    assert_eq!(create.columns[1].constraint, Some(ColumnConstraint::Key));
    assert_eq!(
        create.columns[3].constraint,
        Some(ColumnConstraint::Headers)
    );
    assert_eq!(
        create.columns[3].data_type,
        TypeExpr::Array(Box::new(TypeExpr::Struct(vec![
            TypeExprField {
                name: "KEY".into(),
                data_type: TypeExpr::String
            },
            TypeExprField {
                name: "VALUE".into(),
                data_type: TypeExpr::Bytes
            },
        ])))
    );
    assert_eq!(
        create.columns[4].constraint,
        Some(ColumnConstraint::Header("trace".to_string()))
    );
    assert_eq!(
        create.columns[5].data_type,
        TypeExpr::Decimal {
            precision: 10,
            scale: 2
        }
    );
    let props = &create.properties;
    assert_eq!(props.get_str("kafka_topic").as_deref(), Some("pageviews"));
    assert_eq!(props.get_str("VALUE_FORMAT").as_deref(), Some("JSON"));
    assert_eq!(props.get_int("PARTITIONS").unwrap(), Some(3));
    assert_eq!(props.get_int("REPLICAS").unwrap(), Some(1));
    assert_eq!(props.get_bool("WRAP_SINGLE_VALUE").unwrap(), Some(false));
    assert_eq!(
        props.get("CUSTOM_THING").map(|p| &p.value),
        Some(&PropertyValue::Number("-1.5".to_string()))
    );
    assert_eq!(props.0.len(), 10);
}

#[test]
fn create_table_with_primary_key_and_or_replace() {
    let Statement::CreateSource(create) = parse(
        "create or replace table users (id INT PRIMARY KEY, m MAP<STRING, ARRAY<INT>>, t ADDRESS) \
         with (kafka_topic='users', format='json');",
    ) else {
        panic!("not a CREATE TABLE")
    };
    assert_eq!(create.kind, SourceKind::Table);
    assert!(create.or_replace);
    assert_eq!(
        create.columns[0].constraint,
        Some(ColumnConstraint::PrimaryKey)
    );
    assert_eq!(
        create.columns[1].data_type,
        TypeExpr::Map(
            Box::new(TypeExpr::String),
            Box::new(TypeExpr::Array(Box::new(TypeExpr::Int)))
        )
    );
    assert_eq!(
        create.columns[2].data_type,
        TypeExpr::Custom("ADDRESS".into())
    );
}

#[test]
fn create_source_table_without_columns() {
    let Statement::CreateSource(create) =
        parse("CREATE SOURCE TABLE t WITH (kafka_topic='t', format='AVRO');")
    else {
        panic!("not a CREATE SOURCE TABLE")
    };
    assert!(create.is_source);
    assert!(create.columns.is_empty());
}

#[test]
fn key_keywords_must_match_the_source_kind() {
    let error =
        parse_statement("CREATE TABLE INPUT (ID INT KEY, NAME STRING) WITH (kafka_topic='i');")
            .unwrap_err();
    assert_eq!((error.line, error.column), (1, 21));
    assert_eq!(
        error.message,
        "Column `ID` is a 'KEY' column: please use 'PRIMARY KEY' for tables."
    );
    let error = parse_statement("CREATE STREAM S (ID INT PRIMARY KEY) WITH (kafka_topic='i');")
        .unwrap_err();
    assert!(
        error.message.contains("please use 'KEY' for streams"),
        "{error}"
    );
}

#[test]
fn create_stream_as_select() {
    let Statement::CreateSourceAs(create) = parse(
        "CREATE STREAM enriched WITH (KAFKA_TOPIC='out', VALUE_FORMAT='AVRO') AS \
         SELECT v.id, u.name AS user_name FROM views v LEFT JOIN users u ON v.uid = u.id \
         PARTITION BY v.id EMIT CHANGES;",
    ) else {
        panic!("not CSAS")
    };
    assert_eq!(create.kind, SourceKind::Stream);
    assert_eq!(
        create.properties.get_str("KAFKA_TOPIC").as_deref(),
        Some("out")
    );
    assert_eq!(create.query.projection.len(), 2);
    assert_eq!(create.query.partition_by.len(), 1);
    let Statement::CreateSourceAs(create) =
        parse("CREATE TABLE counts AS SELECT id, COUNT(*) FROM s GROUP BY id;")
    else {
        panic!("not CTAS")
    };
    assert_eq!(create.kind, SourceKind::Table);
    assert!(create.properties.is_empty());
}

#[test]
fn windowed_source_properties_are_checked() {
    assert!(
        parse_statement(
            "CREATE TABLE T (K STRING PRIMARY KEY, V BIGINT) WITH (kafka_topic='t', \
             value_format='JSON', WINDOW_TYPE='Hopping', WINDOW_SIZE='30 seconds');"
        )
        .is_ok()
    );
    let error = parse_statement(
        "CREATE TABLE T (K STRING PRIMARY KEY) WITH (kafka_topic='t', WINDOW_TYPE='Hopping', \
         WINDOW_SIZE='30 bobs');",
    )
    .unwrap_err();
    assert_eq!(
        error.message,
        "Configuration WINDOW_SIZE is invalid: Invalid duration: '30 bobs'. Unknown time unit: 'BOBS'"
    );
    let error = parse_statement(
        "CREATE TABLE T (K STRING PRIMARY KEY) WITH (kafka_topic='t', WINDOW_TYPE='Session', \
         WINDOW_SIZE='30 seconds');",
    )
    .unwrap_err();
    assert_eq!(
        error.message,
        "'WINDOW_SIZE' should not be set for SESSION windows."
    );
}

#[test]
fn duplicate_properties_are_rejected() {
    let error = parse_statement("CREATE STREAM S (A INT) WITH (kafka_topic='a', KAFKA_TOPIC='b');")
        .unwrap_err();
    assert_eq!((error.line, error.column), (1, 48));
    assert_eq!(error.message, "Duplicate property: KAFKA_TOPIC");
}

#[test]
fn insert_into_select_and_values() {
    let Statement::InsertInto(insert) =
        parse("INSERT INTO sink WITH (QUERY_ID='my_query') SELECT * FROM source;")
    else {
        panic!("not INSERT INTO SELECT")
    };
    assert_eq!(insert.target.value, "SINK");
    assert_eq!(
        insert.properties.get_str("QUERY_ID").as_deref(),
        Some("my_query")
    );
    let Statement::InsertValues(insert) =
        parse("INSERT INTO s (id, `name`, v) VALUES (1, 'it''s', ARRAY[1, 2]);")
    else {
        panic!("not INSERT VALUES")
    };
    let columns: Vec<_> = insert.columns.iter().map(|c| c.value.as_str()).collect();
    assert_eq!(columns, ["ID", "name", "V"]);
    assert_eq!(insert.values.len(), 3);
    assert_eq!(insert.values[1].to_string(), "'it''s'");
    let Statement::InsertValues(insert) = parse("INSERT INTO s VALUES (1, NULL);") else {
        panic!("not INSERT VALUES")
    };
    assert!(insert.columns.is_empty());
}

#[test]
fn show_and_list() {
    let cases = [
        ("SHOW STREAMS;", ListKind::Streams, false),
        ("LIST TABLES EXTENDED;", ListKind::Tables, true),
        ("show topics;", ListKind::Topics, false),
        ("SHOW ALL TOPICS EXTENDED;", ListKind::AllTopics, true),
        ("SHOW QUERIES EXTENDED;", ListKind::Queries, true),
        ("SHOW PROPERTIES;", ListKind::Properties, false),
        ("LIST FUNCTIONS;", ListKind::Functions, false),
        ("SHOW TYPES;", ListKind::Types, false),
    ];
    for (sql, kind, extended) in cases {
        assert_eq!(parse(sql), Statement::List { kind, extended }, "{sql}");
    }
    let error = parse_statement("SHOW STREMS;").unwrap_err();
    assert_eq!((error.line, error.column), (1, 6));
    assert!(
        error
            .message
            .starts_with("mismatched input 'STREMS' expecting {STREAMS"),
        "{error}"
    );
}

#[test]
fn describe_forms() {
    let Statement::Describe(describe) = parse("DESCRIBE pageviews EXTENDED;") else {
        panic!("not DESCRIBE")
    };
    assert_eq!(describe.name.value, "PAGEVIEWS");
    assert!(describe.extended);
    let Statement::Describe(describe) = parse("DESCRIBE EXTENDED `MixedCase`;") else {
        panic!("not DESCRIBE EXTENDED")
    };
    assert_eq!(describe.name.value, "MixedCase");
    assert!(describe.extended);
    let Statement::Describe(describe) = parse("DESCRIBE extended;") else {
        panic!("a source may be called EXTENDED")
    };
    assert!(!describe.extended);
    assert_eq!(
        parse("DESCRIBE STREAMS EXTENDED;"),
        Statement::DescribeSources {
            kind: SourceKind::Stream,
            extended: true
        }
    );
    assert_eq!(
        parse("DESCRIBE TABLES;"),
        Statement::DescribeSources {
            kind: SourceKind::Table,
            extended: false
        }
    );
    assert_eq!(
        parse("DESCRIBE FUNCTION substring;"),
        Statement::DescribeFunction("SUBSTRING".into())
    );
}

#[test]
fn explain_statement_or_query_id() {
    let Statement::Explain(Explain::Statement(inner)) =
        parse("EXPLAIN SELECT * FROM s EMIT CHANGES;")
    else {
        panic!("not EXPLAIN statement")
    };
    assert!(matches!(*inner, Statement::Query(_)));
    assert_eq!(
        parse("EXPLAIN CSAS_OUTPUT_0;"),
        Statement::Explain(Explain::QueryId("CSAS_OUTPUT_0".into()))
    );
}

#[test]
fn drop_terminate_print_set_unset_run_script() {
    let Statement::DropSource(drop) = parse("DROP TABLE IF EXISTS t DELETE TOPIC;") else {
        panic!("not DROP")
    };
    assert!(drop.if_exists && drop.delete_topic);
    assert_eq!(drop.kind, SourceKind::Table);
    let Statement::DropSource(drop) = parse("DROP STREAM s;") else {
        panic!("not DROP")
    };
    assert!(!drop.if_exists && !drop.delete_topic);
    assert_eq!(
        parse("TERMINATE ALL;"),
        Statement::Terminate(TerminateTarget::All)
    );
    assert_eq!(
        parse("TERMINATE CTAS_COUNTS_3;"),
        Statement::Terminate(TerminateTarget::Query("CTAS_COUNTS_3".into()))
    );
    let Statement::Print(print) = parse("PRINT 'my-topic' FROM BEGINNING INTERVAL 2 LIMIT 10;")
    else {
        panic!("not PRINT")
    };
    assert_eq!(print.topic.value, "my-topic");
    assert!(print.from_beginning);
    assert_eq!((print.interval, print.limit), (Some(2), Some(10)));
    let Statement::Print(print) = parse("PRINT pageviews;") else {
        panic!("not PRINT")
    };
    assert_eq!(print.topic.value, "PAGEVIEWS");
    assert!(!print.from_beginning && print.limit.is_none());
    assert_eq!(
        parse("SET 'auto.offset.reset' = 'earliest';"),
        Statement::SetProperty {
            name: "auto.offset.reset".to_string(),
            value: "earliest".to_string()
        }
    );
    assert_eq!(
        parse("UNSET 'auto.offset.reset';"),
        Statement::UnsetProperty("auto.offset.reset".to_string())
    );
    assert_eq!(
        parse("RUN SCRIPT '/tmp/setup.sql';"),
        Statement::RunScript("/tmp/setup.sql".to_string())
    );
}

#[test]
fn create_and_drop_type_and_alter() {
    let Statement::CreateType(create) =
        parse("CREATE TYPE IF NOT EXISTS address AS STRUCT<number INT, street VARCHAR>;")
    else {
        panic!("not CREATE TYPE")
    };
    assert!(create.if_not_exists);
    assert_eq!(
        create.data_type.to_string(),
        "STRUCT<NUMBER INTEGER, STREET STRING>"
    );
    let Statement::DropType(drop) = parse("DROP TYPE IF EXISTS address;") else {
        panic!("not DROP TYPE")
    };
    assert!(drop.if_exists);
    let Statement::AlterSource(alter) =
        parse("ALTER STREAM s ADD COLUMN c1 INT, ADD c2 ARRAY<STRING>;")
    else {
        panic!("not ALTER")
    };
    assert_eq!(alter.add_columns.len(), 2);
}

#[test]
fn assert_statements() {
    let Statement::AssertTopic(assert) =
        parse("ASSERT NOT EXISTS TOPIC `t` WITH (PARTITIONS=1) TIMEOUT 3 SECONDS;")
    else {
        panic!("not ASSERT TOPIC")
    };
    assert!(assert.not_exists);
    assert_eq!(assert.timeout.map(|d| d.as_millis()), Some(3000));
    assert!(matches!(
        parse("ASSERT SCHEMA SUBJECT s ID 4;"),
        Statement::AssertSchema(_)
    ));
    let error = parse_statement("ASSERT VALUES foo (id INT) VALUES (123);").unwrap_err();
    assert_eq!((error.line, error.column), (1, 8));
    assert!(
        error.message.contains("mismatched input 'VALUES'"),
        "{error}"
    );
}

#[test]
fn types_cover_ksqldb_vocabulary() {
    let Statement::CreateSource(create) = parse(
        "CREATE STREAM s (a BOOLEAN, b INT, c INTEGER, d BIGINT, e DOUBLE, f DECIMAL(4,2), \
         g STRING, h VARCHAR, i BYTES, j DATE, k TIME, l TIMESTAMP, m ARRAY<ARRAY<INT>>, \
         n MAP<STRING, MAP<STRING, INT>>, o STRUCT<x STRUCT<y INT>>, p STRUCT<>) \
         WITH (kafka_topic='s');",
    ) else {
        panic!("not CREATE STREAM")
    };
    let types: Vec<String> = create
        .columns
        .iter()
        .map(|c| c.data_type.to_string())
        .collect();
    assert_eq!(
        types,
        [
            "BOOLEAN",
            "INTEGER",
            "INTEGER",
            "BIGINT",
            "DOUBLE",
            "DECIMAL(4, 2)",
            "STRING",
            "STRING",
            "BYTES",
            "DATE",
            "TIME",
            "TIMESTAMP",
            "ARRAY<ARRAY<INTEGER>>",
            "MAP<STRING, MAP<STRING, INTEGER>>",
            "STRUCT<X STRUCT<Y INTEGER>>",
            "STRUCT<>"
        ]
    );
    for bad in [
        "CREATE STREAM s (c NULL) WITH (kafka_topic='s');",
        "CREATE STREAM s (c ARRAY<NULL>) WITH (kafka_topic='s');",
        "CREATE STREAM INPUT (K STRING (KEY)) WITH (kafka_topic='input');",
        "CREATE STREAM s (c ARRAY<INT) WITH (kafka_topic='s');",
    ] {
        assert!(parse_statement(bad).is_err(), "{bad}");
    }
}

#[test]
fn scripts_parse_into_many_statements_with_script_positions() {
    let statements =
        parse_statements("SHOW STREAMS;\n-- comment; here\nSHOW TABLES; ;\nSHOW TOPICS").unwrap();
    assert_eq!(statements.len(), 3);
    let error = parse_statements("SHOW STREAMS;\nSHOW TABLES;\n  SELECT * FORM s;").unwrap_err();
    assert_eq!((error.line, error.column), (3, 12));
    assert_eq!(error.message, "mismatched input 'FORM' expecting FROM");
    assert_eq!(
        error.to_string(),
        "line 3:12: mismatched input 'FORM' expecting FROM"
    );
}

#[test]
fn unknown_statement_and_trailing_garbage() {
    let error = parse_statement("FROB STREAMS;").unwrap_err();
    assert_eq!((error.line, error.column), (1, 1));
    assert!(
        error.message.starts_with("Unknown statement 'FROB'"),
        "{error}"
    );
    let error = parse_statement("SHOW STREAMS please;").unwrap_err();
    assert_eq!((error.line, error.column), (1, 14));
    assert_eq!(error.message, "mismatched input 'PLEASE' expecting ';'");
    assert!(parse_statement("").is_err());
}

#[test]
fn durations_in_all_units() {
    for (text, unit) in [
        ("1 MILLISECOND", TimeUnit::Milliseconds),
        ("2 milliseconds", TimeUnit::Milliseconds),
        ("3 SECOND", TimeUnit::Seconds),
        ("4 MINUTES", TimeUnit::Minutes),
        ("5 HOUR", TimeUnit::Hours),
        ("6 DAYS", TimeUnit::Days),
    ] {
        let sql = format!("SELECT * FROM s WINDOW TUMBLING (SIZE {text}) GROUP BY k EMIT CHANGES;");
        let Statement::Query(query) = parse(&sql) else {
            panic!("not a query")
        };
        let window = query.window.expect("window");
        let sluice_engine::sql::WindowKind::Tumbling { size } = window.kind else {
            panic!("not tumbling")
        };
        assert_eq!(size.unit, unit, "{text}");
    }
}

#[test]
fn type_expressions_resolve_to_engine_types_with_custom_names() {
    use sluice_engine::sql::parse_type_expr;
    use sluice_engine::types::SqlType as EngineType;
    let address = EngineType::Struct(vec![sluice_engine::types::StructField::new(
        "CITY",
        EngineType::String,
    )]);
    let lookup = |name: &str| (name == "ADDRESS").then(|| address.clone());
    let resolved = parse_type_expr("MAP<STRING, ARRAY<address>>")
        .unwrap()
        .resolve(&lookup)
        .unwrap();
    assert_eq!(
        resolved,
        EngineType::map(EngineType::String, EngineType::array(address.clone()))
    );
    let error = parse_type_expr("STRUCT<a `Unknown`>")
        .unwrap()
        .resolve(&lookup)
        .unwrap_err();
    assert_eq!((error.line, error.column), (1, 10));
    assert_eq!(error.message, "Unknown type: Unknown");
    let wide = parse_type_expr("DECIMAL(39, 2)").expect("ksqlDB parses wide decimals");
    assert!(
        wide.resolve(&lookup).is_err(),
        "the engine stores at most 38 digits"
    );
    assert!(parse_type_expr("DECIMAL(2, 3)").is_err());
}

#[test]
fn errors_at_the_end_of_input_point_after_the_text() {
    let error = parse_statement("SELECT * FROM").unwrap_err();
    assert_eq!((error.line, error.column), (1, 14));
    assert_eq!(
        error.message,
        "mismatched input <EOF> expecting a stream or table name"
    );
    let error = parse_statement("SELECT a,\n  b FROM s WHERE").unwrap_err();
    assert_eq!((error.line, error.column), (2, 17));
}
