//! Functions that build collections from other values: GENERATE_SERIES (a range of numbers as
//! an array) and ENTRIES (a map's entries as an array of `STRUCT<K, V>`).

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, GenericListArray, Int64Array, StructArray, UInt32Array,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::ScalarUDF;

use super::{Comparator, list_type};
use crate::functions::args::{bigints, booleans, maps, p};
use crate::functions::udf::{Category, FunctionSpec, KsqlUdf, Param as P, Sig};

/// GENERATE_SERIES's and ENTRIES's specs, for the catalog.
pub const SPECS: &[FunctionSpec] = &[GENERATE_SERIES, ENTRIES];

/// GENERATE_SERIES and ENTRIES as UDFs.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        KsqlUdf::new(&GENERATE_SERIES, series_type, generate_series)
            .with_coerce(series_coerce)
            .into_udf(),
        KsqlUdf::new(&ENTRIES, entries_type, entries).into_udf(),
    ]
}

/// The most elements GENERATE_SERIES builds for one row, so one typo cannot exhaust memory.
pub const MAX_SERIES_LENGTH: i64 = 10_000_000;

const GENERATE_SERIES: FunctionSpec = FunctionSpec {
    name: "GENERATE_SERIES",
    aliases: &[],
    category: Category::Array,
    description: "The numbers from start to end inclusive, by step (1 or -1 by default), as an array. A zero step, or one moving away from end, is an error.",
    sigs: &[
        Sig::new(&[P::BigInt, P::BigInt], "ARRAY<BIGINT>"),
        Sig::new(&[P::BigInt, P::BigInt, P::BigInt], "ARRAY<BIGINT>"),
    ],
};
const ENTRIES: FunctionSpec = FunctionSpec {
    name: "ENTRIES",
    aliases: &[],
    category: Category::Map,
    description: "A map's entries as an array of STRUCT<K, V>, sorted by key if sorted is true.",
    sigs: &[Sig::new(&[P::Map, P::Bool], "ARRAY<STRUCT<K, V>>")],
};

/// Computes in BIGINT and returns `ARRAY<BIGINT>` whatever the bounds' integer type (ksqlDB
/// returns `ARRAY<INT>` for INT bounds; DataFusion types integer literals as BIGINT anyway).
fn series_coerce(spec: &FunctionSpec, args: &[DataType]) -> Result<Vec<DataType>> {
    spec.resolve(args)?;
    if !(2..=3).contains(&args.len()) {
        return plan_err!("Function 'GENERATE_SERIES' takes start, end and an optional step");
    }
    Ok(vec![DataType::Int64; args.len()])
}

fn series_type(_: &[DataType]) -> Result<DataType> {
    Ok(list_type(DataType::Int64))
}

fn generate_series(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let (start, end) = (bigints(a, 0)?, bigints(a, 1)?);
    let step = if a.len() > 2 {
        Some(bigints(a, 2)?)
    } else {
        None
    };
    let mut offsets = vec![0_i32];
    let (mut values, mut valid) = (Vec::new(), Vec::with_capacity(n));
    for i in 0..n {
        let (Some(s), Some(e)) = (p(start, i), p(end, i)) else {
            valid.push(false);
            offsets.push(values.len() as i32);
            continue;
        };
        let st = match step {
            None => Some(if e >= s { 1 } else { -1 }),
            Some(st) => p(st, i),
        };
        let Some(st) = st else {
            valid.push(false);
            offsets.push(values.len() as i32);
            continue;
        };
        if st == 0 {
            return exec_err!("GENERATE_SERIES step cannot be zero");
        }
        if (e > s && st < 0) || (e < s && st > 0) {
            return exec_err!("GENERATE_SERIES step has the wrong sign to go from {s} to {e}");
        }
        if (i128::from(e) - i128::from(s)) / i128::from(st) >= i128::from(MAX_SERIES_LENGTH) {
            return exec_err!("GENERATE_SERIES would build more than {MAX_SERIES_LENGTH} elements");
        }
        let mut x = s;
        while (st > 0 && x <= e) || (st < 0 && x >= e) {
            values.push(x);
            match x.checked_add(st) {
                Some(next) => x = next,
                None => break,
            }
        }
        valid.push(true);
        offsets.push(values.len() as i32);
    }
    let list = GenericListArray::<i32>::try_new(
        Arc::new(Field::new("item", DataType::Int64, true)),
        OffsetBuffer::new(offsets.into()),
        Arc::new(Int64Array::from(values)),
        Some(valid.into()),
    )?;
    Ok(Arc::new(list))
}

