//! MAP_KEYS, MAP_VALUES, MAP_UNION and AS_MAP.

use std::ops::Range;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, MapArray, StructArray, UInt32Array};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::{concat, take};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::ScalarUDF;

use super::{Comparator, as_list_type, build_list, element_field, list_type};
use crate::functions::args::{lists, maps};
use crate::functions::udf::{Category, FunctionSpec, KsqlUdf, Param as P, Sig, ksql_type_name};

/// Every map function's spec, for the catalog.
pub const SPECS: &[FunctionSpec] = &[MAP_KEYS, MAP_VALUES, MAP_UNION, AS_MAP];

/// The map functions as UDFs.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        KsqlUdf::new(&MAP_KEYS, keys_type, map_keys).into_udf(),
        KsqlUdf::new(&MAP_VALUES, values_type, map_values).into_udf(),
        KsqlUdf::new(&MAP_UNION, union_type, map_union)
            .with_coerce(union_coerce)
            .handles_null()
            .into_udf(),
        KsqlUdf::new(&AS_MAP, as_map_type, as_map)
            .with_coerce(as_map_coerce)
            .into_udf(),
    ]
}

const M: Category = Category::Map;
const MAP_KEYS: FunctionSpec = FunctionSpec {
    name: "MAP_KEYS",
    aliases: &[],
    category: M,
    description: "The keys of a map, as an array.",
    sigs: &[Sig::new(&[P::Map], "ARRAY<K>")],
};
const MAP_VALUES: FunctionSpec = FunctionSpec {
    name: "MAP_VALUES",
    aliases: &[],
    category: M,
    description: "The values of a map, as an array.",
    sigs: &[Sig::new(&[P::Map], "ARRAY<V>")],
};
const MAP_UNION: FunctionSpec = FunctionSpec {
    name: "MAP_UNION",
    aliases: &[],
    category: M,
    description: "The entries of both maps; for a key in both, the second map's value wins. A NULL map counts as empty; NULL if both are NULL.",
    sigs: &[Sig::new(&[P::Map, P::Map], "MAP<K, V>")],
};
const AS_MAP: FunctionSpec = FunctionSpec {
    name: "AS_MAP",
    aliases: &[],
    category: M,
    description: "A map from the keys array to the values array, paired by position; a key without a value maps to NULL.",
    sigs: &[Sig::new(&[P::Array, P::Array], "MAP<VARCHAR, T>")],
};

/// The key and value fields of a map type.
fn entry_fields(t: &DataType) -> Option<(FieldRef, FieldRef)> {
    match t {
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => Some((kv[0].clone(), kv[1].clone())),
            _ => None,
        },
        _ => None,
    }
}

fn keys_type(args: &[DataType]) -> Result<DataType> {
    match args.first().and_then(entry_fields) {
        Some((k, _)) => Ok(list_type(k.data_type().clone())),
        None => Ok(list_type(DataType::Null)),
    }
}

fn values_type(args: &[DataType]) -> Result<DataType> {
    match args.first().and_then(entry_fields) {
        Some((_, v)) => Ok(list_type(v.data_type().clone())),
        None => Ok(list_type(DataType::Null)),
    }
}

fn union_coerce(spec: &FunctionSpec, args: &[DataType]) -> Result<Vec<DataType>> {
    spec.resolve(args)?;
    let typed: Vec<&DataType> = args
        .iter()
        .filter(|t| !matches!(t, DataType::Null))
        .collect();
    let Some(first) = typed.first() else {
        return plan_err!("Function 'MAP_UNION' needs at least one MAP that is not NULL");
    };
    if typed.iter().any(|t| entry_fields(t) != entry_fields(first)) {
        let names: Vec<String> = args.iter().map(ksql_type_name).collect();
        return plan_err!(
            "Function 'MAP_UNION' needs maps of one type, got ({})",
            names.join(", ")
        );
    }
    Ok(vec![(*first).clone(); args.len()])
}

fn union_type(args: &[DataType]) -> Result<DataType> {
    Ok(args.first().cloned().unwrap_or(DataType::Null))
}

fn as_map_coerce(spec: &FunctionSpec, args: &[DataType]) -> Result<Vec<DataType>> {
    spec.resolve(args)?;
    let keys = list_type(DataType::Utf8);
    let values = as_list_type(spec, args, 1)?;
    Ok(vec![keys, values])
}

fn as_map_type(args: &[DataType]) -> Result<DataType> {
    let value = args
        .get(1)
        .and_then(element_field)
        .map(|f| f.data_type().clone())
        .unwrap_or(DataType::Null);
    Ok(crate::functions::args::map_of(DataType::Utf8, value))
}

fn entries_range(map: &MapArray, i: usize) -> Option<Range<usize>> {
    if map.is_null(i) {
        return None;
    }
    let offsets = map.value_offsets();
    Some(offsets[i] as usize..offsets[i + 1] as usize)
}

