//! Checks, at `CREATE` time, that a format can hold the declared columns, with ksqlDB's error
//! messages (the conformance tests compare them).

use super::{FormatError, FormatKind, FormatOptions};
use crate::types::{Column, SqlType};

/// Checks the key columns against the key format.
pub fn validate_key_format(options: &FormatOptions, key: &[Column]) -> Result<(), FormatError> {
    for column in key {
        if column.sql_type.contains_map() {
            return Err(FormatError::Unsupported(format!(
                "Map keys, including types that contain maps, are not supported as they may lead \
                 to unexpected behavior due to inconsistent serialization. Key column name: `{}`. \
                 Column type: {}. See https://github.com/confluentinc/ksql/issues/6621 for more.",
                column.name, column.sql_type
            )));
        }
    }
    check_columns(options.kind, key).map_err(|reason| wrap("Key", options.kind, key, true, reason))
}

/// Checks the value columns against the value format and its `WRAP_SINGLE_VALUE` setting.
pub fn validate_value_format(options: &FormatOptions, value: &[Column]) -> Result<(), FormatError> {
    if let Some(wrap) = options.wrap_single_value {
        if options.kind == FormatKind::Kafka && wrap {
            return Err(FormatError::Unsupported(
                "Format 'KAFKA' does not support 'WRAP_SINGLE_VALUE' set to 'true'.".to_string(),
            ));
        }
        if value.len() != 1 && options.kind != FormatKind::None {
            return Err(FormatError::Unsupported(
                "'WRAP_SINGLE_VALUE' is only valid for single-field value schemas".to_string(),
            ));
        }
    }
    check_columns(options.kind, value)
        .map_err(|reason| wrap("Value", options.kind, value, false, reason))
}

fn wrap(
    side: &str,
    kind: FormatKind,
    columns: &[Column],
    key: bool,
    reason: String,
) -> FormatError {
    let list: Vec<String> = columns
        .iter()
        .map(|c| {
            format!(
                "`{}` {}{}",
                c.name,
                c.sql_type,
                if key { " KEY" } else { "" }
            )
        })
        .collect();
    FormatError::Unsupported(format!(
        "{side} format does not support schema.\nformat: {kind}\nschema: Persistence{{columns=[{}], \
         features=[]}}\nreason: {reason}",
        list.join(", ")
    ))
}

fn column_list(columns: &[Column]) -> String {
    let list: Vec<String> = columns
        .iter()
        .map(|c| format!("`{}` {}", c.name, c.sql_type))
        .collect();
    format!("[{}]", list.join(", "))
}

fn check_columns(kind: FormatKind, columns: &[Column]) -> Result<(), String> {
    match kind {
        FormatKind::None if !columns.is_empty() => Err(format!(
            "The 'NONE' format can only be used when no columns are defined. Got: {}",
            column_list(columns)
        )),
        FormatKind::None => Ok(()),
        FormatKind::Kafka => {
            if columns.len() > 1 {
                return Err(format!(
                    "The 'KAFKA' format only supports a single field. Got: {}",
                    column_list(columns)
                ));
            }
            match columns.first().map(|c| &c.sql_type) {
                None
                | Some(
                    SqlType::Int
                    | SqlType::BigInt
                    | SqlType::Double
                    | SqlType::String
                    | SqlType::Bytes,
                ) => Ok(()),
                Some(other) => Err(format!(
                    "The 'KAFKA' format does not support type '{}'",
                    other.base_name()
                )),
            }
        }
        FormatKind::Delimited => match columns.iter().find(|c| c.sql_type.is_nested()) {
            Some(c) => Err(format!(
                "The 'DELIMITED' format does not support type '{}', column: `{}`",
                c.sql_type.base_name(),
                c.name
            )),
            None => Ok(()),
        },
        FormatKind::Json => {
            if columns.iter().any(|c| has_non_string_map_key(&c.sql_type)) {
                Err("JSON only supports MAP types with STRING keys".to_string())
            } else {
                Ok(())
            }
        }
    }
}

fn has_non_string_map_key(sql_type: &SqlType) -> bool {
    match sql_type {
        SqlType::Map(key, value) => **key != SqlType::String || has_non_string_map_key(value),
        SqlType::Array(element) => has_non_string_map_key(element),
        SqlType::Struct(fields) => fields.iter().any(|f| has_non_string_map_key(&f.sql_type)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(kind: FormatKind) -> FormatOptions {
        FormatOptions::new(kind)
    }

    #[test]
    fn kafka_refuses_unsupported_types_and_several_columns() {
        let err = validate_key_format(
            &opts(FormatKind::Kafka),
            &[Column::key("K", SqlType::Boolean)],
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "Key format does not support schema.\nformat: KAFKA\nschema: Persistence{columns=[`K` \
             BOOLEAN KEY], features=[]}\nreason: The 'KAFKA' format does not support type 'BOOLEAN'"
        );
        let value = [
            Column::value("V0", SqlType::Int),
            Column::value("V1", SqlType::String),
        ];
        let err = validate_value_format(&opts(FormatKind::Kafka), &value)
            .unwrap_err()
            .to_string();
        assert!(err.contains(
            "The 'KAFKA' format only supports a single field. Got: [`V0` INTEGER, `V1` STRING]"
        ));
    }

    #[test]
    fn map_keys_and_json_map_key_types_are_refused() {
        let key = [Column::key(
            "K",
            SqlType::map(SqlType::Int, SqlType::Double),
        )];
        let err = validate_key_format(&opts(FormatKind::Json), &key)
            .unwrap_err()
            .to_string();
        assert!(err.contains("Key column name: `K`. Column type: MAP<INTEGER, DOUBLE>."));
        let value = [Column::value(
            "FOO",
            SqlType::map(SqlType::Int, SqlType::Double),
        )];
        let err = validate_value_format(&opts(FormatKind::Json), &value)
            .unwrap_err()
            .to_string();
        assert!(err.contains("JSON only supports MAP types with STRING keys"));
    }

    #[test]
    fn delimited_refuses_nested_types() {
        let value = [Column::value("FOO", SqlType::array(SqlType::Int))];
        let err = validate_value_format(&opts(FormatKind::Delimited), &value)
            .unwrap_err()
            .to_string();
        assert!(err.contains("The 'DELIMITED' format does not support type 'ARRAY'"));
    }

    #[test]
    fn wrap_single_value_rules() {
        let two = [
            Column::value("A", SqlType::Int),
            Column::value("B", SqlType::Int),
        ];
        let json = opts(FormatKind::Json).with_wrap_single_value(false);
        assert!(
            validate_value_format(&json, &two)
                .unwrap_err()
                .to_string()
                .contains("single-field")
        );
        let kafka = opts(FormatKind::Kafka).with_wrap_single_value(true);
        assert_eq!(
            validate_value_format(&kafka, &two[..1])
                .unwrap_err()
                .to_string(),
            "Format 'KAFKA' does not support 'WRAP_SINGLE_VALUE' set to 'true'."
        );
        assert!(validate_value_format(&json, &two[..1]).is_ok());
        assert!(validate_key_format(&opts(FormatKind::None), &[]).is_ok());
    }
}
