//! ksqlDB's JSON functions through SQL (cases from extract-json-field.json, is_json_string.json,
//! json_*.json and to_json_string.json).

mod functions_support;

use functions_support::check;

#[tokio::test]
async fn extract_json_field() {
    check(&[
        (
            r#"EXTRACTJSONFIELD('{"name": "cdc", "version": "1", "@type": "UDF"}', '$.name')"#,
            "cdc",
        ),
        (
            r#"EXTRACTJSONFIELD('{"name": "cdd", "@type": "VAL"}}', '$.@type')"#,
            "VAL",
        ),
        (
            r#"EXTRACTJSONFIELD('{"array": [1, 2, 3]}', '$.array[-1]')"#,
            "NULL",
        ),
        (
            r#"EXTRACTJSONFIELD('{"array": [1, 2, 3]}', '$.array[1]')"#,
            "2",
        ),
        (
            r#"EXTRACTJSONFIELD('{"array": [1.23450]}', '$.array[0]')"#,
            "1.23450",
        ),
        (
            r#"EXTRACTJSONFIELD('{"array": [1.23450]}', '$.array[1]')"#,
            "NULL",
        ),
        (
            r#"EXTRACTJSONFIELD('{"a": {"b": [{"c": true}]}}', '$.a.b[0]')"#,
            r#"{"c":true}"#,
        ),
        (
            r#"EXTRACTJSONFIELD('{"a": {"b c": "x"}}', '$.a[''b c'']')"#,
            "x",
        ),
        (r#"EXTRACTJSONFIELD('{"a": null}', '$.a')"#, "NULL"),
        ("EXTRACTJSONFIELD('not json', '$.a')", "NULL"),
        (r#"EXTRACTJSONFIELD('{"a": 1}', 'a')"#, "NULL"),
        ("EXTRACTJSONFIELD(CAST(NULL AS VARCHAR), '$.a')", "NULL"),
    ])
    .await;
}

#[tokio::test]
async fn json_predicates_and_lengths() {
    check(&[
        ("IS_JSON_STRING('1')", "true"),
        ("IS_JSON_STRING('abc')", "false"),
        ("IS_JSON_STRING('[1, 2, 3]')", "true"),
        (r#"IS_JSON_STRING('"abc"')"#, "true"),
        ("IS_JSON_STRING('')", "false"),
        ("IS_JSON_STRING(CAST(NULL AS VARCHAR))", "false"),
        (r#"JSON_ARRAY_LENGTH('["Red", "Green"]')"#, "2"),
        ("JSON_ARRAY_LENGTH('[]')", "0"),
        ("JSON_ARRAY_LENGTH('')", "NULL"),
        (r#"JSON_ARRAY_LENGTH('{"a": 1}')"#, "NULL"),
        (
            r#"JSON_ARRAY_CONTAINS('["Pink", "Yellow"]', 'Pink')"#,
            "true",
        ),
        (
            r#"JSON_ARRAY_CONTAINS('["Red", "Green"]', 'Pink')"#,
            "false",
        ),
        (r#"JSON_ARRAY_CONTAINS('["Pink", null]', 'Pink')"#, "true"),
        ("JSON_ARRAY_CONTAINS('[1, 2, 3]', 2)", "true"),
        ("JSON_ARRAY_CONTAINS('[1.5, 2]', 1.5)", "true"),
        ("JSON_ARRAY_CONTAINS('[true]', false)", "false"),
        ("JSON_ARRAY_CONTAINS('[1, null]', NULL)", "true"),
        ("JSON_ARRAY_CONTAINS('oops', 'Pink')", "false"),
        (
            "JSON_ARRAY_CONTAINS(CAST(NULL AS VARCHAR), 'Pink')",
            "false",
        ),
    ])
    .await;
}

#[tokio::test]
async fn keys_records_items() {
    check(&[
        (r#"JSON_KEYS('{"Red": 3, "Green": 5}')"#, "[Red, Green]"),
        ("JSON_KEYS('{}')", "[]"),
        ("JSON_KEYS('')", "NULL"),
        ("JSON_KEYS('[1]')", "NULL"),
        (
            r#"JSON_RECORDS('{"Red": 3, "Green": 5}')"#,
            "{Red: 3, Green: 5}",
        ),
        (r#"JSON_RECORDS('{"White": "Seven"}')"#, "{White: Seven}"),
        ("JSON_RECORDS('{}')", "{}"),
        ("JSON_RECORDS('')", "NULL"),
        (
            r#"JSON_ITEMS('[{"type": "A", "timestamp": "2022-01-27"}, {"type": "B"}]')"#,
            r#"[{"type":"A","timestamp":"2022-01-27"}, {"type":"B"}]"#,
        ),
        ("JSON_ITEMS('[]')", "[]"),
        ("JSON_ITEMS('x')", "NULL"),
    ])
    .await;
}

#[tokio::test]
async fn json_concat() {
    check(&[
        (r#"JSON_CONCAT('{"a": 1}', '{"b": 2}')"#, r#"{"a":1,"b":2}"#),
        ("JSON_CONCAT('{}', '{}')", "{}"),
        (
            r#"JSON_CONCAT('{"a": {"5": 6}}', '{"a": {"3": 4}}')"#,
            r#"{"a":{"3":4}}"#,
        ),
        ("JSON_CONCAT('[1, 2]', '[3, 4]')", "[1,2,3,4]"),
        ("JSON_CONCAT('null', 'null')", "[null,null]"),
        (r#"JSON_CONCAT('[1, 2]', '{"a": 1}')"#, r#"[1,2,{"a":1}]"#),
        (
            "JSON_CONCAT('[1, [2]]', '[[[3]], [[[4]]]]')",
            "[1,[2],[[3]],[[[4]]]]",
        ),
        (
            r#"JSON_CONCAT('{"a": 1}', '{"b": 2}', '{"c": 3}')"#,
            r#"{"a":1,"b":2,"c":3}"#,
        ),
        ("JSON_CONCAT('1', '')", "NULL"),
        ("JSON_CONCAT(CAST(NULL AS VARCHAR), '1')", "NULL"),
    ])
    .await;
}

#[tokio::test]
async fn to_json_string() {
    check(&[
        ("TO_JSON_STRING(1)", "1"),
        ("TO_JSON_STRING(NULL)", "null"),
        ("TO_JSON_STRING(CAST(NULL AS INT))", "null"),
        ("TO_JSON_STRING('abc')", r#""abc""#),
        ("TO_JSON_STRING(true)", "true"),
        ("TO_JSON_STRING(123.456)", "123.456"),
        ("TO_JSON_STRING(1.0)", "1.0"),
        ("TO_JSON_STRING(LN(0))", r#""-Infinity""#),
        ("TO_JSON_STRING(SQRT(-1))", r#""NaN""#),
        ("TO_JSON_STRING(CAST(123.456 AS DECIMAL(6, 3)))", "123.456"),
        ("TO_JSON_STRING(X'21')", r#""IQ==""#),
        ("TO_JSON_STRING(FROM_DAYS(1000))", r#""1972-09-27""#),
        (
            "TO_JSON_STRING(FROM_UNIXTIME(60220000000))",
            r#""1971-11-28T23:46:40.000""#,
        ),
        (
            "TO_JSON_STRING(PARSE_TIME('16:43:40', 'HH:mm:ss'))",
            r#""16:43:40""#,
        ),
        ("TO_JSON_STRING(MAP('id', 1))", r#"{"id":1}"#),
        ("TO_JSON_STRING(MAP('id', [1, 2, 3]))", r#"{"id":[1,2,3]}"#),
        (
            "TO_JSON_STRING(named_struct('A', 1, 'B', 'x'))",
            r#"{"A":1,"B":"x"}"#,
        ),
    ])
    .await;
}
