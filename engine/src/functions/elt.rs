//! ELT and FIELD: picking a string by position, and finding a string's position.

use datafusion::arrow::array::{ArrayRef, Int32Array, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::ScalarUDF;

use super::args::{ints, out, p, ret, s, strings};
use super::udf::{Category, FunctionSpec, KsqlUdf, Param as P, Sig};

/// ELT's and FIELD's specs, for the catalog.
pub const SPECS: &[FunctionSpec] = &[ELT, FIELD];

/// ELT and FIELD as UDFs.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        KsqlUdf::new(&ELT, ret::string, elt)
            .handles_null()
            .into_udf(),
        KsqlUdf::new(&FIELD, ret::int, field)
            .handles_null()
            .into_udf(),
    ]
}

const ELT: FunctionSpec = FunctionSpec {
    name: "ELT",
    aliases: &[],
    category: Category::String,
    description: "The n-th (1-based) of the following strings; NULL if n is out of range or NULL.",
    sigs: &[Sig::variadic(&[P::Int, P::Str], "VARCHAR")],
};
const FIELD: FunctionSpec = FunctionSpec {
    name: "FIELD",
    aliases: &[],
    category: Category::String,
    description: "The 1-based position of the string among the following ones; 0 if absent or NULL.",
    sigs: &[Sig::variadic(&[P::Str, P::Str], "INT")],
};

/// The string columns among `a[from..]`; an untyped NULL argument reads as an all-NULL column.
fn string_columns(a: &[ArrayRef], from: usize) -> Result<Vec<Option<&StringArray>>> {
    (from..a.len())
        .map(|i| match a[i].data_type() {
            DataType::Null => Ok(None),
            _ => strings(a, i).map(Some),
        })
        .collect()
}

fn elt(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    if matches!(a.first().map(|x| x.data_type()), Some(DataType::Null)) {
        return out(StringArray::from(vec![None::<&str>; n]));
    }
    let index = ints(a, 0)?;
    let columns = string_columns(a, 1)?;
    out((0..n)
        .map(|i| {
            let k = usize::try_from(p(index, i)?).ok()?.checked_sub(1)?;
            s((*columns.get(k)?)?, i)
        })
        .collect::<StringArray>())
}

fn field(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let columns = string_columns(a, 0)?;
    out((0..n)
        .map(|i| {
            let Some(needle) = columns.first().copied().flatten().and_then(|c| s(c, i)) else {
                return Some(0);
            };
            let pos = columns[1..]
                .iter()
                .position(|c| c.and_then(|c| s(c, i)) == Some(needle));
            Some(pos.map_or(0, |p| p as i32 + 1))
        })
        .collect::<Int32Array>())
}
