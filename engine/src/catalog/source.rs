//! A registered stream or table ([`SourceInfo`]) and how `CREATE STREAM|TABLE` and the `WITH`
//! clause turn into one, with ksqlDB's validation rules and messages.
//!
//! The checks happen here, before anything is written to the command topic, so a refused
//! statement leaves no trace. What they cover: known property names, formats (KEY_FORMAT,
//! VALUE_FORMAT, FORMAT and their options), KEY vs PRIMARY KEY, reserved and duplicate column
//! names, the TIMESTAMP column, and whether the topic exists or may be created (PARTITIONS).

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::error::{EngineError, Result};
use crate::format::{FormatDefaults, RecordFormat, validate_key_format, validate_value_format};
use crate::sql::{self, ColumnConstraint, ColumnDef, Properties, SourceKind};
use crate::types::{Column, LogicalSchema, PseudoColumn, SqlType};

/// A stream or table in the catalog.
#[derive(Debug, Clone)]
pub struct SourceInfo {
    /// Its name (normalised: upper-case unless it was quoted).
    pub name: String,
    /// Stream or table.
    pub kind: SourceKind,
    /// Declared columns.
    pub schema: LogicalSchema,
    /// The Kafka topic behind it.
    pub topic: String,
    /// Key and value formats.
    pub format: RecordFormat,
    /// `TIMESTAMP='col'`: the column ROWTIME is taken from.
    pub timestamp_column: Option<String>,
    /// `TIMESTAMP_FORMAT`: how a STRING timestamp column is parsed.
    pub timestamp_format: Option<String>,
    /// `CREATE SOURCE STREAM|TABLE`: read-only.
    pub is_source: bool,
    /// The statement that created it, as written.
    pub statement: String,
    /// Whether a CREATE ... AS SELECT created it (its schema is the query's).
    pub statement_is_query: bool,
}

#[cfg(test)]
impl SourceInfo {
    /// A JSON-valued, KAFKA-keyed stream `name` over topic `name` lower-cased, for unit tests.
    pub(crate) fn test_stream(name: &str, columns: impl IntoIterator<Item = Column>) -> SourceInfo {
        SourceInfo {
            name: name.into(),
            kind: SourceKind::Stream,
            schema: LogicalSchema::from_columns(columns),
            topic: name.to_lowercase(),
            format: RecordFormat::new(
                crate::format::FormatKind::Kafka,
                crate::format::FormatKind::Json,
            ),
            timestamp_column: None,
            timestamp_format: None,
            is_source: false,
            statement_is_query: false,
            statement: String::new(),
        }
    }
}

/// The properties a `WITH` clause of CREATE STREAM/TABLE may hold.
const SOURCE_PROPERTIES: &[&str] = &[
    "KAFKA_TOPIC",
    "VALUE_FORMAT",
    "KEY_FORMAT",
    "FORMAT",
    "PARTITIONS",
    "REPLICAS",
    "TIMESTAMP",
    "TIMESTAMP_FORMAT",
    "WRAP_SINGLE_VALUE",
    "VALUE_DELIMITER",
    "KEY_DELIMITER",
    "RETENTION_MS",
    "CLEANUP_POLICY",
];

/// The extra property of `INSERT INTO ... SELECT` and `CREATE ... AS SELECT`.
pub const QUERY_ID_PROPERTY: &str = "QUERY_ID";

/// Refuses properties not in `allowed`, with ksqlDB's message.
pub fn check_property_names(properties: &Properties, extra: &[&str]) -> Result<()> {
    let unknown: Vec<&str> = properties
        .0
        .iter()
        .map(|p| p.name.as_str())
        .filter(|n| !SOURCE_PROPERTIES.contains(n) && !extra.contains(n))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(EngineError::invalid(format!(
            "Invalid config variable(s) in the WITH clause: {}",
            unknown.join(",")
        )))
    }
}

/// `PARTITIONS` and `REPLICAS`, checked.
#[derive(Debug, Clone, Copy, Default)]
pub struct TopicShape {
    /// `PARTITIONS`, if given.
    pub partitions: Option<i32>,
    /// `REPLICAS`, if given (a single broker accepts 1 or -1 only).
    pub replicas: Option<i16>,
}

/// Reads `PARTITIONS` and `REPLICAS`.
pub fn topic_shape(properties: &Properties) -> Result<TopicShape> {
    let partitions = match properties.get_int("PARTITIONS")? {
        Some(n) if n < 1 || n > i64::from(i32::MAX) => {
            return Err(EngineError::invalid(format!(
                "Invalid value {n} for property PARTITIONS: must be a positive number"
            )));
        }
        Some(n) => Some(n as i32),
        None => None,
    };
    let replicas = match properties.get_int("REPLICAS")? {
        Some(n) if n == 1 || n == -1 => Some(n as i16),
        Some(n) => {
            return Err(EngineError::invalid(format!(
                "Invalid value {n} for property REPLICAS: this server has a single broker, so \
                 the replication factor can only be 1"
            )));
        }
        None => None,
    };
    Ok(TopicShape {
        partitions,
        replicas,
    })
}

