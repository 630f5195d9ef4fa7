//! The function catalog against the SessionContext: every described function can be called,
//! and the DataFusion built-ins we describe behave as ksqlDB's do.

mod functions_support;

use functions_support::{check, ctx, value};
use sluice_engine::functions::{
    Category, describe_function, list_functions, register_ksql_functions,
};

/// ksqlDB's scalar functions that Sluice provides (see docs/sql-reference.md, "Functions").
const KSQL_SCALAR_FUNCTIONS: &[&str] = &[
    // strings
    "CHR",
    "CONCAT",
    "CONCAT_WS",
    "ELT",
    "ENCODE",
    "FIELD",
    "FROM_BYTES",
    "INITCAP",
    "INSTR",
    "LCASE",
    "LEN",
    "LPAD",
    "LTRIM",
    "MASK",
    "MASK_KEEP_LEFT",
    "MASK_KEEP_RIGHT",
    "MASK_LEFT",
    "MASK_RIGHT",
    "MD5",
    "REGEXP_EXTRACT",
    "REGEXP_EXTRACT_ALL",
    "REGEXP_REPLACE",
    "REGEXP_SPLIT_TO_ARRAY",
    "REPLACE",
    "RPAD",
    "RTRIM",
    "SPLIT",
    "SPLIT_TO_MAP",
    "SUBSTRING",
    "TO_BYTES",
    "TRIM",
    "UCASE",
    "UUID",
    "INT_FROM_BYTES",
    "BIGINT_FROM_BYTES",
    "DOUBLE_FROM_BYTES",
    // nulls
    "COALESCE",
    "IFNULL",
    "NULLIF",
    // math
    "ABS",
    "ACOS",
    "ASIN",
    "ATAN",
    "ATAN2",
    "CBRT",
    "CEIL",
    "COS",
    "COSH",
    "COT",
    "DEGREES",
    "EXP",
    "FLOOR",
    "GREATEST",
    "LEAST",
    "LN",
    "LOG",
    "PI",
    "POWER",
    "RADIANS",
    "RANDOM",
    "ROUND",
    "SIGN",
    "SIN",
    "SINH",
    "SQRT",
    "TAN",
    "TANH",
    "TRUNC",
    // date and time
    "CONVERT_TZ",
    "DATEADD",
    "DATESUB",
    "DATETOSTRING",
    "FORMAT_DATE",
    "FORMAT_TIME",
    "FORMAT_TIMESTAMP",
    "FROM_DAYS",
    "FROM_UNIXTIME",
    "PARSE_DATE",
    "PARSE_TIME",
    "PARSE_TIMESTAMP",
    "STRINGTODATE",
    "STRINGTOTIMESTAMP",
    "TIMEADD",
    "TIMESUB",
    "TIMESTAMPADD",
    "TIMESTAMPSUB",
    "TIMESTAMPTOSTRING",
    "UNIX_DATE",
    "UNIX_TIMESTAMP",
    // JSON
    "EXTRACTJSONFIELD",
    "IS_JSON_STRING",
    "JSON_ARRAY_CONTAINS",
    "JSON_ARRAY_LENGTH",
    "JSON_CONCAT",
    "JSON_ITEMS",
    "JSON_KEYS",
    "JSON_RECORDS",
    "TO_JSON_STRING",
    // collections
    "ARRAY_CONCAT",
    "ARRAY_CONTAINS",
    "ARRAY_DISTINCT",
    "ARRAY_EXCEPT",
    "ARRAY_INTERSECT",
    "ARRAY_JOIN",
    "ARRAY_LENGTH",
    "ARRAY_MAX",
    "ARRAY_MIN",
    "ARRAY_REMOVE",
    "ARRAY_SORT",
    "ARRAY_UNION",
    "AS_MAP",
    "ENTRIES",
    "GENERATE_SERIES",
    "MAP_KEYS",
    "MAP_UNION",
    "MAP_VALUES",
    "SLICE",
    // URL, geo, other
    "URL_DECODE_PARAM",
    "URL_ENCODE_PARAM",
    "URL_EXTRACT_FRAGMENT",
    "URL_EXTRACT_HOST",
    "URL_EXTRACT_PARAMETER",
    "URL_EXTRACT_PATH",
    "URL_EXTRACT_PORT",
    "URL_EXTRACT_PROTOCOL",
    "URL_EXTRACT_QUERY",
    "GEO_DISTANCE",
    "AS_VALUE",
];

