//! Typed access to a UDF's argument arrays, and the common return-type rules.
//!
//! Overload resolution ([`super::udf`]) has already coerced every argument to its canonical Arrow
//! type, so a mismatch here is a bug in Sluice, reported as an internal error rather than a panic.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Float64Array, GenericListArray,
    Int32Array, Int64Array, MapArray, MapFieldNames, PrimitiveArray, StringArray,
};
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Decimal128Type, Field, Float64Type, Int32Type,
    Int64Type, Time32MillisecondType, TimeUnit, TimestampMillisecondType,
};
use datafusion::common::{Result, internal_datafusion_err};

/// The `i`-th argument (an internal error if the call has fewer).
pub fn arg(args: &[ArrayRef], i: usize) -> Result<&ArrayRef> {
    args.get(i)
        .ok_or_else(|| internal_datafusion_err!("function called without argument {}", i + 1))
}

fn prim<T: ArrowPrimitiveType>(args: &[ArrayRef], i: usize) -> Result<&PrimitiveArray<T>> {
    let a = arg(args, i)?;
    a.as_primitive_opt::<T>().ok_or_else(|| {
        internal_datafusion_err!(
            "argument {} is {}, not {}",
            i + 1,
            a.data_type(),
            T::DATA_TYPE
        )
    })
}

/// A `STRING` argument.
pub fn strings(args: &[ArrayRef], i: usize) -> Result<&StringArray> {
    let a = arg(args, i)?;
    a.as_string_opt::<i32>().ok_or_else(|| {
        internal_datafusion_err!("argument {} is {}, not Utf8", i + 1, a.data_type())
    })
}

/// A `BYTES` argument.
pub fn binaries(args: &[ArrayRef], i: usize) -> Result<&BinaryArray> {
    let a = arg(args, i)?;
    a.as_binary_opt::<i32>().ok_or_else(|| {
        internal_datafusion_err!("argument {} is {}, not Binary", i + 1, a.data_type())
    })
}

/// A `BOOLEAN` argument.
pub fn booleans(args: &[ArrayRef], i: usize) -> Result<&BooleanArray> {
    let a = arg(args, i)?;
    a.as_boolean_opt().ok_or_else(|| {
        internal_datafusion_err!("argument {} is {}, not Boolean", i + 1, a.data_type())
    })
}

/// An `INT` argument.
pub fn ints(args: &[ArrayRef], i: usize) -> Result<&Int32Array> {
    prim::<Int32Type>(args, i)
}

/// A `BIGINT` argument.
pub fn bigints(args: &[ArrayRef], i: usize) -> Result<&Int64Array> {
    prim::<Int64Type>(args, i)
}

/// A `DOUBLE` argument.
pub fn doubles(args: &[ArrayRef], i: usize) -> Result<&Float64Array> {
    prim::<Float64Type>(args, i)
}

/// A `DECIMAL` argument.
pub fn decimals(args: &[ArrayRef], i: usize) -> Result<&PrimitiveArray<Decimal128Type>> {
    prim::<Decimal128Type>(args, i)
}

/// A `DATE` argument (days since the epoch).
pub fn dates(args: &[ArrayRef], i: usize) -> Result<&PrimitiveArray<Date32Type>> {
    prim::<Date32Type>(args, i)
}

/// A `TIME` argument (milliseconds since midnight).
pub fn times(args: &[ArrayRef], i: usize) -> Result<&PrimitiveArray<Time32MillisecondType>> {
    prim::<Time32MillisecondType>(args, i)
}

/// A `TIMESTAMP` argument (milliseconds since the epoch).
pub fn timestamps(
    args: &[ArrayRef],
    i: usize,
) -> Result<&PrimitiveArray<TimestampMillisecondType>> {
    prim::<TimestampMillisecondType>(args, i)
}

/// An `ARRAY` argument.
pub fn lists(args: &[ArrayRef], i: usize) -> Result<&GenericListArray<i32>> {
    let a = arg(args, i)?;
    a.as_list_opt::<i32>().ok_or_else(|| {
        internal_datafusion_err!("argument {} is {}, not List", i + 1, a.data_type())
    })
}