/// The server-wide format defaults in effect (`ksql.persistence.default.format.key|value`,
/// `ksql.persistence.wrap.single.values`), read from the properties.
pub fn format_defaults(property: impl Fn(&str) -> Option<String>) -> Result<FormatDefaults> {
    let mut defaults = FormatDefaults::default();
    if let Some(key) = property("ksql.persistence.default.format.key") {
        defaults.key = key.parse()?;
    }
    if let Some(value) = property("ksql.persistence.default.format.value") {
        defaults.value = Some(value.parse()?);
    }
    if let Some(wrap) = property("ksql.persistence.wrap.single.values") {
        defaults.wrap_single_values = Some(wrap.eq_ignore_ascii_case("true"));
    }
    Ok(defaults)
}

/// Turns a parsed type into the engine's, resolving `CREATE TYPE` aliases in `custom`.
pub fn resolve_type(ty: &sql::TypeExpr, custom: &BTreeMap<String, SqlType>) -> Result<SqlType> {
    ty.resolve(&|name| custom.get(name).cloned())
        .map_err(|e| EngineError::Invalid(e.message))
}

/// Checks the declared columns of a stream or table and builds its schema.
pub fn schema_from_columns(
    kind: SourceKind,
    columns: &[ColumnDef],
    custom: &BTreeMap<String, SqlType>,
) -> Result<LogicalSchema> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for def in columns {
        let name = def.name.value.clone();
        if PseudoColumn::from_name(&name).is_some() {
            return Err(EngineError::invalid(format!(
                "'{name}' is a reserved column name. You cannot use it as a name for a column."
            )));
        }
        if !seen.insert(name.clone()) {
            return Err(EngineError::invalid(format!(
                "Duplicate column names: `{name}` is declared more than once."
            )));
        }
        let sql_type = resolve_type(&def.data_type, custom)?;
        let column = match (&def.constraint, kind) {
            (Some(ColumnConstraint::PrimaryKey), SourceKind::Stream) => {
                return Err(EngineError::invalid(format!(
                    "Column `{name}` is a 'PRIMARY KEY' column: please use 'KEY' for streams.\n\
                     Tables have PRIMARY KEYs, which are unique and NON NULL.\n\
                     Streams have KEYs, which have no uniqueness or NON NULL constraints."
                )));
            }
            (Some(ColumnConstraint::Key), SourceKind::Table) => {
                return Err(EngineError::invalid(format!(
                    "Column `{name}` is a 'KEY' column: please use 'PRIMARY KEY' for tables.\n\
                     Tables have PRIMARY KEYs, which are unique and NON NULL.\n\
                     Streams have KEYs, which have no uniqueness or NON NULL constraints."
                )));
            }
            (Some(ColumnConstraint::Key | ColumnConstraint::PrimaryKey), _) => {
                Column::key(name, sql_type)
            }
            (Some(ColumnConstraint::Headers), _) => {
                if sql_type != crate::types::schema::headers_type() {
                    return Err(EngineError::invalid(format!(
                        "Invalid type for HEADERS column `{name}`: expected \
                         ARRAY<STRUCT<`KEY` STRING, `VALUE` BYTES>>, got {sql_type}"
                    )));
                }
                Column::headers(name)
            }
            (Some(ColumnConstraint::Header(key)), _) => {
                if sql_type != SqlType::Bytes {
                    return Err(EngineError::invalid(format!(
                        "Invalid type for HEADER('{key}') column `{name}`: expected BYTES, got \
                         {sql_type}"
                    )));
                }
                Column::header(name, key.clone())
            }
            (None, _) => Column::value(name, sql_type),
        };
        out.push(column);
    }
    let schema = LogicalSchema::from_columns(out);
    if kind == SourceKind::Table && schema.key.is_empty() {
        return Err(EngineError::invalid(
            "Tables require a PRIMARY KEY. Please define the PRIMARY KEY.",
        ));
    }
    if columns.is_empty() {
        return Err(EngineError::invalid(
            "The statement does not define any columns. Sluice has no schema registry yet, so \
             columns must be declared: CREATE STREAM s (ID INT KEY, ...) WITH (...).",
        ));
    }
    if schema
        .headers
        .iter()
        .filter(|c| c.kind == crate::types::ColumnKind::Headers)
        .count()
        > 1
    {
        return Err(EngineError::invalid(
            "Schema already contains a HEADERS column.",
        ));
    }
    Ok(schema)
}

