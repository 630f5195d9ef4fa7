//! ksqlDB's SQL types and their Arrow representation.
//!
//! Every column Sluice knows about has a [`SqlType`]: the type a user wrote in `CREATE STREAM`
//! (`INT`, `DECIMAL(10, 2)`, `MAP<STRING, ARRAY<BIGINT>>` ...). Query execution works on Arrow
//! arrays, so each SQL type maps to exactly one Arrow [`DataType`] ([`SqlType::to_arrow`]); the
//! reverse mapping ([`SqlType::from_arrow`]) is tolerant, because DataFusion may hand back a
//! wider or differently-encoded Arrow type for an expression (`Int64` for an `INT` sum,
//! `Utf8View` for a string function) and DESCRIBE must still name it in ksqlDB's words.
//!
//! `Display` prints a type the way ksqlDB does (`INTEGER`, `DECIMAL(4, 2)`, `STRUCT<F1 STRING>`),
//! which is what DESCRIBE shows and what error messages quote.

pub mod schema;

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, TimeUnit};

pub use schema::{Column, ColumnKind, LogicalSchema, PseudoColumn, WindowKind};

/// Largest precision a ksqlDB `DECIMAL` may have (it is stored as an Arrow `Decimal128`).
pub const MAX_DECIMAL_PRECISION: u8 = 38;

/// A ksqlDB SQL type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SqlType {
    /// `BOOLEAN`.
    Boolean,
    /// `INT` / `INTEGER`: 32-bit signed.
    Int,
    /// `BIGINT`: 64-bit signed.
    BigInt,
    /// `DOUBLE`: 64-bit IEEE float.
    Double,
    /// `DECIMAL(precision, scale)`: exact, `1 <= precision <= 38`, `0 <= scale <= precision`.
    Decimal {
        /// Total number of digits.
        precision: u8,
        /// Digits after the decimal point.
        scale: u8,
    },
    /// `STRING` / `VARCHAR`.
    String,
    /// `BYTES`.
    Bytes,
    /// `DATE`: days since 1970-01-01.
    Date,
    /// `TIME`: milliseconds since midnight.
    Time,
    /// `TIMESTAMP`: milliseconds since the epoch, UTC, no zone attached.
    Timestamp,
    /// `ARRAY<T>`.
    Array(Box<SqlType>),
    /// `MAP<K, V>`. JSON, AVRO and PROTOBUF only allow `STRING` keys.
    Map(Box<SqlType>, Box<SqlType>),
    /// `STRUCT<name type, ...>`, fields in declaration order.
    Struct(Vec<StructField>),
}

/// One field of a `STRUCT` type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StructField {
    /// Field name, already normalized (upper-case unless it was quoted).
    pub name: String,
    /// Field type.
    pub sql_type: SqlType,
}

impl StructField {
    /// A struct field named `name` (taken as is) of type `sql_type`.
    pub fn new(name: impl Into<String>, sql_type: SqlType) -> Self {
        StructField {
            name: name.into(),
            sql_type,
        }
    }
}

/// A type that cannot be represented in ksqlDB (returned by [`SqlType::from_arrow`]), a
/// `DECIMAL` with impossible parameters, or a schema that names a column it lacks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypeError {
    /// DataFusion produced an Arrow type ksqlDB has no name for.
    #[error("the Arrow type {0} has no ksqlDB equivalent")]
    UnsupportedArrowType(DataType),
    /// A column named as key of a query output is not in its output.
    #[error("the query output has no column {0}")]
    MissingColumn(String),
    /// `DECIMAL(p, s)` outside `1 <= p <= 38`, `0 <= s <= p`.
    #[error(
        "DECIMAL({precision}, {scale}) is invalid: precision must be between 1 and 38 and scale between 0 and the precision"
    )]
    InvalidDecimal {
        /// Requested precision.
        precision: u32,
        /// Requested scale.
        scale: u32,
    },
}

impl SqlType {
    /// `DECIMAL(precision, scale)`, checked the way ksqlDB checks it.
    pub fn decimal(precision: u32, scale: u32) -> Result<SqlType, TypeError> {
        if precision == 0 || precision > u32::from(MAX_DECIMAL_PRECISION) || scale > precision {
            return Err(TypeError::InvalidDecimal { precision, scale });
        }
        // Both fit in u8 after the check above.
        Ok(SqlType::Decimal {
            precision: precision as u8,
            scale: scale as u8,
        })
    }

    /// `ARRAY<element>`.
    pub fn array(element: SqlType) -> SqlType {
        SqlType::Array(Box::new(element))
    }

    /// `MAP<key, value>`.
    pub fn map(key: SqlType, value: SqlType) -> SqlType {
        SqlType::Map(Box::new(key), Box::new(value))
    }

