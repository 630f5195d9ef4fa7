//! REDUCE: folds an array (`REDUCE(arr, init, (s, x) => ...)`) or a map
//! (`REDUCE(m, init, (s, k, v) => ...)`) into one value, as a DataFusion higher-order function.
//!
//! The fold runs one element position at a time across all rows: step `k` evaluates the lambda
//! once, vectorized, over the rows that still have a `k`-th element, and scatters the results
//! back into the running state. A NULL collection gives the initial state (ksqlDB's rule); a
//! NULL initial state gives NULL.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, UInt32Array};
use datafusion::arrow::compute::{cast, interleave, take, take_arrays};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, HigherOrderFunctionArgs, HigherOrderReturnFieldArgs, HigherOrderSignature,
    HigherOrderUDF, HigherOrderUDFImpl, LambdaParametersProgress, ValueOrLambda, Volatility,
};

use crate::functions::udf::{Category, FunctionSpec, Param as P, Sig};

/// REDUCE's spec, for the catalog.
pub const SPECS: &[FunctionSpec] = &[FunctionSpec {
    name: "REDUCE",
    aliases: &[],
    category: Category::Array,
    description: "Folds an array with (state, element) => new state, or a map with (state, key, value) => new state, starting from the initial state. A NULL collection gives the initial state; a NULL initial state gives NULL.",
    sigs: &[
        Sig::new(&[P::Array, P::Any, P::Any], "S"),
        Sig::new(&[P::Map, P::Any, P::Any], "S"),
    ],
}];

/// REDUCE as a DataFusion higher-order function.
pub fn higher_order_udf() -> HigherOrderUDF {
    HigherOrderUDF::new_from_impl(Reduce::new())
}

/// The REDUCE implementation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Reduce {
    signature: HigherOrderSignature,
}