/// Checks that `format` can hold `schema`'s key and value columns.
pub fn validate_formats(schema: &LogicalSchema, format: &RecordFormat) -> Result<()> {
    validate_key_format(&format.key, &schema.key)?;
    validate_value_format(&format.value, &schema.value)?;
    Ok(())
}

/// Checks `TIMESTAMP='col'` and `TIMESTAMP_FORMAT`; returns the column's name.
pub fn timestamp_column(
    properties: &Properties,
    schema: &LogicalSchema,
) -> Result<(Option<String>, Option<String>)> {
    let format = properties.get_str("TIMESTAMP_FORMAT");
    let Some(raw) = properties.get_str("TIMESTAMP") else {
        if format.is_some() {
            return Err(EngineError::invalid(
                "TIMESTAMP_FORMAT is only valid with a TIMESTAMP column: add TIMESTAMP='<column>'",
            ));
        }
        return Ok((None, None));
    };
    let name = normalize_name(&raw);
    let Some(column) = schema.find(&name) else {
        return Err(EngineError::invalid(format!(
            "The TIMESTAMP column set in the WITH clause does not exist in the schema: '{name}'"
        )));
    };
    match (&column.sql_type, &format) {
        (SqlType::BigInt | SqlType::Timestamp, None) => Ok((Some(name), None)),
        (SqlType::String, Some(_)) => Ok((Some(name), format)),
        (SqlType::String, None) => Err(EngineError::invalid(format!(
            "A timestamp extractor for the STRING column '{name}' needs a TIMESTAMP_FORMAT"
        ))),
        (other, _) => Err(EngineError::invalid(format!(
            "Timestamp column, `{name}`, should be LONG(INT64), TIMESTAMP, or a String with a \
             timestamp_format specified. Got {other}"
        ))),
    }
}

/// A name given as a string property (`TIMESTAMP='ts'`): ksqlDB upper-cases it unless it is
/// quoted with backticks.
pub fn normalize_name(raw: &str) -> String {
    match raw.strip_prefix('`').and_then(|r| r.strip_suffix('`')) {
        Some(quoted) => quoted.to_string(),
        None => raw.to_ascii_uppercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{Statement, parse_statement};

    fn create(sql: &str) -> sql::CreateSource {
        match parse_statement(sql).unwrap() {
            Statement::CreateSource(c) => c,
            other => panic!("not a CREATE: {other:?}"),
        }
    }

    #[test]
    fn tables_need_a_primary_key() {
        // A stream with a PRIMARY KEY is refused by the parser already, with the same message.
        let err = parse_statement(
            "CREATE STREAM s (id INT PRIMARY KEY) WITH (kafka_topic='t', value_format='JSON')",
        )
        .unwrap_err();
        assert!(
            err.message
                .starts_with("Column `ID` is a 'PRIMARY KEY' column")
        );
        let c =
            create("CREATE TABLE t (id INT, v INT) WITH (kafka_topic='t', value_format='JSON')");
        let err = schema_from_columns(c.kind, &c.columns, &BTreeMap::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Tables require a PRIMARY KEY. Please define the PRIMARY KEY."
        );
    }

    #[test]
    fn reserved_and_unknown_names_are_refused() {
        let c =
            create("CREATE STREAM s (rowtime BIGINT) WITH (kafka_topic='t', value_format='JSON')");
        assert!(schema_from_columns(c.kind, &c.columns, &BTreeMap::new()).is_err());
        let c = create(
            "CREATE STREAM s (v INT) WITH (kafka_topic='t', value_format='JSON', colour='red')",
        );
        assert_eq!(
            check_property_names(&c.properties, &[])
                .unwrap_err()
                .to_string(),
            "Invalid config variable(s) in the WITH clause: COLOUR"
        );
    }

    #[test]
    fn timestamp_column_must_exist_and_be_a_time() {
        let c = create(
            "CREATE STREAM s (ts BIGINT, v STRING) WITH (kafka_topic='t', value_format='JSON', timestamp='ts')",
        );
        let schema = schema_from_columns(c.kind, &c.columns, &BTreeMap::new()).unwrap();
        assert_eq!(
            timestamp_column(&c.properties, &schema)
                .unwrap()
                .0
                .as_deref(),
            Some("TS")
        );
        let c = create(
            "CREATE STREAM s (ts BIGINT, v STRING) WITH (kafka_topic='t', value_format='JSON', timestamp='v')",
        );
        assert!(timestamp_column(&c.properties, &schema).is_err());
    }
}
