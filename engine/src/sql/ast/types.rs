//! ksqlDB column types as written in SQL.
//!
//! Column definitions, `CREATE TYPE` and `CAST` name a ksqlDB type. The parser keeps it as
//! [`SqlType`] (ksqlDB's own vocabulary: STRING, BYTES, `STRUCT<a INT>` ...) and leaves the
//! mapping to Arrow to the planner (`crate::types`). Inside expressions that go to DataFusion's
//! SQL planner, a CAST target is turned into sqlparser's `DataType` by [`SqlType::to_data_type`].

use std::fmt;

use datafusion::sql::sqlparser::ast::{
    ArrayElemTypeDef, DataType, ExactNumberInfo, Ident, ObjectName, StructBracketKind, StructField,
    TimezoneInfo,
};

/// A ksqlDB type: the primitive types, the three containers and named custom types.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SqlType {
    /// `BOOLEAN`
    Boolean,
    /// `INT` / `INTEGER`: 32-bit signed.
    Int,
    /// `BIGINT`: 64-bit signed.
    Bigint,
    /// `DOUBLE`: 64-bit float.
    Double,
    /// `DECIMAL(precision, scale)`.
    Decimal {
        /// Total number of digits.
        precision: u8,
        /// Digits after the point.
        scale: u8,
    },
    /// `STRING` / `VARCHAR`.
    String,
    /// `BYTES`.
    Bytes,
    /// `DATE`: days since the epoch.
    Date,
    /// `TIME`: milliseconds since midnight.
    Time,
    /// `TIMESTAMP`: milliseconds since the epoch, no time zone.
    Timestamp,
    /// `ARRAY<T>`.
    Array(Box<SqlType>),
    /// `MAP<K, V>`.
    Map(Box<SqlType>, Box<SqlType>),
    /// `STRUCT<name T, ...>`; field names keep the case rules of identifiers.
    Struct(Vec<StructFieldType>),
    /// A type registered with `CREATE TYPE name AS ...`, resolved by the catalog.
    Custom(Ident),
}

/// One field of a `STRUCT<...>` type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StructFieldType {
    /// Field name (upper-cased unless quoted).
    pub name: Ident,
    /// Field type.
    pub data_type: SqlType,
}

impl SqlType {
    /// The same type in sqlparser's vocabulary, for expressions handed to DataFusion's SQL planner
    /// (`CAST(x AS ARRAY<INT>)`). STRING becomes VARCHAR, BYTES becomes BYTEA, a custom type a
    /// custom name the planner resolves first.
    pub fn to_data_type(&self) -> DataType {
        match self {
            SqlType::Boolean => DataType::Boolean,
            SqlType::Int => DataType::Int(None),
            SqlType::Bigint => DataType::BigInt(None),
            SqlType::Double => DataType::Double(ExactNumberInfo::None),
            SqlType::Decimal { precision, scale } => DataType::Decimal(
                ExactNumberInfo::PrecisionAndScale(u64::from(*precision), i64::from(*scale)),
            ),
            SqlType::String => DataType::Varchar(None),
            SqlType::Bytes => DataType::Bytea,
            SqlType::Date => DataType::Date,
            SqlType::Time => DataType::Time(None, TimezoneInfo::None),
            SqlType::Timestamp => DataType::Timestamp(None, TimezoneInfo::None),
            SqlType::Array(element) => DataType::Array(ArrayElemTypeDef::AngleBracket(Box::new(
                element.to_data_type(),
            ))),
            SqlType::Map(key, value) => {
                DataType::Map(Box::new(key.to_data_type()), Box::new(value.to_data_type()))
            }
            SqlType::Struct(fields) => DataType::Struct(
                fields
                    .iter()
                    .map(|field| StructField {
                        field_name: Some(field.name.clone()),
                        field_type: field.data_type.to_data_type(),
                        options: None,
                    })
                    .collect(),
                StructBracketKind::AngleBrackets,
            ),
            SqlType::Custom(name) => {
                DataType::Custom(ObjectName::from(vec![name.clone()]), Vec::new())
            }
        }
    }
}

impl fmt::Display for SqlType {
    /// ksqlDB's spelling, as `DESCRIBE` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::Boolean => f.write_str("BOOLEAN"),
            SqlType::Int => f.write_str("INTEGER"),
            SqlType::Bigint => f.write_str("BIGINT"),
            SqlType::Double => f.write_str("DOUBLE"),
            SqlType::Decimal { precision, scale } => write!(f, "DECIMAL({precision}, {scale})"),
            SqlType::String => f.write_str("STRING"),
            SqlType::Bytes => f.write_str("BYTES"),
            SqlType::Date => f.write_str("DATE"),
            SqlType::Time => f.write_str("TIME"),
            SqlType::Timestamp => f.write_str("TIMESTAMP"),
            SqlType::Array(element) => write!(f, "ARRAY<{element}>"),
            SqlType::Map(key, value) => write!(f, "MAP<{key}, {value}>"),
            SqlType::Struct(fields) => {
                f.write_str("STRUCT<")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} {}", field.name, field.data_type)?;
                }
                f.write_str(">")
            }
            SqlType::Custom(name) => write!(f, "{name}"),
        }
    }
}