impl Reduce {
    fn new() -> Self {
        Reduce {
            signature: HigherOrderSignature::exact(
                vec![
                    ValueOrLambda::Value(()),
                    ValueOrLambda::Value(()),
                    ValueOrLambda::Lambda(()),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

/// The element fields the lambda receives after the state: `[x]` for arrays, `[k, v]` for maps.
fn element_fields(collection: &DataType) -> Result<Vec<FieldRef>> {
    match collection {
        DataType::List(f) | DataType::LargeList(f) => {
            Ok(vec![Arc::new(Field::new("x", f.data_type().clone(), true))])
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => Ok(vec![
                Arc::new(Field::new("k", kv[0].data_type().clone(), true)),
                Arc::new(Field::new("v", kv[1].data_type().clone(), true)),
            ]),
            _ => plan_err!("REDUCE: malformed MAP type {collection}"),
        },
        DataType::Null => Ok(vec![Arc::new(Field::new("x", DataType::Null, true))]),
        other => plan_err!("REDUCE expects an ARRAY or a MAP, not {other}"),
    }
}

impl HigherOrderUDFImpl for Reduce {
    fn name(&self) -> &str {
        "reduce"
    }

    fn signature(&self) -> &HigherOrderSignature {
        &self.signature
    }

    fn coerce_value_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        Ok(arg_types.to_vec())
    }

    fn lambda_parameters(
        &self,
        _step: usize,
        fields: &[ValueOrLambda<FieldRef, Option<FieldRef>>],
    ) -> Result<LambdaParametersProgress> {
        let (Some(ValueOrLambda::Value(collection)), Some(ValueOrLambda::Value(init))) =
            (fields.first(), fields.get(1))
        else {
            return plan_err!("REDUCE takes a collection, an initial state and a lambda");
        };
        let mut params = vec![Arc::new(Field::new("s", init.data_type().clone(), true))];
        params.extend(element_fields(collection.data_type())?);
        Ok(LambdaParametersProgress::Complete(vec![params]))
    }

    fn return_field_from_args(&self, args: HigherOrderReturnFieldArgs) -> Result<FieldRef> {
        match args.arg_fields.get(1) {
            Some(ValueOrLambda::Value(init)) => {
                Ok(Arc::new(Field::new("", init.data_type().clone(), true)))
            }
            _ => plan_err!("REDUCE takes an initial state as its second argument"),
        }
    }

    fn invoke_with_args(&self, args: HigherOrderFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let (
            Some(ValueOrLambda::Value(collection)),
            Some(ValueOrLambda::Value(init)),
            Some(ValueOrLambda::Lambda(lambda)),
        ) = (args.args.first(), args.args.get(1), args.args.get(2))
        else {
            return exec_err!("REDUCE takes a collection, an initial state and a lambda");
        };
        let state_type = args.return_type().clone();
        let collection = collection.to_array(n)?;
        let mut state = init.to_array(n)?;
        if state.data_type() != &state_type {
            state = cast(&state, &state_type)?;
        }
        let null_state: Vec<bool> = (0..n).map(|i| state.is_null(i)).collect();
        // Per row: offsets of its elements, and the element columns (values, or keys + values).
        let (offsets, columns): (Vec<(usize, usize)>, Vec<ArrayRef>) = match collection.data_type()
        {
            DataType::List(_) => {
                let list = collection
                    .as_any()
                    .downcast_ref::<datafusion::arrow::array::ListArray>();
                let Some(list) = list else {
                    return exec_err!("REDUCE: expected a list array");
                };
                let o = list.value_offsets();
                (
                    (0..n)
                        .map(|i| {
                            if list.is_null(i) {
                                (0, 0)
                            } else {
                                (o[i] as usize, o[i + 1] as usize)
                            }
                        })
                        .collect(),
                    vec![Arc::clone(list.values())],
                )
            }
            DataType::Map(_, _) => {
                let map = collection
                    .as_any()
                    .downcast_ref::<datafusion::arrow::array::MapArray>();
                let Some(map) = map else {
                    return exec_err!("REDUCE: expected a map array");
                };
                let o = map.value_offsets();
                (
                    (0..n)
                        .map(|i| {
                            if map.is_null(i) {
                                (0, 0)
                            } else {
                                (o[i] as usize, o[i + 1] as usize)
                            }
                        })
                        .collect(),
                    vec![Arc::clone(map.keys()), Arc::clone(map.values())],
                )
            }
            DataType::Null => ((0..n).map(|_| (0, 0)).collect(), vec![]),
            other => return exec_err!("REDUCE expects an ARRAY or a MAP, not {other}"),
        };
        let longest = offsets.iter().map(|(s, e)| e - s).max().unwrap_or(0);
        for k in 0..longest {
            let active: Vec<u32> = (0..n)
                .filter(|&i| !null_state[i] && offsets[i].1 - offsets[i].0 > k)
                .map(|i| i as u32)
                .collect();
            if active.is_empty() {
                break;
            }
            let rows = UInt32Array::from(active.clone());
            let positions = UInt32Array::from(
                active
                    .iter()
                    .map(|&i| (offsets[i as usize].0 + k) as u32)
                    .collect::<Vec<_>>(),
            );
            let current = take(state.as_ref(), &rows, None)?;
            let elements = columns
                .iter()
                .map(|c| take(c.as_ref(), &positions, None))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let state_param = || Ok(Arc::clone(&current));
            let element_params: Vec<Box<dyn Fn() -> Result<ArrayRef>>> = elements
                .iter()
                .map(|e| {
                    let e = Arc::clone(e);
                    Box::new(move || Ok(Arc::clone(&e))) as Box<dyn Fn() -> Result<ArrayRef>>
                })
                .collect();
            let mut params: Vec<&dyn Fn() -> Result<ArrayRef>> = vec![&state_param];
            params.extend(element_params.iter().map(|p| p.as_ref()));
            let mut next = lambda
                .evaluate(&params, |captured| Ok(take_arrays(captured, &rows, None)?))?
                .into_array(active.len())?;
            if next.data_type() != &state_type {
                next = cast(&next, &state_type)?;
            }
            let mut source: Vec<(usize, usize)> = (0..n).map(|i| (0, i)).collect();
            for (p, &i) in active.iter().enumerate() {
                source[i as usize] = (1, p);
            }
            state = interleave(&[state.as_ref(), next.as_ref()], &source)?;
        }
        Ok(ColumnarValue::Array(state))
    }
}
