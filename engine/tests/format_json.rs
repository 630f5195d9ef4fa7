//! JSON format behaviour from outside: records in, Arrow batch, records out, with the input →
//! output pairs ksqlDB's query-validation tests (json.json, decimal.json, multi-col-keys.json,
//! null.json) specify for `CREATE STREAM OUTPUT AS SELECT * FROM INPUT`.

use bytes::Bytes;
use sluice_engine::format::datum::{Datum, datum_at};
use sluice_engine::format::{
    EncodedRecord, FormatKind, FormatOptions, RecordError, RecordFormat, SourceRecord,
    decode_records, encode_batch,
};
use sluice_engine::types::{Column, LogicalSchema, SqlType, StructField};

fn rec(offset: i64, key: Option<&str>, value: Option<&str>) -> SourceRecord {
    SourceRecord {
        partition: 0,
        offset,
        timestamp: offset * 10,
        key: key.map(|k| Bytes::copy_from_slice(k.as_bytes())),
        value: value.map(|v| Bytes::copy_from_slice(v.as_bytes())),
        headers: Vec::new(),
    }
}

/// Decodes with `input`, encodes with `output`: a `SELECT *` copy.
fn copy(
    schema: &LogicalSchema,
    input: &RecordFormat,
    output: &RecordFormat,
    records: &[SourceRecord],
) -> (Vec<EncodedRecord>, Vec<RecordError>) {
    let decoded = decode_records(schema, input, records).unwrap();
    (
        encode_batch(schema, output, &decoded.batch).unwrap(),
        decoded.errors,
    )
}

fn text(b: &Option<Bytes>) -> Option<&str> {
    b.as_deref().map(|b| std::str::from_utf8(b).unwrap())
}

fn json(key: FormatKind) -> RecordFormat {
    RecordFormat::new(key, FormatKind::Json)
}