/// A `MAP` argument.
pub fn maps(args: &[ArrayRef], i: usize) -> Result<&MapArray> {
    let a = arg(args, i)?;
    a.as_map_opt()
        .ok_or_else(|| internal_datafusion_err!("argument {} is {}, not Map", i + 1, a.data_type()))
}

/// Row `i` of a string array, `None` when NULL.
pub fn s(a: &StringArray, i: usize) -> Option<&str> {
    a.is_valid(i).then(|| a.value(i))
}

/// Row `i` of a binary array, `None` when NULL.
pub fn b(a: &BinaryArray, i: usize) -> Option<&[u8]> {
    a.is_valid(i).then(|| a.value(i))
}

/// Row `i` of a primitive array, `None` when NULL.
pub fn p<T: ArrowPrimitiveType>(a: &PrimitiveArray<T>, i: usize) -> Option<T::Native> {
    a.is_valid(i).then(|| a.value(i))
}

/// Row `i` of an optional argument: `Some(None)` when the argument is absent, so callers can
/// tell "not given" (use the default) from "given as NULL".
pub fn opt_s(a: Option<&StringArray>, i: usize) -> Option<Option<&str>> {
    match a {
        None => Some(None),
        Some(a) => s(a, i).map(Some),
    }
}

/// Wraps an array as the `ArrayRef` UDFs return.
pub fn out<A: Array + 'static>(a: A) -> Result<ArrayRef> {
    Ok(Arc::new(a))
}

/// The `List<item>` type of an `ARRAY<element>`.
pub fn list_of(element: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", element, true)))
}

/// The names of a map's entries, key and value fields (`MapBuilder` defaults differ).
pub fn map_field_names() -> MapFieldNames {
    MapFieldNames {
        entry: "entries".into(),
        key: "key".into(),
        value: "value".into(),
    }
}

/// The `Map` type of a `MAP<key, value>`, laid out as Sluice's types module lays it out.
pub fn map_of(key: DataType, value: DataType) -> DataType {
    let entries = Field::new(
        "entries",
        DataType::Struct(
            vec![
                Field::new("key", key, false),
                Field::new("value", value, true),
            ]
            .into(),
        ),
        false,
    );
    DataType::Map(Arc::new(entries), false)
}

/// Return types that do not depend on the arguments, as `fn` items for [`super::udf::KsqlUdf`].
pub mod ret {
    use super::*;

    /// `STRING`.
    pub fn string(_: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    /// `BYTES`.
    pub fn bytes(_: &[DataType]) -> Result<DataType> {
        Ok(DataType::Binary)
    }
    /// `INT`.
    pub fn int(_: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }
    /// `BIGINT`.
    pub fn bigint(_: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    /// `DOUBLE`.
    pub fn double(_: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }
    /// `BOOLEAN`.
    pub fn boolean(_: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }
    /// `DATE`.
    pub fn date(_: &[DataType]) -> Result<DataType> {
        Ok(DataType::Date32)
    }
    /// `TIME`.
    pub fn time(_: &[DataType]) -> Result<DataType> {
        Ok(DataType::Time32(TimeUnit::Millisecond))
    }
    /// `TIMESTAMP`.
    pub fn timestamp(_: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(TimeUnit::Millisecond, None))
    }
    /// `ARRAY<STRING>`.
    pub fn string_array(_: &[DataType]) -> Result<DataType> {
        Ok(list_of(DataType::Utf8))
    }
    /// `MAP<STRING, STRING>`.
    pub fn string_map(_: &[DataType]) -> Result<DataType> {
        Ok(map_of(DataType::Utf8, DataType::Utf8))
    }
    /// The type of the first argument exactly, `NULL` included.
    pub fn same(args: &[DataType]) -> Result<DataType> {
        Ok(args.first().cloned().unwrap_or(DataType::Null))
    }
    /// The type of the first argument (`STRING` when there is none).
    pub fn first(args: &[DataType]) -> Result<DataType> {
        Ok(match args.first() {
            Some(DataType::Null) | None => DataType::Utf8,
            Some(t) => t.clone(),
        })
    }
}
