//! ksqlDB's math functions through SQL (cases from ksqlDB's math.json, greatest.json and
//! least.json), including the ones DataFusion computes.

mod functions_support;

use functions_support::{check, type_of, value};

#[tokio::test]
async fn round_ties_towards_positive_infinity() {
    check(&[
        ("ROUND(1.2)", "1"),
        ("ROUND(1.5)", "2"),
        ("ROUND(-1.5)", "-1"),
        ("ROUND(-1.7)", "-2"),
        ("ROUND(12345.678)", "12346"),
        ("ROUND(12345.678, 2)", "12345.68"),
        ("ROUND(-12345.678, 1)", "-12345.7"),
        ("ROUND(12345.678, -1)", "12350.0"),
        ("ROUND(12345.678, -2)", "12300.0"),
        ("ROUND(1.234567, 10)", "1.234567"),
        ("ROUND(1.7, -1)", "0.0"),
        ("ROUND(1.005, 2)", "1.01"),
        ("ROUND(CAST(NULL AS DOUBLE))", "NULL"),
        ("ROUND(CAST(111 AS INT), -1)", "110"),
        ("ROUND(CAST(-1.5 AS DECIMAL(4, 1)))", "-1"),
        ("ROUND(CAST(12345.678 AS DECIMAL(8, 3)), 2)", "12345.680"),
        (
            "ROUND(CAST(12345678987654322 AS BIGINT), -1)",
            "12345678987654320",
        ),
    ])
    .await;
    assert_eq!(type_of("ROUND(1.5)").await, "Int64");
    assert_eq!(type_of("ROUND(1.5, 1)").await, "Float64");
    assert_eq!(
        type_of("ROUND(CAST(1.5 AS DECIMAL(4, 1)))").await,
        "Decimal128(4, 0)"
    );
}

#[tokio::test]
async fn trunc_ceil_floor_sign() {
    check(&[
        ("TRUNC(1.7)", "1"),
        ("TRUNC(-1.7)", "-1"),
        ("TRUNC(12345.678, 2)", "12345.67"),
        ("TRUNC(-12345.678, -1)", "-12340.0"),
        ("CEIL(1.1)", "2.0"),
        ("CEIL(-1.7)", "-1.0"),
        ("CEIL(CAST(1 AS INT))", "1"),
        ("CEIL(CAST(-1.1 AS DECIMAL(2, 1)))", "-1"),
        ("FLOOR(-1.1)", "-2.0"),
        ("FLOOR(CAST(1.7 AS DECIMAL(2, 1)))", "1"),
        ("FLOOR(CAST(NULL AS DOUBLE))", "NULL"),
        ("SIGN(-3.0)", "-1"),
        ("SIGN(CAST(0 AS INT))", "0"),
        ("SIGN(2)", "1"),
    ])
    .await;
    assert_eq!(type_of("CEIL(CAST(1 AS INT))").await, "Int32");
    assert_eq!(type_of("SIGN(2.5)").await, "Int32");
}

#[tokio::test]
async fn logs_powers_and_builtins() {
    check(&[
        ("LOG(13)", "2.5649493574615367"), // natural log, as ksqlDB (Math.log)
        ("LOG(0)", "-inf"),
        ("LOG(-13)", "NaN"),
        ("LOG(15, 13)", "0.9471572411831843"),
        ("LOG(1, 13)", "NaN"),
        ("LOG(0, 13)", "NaN"),
        ("LOG(-15, 13)", "NaN"),
        ("LOG(CAST(NULL AS DOUBLE), 13)", "NULL"),
        ("POWER(2, 10)", "1024.0"),
        ("POWER(4, 0.5)", "2.0"),
        ("EXP(1)", "2.718281828459045"),
        ("LN(1)", "0.0"),
        ("SQRT(4)", "2.0"),
        ("CBRT(-8)", "-2.0"),
        ("ABS(-3)", "3"),
        ("ROUND(ACOS(-1), 13)", "3.1415926535898"),
        ("GREATEST(1, 5, 3)", "5"),
        ("GREATEST(1, NULL, 3)", "3"),
        ("LEAST('b', 'a', 'c')", "a"),
    ])
    .await;
    assert_eq!(type_of("POWER(2, 10)").await, "Float64");
    let r: f64 = value("RANDOM()").await.parse().expect("a number");
    assert!((0.0..1.0).contains(&r));
}
