//! ARRAY_CONTAINS, ARRAY_DISTINCT, ARRAY_EXCEPT, ARRAY_INTERSECT, ARRAY_UNION, ARRAY_CONCAT,
//! ARRAY_REMOVE, ARRAY_LENGTH, ARRAY_MAX, ARRAY_MIN, ARRAY_SORT, ARRAY_JOIN and SLICE.

use std::cmp::Ordering;
use std::ops::Range;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, GenericListArray, Int32Array, StringArray, UInt32Array,
};
use datafusion::arrow::compute::{concat, take};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::ScalarUDF;

use super::{Comparator, as_list_type, build_list, common_element, element_field, list_type};
use crate::functions::args::{self, lists, out, p, ret, s, strings};
use crate::functions::json::to_json::write_json;
use crate::functions::udf::{Category, FunctionSpec, KsqlUdf, Param as P, Sig};

/// Every array function's spec, for the catalog.
pub const SPECS: &[FunctionSpec] = &[
    ARRAY_CONTAINS,
    ARRAY_DISTINCT,
    ARRAY_EXCEPT,
    ARRAY_INTERSECT,
    ARRAY_UNION,
    ARRAY_CONCAT,
    ARRAY_REMOVE,
    ARRAY_LENGTH,
    ARRAY_MAX,
    ARRAY_MIN,
    ARRAY_SORT,
    ARRAY_JOIN,
    SLICE,
];

/// The array functions as UDFs.
pub fn udfs() -> Vec<ScalarUDF> {
    let udf = |spec, ret, invoke, coerce| {
        KsqlUdf::new(spec, ret, invoke)
            .with_coerce(coerce)
            .handles_null()
            .into_udf()
    };
    vec![
        udf(&ARRAY_CONTAINS, ret::boolean, contains, array_and_element),
        udf(&ARRAY_DISTINCT, ret::first, distinct, one_array),
        udf(&ARRAY_EXCEPT, ret::first, except, two_arrays),
        udf(&ARRAY_INTERSECT, ret::first, intersect, two_arrays),
        udf(&ARRAY_UNION, ret::first, union, two_arrays),
        udf(&ARRAY_CONCAT, ret::first, array_concat, two_arrays),
        udf(&ARRAY_REMOVE, ret::first, remove, array_and_element),
        udf(&ARRAY_LENGTH, ret::int, length, one_array),
        udf(&ARRAY_MAX, element_type, max, one_array),
        udf(&ARRAY_MIN, element_type, min, one_array),
        udf(&ARRAY_SORT, ret::first, sort, array_and_string),
        udf(&ARRAY_JOIN, ret::string, join, array_and_string),
        udf(&SLICE, ret::first, slice, array_and_ints),
    ]
}

