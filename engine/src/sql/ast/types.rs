//! ksqlDB column types as written in SQL.
//!
//! Column definitions, `CREATE TYPE` and `CAST` name a ksqlDB type. The parser keeps it as
//! [`TypeExpr`]: the type *as written*, which may name a custom type (`CREATE TYPE ADDRESS AS
//! STRUCT<...>`) that only the catalog can resolve. [`TypeExpr::resolve`] turns it into the
//! engine's [`crate::types::SqlType`] (which maps to Arrow) once the catalog is at hand. Inside expressions that go to DataFusion's
//! SQL planner, a CAST target is turned into sqlparser's `DataType` by [`TypeExpr::to_data_type`].

use std::fmt;

use crate::sql::ParseError;
use crate::types::{self, SqlType};
use datafusion::sql::sqlparser::ast::{
    ArrayElemTypeDef, DataType, ExactNumberInfo, Ident, ObjectName, StructBracketKind, StructField,
    TimezoneInfo,
};
use datafusion::sql::sqlparser::tokenizer::Location;

/// A ksqlDB type: the primitive types, the three containers and named custom types.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TypeExpr {
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
    Array(Box<TypeExpr>),
    /// `MAP<K, V>`.
    Map(Box<TypeExpr>, Box<TypeExpr>),
    /// `STRUCT<name T, ...>`; field names keep the case rules of identifiers.
    Struct(Vec<TypeExprField>),
    /// A type registered with `CREATE TYPE name AS ...`, resolved by the catalog.
    Custom(Ident),
}

/// One field of a `STRUCT<...>` type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TypeExprField {
    /// Field name (upper-cased unless quoted).
    pub name: Ident,
    /// Field type.
    pub data_type: TypeExpr,
}

impl TypeExpr {
    /// The engine type this stands for; `custom` looks up types registered with `CREATE TYPE`
    /// (by their normalised name). Fails on an unknown custom type, at its position.
    pub fn resolve(&self, custom: &dyn Fn(&str) -> Option<SqlType>) -> Result<SqlType, ParseError> {
        Ok(match self {
            TypeExpr::Boolean => SqlType::Boolean,
            TypeExpr::Int => SqlType::Int,
            TypeExpr::Bigint => SqlType::BigInt,
            TypeExpr::Double => SqlType::Double,
            TypeExpr::Decimal { precision, scale } => {
                SqlType::decimal(u32::from(*precision), u32::from(*scale)).map_err(|error| {
                    ParseError::new(Location { line: 0, column: 0 }, error.to_string())
                })?
            }
            TypeExpr::String => SqlType::String,
            TypeExpr::Bytes => SqlType::Bytes,
            TypeExpr::Date => SqlType::Date,
            TypeExpr::Time => SqlType::Time,
            TypeExpr::Timestamp => SqlType::Timestamp,
            TypeExpr::Array(element) => SqlType::array(element.resolve(custom)?),
            TypeExpr::Map(key, value) => SqlType::map(key.resolve(custom)?, value.resolve(custom)?),
            TypeExpr::Struct(fields) => SqlType::Struct(
                fields
                    .iter()
                    .map(|field| {
                        Ok(types::StructField::new(
                            field.name.value.clone(),
                            field.data_type.resolve(custom)?,
                        ))
                    })
                    .collect::<Result<_, ParseError>>()?,
            ),
            TypeExpr::Custom(name) => custom(&name.value).ok_or_else(|| {
                ParseError::at(name.span, format!("Unknown type: {}", name.value))
            })?,
        })
    }

    /// The same type in sqlparser's vocabulary, for expressions handed to DataFusion's SQL planner
    /// (`CAST(x AS ARRAY<INT>)`). STRING becomes VARCHAR, BYTES becomes BYTEA, a custom type a
    /// custom name the planner resolves first.
    pub fn to_data_type(&self) -> DataType {
        match self {
            TypeExpr::Boolean => DataType::Boolean,
            TypeExpr::Int => DataType::Int(None),
            TypeExpr::Bigint => DataType::BigInt(None),
            TypeExpr::Double => DataType::Double(ExactNumberInfo::None),
            TypeExpr::Decimal { precision, scale } => DataType::Decimal(
                ExactNumberInfo::PrecisionAndScale(u64::from(*precision), i64::from(*scale)),
            ),
            TypeExpr::String => DataType::Varchar(None),
            TypeExpr::Bytes => DataType::Bytea,
            TypeExpr::Date => DataType::Date,
            TypeExpr::Time => DataType::Time(None, TimezoneInfo::None),
            TypeExpr::Timestamp => DataType::Timestamp(None, TimezoneInfo::None),
            TypeExpr::Array(element) => DataType::Array(ArrayElemTypeDef::AngleBracket(Box::new(
                element.to_data_type(),
            ))),
            TypeExpr::Map(key, value) => {
                DataType::Map(Box::new(key.to_data_type()), Box::new(value.to_data_type()))
            }
            TypeExpr::Struct(fields) => DataType::Struct(
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
            TypeExpr::Custom(name) => {
                DataType::Custom(ObjectName::from(vec![name.clone()]), Vec::new())
            }
        }
    }
}

impl fmt::Display for TypeExpr {
    /// ksqlDB's spelling, as `DESCRIBE` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeExpr::Boolean => f.write_str("BOOLEAN"),
            TypeExpr::Int => f.write_str("INTEGER"),
            TypeExpr::Bigint => f.write_str("BIGINT"),
            TypeExpr::Double => f.write_str("DOUBLE"),
            TypeExpr::Decimal { precision, scale } => write!(f, "DECIMAL({precision}, {scale})"),
            TypeExpr::String => f.write_str("STRING"),
            TypeExpr::Bytes => f.write_str("BYTES"),
            TypeExpr::Date => f.write_str("DATE"),
            TypeExpr::Time => f.write_str("TIME"),
            TypeExpr::Timestamp => f.write_str("TIMESTAMP"),
            TypeExpr::Array(element) => write!(f, "ARRAY<{element}>"),
            TypeExpr::Map(key, value) => write!(f, "MAP<{key}, {value}>"),
            TypeExpr::Struct(fields) => {
                f.write_str("STRUCT<")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} {}", field.name, field.data_type)?;
                }
                f.write_str(">")
            }
            TypeExpr::Custom(name) => write!(f, "{name}"),
        }
    }
}
