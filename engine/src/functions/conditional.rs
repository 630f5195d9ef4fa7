//! COALESCE and IFNULL (NVL) with ksqlDB's typing.
//!
//! DataFusion's `nvl`/`ifnull` only takes primitive types and coerces anything else (an ARRAY, a
//! MAP, a STRUCT) to text, so `IFNULL(COL2, ARRAY[10, 20])` came out as the string
//! `"[1, 2, 3]"` where ksqlDB writes the array `[1,2,3]`. ksqlDB's COALESCE and IFNULL are generic
//! over any type `T`: both arguments are unified to one type and the value keeps that type. Here
//! both are DataFusion's `coalesce` (first non-NULL argument, simplified to a lazy `CASE`) under
//! ksqlDB's names, with ksqlDB's arity check and message (`Function 'COALESCE' does not accept
//! parameters ()`).

use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, plan_err};
use datafusion::functions::core::coalesce::CoalesceFunc;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::type_coercion::binary::try_type_union_resolution;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use super::udf::ksql_type_name;

/// COALESCE and IFNULL as UDFs replacing DataFusion's `coalesce`, `nvl` and `ifnull`.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        ScalarUDF::new_from_impl(FirstNonNull::new("COALESCE", &[], Arity::AtLeastOne)),
        ScalarUDF::new_from_impl(FirstNonNull::new("IFNULL", &["nvl"], Arity::Exactly(2))),
    ]
}

/// How many arguments a [`FirstNonNull`] function takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Arity {
    /// COALESCE: one or more.
    AtLeastOne,
    /// IFNULL: exactly this many.
    Exactly(usize),
}

impl Arity {
    fn accepts(self, n: usize) -> bool {
        match self {
            Arity::AtLeastOne => n >= 1,
            Arity::Exactly(k) => n == k,
        }
    }
}

/// A function returning its first non-NULL argument, with every argument unified to one type
/// (any type: numbers widen, ARRAY/MAP/STRUCT keep their structure). Evaluated by DataFusion's
/// `coalesce`, which simplifies to a `CASE` that evaluates later arguments only when needed.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FirstNonNull {
    /// The ksqlDB name, upper case, for messages.
    ksql_name: &'static str,
    /// The registered (lower-case) name.
    name: String,
    aliases: Vec<String>,
    arity: Arity,
    signature: Signature,
    inner: CoalesceFunc,
}

impl FirstNonNull {
    fn new(ksql_name: &'static str, aliases: &[&str], arity: Arity) -> Self {
        Self {
            ksql_name,
            name: ksql_name.to_ascii_lowercase(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            arity,
            signature: Signature::user_defined(Volatility::Immutable),
            inner: CoalesceFunc::new(),
        }
    }

    fn rejected(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let given: Vec<String> = args.iter().map(ksql_type_name).collect();
        plan_err!(
            "Function '{}' does not accept parameters ({}).",
            self.ksql_name,
            given.join(", ")
        )
    }
}

impl ScalarUDFImpl for FirstNonNull {
    fn name(&self) -> &str {
        &self.name
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if !self.arity.accepts(arg_types.len()) {
            return self.rejected(arg_types);
        }
        match try_type_union_resolution(arg_types) {
            Ok(types) => Ok(types),
            Err(_) => self.rejected(arg_types),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        if args.arg_fields.is_empty() {
            return plan_err!(
                "Function '{}' does not accept parameters ().",
                self.ksql_name
            );
        }
        self.inner.return_field_from_args(args)
    }

    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        self.inner.simplify(args, info)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        self.inner.invoke_with_args(args)
    }

    fn conditional_arguments<'a>(
        &self,
        args: &'a [Expr],
    ) -> Option<(Vec<&'a Expr>, Vec<&'a Expr>)> {
        if args.is_empty() {
            return None;
        }
        self.inner.conditional_arguments(args)
    }

    fn short_circuits(&self) -> bool {
        self.inner.short_circuits()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Array, AsArray, Int32Array, ListArray};
    use datafusion::arrow::datatypes::{Int32Type, Int64Type};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::prelude::SessionContext;

    use super::*;

    async fn ctx_with_list() -> SessionContext {
        let ctx = SessionContext::new();
        for udf in udfs() {
            ctx.register_udf(udf);
        }
        let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1), Some(2), Some(3)]),
            None,
        ]);
        let ids = Int32Array::from(vec![Some(1), None]);
        let batch = RecordBatch::try_from_iter(vec![
            ("id", Arc::new(ids) as Arc<dyn Array>),
            ("l", Arc::new(list) as Arc<dyn Array>),
        ])
        .unwrap();
        ctx.register_batch("t", batch).unwrap();
        ctx
    }

    #[tokio::test]
    async fn ifnull_keeps_an_array_an_array() {
        let ctx = ctx_with_list().await;
        let df = ctx
            .sql("SELECT IFNULL(l, make_array(10, 20)) AS c FROM t")
            .await
            .unwrap();
        let batches = df.collect().await.unwrap();
        let col = batches[0].column(0);
        assert!(
            matches!(col.data_type(), DataType::List(_)),
            "{:?}",
            col.data_type()
        );
        let list = col.as_list::<i32>();
        let first = list.value(0);
        let first = first.as_primitive::<Int64Type>();
        assert_eq!(first.values().to_vec(), vec![1, 2, 3]);
        let second = list.value(1);
        let second = second.as_primitive::<Int64Type>();
        assert_eq!(second.values().to_vec(), vec![10, 20]);
    }

    #[tokio::test]
    async fn nvl_is_ifnull_and_keeps_the_first_non_null() {
        let ctx = ctx_with_list().await;
        let df = ctx.sql("SELECT NVL(id, 10) AS a FROM t").await.unwrap();
        let batches = df.collect().await.unwrap();
        let col = batches[0].column(0).as_primitive::<Int64Type>();
        assert_eq!(col.values().to_vec(), vec![1, 10]);
    }

    #[tokio::test]
    async fn coalesce_without_arguments_is_rejected_as_ksqldb_does() {
        let ctx = ctx_with_list().await;
        let err = match ctx.sql("SELECT COALESCE() FROM t").await {
            Ok(df) => df.collect().await.err().map(|e| e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        let err = err.unwrap_or_default();
        assert!(
            err.contains("Function 'COALESCE' does not accept parameters ()"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn ifnull_with_three_arguments_is_rejected() {
        let ctx = ctx_with_list().await;
        let err = ctx
            .sql("SELECT IFNULL(id, 1, 2) FROM t")
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("Function 'IFNULL' does not accept parameters (INTEGER, BIGINT, BIGINT)"),
            "{err}"
        );
    }
}