const A: Category = Category::Array;
const ARRAY_CONTAINS: FunctionSpec = FunctionSpec {
    name: "ARRAY_CONTAINS",
    aliases: &[],
    category: A,
    description: "True if the array contains the value (NULL matches a NULL element); false for a NULL array.",
    sigs: &[Sig::new(&[P::Array, P::Any], "BOOLEAN")],
};
const ARRAY_DISTINCT: FunctionSpec = FunctionSpec {
    name: "ARRAY_DISTINCT",
    aliases: &[],
    category: A,
    description: "The array without duplicates, in order of first occurrence.",
    sigs: &[Sig::new(&[P::Array], "ARRAY<T>")],
};
const ARRAY_EXCEPT: FunctionSpec = FunctionSpec {
    name: "ARRAY_EXCEPT",
    aliases: &[],
    category: A,
    description: "The distinct elements of the first array that are not in the second. NULL if either is NULL.",
    sigs: &[Sig::new(&[P::Array, P::Array], "ARRAY<T>")],
};
const ARRAY_INTERSECT: FunctionSpec = FunctionSpec {
    name: "ARRAY_INTERSECT",
    aliases: &[],
    category: A,
    description: "The distinct elements of the first array that are also in the second. NULL if either is NULL.",
    sigs: &[Sig::new(&[P::Array, P::Array], "ARRAY<T>")],
};
const ARRAY_UNION: FunctionSpec = FunctionSpec {
    name: "ARRAY_UNION",
    aliases: &[],
    category: A,
    description: "The distinct elements of both arrays, first array first. NULL if either is NULL.",
    sigs: &[Sig::new(&[P::Array, P::Array], "ARRAY<T>")],
};
const ARRAY_CONCAT: FunctionSpec = FunctionSpec {
    name: "ARRAY_CONCAT",
    aliases: &[],
    category: A,
    description: "The elements of the first array followed by those of the second, duplicates kept. A NULL array counts as empty; NULL if both are NULL.",
    sigs: &[Sig::new(&[P::Array, P::Array], "ARRAY<T>")],
};
const ARRAY_REMOVE: FunctionSpec = FunctionSpec {
    name: "ARRAY_REMOVE",
    aliases: &[],
    category: A,
    description: "The array without every element equal to the value (NULL removes NULL elements).",
    sigs: &[Sig::new(&[P::Array, P::Any], "ARRAY<T>")],
};
const ARRAY_LENGTH: FunctionSpec = FunctionSpec {
    name: "ARRAY_LENGTH",
    aliases: &[],
    category: A,
    description: "The number of elements in the array; NULL for a NULL array.",
    sigs: &[Sig::new(&[P::Array], "INT")],
};
const ARRAY_MAX: FunctionSpec = FunctionSpec {
    name: "ARRAY_MAX",
    aliases: &[],
    category: A,
    description: "The largest element, ignoring NULLs; NULL for an empty or NULL array.",
    sigs: &[Sig::new(&[P::Array], "T")],
};
const ARRAY_MIN: FunctionSpec = FunctionSpec {
    name: "ARRAY_MIN",
    aliases: &[],
    category: A,
    description: "The smallest element, ignoring NULLs; NULL for an empty or NULL array.",
    sigs: &[Sig::new(&[P::Array], "T")],
};
const ARRAY_SORT: FunctionSpec = FunctionSpec {
    name: "ARRAY_SORT",
    aliases: &[],
    category: A,
    description: "The array sorted ascending, or descending with 'DESC'; NULL elements last.",
    sigs: &[
        Sig::new(&[P::Array], "ARRAY<T>"),
        Sig::new(&[P::Array, P::Str], "ARRAY<T>"),
    ],
};
const ARRAY_JOIN: FunctionSpec = FunctionSpec {
    name: "ARRAY_JOIN",
    aliases: &[],
    category: A,
    description: "The elements as text joined by the delimiter (',' by default; NULL means none). NULL elements read 'null'.",
    sigs: &[
        Sig::new(&[P::Array], "VARCHAR"),
        Sig::new(&[P::Array, P::Str], "VARCHAR"),
    ],
};
const SLICE: FunctionSpec = FunctionSpec {
    name: "SLICE",
    aliases: &[],
    category: A,
    description: "Elements from position 'from' to position 'to', 1-based and inclusive; a NULL bound means the array's start or end. Out-of-range bounds give NULL.",
    sigs: &[Sig::new(&[P::Array, P::Int, P::Int], "ARRAY<T>")],
};

fn one_array(spec: &FunctionSpec, args: &[DataType]) -> Result<Vec<DataType>> {
    spec.resolve(args)?;
    Ok(vec![as_list_type(spec, args, 0)?])
}

fn array_and_element(spec: &FunctionSpec, args: &[DataType]) -> Result<Vec<DataType>> {
    spec.resolve(args)?;
    let list = as_list_type(spec, args, 0)?;
    let element = element_field(&list).map(|f| f.data_type().clone());
    let common = common_element(spec, &element.unwrap_or(DataType::Null), &args[1])?;
    Ok(vec![list_type(common.clone()), common])
}

fn two_arrays(spec: &FunctionSpec, args: &[DataType]) -> Result<Vec<DataType>> {
    spec.resolve(args)?;
    let (a, b) = (as_list_type(spec, args, 0)?, as_list_type(spec, args, 1)?);
    let element = |t: &DataType| element_field(t).map(|f| f.data_type().clone());
    let common = common_element(
        spec,
        &element(&a).unwrap_or(DataType::Null),
        &element(&b).unwrap_or(DataType::Null),
    )?;
    Ok(vec![list_type(common.clone()), list_type(common)])
}