#[test]
fn every_described_function_is_registered() {
    let ctx = ctx();
    let state = ctx.state();
    let registered = state.scalar_functions();
    let lambdas = state.higher_order_functions();
    let missing: Vec<&str> = list_functions()
        .iter()
        .filter(|f| {
            let name = f.name.to_ascii_lowercase();
            !registered.contains_key(&name) && !lambdas.contains_key(&name)
        })
        .map(|f| f.name)
        .collect();
    assert!(
        missing.is_empty(),
        "described but not callable: {missing:?}"
    );
}

#[test]
fn catalog_describes_ksql_functions_by_category() {
    let missing: Vec<&str> = KSQL_SCALAR_FUNCTIONS
        .iter()
        .copied()
        .filter(|name| describe_function(name).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "ksqlDB functions not described: {missing:?}"
    );
    let round = describe_function("round").expect("ROUND");
    assert_eq!(round.category, Category::Math);
    assert!(
        round
            .signatures
            .contains(&"ROUND(DOUBLE) -> BIGINT".to_string())
    );
    assert!(!round.builtin);
    let coalesce = describe_function("COALESCE").expect("COALESCE");
    assert!(coalesce.builtin);
    let dateadd = describe_function("DATEADD").expect("DATEADD");
    assert_eq!(
        dateadd.signatures,
        vec!["DATEADD(VARCHAR, INT, DATE) -> DATE"]
    );
}

#[tokio::test]
async fn builtins_with_ksql_semantics() {
    check(&[
        ("IFNULL(CAST(NULL AS VARCHAR), 'alt')", "alt"),
        ("IFNULL('x', 'alt')", "x"),
        ("COALESCE(NULL, NULL, 3)", "3"),
        ("NULLIF(1, 1)", "NULL"),
        ("NULLIF(1, 2)", "1"),
        ("REPLACE('anaconda', 'a', 'o')", "onocondo"),
        ("REPLACE('anaconda', CAST(NULL AS VARCHAR), 'o')", "NULL"),
        ("MD5('hello')", "5d41402abc4b2a76b9719d911017c592"),
        ("TRIM('  a  ')", "a"),
        ("LEN(UUID())", "36"),
        ("SQRT(-1)", "NaN"),
        ("LN(0)", "-inf"),
        ("ASIN(2)", "NaN"),
        ("ATAN2(1, 1)", "0.7853981633974483"),
    ])
    .await;
    let pi: f64 = value("PI()").await.parse().expect("number");
    assert!((pi - std::f64::consts::PI).abs() < 1e-15);
}

#[tokio::test]
async fn functions_work_in_the_streaming_session() {
    let ctx = sluice_engine::query::streaming_session(3);
    sluice_engine::functions::register_ksql_functions(&ctx);
    let state = ctx.state();
    let options = state.config().options();
    assert_eq!(
        options.execution.target_partitions, 3,
        "registration kept the config"
    );
    assert!(!options.optimizer.enable_round_robin_repartition);
    assert!(!options.sql_parser.enable_ident_normalization);
    let rows = functions_support::rows_in(
        &ctx,
        "SELECT UCASE('a'), SUBSTRING('some_string', -6, 3), ROUND(-1.5), \
         TIMESTAMPTOSTRING(0, 'yyyy-MM-dd')",
    )
    .await;
    assert_eq!(rows, vec![vec!["A", "str", "-1", "1970-01-01"]]);
}

/// Prints the catalog as the Markdown table in docs/sql-reference.md ("Functions"); run with
/// `cargo test -p sluice-engine --test functions_catalog print_function_table -- --ignored
/// --nocapture` after adding functions.
#[test]
#[ignore = "prints documentation, asserts nothing"]
fn print_function_table() {
    let mut all = list_functions();
    all.sort_by_key(|f| (f.category, f.name));
    let mut category = None;
    for f in all {
        if category != Some(f.category) {
            category = Some(f.category);
            println!("\n#### {}\n", f.category.as_str());
            println!("| function | signatures | what it does |\n|---|---|---|");
        }
        let sigs: Vec<String> = f
            .signatures
            .iter()
            .map(|s| format!("`{}`", s.replace('|', "\\|")))
            .collect();
        println!(
            "| `{}` | {} | {} |",
            f.name,
            sigs.join("<br>"),
            f.description.replace('|', "\\|")
        );
    }
}

