//! DELIMITED format behaviour from outside, following ksqlDB's query-validation tests
//! (delimited.json, decimal.json): records in, Arrow batch, records out.

use bytes::Bytes;
use sluice_engine::format::{
    EncodedRecord, FormatKind, FormatOptions, RecordFormat, SourceRecord, decode_records,
    encode_batch, parse_delimiter,
};
use sluice_engine::types::{Column, LogicalSchema, SqlType};

fn rec(offset: i64, key: Option<&str>, value: Option<&str>) -> SourceRecord {
    SourceRecord {
        partition: 1,
        offset,
        timestamp: 0,
        key: key.map(|k| Bytes::copy_from_slice(k.as_bytes())),
        value: value.map(|v| Bytes::copy_from_slice(v.as_bytes())),
        headers: Vec::new(),
    }
}

fn text(b: &Option<Bytes>) -> Option<&str> {
    b.as_deref().map(|b| std::str::from_utf8(b).unwrap())
}

fn copy(
    schema: &LogicalSchema,
    input: &RecordFormat,
    output: &RecordFormat,
    records: &[SourceRecord],
) -> Vec<EncodedRecord> {
    let decoded = decode_records(schema, input, records).unwrap();
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    encode_batch(schema, output, &decoded.batch).unwrap()
}

fn delimited(delimiter: char) -> RecordFormat {
    RecordFormat {
        key: FormatOptions::new(FormatKind::Kafka),
        value: FormatOptions::new(FormatKind::Delimited).with_delimiter(delimiter),
    }
}

fn test_schema() -> LogicalSchema {
    LogicalSchema::from_columns([
        Column::key("K", SqlType::String),
        Column::value("ID", SqlType::BigInt),
        Column::value("NAME", SqlType::String),
        Column::value("VALUE", SqlType::Int),
    ])
}

#[test]
fn values_copy_with_any_delimiter() {
    for (raw, sep) in [(",", ','), ("|", '|'), ("SPACE", ' '), ("TAB", '\t')] {
        let delimiter = parse_delimiter("VALUE_DELIMITER", raw).unwrap();
        let lines =
            ["0,zero,0", "0,100,100", "100,100,500"].map(|l| l.replace(',', &sep.to_string()));
        let records: Vec<_> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| rec(i as i64, Some("0"), Some(l)))
            .collect();
        let out = copy(
            &test_schema(),
            &delimited(delimiter),
            &delimited(delimiter),
            &records,
        );
        let values: Vec<_> = out
            .iter()
            .map(|r| text(&r.value).unwrap().to_string())
            .collect();
        assert_eq!(values, lines, "delimiter {raw}");
        assert_eq!(text(&out[0].key), Some("0"));
    }
}

#[test]
fn sink_may_use_another_delimiter() {
    let records = [rec(0, Some("0"), Some("0|zero|0"))];
    let out = copy(&test_schema(), &delimited('|'), &delimited('$'), &records);
    assert_eq!(text(&out[0].value), Some("0$zero$0"));
}

#[test]
fn multi_column_delimited_keys_become_json_objects() {
    let schema = LogicalSchema::from_columns([
        Column::key("K1", SqlType::String),
        Column::key("K2", SqlType::String),
        Column::value("V", SqlType::Int),
        Column::value("V2", SqlType::Int),
    ]);
    let input = RecordFormat {
        key: FormatOptions::new(FormatKind::Delimited).with_delimiter(';'),
        value: FormatOptions::new(FormatKind::Delimited).with_delimiter('-'),
    };
    let output = RecordFormat {
        key: FormatOptions::new(FormatKind::Json),
        value: FormatOptions::new(FormatKind::Delimited).with_delimiter('-'),
    };
    let out = copy(
        &schema,
        &input,
        &output,
        &[rec(0, Some("foo,bar;baz"), Some("0-1"))],
    );
    assert_eq!(text(&out[0].key), Some(r#"{"K1":"foo,bar","K2":"baz"}"#));
    assert_eq!(text(&out[0].value), Some("0-1"));
}

#[test]
fn quoted_keys_are_unquoted() {
    let schema = LogicalSchema::from_columns([
        Column::key("K", SqlType::decimal(6, 4).unwrap()),
        Column::value("V", SqlType::Int),
    ]);
    let format = RecordFormat::new(FormatKind::Delimited, FormatKind::Delimited);
    let records = [
        rec(0, Some("12.3650"), Some("0")),
        rec(1, Some("\"12.0\""), Some("0")),
        rec(2, None, Some("0")),
    ];
    let out = copy(&schema, &format, &format, &records);
    let keys: Vec<_> = out.iter().map(|r| text(&r.key)).collect();
    assert_eq!(keys, [Some("12.3650"), Some("12.0000"), None]);
}

#[test]
fn bad_lines_are_reported_and_the_rest_decode() {
    let records = [
        rec(0, Some("a"), Some("1,one,1")),
        rec(1, Some("b"), Some("2,two")),
        rec(2, Some("c"), Some("x,three,3")),
        rec(3, Some("d"), Some("4,,")),
    ];
    let decoded = decode_records(&test_schema(), &delimited(','), &records).unwrap();
    let bad: Vec<_> = decoded
        .errors
        .iter()
        .map(|e| (e.partition, e.offset))
        .collect();
    assert_eq!(bad, [(1, 1), (1, 2)]);
    assert!(
        decoded.errors[0]
            .message
            .contains("Unexpected field count, csvFields:2 schemaFields:3")
    );
    let out = encode_batch(&test_schema(), &delimited(','), &decoded.batch).unwrap();
    let values: Vec<_> = out.iter().map(|r| text(&r.value)).collect();
    assert_eq!(values, [Some("1,one,1"), Some("4,,")]);
}