fn array_and_string(spec: &FunctionSpec, args: &[DataType]) -> Result<Vec<DataType>> {
    let mut types = spec.resolve(args)?;
    types[0] = as_list_type(spec, args, 0)?;
    Ok(types)
}

fn array_and_ints(spec: &FunctionSpec, args: &[DataType]) -> Result<Vec<DataType>> {
    array_and_string(spec, args)
}

fn element_type(args: &[DataType]) -> Result<DataType> {
    Ok(args
        .first()
        .and_then(element_field)
        .map(|f| f.data_type().clone())
        .unwrap_or(DataType::Null))
}

fn range(list: &GenericListArray<i32>, i: usize) -> Option<Range<usize>> {
    if list.is_null(i) {
        return None;
    }
    let offsets = list.value_offsets();
    Some(offsets[i] as usize..offsets[i + 1] as usize)
}

fn field_of(list: &GenericListArray<i32>) -> Result<datafusion::arrow::datatypes::FieldRef> {
    match list.data_type() {
        DataType::List(f) => Ok(f.clone()),
        other => exec_err!("expected an ARRAY, got {other}"),
    }
}

fn contains(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let list = lists(a, 0)?;
    let cmp = Comparator::new(list.values(), args::arg(a, 1)?, false);
    out((0..n)
        .map(|i| Some(range(list, i).is_some_and(|r| r.into_iter().any(|j| cmp.eq(j, i)))))
        .collect::<BooleanArray>())
}

/// `j` unless an equal element is already in `kept`.
fn push_distinct(kept: &mut Vec<u32>, j: usize, cmp: &Comparator) {
    if !kept.iter().any(|&k| cmp.eq(k as usize, j)) {
        kept.push(j as u32);
    }
}

fn distinct(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let list = lists(a, 0)?;
    let cmp = Comparator::new(list.values(), list.values(), false);
    let rows = (0..n)
        .map(|i| {
            range(list, i).map(|r| {
                let mut kept = Vec::new();
                r.for_each(|j| push_distinct(&mut kept, j, &cmp));
                kept
            })
        })
        .collect();
    build_list(&field_of(list)?, list.values(), rows)
}

fn filter_against(a: &[ArrayRef], n: usize, keep_if_found: bool) -> Result<ArrayRef> {
    let (left, right) = (lists(a, 0)?, lists(a, 1)?);
    let own = Comparator::new(left.values(), left.values(), false);
    let other = Comparator::new(left.values(), right.values(), false);
    let rows = (0..n)
        .map(|i| {
            let (l, r) = (range(left, i)?, range(right, i)?);
            let mut kept = Vec::new();
            for j in l {
                let found = r.clone().any(|k| other.eq(j, k));
                if found == keep_if_found {
                    push_distinct(&mut kept, j, &own);
                }
            }
            Some(kept)
        })
        .collect();
    build_list(&field_of(left)?, left.values(), rows)
}

fn except(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    filter_against(a, n, false)
}

fn intersect(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    filter_against(a, n, true)
}

/// Both arrays' values in one array, with the second's indices shifted past the first's.
fn combined(a: &[ArrayRef]) -> Result<(&GenericListArray<i32>, &GenericListArray<i32>, ArrayRef)> {
    let (left, right) = (lists(a, 0)?, lists(a, 1)?);
    let values = concat(&[left.values().as_ref(), right.values().as_ref()])?;
    Ok((left, right, values))
}

fn union(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let (left, right, values) = combined(a)?;
    let shift = left.values().len();
    let cmp = Comparator::new(&values, &values, false);
    let rows = (0..n)
        .map(|i| {
            let (l, r) = (range(left, i)?, range(right, i)?);
            let mut kept = Vec::new();
            l.chain(r.map(|k| k + shift))
                .for_each(|j| push_distinct(&mut kept, j, &cmp));
            Some(kept)
        })
        .collect();
    build_list(&field_of(left)?, &values, rows)
}

fn array_concat(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let (left, right, values) = combined(a)?;
    let shift = left.values().len();
    let rows = (0..n)
        .map(|i| match (range(left, i), range(right, i)) {
            (None, None) => None,
            (l, r) => Some(
                l.unwrap_or(0..0)
                    .chain(r.unwrap_or(0..0).map(|k| k + shift))
                    .map(|j| j as u32)
                    .collect(),
            ),
        })
        .collect();
    build_list(&field_of(left)?, &values, rows)
}