fn entry_struct(key: DataType, value: DataType) -> DataType {
    DataType::Struct(Fields::from(vec![
        Field::new("K", key, true),
        Field::new("V", value, true),
    ]))
}

fn entries_type(args: &[DataType]) -> Result<DataType> {
    match args.first() {
        Some(DataType::Map(entries, _)) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => Ok(list_type(entry_struct(
                kv[0].data_type().clone(),
                kv[1].data_type().clone(),
            ))),
            _ => plan_err!("ENTRIES needs a MAP"),
        },
        _ => Ok(list_type(entry_struct(DataType::Null, DataType::Null))),
    }
}

fn entries(a: &[ArrayRef], n: usize, rt: &DataType) -> Result<ArrayRef> {
    let map = maps(a, 0)?;
    let sorted = booleans(a, 1)?;
    let (keys, values) = (map.keys(), map.values());
    let cmp = Comparator::new(keys, keys, false);
    let mut offsets = vec![0_i32];
    let (mut indices, mut valid) = (Vec::new(), Vec::with_capacity(n));
    for i in 0..n {
        if map.is_null(i) || sorted.is_null(i) {
            valid.push(false);
            offsets.push(indices.len() as i32);
            continue;
        }
        let o = map.value_offsets();
        let mut row: Vec<u32> = (o[i] as u32..o[i + 1] as u32).collect();
        if sorted.value(i) {
            row.sort_by(|&x, &y| cmp.cmp(x as usize, y as usize));
        }
        indices.extend(row);
        valid.push(true);
        offsets.push(indices.len() as i32);
    }
    let index = UInt32Array::from(indices);
    let (k, v) = (
        take(keys.as_ref(), &index, None)?,
        take(values.as_ref(), &index, None)?,
    );
    let DataType::List(item) = rt else {
        return exec_err!("ENTRIES must return an ARRAY, not {rt}");
    };
    let DataType::Struct(fields) = item.data_type() else {
        return exec_err!("ENTRIES must return an ARRAY of STRUCT");
    };
    let structs = StructArray::try_new(fields.clone(), vec![k, v], None)?;
    let list = GenericListArray::<i32>::try_new(
        Arc::clone(item),
        OffsetBuffer::new(offsets.into()),
        Arc::new(structs),
        Some(valid.into()),
    )?;
    Ok(Arc::new(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_bounds() {
        let run = |s: i64, e: i64, st: Option<i64>| -> Result<Vec<i64>> {
            let mut args: Vec<ArrayRef> = vec![
                Arc::new(Int64Array::from(vec![s])),
                Arc::new(Int64Array::from(vec![e])),
            ];
            if let Some(st) = st {
                args.push(Arc::new(Int64Array::from(vec![st])));
            }
            let out = generate_series(&args, 1, &DataType::Null)?;
            let list = out
                .as_any()
                .downcast_ref::<GenericListArray<i32>>()
                .cloned();
            let values = list.map(|l| l.value(0));
            Ok(values
                .and_then(|v| {
                    v.as_any()
                        .downcast_ref::<Int64Array>()
                        .map(|x| x.values().to_vec())
                })
                .unwrap_or_default())
        };
        assert_eq!(run(1, 3, None).ok(), Some(vec![1, 2, 3]));
        assert_eq!(run(3, 1, None).ok(), Some(vec![3, 2, 1]));
        assert_eq!(run(0, 10, Some(5)).ok(), Some(vec![0, 5, 10]));
        assert!(run(0, 10, Some(0)).is_err());
        assert!(run(0, 10, Some(-1)).is_err());
    }
}
