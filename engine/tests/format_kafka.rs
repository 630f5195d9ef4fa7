//! KAFKA format behaviour from outside (kafka.json, key-schemas.json): Kafka's primitive
//! serializers for keys and single-column values.

use bytes::Bytes;
use sluice_engine::format::datum::{Datum, datum_at};
use sluice_engine::format::{
    FormatKind, FormatOptions, RecordFormat, SourceRecord, decode_records, encode_batch,
    validate_key_format, validate_value_format,
};
use sluice_engine::types::{Column, LogicalSchema, SqlType};

fn rec(offset: i64, key: Option<Vec<u8>>, value: Option<Vec<u8>>) -> SourceRecord {
    SourceRecord {
        partition: 0,
        offset,
        timestamp: 5,
        key: key.map(Bytes::from),
        value: value.map(Bytes::from),
        headers: Vec::new(),
    }
}

fn kafka() -> RecordFormat {
    RecordFormat::new(FormatKind::Kafka, FormatKind::Kafka)
}

#[test]
fn primitive_keys_and_values_round_trip() {
    let cases: Vec<(SqlType, Vec<u8>, Vec<u8>)> = vec![
        (SqlType::String, b"foo".to_vec(), b"bar".to_vec()),
        (
            SqlType::Int,
            1i32.to_be_bytes().to_vec(),
            2i32.to_be_bytes().to_vec(),
        ),
        (
            SqlType::BigInt,
            1i64.to_be_bytes().to_vec(),
            2i64.to_be_bytes().to_vec(),
        ),
        (
            SqlType::Double,
            1.1f64.to_be_bytes().to_vec(),
            2.2f64.to_be_bytes().to_vec(),
        ),
        (SqlType::Bytes, vec![0, 255], vec![]),
    ];
    for (sql_type, key, value) in cases {
        let schema = LogicalSchema::from_columns([
            Column::key("K", sql_type.clone()),
            Column::value("FOO", sql_type.clone()),
        ]);
        let decoded = decode_records(
            &schema,
            &kafka(),
            &[rec(0, Some(key.clone()), Some(value.clone()))],
        )
        .unwrap();
        assert!(
            decoded.errors.is_empty(),
            "{sql_type}: {:?}",
            decoded.errors
        );
        let out = encode_batch(&schema, &kafka(), &decoded.batch).unwrap();
        assert_eq!(out[0].key.as_deref(), Some(key.as_slice()), "{sql_type}");
        assert_eq!(
            out[0].value.as_deref(),
            Some(value.as_slice()),
            "{sql_type}"
        );
    }
}

#[test]
fn empty_string_key_is_not_null() {
    let schema = LogicalSchema::from_columns([
        Column::key("K", SqlType::String),
        Column::value("ID", SqlType::BigInt),
    ]);
    let format = RecordFormat::new(FormatKind::Kafka, FormatKind::Json);
    let records = [
        rec(0, Some(vec![]), Some(br#"{"id":3}"#.to_vec())),
        rec(1, None, Some(br#"{"id":4}"#.to_vec())),
    ];
    let decoded = decode_records(&schema, &format, &records).unwrap();
    let k = decoded.batch.column_by_name("K").unwrap();
    assert_eq!(datum_at(k, 0).unwrap(), Datum::String(String::new()));
    assert_eq!(datum_at(k, 1).unwrap(), Datum::Null);
    let out = encode_batch(&schema, &format, &decoded.batch).unwrap();
    assert_eq!(out[0].key.as_deref(), Some(&b""[..]));
    assert_eq!(out[1].key, None);
}

#[test]
fn wrong_sized_records_are_skipped() {
    let schema = LogicalSchema::from_columns([Column::value("V", SqlType::Int)]);
    let records = [
        rec(0, None, Some(vec![0, 0, 0, 1])),
        rec(1, None, Some(vec![0, 0, 1])),
        rec(2, None, Some(vec![0, 0, 0, 3])),
    ];
    let decoded = decode_records(&schema, &kafka(), &records).unwrap();
    assert_eq!(decoded.batch.num_rows(), 2);
    assert_eq!(decoded.errors.len(), 1);
    assert_eq!(decoded.errors[0].offset, 1);
    assert!(
        decoded.errors[0]
            .message
            .contains("IntegerDeserializer is not 4")
    );
    let v = decoded.batch.column_by_name("V").unwrap();
    assert_eq!(datum_at(v, 1).unwrap(), Datum::Int(3));
}

#[test]
fn unsupported_types_are_refused_at_create() {
    let kafka = FormatOptions::new(FormatKind::Kafka);
    for t in [
        SqlType::Boolean,
        SqlType::array(SqlType::Int),
        SqlType::decimal(4, 2).unwrap(),
    ] {
        let name = t.base_name();
        let err = validate_value_format(&kafka, &[Column::value("FOO", t)]).unwrap_err();
        assert!(err.to_string().contains(&format!(
            "The 'KAFKA' format does not support type '{name}'"
        )));
    }
    let none = FormatOptions::new(FormatKind::None);
    assert!(validate_key_format(&none, &[Column::key("K", SqlType::Int)]).is_err());
    assert!(validate_key_format(&kafka, &[Column::key("K", SqlType::String)]).is_ok());
}
