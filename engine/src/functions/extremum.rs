//! GREATEST and LEAST with ksqlDB's argument rules and messages.
//!
//! DataFusion's `greatest`/`least` coerce their arguments to any common type, so
//! `GREATEST(string_col, int_col)` compared text; ksqlDB resolves `greatest(T, T...)` for one
//! family of types (numbers widen to one numeric type; text; bytes; dates, times and
//! timestamps, which also take text literals) and refuses the rest with `Function 'greatest'
//! does not accept parameters (STRING, INTEGER).`, as it refuses a call without arguments
//! (`... parameters ().`). Evaluation is DataFusion's.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, plan_err};
use datafusion::functions::core::greatest::GreatestFunc;
use datafusion::functions::core::least::LeastFunc;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::udf::ksql_type_name;

/// GREATEST and LEAST, replacing DataFusion's functions of the same names.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        ScalarUDF::new_from_impl(Extremum::new("greatest", Box::new(GreatestFunc::new()))),
        ScalarUDF::new_from_impl(Extremum::new("least", Box::new(LeastFunc::new()))),
    ]
}

/// One of GREATEST/LEAST: ksqlDB's checks in front of DataFusion's function.
#[derive(Debug)]
pub struct Extremum {
    name: &'static str,
    signature: Signature,
    inner: Box<dyn ScalarUDFImpl>,
}

impl PartialEq for Extremum {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Extremum {}

impl std::hash::Hash for Extremum {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl Extremum {
    fn new(name: &'static str, inner: Box<dyn ScalarUDFImpl>) -> Self {
        Extremum {
            name,
            signature: Signature::user_defined(Volatility::Immutable),
            inner,
        }
    }

    fn rejected<T>(&self, args: &[DataType]) -> Result<T> {
        let given: Vec<String> = args.iter().map(ksql_type_name).collect();
        plan_err!(
            "Function '{}' does not accept parameters ({}).",
            self.name,
            given.join(", ")
        )
    }
}

/// The family of types a GREATEST/LEAST argument belongs to (None: NULL, fits any).
fn family(t: &DataType) -> Option<&'static str> {
    match t {
        DataType::Null => None,
        t if t.is_numeric() => Some("number"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some("text"),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => Some("bytes"),
        DataType::Date32
        | DataType::Date64
        | DataType::Time32(_)
        | DataType::Time64(_)
        | DataType::Timestamp(_, _) => Some("time"),
        DataType::Boolean => Some("boolean"),
        _ => Some("other"),
    }
}

/// Whether ksqlDB resolves `greatest(T, T...)` for these argument types.
fn accepted(args: &[DataType]) -> bool {
    let families: Vec<&str> = args.iter().filter_map(family).collect();
    let Some(first) = families.first() else {
        return true; // only NULLs: DataFusion's message stands
    };
    if matches!(*first, "boolean" | "other") {
        return false;
    }
    families.iter().all(|f| {
        f == first || (*first == "time" && *f == "text") || (*first == "text" && *f == "time")
    })
}

impl ScalarUDFImpl for Extremum {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.is_empty() || !accepted(arg_types) {
            return self.rejected(arg_types);
        }
        self.inner.coerce_types(arg_types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if arg_types.is_empty() {
            return self.rejected(arg_types);
        }
        self.inner.return_type(arg_types)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        self.inner.invoke_with_args(args)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Array, Int32Array, StringArray};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::prelude::SessionContext;

    use super::*;

    async fn ctx() -> SessionContext {
        let ctx = SessionContext::new();
        for udf in udfs() {
            ctx.register_udf(udf);
        }
        let batch = RecordBatch::try_from_iter(vec![
            (
                "s",
                Arc::new(StringArray::from(vec!["a"])) as Arc<dyn Array>,
            ),
            ("n", Arc::new(Int32Array::from(vec![3])) as Arc<dyn Array>),
        ])
        .unwrap();
        ctx.register_batch("t", batch).unwrap();
        ctx
    }

    async fn error(sql: &str) -> String {
        let ctx = ctx().await;
        match ctx.sql(sql).await {
            Ok(df) => df.collect().await.err().map(|e| e.to_string()),
            Err(e) => Some(e.to_string()),
        }
        .unwrap_or_default()
    }

    #[tokio::test]
    async fn no_arguments_and_mixed_families_are_refused_as_ksqldb_does() {
        let e = error("SELECT GREATEST() FROM t").await;
        assert!(
            e.contains("Function 'greatest' does not accept parameters ()."),
            "{e}"
        );
        let e = error("SELECT LEAST(s, n) FROM t").await;
        assert!(
            e.contains("Function 'least' does not accept parameters (STRING, INTEGER)."),
            "{e}"
        );
    }

    #[tokio::test]
    async fn numbers_widen_and_nulls_fit() {
        let ctx = ctx().await;
        let batches = ctx
            .sql("SELECT GREATEST(n, CAST(5 AS BIGINT), NULL) AS g, LEAST(s, 'b') AS l FROM t")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let g = batches[0].column(0);
        assert_eq!(g.data_type(), &DataType::Int64);
        assert_eq!(
            datafusion::arrow::util::display::array_value_to_string(g, 0).unwrap(),
            "5"
        );
        let l = batches[0].column(1);
        assert_eq!(
            datafusion::arrow::util::display::array_value_to_string(l, 0).unwrap(),
            "a"
        );
    }
}