#[test]
fn single_column_keys_are_unwrapped() {
    let schema = LogicalSchema::from_columns([
        Column::key("K", SqlType::Boolean),
        Column::value("V", SqlType::Int),
    ]);
    let records = [
        rec(0, Some("true"), Some(r#"{"V":0}"#)),
        rec(1, Some("false"), Some(r#"{"V":0}"#)),
        rec(2, None, Some(r#"{"V":0}"#)),
    ];
    let (out, errors) = copy(
        &schema,
        &json(FormatKind::Json),
        &json(FormatKind::Json),
        &records,
    );
    assert!(errors.is_empty());
    let keys: Vec<_> = out.iter().map(|r| text(&r.key)).collect();
    assert_eq!(keys, [Some("true"), Some("false"), None]);
    assert!(out.iter().all(|r| text(&r.value) == Some(r#"{"V":0}"#)));
}

#[test]
fn anonymous_values_deserialize_and_serialize() {
    let schema = LogicalSchema::from_columns([Column::value(
        "V",
        SqlType::Struct(vec![StructField::new("A", SqlType::Double)]),
    )]);
    let unwrapped = RecordFormat {
        key: FormatOptions::new(FormatKind::Kafka),
        value: FormatOptions::new(FormatKind::Json).with_wrap_single_value(false),
    };
    let wrapped = json(FormatKind::Kafka);
    let records = [rec(0, None, Some(r#"{"a":45.67}"#)), rec(1, None, None)];
    let (out, _) = copy(&schema, &unwrapped, &wrapped, &records);
    assert_eq!(text(&out[0].value), Some(r#"{"V":{"A":45.67}}"#));
    assert_eq!(out[1].value, None);

    let records = [
        rec(0, None, Some(r#"{"V":{"a":76.54}}"#)),
        rec(1, None, Some(r#"{"V":null}"#)),
    ];
    let (out, _) = copy(&schema, &wrapped, &unwrapped, &records);
    assert_eq!(text(&out[0].value), Some(r#"{"A":76.54}"#));
    assert_eq!(out[1].value, None);
}

#[test]
fn arrays_and_maps_keep_null_elements() {
    let schema = LogicalSchema::from_columns([
        Column::value("FOO", SqlType::map(SqlType::String, SqlType::Int)),
        Column::value("BAR", SqlType::array(SqlType::String)),
    ]);
    let records = [rec(
        0,
        None,
        Some(r#"{"foo":{"a":1,"c":null},"BAR":["a",null]}"#),
    )];
    let (out, _) = copy(
        &schema,
        &json(FormatKind::Kafka),
        &json(FormatKind::Kafka),
        &records,
    );
    assert_eq!(
        text(&out[0].value),
        Some(r#"{"FOO":{"a":1,"c":null},"BAR":["a",null]}"#)
    );
}

#[test]
fn decimals_keep_their_declared_scale() {
    let schema = LogicalSchema::from_columns([
        Column::key("ID", SqlType::String),
        Column::value("DEC", SqlType::decimal(6, 4).unwrap()),
    ]);
    let records: Vec<_> = ["10", "1", "0.1", "0.0001", "\"2.5\""]
        .iter()
        .enumerate()
        .map(|(i, v)| rec(i as i64, None, Some(&format!(r#"{{"DEC":{v}}}"#))))
        .collect();
    let (out, errors) = copy(
        &schema,
        &json(FormatKind::Kafka),
        &json(FormatKind::Kafka),
        &records,
    );
    assert!(errors.is_empty(), "{errors:?}");
    let values: Vec<_> = out
        .iter()
        .map(|r| text(&r.value).unwrap().to_string())
        .collect();
    assert_eq!(
        values,
        [
            r#"{"DEC":10.0000}"#,
            r#"{"DEC":1.0000}"#,
            r#"{"DEC":0.1000}"#,
            r#"{"DEC":0.0001}"#,
            r#"{"DEC":2.5000}"#
        ]
    );
}

#[test]
fn multi_column_keys_are_objects() {
    let schema = LogicalSchema::from_columns([
        Column::key("K", SqlType::Int),
        Column::key("K2", SqlType::Int),
        Column::value("V", SqlType::Int),
    ]);
    let records = [
        rec(0, Some(r#"{"K":1,"K2":2}"#), Some(r#"{"V":0}"#)),
        rec(1, Some(r#"{"k2":2}"#), Some(r#"{"V":0}"#)),
        rec(2, None, Some(r#"{"V":0}"#)),
    ];
    let (out, _) = copy(
        &schema,
        &json(FormatKind::Json),
        &json(FormatKind::Json),
        &records,
    );
    let keys: Vec<_> = out.iter().map(|r| text(&r.key)).collect();
    assert_eq!(
        keys,
        [
            Some(r#"{"K":1,"K2":2}"#),
            Some(r#"{"K":null,"K2":2}"#),
            None
        ]
    );
}

#[test]
fn bad_records_are_skipped_and_reported() {
    let schema = LogicalSchema::from_columns([
        Column::value("ID", SqlType::BigInt),
        Column::value("NAME", SqlType::String),
    ]);
    let records = [
        rec(0, None, Some(r#"{"id":1,"name":"a"}"#)),
        rec(1, None, Some(r#"{"id":"one"}"#)),
        rec(2, None, Some("[1,2]")),
        rec(3, None, Some("not json")),
        rec(4, None, Some(r#"{"ID":4}"#)),
    ];
    let decoded = decode_records(&schema, &json(FormatKind::Kafka), &records).unwrap();
    let offsets: Vec<_> = decoded.errors.iter().map(|e| e.offset).collect();
    assert_eq!(offsets, [1, 2, 3]);
    assert!(
        decoded.errors[0]
            .message
            .contains("Can't coerce string to type. targetType: BIGINT")
    );
    assert!(decoded.errors[0].message.contains("path: $.ID"));
    assert_eq!(decoded.batch.num_rows(), 2);
    let ids = decoded.batch.column_by_name("ID").unwrap();
    assert_eq!(datum_at(ids, 0).unwrap(), Datum::BigInt(1));
    assert_eq!(datum_at(ids, 1).unwrap(), Datum::BigInt(4));
    let rowtime = decoded.batch.column_by_name("ROWTIME").unwrap();
    assert_eq!(datum_at(rowtime, 1).unwrap(), Datum::Timestamp(40));
}

#[test]
fn null_values_stay_null_and_empty_objects_give_null_columns() {
    let schema = LogicalSchema::from_columns([
        Column::key("ID", SqlType::Int),
        Column::value("NAME", SqlType::String),
    ]);
    let key = 1i32.to_be_bytes();
    let mut records = vec![
        rec(0, None, None),
        rec(1, None, Some("{}")),
        rec(2, None, Some(" null ")),
    ];
    for r in &mut records {
        r.key = Some(Bytes::copy_from_slice(&key));
    }
    let (out, _) = copy(
        &schema,
        &json(FormatKind::Kafka),
        &json(FormatKind::Kafka),
        &records,
    );
    assert_eq!(out[0].value, None);
    assert_eq!(text(&out[1].value), Some(r#"{"NAME":null}"#));
    assert_eq!(out[2].value, None, "JSON null is a null row too");
    assert_eq!(out[0].key.as_deref(), Some(&key[..]));
}

#[test]
fn temporal_and_bytes_types_round_trip() {
    let schema = LogicalSchema::from_columns([
        Column::value("TS", SqlType::Timestamp),
        Column::value("D", SqlType::Date),
        Column::value("T", SqlType::Time),
        Column::value("B", SqlType::Bytes),
        Column::value("X", SqlType::Double),
    ]);
    let input = r#"{"TS":1600000000000,"D":18000,"T":3600000,"B":"AQID","X":1E10}"#;
    let (out, errors) = copy(
        &schema,
        &json(FormatKind::Kafka),
        &json(FormatKind::Kafka),
        &[rec(0, None, Some(input))],
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        text(&out[0].value),
        Some(r#"{"TS":1600000000000,"D":18000,"T":3600000,"B":"AQID","X":1.0E10}"#)
    );
}

#[test]
fn key_bytes_are_ignored_without_key_columns() {
    let schema = LogicalSchema::from_columns([
        Column::value("ID", SqlType::Int),
        Column::value("F0", SqlType::Int),
    ]);
    let format = json(FormatKind::Json);
    let records = [
        rec(0, None, Some(r#"{"ID":1,"F0":2}"#)),
        rec(1, Some("should be ignored"), Some(r#"{"ID":2,"F0":4}"#)),
    ];
    let (out, errors) = copy(&schema, &format, &format, &records);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(out[1].key, None);
    assert_eq!(text(&out[1].value), Some(r#"{"ID":2,"F0":4}"#));
}

#[test]
fn large_batch_keeps_order_around_scattered_bad_records() {
    let schema = LogicalSchema::from_columns([
        Column::key("K", SqlType::String),
        Column::value("N", SqlType::BigInt),
        Column::value("TAGS", SqlType::array(SqlType::String)),
    ]);
    let records: Vec<_> = (0..5000i64)
        .map(|i| {
            let value = if i % 7 == 3 {
                format!(r#"{{"N":"bad {i}"}}"#)
            } else {
                format!(r#"{{"n":{i},"tags":["t{i}"]}}"#)
            };
            rec(i, Some(&format!("k{i}")), Some(&value))
        })
        .collect();
    let decoded = decode_records(&schema, &json(FormatKind::Kafka), &records).unwrap();
    assert_eq!(decoded.errors.len(), 714);
    assert!(decoded.errors.iter().all(|e| e.offset % 7 == 3));
    assert_eq!(decoded.batch.num_rows(), 5000 - 714);
    let n = decoded.batch.column_by_name("N").unwrap();
    let k = decoded.batch.column_by_name("K").unwrap();
    let expected: Vec<i64> = (0..5000).filter(|i| i % 7 != 3).collect();
    for (row, want) in expected.iter().enumerate() {
        assert_eq!(datum_at(n, row).unwrap(), Datum::BigInt(*want));
        assert_eq!(datum_at(k, row).unwrap(), Datum::String(format!("k{want}")));
    }
    let out = encode_batch(&schema, &json(FormatKind::Kafka), &decoded.batch).unwrap();
    assert_eq!(text(&out[0].value), Some(r#"{"N":0,"TAGS":["t0"]}"#));
}