fn remove(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let list = lists(a, 0)?;
    let cmp = Comparator::new(list.values(), args::arg(a, 1)?, false);
    let rows = (0..n)
        .map(|i| range(list, i).map(|r| r.filter(|&j| !cmp.eq(j, i)).map(|j| j as u32).collect()))
        .collect();
    build_list(&field_of(list)?, list.values(), rows)
}

fn length(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let list = lists(a, 0)?;
    out((0..n)
        .map(|i| range(list, i).map(|r| r.len() as i32))
        .collect::<Int32Array>())
}

fn extreme(a: &[ArrayRef], n: usize, want: Ordering) -> Result<ArrayRef> {
    let list = lists(a, 0)?;
    let values = list.values();
    let cmp = Comparator::new(values, values, false);
    let picks: UInt32Array = (0..n)
        .map(|i| {
            range(list, i)?
                .filter(|&j| values.is_valid(j))
                .reduce(|best, j| if cmp.cmp(j, best) == want { j } else { best })
                .map(|j| j as u32)
        })
        .collect();
    Ok(take(values.as_ref(), &picks, None)?)
}

fn max(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    extreme(a, n, Ordering::Greater)
}

fn min(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    extreme(a, n, Ordering::Less)
}

fn sort(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let list = lists(a, 0)?;
    let direction = if a.len() > 1 {
        Some(strings(a, 1)?)
    } else {
        None
    };
    let (asc, desc) = (
        Comparator::new(list.values(), list.values(), false),
        Comparator::new(list.values(), list.values(), true),
    );
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let descending = match direction.map(|d| s(d, i)) {
            None => false,
            Some(None) => {
                rows.push(None);
                continue;
            }
            Some(Some(d)) if d.eq_ignore_ascii_case("ASC") => false,
            Some(Some(d)) if d.eq_ignore_ascii_case("DESC") => true,
            Some(Some(d)) => {
                return exec_err!("ARRAY_SORT direction must be 'ASC' or 'DESC', not '{d}'");
            }
        };
        let cmp = if descending { &desc } else { &asc };
        rows.push(range(list, i).map(|r| {
            let mut indices: Vec<u32> = r.map(|j| j as u32).collect();
            indices.sort_by(|&x, &y| cmp.cmp(x as usize, y as usize));
            indices
        }));
    }
    build_list(&field_of(list)?, list.values(), rows)
}

fn join(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let list = lists(a, 0)?;
    let delimiter = if a.len() > 1 {
        Some(strings(a, 1)?)
    } else {
        None
    };
    let values = list.values();
    let mut result = Vec::with_capacity(n);
    for i in 0..n {
        let Some(r) = range(list, i) else {
            result.push(None);
            continue;
        };
        let delim = match delimiter {
            None => ",",
            Some(d) => s(d, i).unwrap_or(""),
        };
        let mut parts = Vec::with_capacity(r.len());
        for j in r {
            let mut text = String::new();
            if let (true, Some(strs)) = (
                values.is_valid(j),
                values.as_any().downcast_ref::<StringArray>(),
            ) {
                text.push_str(strs.value(j));
            } else {
                write_json(values.as_ref(), j, &mut text)?;
            }
            parts.push(text);
        }
        result.push(Some(parts.join(delim)));
    }
    out(StringArray::from(result))
}

fn slice(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let list = lists(a, 0)?;
    let (from, to) = (args::ints(a, 1)?, args::ints(a, 2)?);
    let rows = (0..n)
        .map(|i| {
            let r = range(list, i)?;
            let start = p(from, i).map_or(Some(0), |f| usize::try_from(i64::from(f) - 1).ok())?;
            let end = p(to, i).map_or(Some(r.len()), |t| usize::try_from(t).ok())?;
            if start > end || end > r.len() {
                return None;
            }
            Some((r.start + start..r.start + end).map(|j| j as u32).collect())
        })
        .collect();
    build_list(&field_of(list)?, list.values(), rows)
}