fn map_keys(a: &[ArrayRef], n: usize, rt: &DataType) -> Result<ArrayRef> {
    let map = maps(a, 0)?;
    let rows = (0..n)
        .map(|i| entries_range(map, i).map(|r| r.map(|j| j as u32).collect()))
        .collect();
    let Some(field) = element_field(rt) else {
        return exec_err!("MAP_KEYS must return an ARRAY, not {rt}");
    };
    build_list(field, map.keys(), rows)
}

fn map_values(a: &[ArrayRef], n: usize, rt: &DataType) -> Result<ArrayRef> {
    let map = maps(a, 0)?;
    let rows = (0..n)
        .map(|i| entries_range(map, i).map(|r| r.map(|j| j as u32).collect()))
        .collect();
    let Some(field) = element_field(rt) else {
        return exec_err!("MAP_VALUES must return an ARRAY, not {rt}");
    };
    build_list(field, map.values(), rows)
}

/// One output map row: `(key index, value index)` per entry; `None` for a NULL map.
type MapRow = Option<Vec<(u32, Option<u32>)>>;

/// Builds a map whose row `r` holds entries `(keys[k], values[v])` for each pair, NULL if `None`.
fn build_map(
    map_type: &DataType,
    keys: &ArrayRef,
    values: &ArrayRef,
    rows: Vec<MapRow>,
) -> Result<ArrayRef> {
    let DataType::Map(entries_field, sorted) = map_type else {
        return exec_err!("expected a MAP type, not {map_type}");
    };
    let DataType::Struct(fields) = entries_field.data_type() else {
        return exec_err!("a MAP's entries must be a STRUCT");
    };
    let mut offsets = vec![0_i32];
    let (mut key_idx, mut value_idx, mut valid) = (Vec::new(), Vec::new(), Vec::new());
    for row in rows {
        valid.push(row.is_some());
        for (k, v) in row.unwrap_or_default() {
            key_idx.push(k);
            value_idx.push(v);
        }
        offsets.push(key_idx.len() as i32);
    }
    let k = take(keys.as_ref(), &UInt32Array::from(key_idx), None)?;
    let v = take(values.as_ref(), &UInt32Array::from(value_idx), None)?;
    let fields: Fields = vec![
        Arc::new(Field::new(fields[0].name(), k.data_type().clone(), false)),
        Arc::new(Field::new(fields[1].name(), v.data_type().clone(), true)),
    ]
    .into();
    let entries = StructArray::try_new(fields, vec![k, v], None)?;
    let map = MapArray::try_new(
        Arc::clone(entries_field),
        OffsetBuffer::new(offsets.into()),
        entries,
        Some(valid.into()),
        *sorted,
    )?;
    Ok(Arc::new(map))
}

fn map_union(a: &[ArrayRef], n: usize, rt: &DataType) -> Result<ArrayRef> {
    let typed: Vec<&MapArray> = a
        .iter()
        .enumerate()
        .filter(|(_, x)| !matches!(x.data_type(), DataType::Null))
        .map(|(i, _)| maps(a, i))
        .collect::<Result<_>>()?;
    let keys = concat(&typed.iter().map(|m| m.keys().as_ref()).collect::<Vec<_>>())?;
    let values = concat(
        &typed
            .iter()
            .map(|m| m.values().as_ref())
            .collect::<Vec<_>>(),
    )?;
    let cmp = Comparator::new(&keys, &keys, false);
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let mut shift = 0;
        let mut row: MapRow = None;
        for m in &typed {
            if let Some(r) = entries_range(m, i) {
                let entries = row.get_or_insert_with(Vec::new);
                for j in r.map(|j| j + shift) {
                    match entries.iter_mut().find(|(k, _)| cmp.eq(*k as usize, j)) {
                        Some(entry) => entry.1 = Some(j as u32),
                        None => entries.push((j as u32, Some(j as u32))),
                    }
                }
            }
            shift += m.keys().len();
        }
        rows.push(row);
    }
    build_map(rt, &keys, &values, rows)
}

fn as_map(a: &[ArrayRef], n: usize, rt: &DataType) -> Result<ArrayRef> {
    let (keys, values) = (lists(a, 0)?, lists(a, 1)?);
    let kv = keys.values();
    let cmp = Comparator::new(kv, kv, false);
    let range = |l: &datafusion::arrow::array::GenericListArray<i32>, i: usize| {
        (!l.is_null(i)).then(|| l.value_offsets()[i] as usize..l.value_offsets()[i + 1] as usize)
    };
    let rows = (0..n)
        .map(|i| {
            let (kr, vr) = (range(keys, i)?, range(values, i)?);
            let mut entries: Vec<(u32, Option<u32>)> = Vec::new();
            for (pos, k) in kr.enumerate().filter(|(_, k)| kv.is_valid(*k)) {
                let v = (pos < vr.len()).then(|| (vr.start + pos) as u32);
                match entries.iter_mut().find(|(e, _)| cmp.eq(*e as usize, k)) {
                    Some(entry) => entry.1 = v,
                    None => entries.push((k as u32, v)),
                }
            }
            Some(entries)
        })
        .collect();
    build_map(rt, kv, values.values(), rows)
}