    /// The base type's name as ksqlDB spells it in "does not support type 'X'" messages
    /// (`ARRAY`, `MAP`, `STRUCT`, `INTEGER`, ...), without parameters.
    pub fn base_name(&self) -> &'static str {
        match self {
            SqlType::Boolean => "BOOLEAN",
            SqlType::Int => "INTEGER",
            SqlType::BigInt => "BIGINT",
            SqlType::Double => "DOUBLE",
            SqlType::Decimal { .. } => "DECIMAL",
            SqlType::String => "STRING",
            SqlType::Bytes => "BYTES",
            SqlType::Date => "DATE",
            SqlType::Time => "TIME",
            SqlType::Timestamp => "TIMESTAMP",
            SqlType::Array(_) => "ARRAY",
            SqlType::Map(..) => "MAP",
            SqlType::Struct(_) => "STRUCT",
        }
    }

    /// True for `ARRAY`, `MAP` and `STRUCT`.
    pub fn is_nested(&self) -> bool {
        matches!(
            self,
            SqlType::Array(_) | SqlType::Map(..) | SqlType::Struct(_)
        )
    }

    /// True if this type is a `MAP` or contains one anywhere inside (ksqlDB refuses such key
    /// columns because map serialization order is not stable).
    pub fn contains_map(&self) -> bool {
        match self {
            SqlType::Map(..) => true,
            SqlType::Array(element) => element.contains_map(),
            SqlType::Struct(fields) => fields.iter().any(|f| f.sql_type.contains_map()),
            _ => false,
        }
    }

    /// The Arrow type that holds values of this SQL type.
    ///
    /// `TIMESTAMP` is `Timestamp(Millisecond, None)`, `TIME` is `Time32(Millisecond)` and `DATE`
    /// is `Date32`, matching ksqlDB's millisecond precision. Every nested field is nullable,
    /// except a map's key, which Arrow requires to be non-null.
    pub fn to_arrow(&self) -> DataType {
        match self {
            SqlType::Boolean => DataType::Boolean,
            SqlType::Int => DataType::Int32,
            SqlType::BigInt => DataType::Int64,
            SqlType::Double => DataType::Float64,
            SqlType::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale as i8),
            SqlType::String => DataType::Utf8,
            SqlType::Bytes => DataType::Binary,
            SqlType::Date => DataType::Date32,
            SqlType::Time => DataType::Time32(TimeUnit::Millisecond),
            SqlType::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, None),
            SqlType::Array(element) => {
                DataType::List(Arc::new(Field::new("item", element.to_arrow(), true)))
            }
            SqlType::Map(key, value) => DataType::Map(map_entries_field(key, value), false),
            SqlType::Struct(fields) => DataType::Struct(struct_fields(fields)),
        }
    }

    /// The SQL type of an Arrow type. Integer widths up to 32 bits read as `INT`, 64-bit
    /// (and unsigned 32-bit) as `BIGINT`, any float as `DOUBLE`, any string or binary encoding
    /// as `STRING` / `BYTES`, any timestamp unit as `TIMESTAMP`.
    pub fn from_arrow(data_type: &DataType) -> Result<SqlType, TypeError> {
        Ok(match data_type {
            DataType::Boolean => SqlType::Boolean,
            DataType::Int8 | DataType::Int16 | DataType::Int32 => SqlType::Int,
            DataType::UInt8 | DataType::UInt16 => SqlType::Int,
            DataType::Int64 | DataType::UInt32 => SqlType::BigInt,
            DataType::Float16 | DataType::Float32 | DataType::Float64 => SqlType::Double,
            DataType::Decimal32(p, s)
            | DataType::Decimal64(p, s)
            | DataType::Decimal128(p, s)
            | DataType::Decimal256(p, s)
                if *p <= MAX_DECIMAL_PRECISION && *s >= 0 =>
            {
                SqlType::Decimal {
                    precision: *p,
                    scale: *s as u8,
                }
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => SqlType::String,
            DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_) => SqlType::Bytes,
            DataType::Date32 | DataType::Date64 => SqlType::Date,
            DataType::Time32(_) | DataType::Time64(_) => SqlType::Time,
            DataType::Timestamp(_, _) => SqlType::Timestamp,
            DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
                SqlType::array(SqlType::from_arrow(f.data_type())?)
            }
            DataType::Map(entries, _) => match entries.data_type() {
                DataType::Struct(kv) if kv.len() == 2 => SqlType::map(
                    SqlType::from_arrow(kv[0].data_type())?,
                    SqlType::from_arrow(kv[1].data_type())?,
                ),
                _ => return Err(TypeError::UnsupportedArrowType(data_type.clone())),
            },
            DataType::Struct(fields) => SqlType::Struct(
                fields
                    .iter()
                    .map(|f| {
                        Ok(StructField::new(
                            f.name(),
                            SqlType::from_arrow(f.data_type())?,
                        ))
                    })
                    .collect::<Result<_, TypeError>>()?,
            ),
            DataType::Dictionary(_, value) => SqlType::from_arrow(value)?,
            other => return Err(TypeError::UnsupportedArrowType(other.clone())),
        })
    }
}

