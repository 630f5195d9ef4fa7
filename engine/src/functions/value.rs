//! AS_VALUE: copies a key column into the value of a query's output. As a function it is the
//! identity; the planner reads it to know that the column is also wanted in the value.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::ScalarUDF;

use super::args::ret;
use super::udf::{Category, FunctionSpec, KsqlUdf, Param as P, Sig};

/// AS_VALUE's spec, for the catalog.
pub const SPECS: &[FunctionSpec] = &[AS_VALUE];

/// AS_VALUE as a UDF.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        KsqlUdf::new(&AS_VALUE, ret::same, as_value)
            .handles_null()
            .into_udf(),
    ]
}

const AS_VALUE: FunctionSpec = FunctionSpec {
    name: "AS_VALUE",
    aliases: &[],
    category: Category::Other,
    description: "Its argument: used in a projection to copy a key column into the value.",
    sigs: &[Sig::new(&[P::Any], "T")],
};

fn as_value(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    match a.first() {
        Some(x) => Ok(x.clone()),
        None => exec_err!("AS_VALUE needs one argument"),
    }
}
