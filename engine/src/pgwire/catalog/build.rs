//! Arrow tables built row by row: the catalog views are a few dozen small tables whose rows read
//! best as literals, one per line.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float32Builder, Int16Builder, Int32Builder, Int64Builder,
    ListBuilder, StringBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

/// One value of a catalog row.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    /// A number (any integer column).
    I(i64),
    /// A float4 column's value.
    F(f32),
    /// Text.
    S(String),
    /// A boolean.
    B(bool),
    /// An array of integers (int2vector, oidvector, int2[]).
    L(Vec<i64>),
    /// SQL NULL.
    Null,
}

impl From<&str> for V {
    fn from(s: &str) -> V {
        V::S(s.to_owned())
    }
}

impl From<String> for V {
    fn from(s: String) -> V {
        V::S(s)
    }
}

impl From<i64> for V {
    fn from(i: i64) -> V {
        V::I(i)
    }
}

impl From<bool> for V {
    fn from(b: bool) -> V {
        V::B(b)
    }
}

/// Column types of the catalog views, named as Postgres names them.
#[derive(Debug, Clone, Copy)]
pub enum Col {
    /// oid, int8: Int64.
    Oid,
    /// int4.
    Int,
    /// int2.
    Small,
    /// float4.
    Real,
    /// text, name, "char".
    Text,
    /// bool.
    Bool,
    /// text[] (ACLs, options): always NULL here.
    TextArray,
    /// int2vector / int2[] (`indkey`, `conkey`).
    SmallArray,
    /// oidvector / oid[] (`indclass`, `proargtypes`).
    OidArray,
}

impl Col {
    fn data_type(self) -> DataType {
        match self {
            Col::Oid => DataType::Int64,
            Col::Int => DataType::Int32,
            Col::Small => DataType::Int16,
            Col::Real => DataType::Float32,
            Col::Text => DataType::Utf8,
            Col::Bool => DataType::Boolean,
            Col::TextArray => DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
            Col::SmallArray => {
                DataType::List(Arc::new(Field::new_list_field(DataType::Int16, true)))
            }
            Col::OidArray => DataType::List(Arc::new(Field::new_list_field(DataType::Int64, true))),
        }
    }
}

/// The schema of `columns`.
pub fn schema(columns: &[(&str, Col)]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, col)| Field::new(*name, col.data_type(), true))
            .collect::<Vec<_>>(),
    ))
}

/// A batch of `rows` laid out as `columns`. A value of the wrong kind for its column is NULL.
pub fn batch(columns: &[(&str, Col)], rows: &[Vec<V>]) -> Result<RecordBatch, ArrowError> {
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .enumerate()
        .map(|(i, (_, col))| column(*col, rows.iter().map(|r| r.get(i).unwrap_or(&V::Null))))
        .collect();
    RecordBatch::try_new(schema(columns), arrays)
}

fn column<'a>(col: Col, values: impl Iterator<Item = &'a V>) -> ArrayRef {
    match col {
        Col::Oid => {
            let mut b = Int64Builder::new();
            values.for_each(|v| b.append_option(int(v)));
            Arc::new(b.finish())
        }
        Col::Int => {
            let mut b = Int32Builder::new();
            values.for_each(|v| b.append_option(int(v).and_then(|i| i32::try_from(i).ok())));
            Arc::new(b.finish())
        }
        Col::Small => {
            let mut b = Int16Builder::new();
            values.for_each(|v| b.append_option(int(v).and_then(|i| i16::try_from(i).ok())));
            Arc::new(b.finish())
        }
        Col::Real => {
            let mut b = Float32Builder::new();
            values.for_each(|v| {
                b.append_option(match v {
                    V::F(f) => Some(*f),
                    _ => None,
                })
            });
            Arc::new(b.finish())
        }
        Col::Text => {
            let mut b = StringBuilder::new();
            values.for_each(|v| match v {
                V::S(s) => b.append_value(s),
                _ => b.append_null(),
            });
            Arc::new(b.finish())
        }
        Col::Bool => {
            let mut b = BooleanBuilder::new();
            values.for_each(|v| {
                b.append_option(match v {
                    V::B(x) => Some(*x),
                    _ => None,
                })
            });
            Arc::new(b.finish())
        }
        Col::TextArray => {
            let mut b = ListBuilder::new(StringBuilder::new());
            values.for_each(|_| b.append_null());
            Arc::new(b.finish())
        }
        Col::SmallArray => {
            let mut b = ListBuilder::new(Int16Builder::new());
            values.for_each(|v| match v {
                V::L(items) => {
                    for i in items {
                        b.values().append_option(i16::try_from(*i).ok());
                    }
                    b.append(true);
                }
                _ => b.append_null(),
            });
            Arc::new(b.finish())
        }
        Col::OidArray => {
            let mut b = ListBuilder::new(Int64Builder::new());
            values.for_each(|v| match v {
                V::L(items) => {
                    for i in items {
                        b.values().append_value(*i);
                    }
                    b.append(true);
                }
                _ => b.append_null(),
            });
            Arc::new(b.finish())
        }
    }
}

fn int(v: &V) -> Option<i64> {
    match v {
        V::I(i) => Some(*i),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int64Type;

    #[test]
    fn rows_become_typed_columns() {
        let cols = [("oid", Col::Oid), ("name", Col::Text), ("ok", Col::Bool)];
        let b = batch(
            &cols,
            &[
                vec![V::I(1), "a".into(), V::B(true)],
                vec![V::I(2), V::Null, V::B(false)],
            ],
        )
        .unwrap();
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.column(0).as_primitive::<Int64Type>().value(1), 2);
        assert!(b.column(1).is_null(1));
        assert!(!b.column(2).as_boolean().value(1));
    }
}
