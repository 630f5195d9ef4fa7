//! ksqlDB's ARRAY and MAP functions.
//!
//! They work on any element type: elements are compared with Arrow's dynamic comparators and
//! results are assembled with the `take` kernel, so no per-type code is needed. Set functions
//! (ARRAY_DISTINCT, ARRAY_EXCEPT, ARRAY_INTERSECT, ARRAY_UNION) keep first-occurrence order, as
//! ksqlDB does.

pub mod array;
pub mod build;
pub mod lambda;
pub mod map;
pub mod reduce;

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, DynComparator, GenericListArray, UInt32Array, make_comparator,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::{SortOptions, take};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::type_coercion::binary::comparison_coercion;

use super::udf::{FunctionSpec, ksql_type_name};

/// Compares element `i` of one array with element `j` of another, NULLs equal to each other and
/// last in order. Falls back to `ScalarValue` for types Arrow's comparators do not cover.
pub struct Comparator {
    dynamic: Option<DynComparator>,
    left: ArrayRef,
    right: ArrayRef,
}

impl Comparator {
    /// A comparator between `left` and `right`.
    pub fn new(left: &ArrayRef, right: &ArrayRef, descending: bool) -> Self {
        let options = SortOptions {
            descending,
            nulls_first: false,
        };
        Comparator {
            dynamic: make_comparator(left.as_ref(), right.as_ref(), options).ok(),
            left: Arc::clone(left),
            right: Arc::clone(right),
        }
    }

    /// The order of `left[i]` relative to `right[j]`.
    pub fn cmp(&self, i: usize, j: usize) -> Ordering {
        match &self.dynamic {
            Some(cmp) => cmp(i, j),
            None => {
                let l = ScalarValue::try_from_array(&self.left, i).ok();
                let r = ScalarValue::try_from_array(&self.right, j).ok();
                l.partial_cmp(&r).unwrap_or(Ordering::Equal)
            }
        }
    }

    /// True if `left[i]` equals `right[j]`.
    pub fn eq(&self, i: usize, j: usize) -> bool {
        if self.dynamic.is_none() {
            let l = ScalarValue::try_from_array(&self.left, i).ok();
            let r = ScalarValue::try_from_array(&self.right, j).ok();
            return l == r;
        }
        self.cmp(i, j) == Ordering::Equal
    }
}

/// Builds a list array whose row `r` holds `values[indices[r]]`, or is NULL when `None`.
pub fn build_list(
    field: &FieldRef,
    values: &ArrayRef,
    rows: Vec<Option<Vec<u32>>>,
) -> Result<ArrayRef> {
    let mut offsets = vec![0_i32];
    let mut all = Vec::new();
    let mut valid = Vec::with_capacity(rows.len());
    for row in rows {
        valid.push(row.is_some());
        if let Some(indices) = row {
            all.extend(indices);
        }
        offsets.push(all.len() as i32);
    }
    let taken = take(values.as_ref(), &UInt32Array::from(all), None)?;
    let list = GenericListArray::<i32>::try_new(
        Arc::clone(field),
        OffsetBuffer::new(offsets.into()),
        taken,
        Some(valid.into()),
    )?;
    Ok(Arc::new(list))
}

/// The element field of a list type.
pub fn element_field(t: &DataType) -> Option<&FieldRef> {
    match t {
        DataType::List(f) => Some(f),
        _ => None,
    }
}

/// A list of `element` with the usual nullable `item` field.
pub fn list_type(element: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", element, true)))
}

/// The common element type of two element types, as DataFusion's comparison coercion finds it.
pub fn common_element(spec: &FunctionSpec, a: &DataType, b: &DataType) -> Result<DataType> {
    if a == b || matches!(b, DataType::Null) {
        return Ok(a.clone());
    }
    if matches!(a, DataType::Null) {
        return Ok(b.clone());
    }
    match comparison_coercion(a, b) {
        Some(t) => Ok(t),
        None => plan_err!(
            "Function '{}' cannot compare {} with {}",
            spec.name,
            ksql_type_name(a),
            ksql_type_name(b)
        ),
    }
}

/// The list type of argument `i`, with its `LargeList`/`FixedSizeList` forms read as `List`;
/// an untyped NULL reads as `ARRAY<NULL>`.
pub fn as_list_type(spec: &FunctionSpec, args: &[DataType], i: usize) -> Result<DataType> {
    match args.get(i) {
        Some(DataType::List(f))
        | Some(DataType::LargeList(f))
        | Some(DataType::FixedSizeList(f, _))
        | Some(DataType::ListView(f)) => Ok(list_type(f.data_type().clone())),
        Some(DataType::Null) => Ok(list_type(DataType::Null)),
        Some(other) => plan_err!(
            "Function '{}' expects an ARRAY as argument {}, not {}",
            spec.name,
            i + 1,
            ksql_type_name(other)
        ),
        None => plan_err!(
            "Function '{}' expects at least {} arguments",
            spec.name,
            i + 1
        ),
    }
}
