//! ksqlDB's `MAP<K, V>` in `CAST`s, for DataFusion's SQL planner.
//!
//! DataFusion's planner knows `ARRAY<T>` and `STRUCT<...>` but refuses `MAP<K, V>` (`Unsupported
//! SQL type Map(VARCHAR, INT)`), so `CAST(x AS MAP<STRING, INT>)` and `CAST(NULL AS MAP<...>)`
//! failed. [`KsqlTypePlanner`] turns every type that contains a MAP (at any depth: `ARRAY<MAP<..>>`,
//! `MAP<STRING, MAP<STRING, INT>>`) into the Arrow type Sluice stores such values in
//! ([`SqlType::to_arrow`]), and leaves every other type to DataFusion.

use std::sync::Arc;

use datafusion::arrow::datatypes::{Field, FieldRef};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::planner::TypePlanner;
use datafusion::sql::sqlparser::ast::{ArrayElemTypeDef, DataType as Sql, ExactNumberInfo};

use crate::types::{SqlType, StructField};

/// Plans SQL types containing a MAP, which DataFusion's planner cannot.
#[derive(Debug, Default)]
pub struct KsqlTypePlanner;

impl TypePlanner for KsqlTypePlanner {
    fn plan_type_field(&self, sql_type: &Sql) -> Result<Option<FieldRef>> {
        if !contains_map(sql_type) {
            return Ok(None);
        }
        let sql = to_sql_type(sql_type)?;
        Ok(Some(Arc::new(Field::new("", sql.to_arrow(), true))))
    }
}

/// Whether `t` is or contains a MAP.
fn contains_map(t: &Sql) -> bool {
    match t {
        Sql::Map(_, _) => true,
        Sql::Array(ArrayElemTypeDef::AngleBracket(e) | ArrayElemTypeDef::SquareBracket(e, _)) => {
            contains_map(e)
        }
        Sql::Struct(fields, _) => fields.iter().any(|f| contains_map(&f.field_type)),
        _ => false,
    }
}

/// The ksqlDB type of a sqlparser type, for the types a ksqlDB statement can spell.
fn to_sql_type(t: &Sql) -> Result<SqlType> {
    Ok(match t {
        Sql::Boolean | Sql::Bool => SqlType::Boolean,
        Sql::Int(_) | Sql::Integer(_) | Sql::SmallInt(_) | Sql::TinyInt(_) => SqlType::Int,
        Sql::BigInt(_) => SqlType::BigInt,
        Sql::Double(_) | Sql::DoublePrecision | Sql::Float(_) | Sql::Real => SqlType::Double,
        Sql::Decimal(ExactNumberInfo::PrecisionAndScale(p, s))
        | Sql::Numeric(ExactNumberInfo::PrecisionAndScale(p, s)) => {
            match (u32::try_from(*p), u32::try_from(*s)) {
                (Ok(p), Ok(s)) => SqlType::decimal(p, s).or_else(|e| plan_err!("{e}"))?,
                _ => return plan_err!("Invalid DECIMAL({p}, {s})"),
            }
        }
        Sql::Decimal(ExactNumberInfo::Precision(p))
        | Sql::Numeric(ExactNumberInfo::Precision(p)) => match u32::try_from(*p) {
            Ok(p) => SqlType::decimal(p, 0).or_else(|e| plan_err!("{e}"))?,
            Err(_) => return plan_err!("Invalid DECIMAL({p})"),
        },
        Sql::Varchar(_) | Sql::String(_) | Sql::Text | Sql::Char(_) | Sql::CharVarying(_) => {
            SqlType::String
        }
        Sql::Bytea => SqlType::Bytes,
        Sql::Date => SqlType::Date,
        Sql::Time(_, _) => SqlType::Time,
        Sql::Timestamp(_, _) => SqlType::Timestamp,
        Sql::Array(ArrayElemTypeDef::AngleBracket(e) | ArrayElemTypeDef::SquareBracket(e, _)) => {
            SqlType::array(to_sql_type(e)?)
        }
        Sql::Map(k, v) => SqlType::map(to_sql_type(k)?, to_sql_type(v)?),
        Sql::Struct(fields, _) => SqlType::Struct(
            fields
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let name = f
                        .field_name
                        .as_ref()
                        .map(|n| n.value.clone())
                        .unwrap_or_else(|| format!("c{i}"));
                    Ok(StructField::new(name, to_sql_type(&f.field_type)?))
                })
                .collect::<Result<_>>()?,
        ),
        other => return plan_err!("Unsupported type in a MAP: {other}"),
    })
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::DataType;

    use super::*;

    fn map(k: Sql, v: Sql) -> Sql {
        Sql::Map(Box::new(k), Box::new(v))
    }

    fn planned(t: &Sql) -> Option<DataType> {
        KsqlTypePlanner
            .plan_type_field(t)
            .unwrap()
            .map(|f| f.data_type().clone())
    }

    #[test]
    fn plans_a_map_as_sluice_stores_it() {
        let t = map(Sql::Varchar(None), Sql::Int(None));
        let expected = SqlType::map(SqlType::String, SqlType::Int).to_arrow();
        assert_eq!(planned(&t), Some(expected));
    }

    #[test]
    fn plans_maps_at_any_depth() {
        let nested = map(Sql::Varchar(None), map(Sql::Varchar(None), Sql::Int(None)));
        let t = Sql::Array(ArrayElemTypeDef::AngleBracket(Box::new(nested)));
        let expected = SqlType::array(SqlType::map(
            SqlType::String,
            SqlType::map(SqlType::String, SqlType::Int),
        ))
        .to_arrow();
        assert_eq!(planned(&t), Some(expected));
    }

    #[test]
    fn types_without_a_map_are_left_to_datafusion() {
        assert_eq!(planned(&Sql::Int(None)), None);
        let array = Sql::Array(ArrayElemTypeDef::AngleBracket(Box::new(Sql::BigInt(None))));
        assert_eq!(planned(&array), None);
    }

    #[test]
    fn a_type_ksqldb_cannot_spell_inside_a_map_is_an_error() {
        let t = map(Sql::Varchar(None), Sql::JSON);
        assert!(KsqlTypePlanner.plan_type_field(&t).is_err());
    }
}