/// The `entries` field of the Arrow map type for `MAP<key, value>`.
fn map_entries_field(key: &SqlType, value: &SqlType) -> Arc<Field> {
    let entries = Fields::from(vec![
        Field::new("key", key.to_arrow(), false),
        Field::new("value", value.to_arrow(), true),
    ]);
    Arc::new(Field::new("entries", DataType::Struct(entries), false))
}

fn struct_fields(fields: &[StructField]) -> Fields {
    fields
        .iter()
        .map(|f| Field::new(&f.name, f.sql_type.to_arrow(), true))
        .collect()
}

/// True if `name` can be written without back-quotes: an upper-case identifier that ksqlDB's
/// parser would give back unchanged.
pub fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Writes `name` as ksqlDB prints identifiers: plain when it needs no quoting, otherwise in
/// back-quotes (`` `lower` ``) with any back-quote doubled.
pub fn write_identifier(f: &mut impl fmt::Write, name: &str) -> fmt::Result {
    if is_plain_identifier(name) {
        f.write_str(name)
    } else {
        write!(f, "`{}`", name.replace('`', "``"))
    }
}

/// Normalizes an identifier as ksqlDB's parser does: unquoted names are upper-cased, quoted
/// names are kept exactly.
pub fn normalize_identifier(name: &str, quoted: bool) -> String {
    if quoted {
        name.to_string()
    } else {
        name.to_uppercase()
    }
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::Decimal { precision, scale } => write!(f, "DECIMAL({precision}, {scale})"),
            SqlType::Array(element) => write!(f, "ARRAY<{element}>"),
            SqlType::Map(key, value) => write!(f, "MAP<{key}, {value}>"),
            SqlType::Struct(fields) if fields.is_empty() => f.write_str("STRUCT< >"),
            SqlType::Struct(fields) => {
                f.write_str("STRUCT<")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_identifier(f, &field.name)?;
                    write!(f, " {}", field.sql_type)?;
                }
                f.write_str(">")
            }
            other => f.write_str(other.base_name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested() -> SqlType {
        SqlType::Struct(vec![
            StructField::new("F1", SqlType::String),
            StructField::new("Name", SqlType::array(SqlType::Int)),
            StructField::new(
                "M",
                SqlType::map(SqlType::String, SqlType::decimal(4, 2).unwrap()),
            ),
        ])
    }

    #[test]
    fn display_uses_ksqldb_spelling() {
        assert_eq!(SqlType::Int.to_string(), "INTEGER");
        assert_eq!(
            SqlType::decimal(21, 19).unwrap().to_string(),
            "DECIMAL(21, 19)"
        );
        assert_eq!(
            SqlType::map(SqlType::Int, SqlType::Double).to_string(),
            "MAP<INTEGER, DOUBLE>"
        );
        assert_eq!(
            nested().to_string(),
            "STRUCT<F1 STRING, `Name` ARRAY<INTEGER>, M MAP<STRING, DECIMAL(4, 2)>>"
        );
        assert_eq!(SqlType::Struct(vec![]).to_string(), "STRUCT< >");
    }

    #[test]
    fn arrow_round_trip_for_every_type() {
        let types = vec![
            SqlType::Boolean,
            SqlType::Int,
            SqlType::BigInt,
            SqlType::Double,
            SqlType::decimal(38, 0).unwrap(),
            SqlType::String,
            SqlType::Bytes,
            SqlType::Date,
            SqlType::Time,
            SqlType::Timestamp,
            SqlType::array(SqlType::array(SqlType::String)),
            nested(),
        ];
        for t in types {
            assert_eq!(SqlType::from_arrow(&t.to_arrow()).unwrap(), t, "{t}");
        }
    }

    #[test]
    fn from_arrow_widens_what_datafusion_produces() {
        assert_eq!(
            SqlType::from_arrow(&DataType::Utf8View).unwrap(),
            SqlType::String
        );
        assert_eq!(SqlType::from_arrow(&DataType::Int16).unwrap(), SqlType::Int);
        assert_eq!(
            SqlType::from_arrow(&DataType::Timestamp(TimeUnit::Nanosecond, None)).unwrap(),
            SqlType::Timestamp
        );
        assert!(SqlType::from_arrow(&DataType::Null).is_err());
    }

    #[test]
    fn decimal_parameters_are_checked() {
        assert!(SqlType::decimal(0, 0).is_err());
        assert!(SqlType::decimal(39, 0).is_err());
        assert!(SqlType::decimal(4, 5).is_err());
        assert_eq!(
            SqlType::decimal(4, 4).unwrap(),
            SqlType::Decimal {
                precision: 4,
                scale: 4
            }
        );
    }

    #[test]
    fn contains_map_looks_inside_nested_types() {
        assert!(nested().contains_map());
        assert!(!SqlType::array(SqlType::Int).contains_map());
    }

    #[test]
    fn identifiers_normalize_and_quote() {
        assert_eq!(normalize_identifier("foo", false), "FOO");
        assert_eq!(normalize_identifier("foo", true), "foo");
        let mut s = String::new();
        write_identifier(&mut s, "a`b").unwrap();
        assert_eq!(s, "`a``b`");
    }
}