#[tokio::test]
async fn transform_and_filter_take_lambdas() {
    // DataFusion's default SQL dialect has no lambdas; the ksqlDB parser produces the same
    // `Expr::Lambda` that DuckDB's `x -> ...` syntax does.
    let ctx = ctx();
    ctx.sql("SET datafusion.sql_parser.dialect = 'DuckDB'")
        .await
        .expect("dialect option");
    let rows = functions_support::rows_in(
        &ctx,
        "SELECT TRANSFORM([1, 2, 3], x -> x * 2), FILTER([1, -2, 3], x -> x > 0)",
    )
    .await;
    assert_eq!(rows, vec![vec!["[2, 4, 6]", "[1, 3]"]]);

    let rows = functions_support::rows_in(
        &ctx,
        "SELECT TRANSFORM(MAP(['a', 'b'], [1, 2]), (k, v) -> UCASE(k), (k, v) -> v * 10), \
                FILTER(MAP(['a', 'b'], [1, 2]), (k, v) -> v > 1), \
                FILTER([1, NULL, 3], x -> x > 1), \
                TRANSFORM(CAST(NULL AS INT[]), x -> x + 1), \
                TRANSFORM(['a', 'bb'], x -> LEN(x))",
    )
    .await;
    assert_eq!(
        rows,
        vec![vec!["{A: 10, B: 20}", "{b: 2}", "[3]", "NULL", "[1, 2]"]]
    );

    let rows = functions_support::rows_in(
        &ctx,
        "SELECT REDUCE([3, 6], 2, (s, x) -> s + x), \
                REDUCE(['blah', NULL, 'x'], '', (s, x) -> CONCAT(s, x)), \
                REDUCE([5, NULL], 2, (s, x) -> s + x), \
                REDUCE(CAST(NULL AS INT[]), 2, (s, x) -> s + x), \
                REDUCE([1], CAST(NULL AS BIGINT), (s, x) -> s + x), \
                REDUCE(MAP(['123', '12', '1234'], [3, 7, 2]), 0, \
                       (s, k, v) -> CASE WHEN LEN(k) > 3 THEN s + v ELSE s - v END)",
    )
    .await;
    assert_eq!(rows, vec![vec!["11", "blahx", "NULL", "2", "NULL", "-8"]]);
}

#[tokio::test]
async fn reduce_over_a_table_uses_each_rows_elements() {
    use std::sync::Arc;

    use datafusion::arrow::array::{Array, Int64Array, ListArray, RecordBatch};
    use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};

    let lists = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
        Some(vec![Some(1), Some(2), Some(3)]),
        None,
        Some(vec![]),
        Some(vec![Some(10)]),
    ]);
    let schema = Arc::new(Schema::new(vec![
        Field::new("xs", lists.data_type().clone(), true),
        Field::new("base", DataType::Int64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(lists),
            Arc::new(Int64Array::from(vec![100, 200, 300, 400])),
        ],
    )
    .expect("batch");
    let ctx = functions_support::ctx_with(batch);
    ctx.sql("SET datafusion.sql_parser.dialect = 'DuckDB'")
        .await
        .expect("dialect option");
    // The lambda captures a column (`base`), which must follow the rows still being folded.
    let rows =
        functions_support::rows_in(&ctx, "SELECT REDUCE(xs, 0, (s, x) -> s + x * base) FROM t")
            .await;
    assert_eq!(rows, vec![vec!["600"], vec!["0"], vec!["0"], vec!["4000"]]);
}

#[tokio::test]
async fn lambdas_from_the_ksql_parser_in_the_streaming_session() {
    use sluice_engine::functions::prepare_for_planning;
    use sluice_engine::sql::{Statement, parse_statement};

    let statement = parse_statement(
        "SELECT TRANSFORM(ARRAY[1, 2], x => x + 1) AS T, \
                REDUCE(ARRAY[1, 2, 3], 0, (s, x) => s + x) AS R, \
                DATEADD(DAYS, 1, FROM_DAYS(0)) AS D FROM S EMIT CHANGES;",
    )
    .expect("parses");
    let Statement::Query(mut query) = statement else {
        panic!("not a query: {statement:?}");
    };
    prepare_for_planning(&mut query.projection);
    let items: Vec<String> = query.projection.iter().map(ToString::to_string).collect();
    // The engine plans with identifier normalization off; lambdas print with `->`, which
    // DataFusion's DuckDB dialect reads back.
    let ctx = sluice_engine::query::streaming_session(1);
    register_ksql_functions(&ctx);
    ctx.sql("SET datafusion.sql_parser.dialect = 'DuckDB'")
        .await
        .expect("dialect option");
    let rows = functions_support::rows_in(&ctx, &format!("SELECT {}", items.join(", "))).await;
    assert_eq!(rows, vec![vec!["[2, 3]", "6", "1970-01-02"]]);
}
