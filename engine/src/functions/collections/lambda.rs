//! TRANSFORM and FILTER over arrays and maps, as DataFusion higher-order functions.
//!
//! `TRANSFORM(arr, x => ...)`, `TRANSFORM(map, (k, v) => new_key, (k, v) => new_value)`,
//! `FILTER(arr, x => ...)`, `FILTER(map, (k, v) => ...)`. Each lambda is evaluated once over all
//! elements of the batch (captured columns are repeated per element), then the results are put
//! back into lists or maps with the input's offsets. NULL collections stay NULL.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, ListArray, MapArray, StructArray, UInt32Array,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::{filter, take_arrays};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, HigherOrderFunctionArgs, HigherOrderReturnFieldArgs, HigherOrderSignature,
    HigherOrderUDF, HigherOrderUDFImpl, LambdaArgument, LambdaParametersProgress, ValueOrLambda,
    Volatility,
};

use crate::functions::udf::{Category, FunctionSpec, Param as P, Sig};

/// TRANSFORM's and FILTER's specs, for the catalog.
pub const SPECS: &[FunctionSpec] = &[
    FunctionSpec {
        name: "TRANSFORM",
        aliases: &[],
        category: Category::Array,
        description: "Applies a lambda to each element of an array (x => ...), or two lambdas to each entry of a map ((k, v) => new key, (k, v) => new value).",
        sigs: &[
            Sig::new(&[P::Array, P::Any], "ARRAY<U>"),
            Sig::new(&[P::Map, P::Any, P::Any], "MAP<K2, V2>"),
        ],
    },
    FunctionSpec {
        name: "FILTER",
        aliases: &[],
        category: Category::Array,
        description: "The elements of an array (x => ...) or entries of a map ((k, v) => ...) for which the lambda is true.",
        sigs: &[
            Sig::new(&[P::Array, P::Any], "ARRAY<T>"),
            Sig::new(&[P::Map, P::Any], "MAP<K, V>"),
        ],
    },
];

/// TRANSFORM as a DataFusion higher-order function.
pub fn transform() -> HigherOrderUDF {
    HigherOrderUDF::new_from_impl(LambdaOver::new(Kind::Transform))
}

/// FILTER as a DataFusion higher-order function.
pub fn filter_udf() -> HigherOrderUDF {
    HigherOrderUDF::new_from_impl(LambdaOver::new(Kind::Filter))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Transform,
    Filter,
}

/// TRANSFORM or FILTER.
#[derive(Debug, PartialEq, Eq, Hash)]
struct LambdaOver {
    kind: Kind,
    signature: HigherOrderSignature,
}

impl LambdaOver {
    fn new(kind: Kind) -> Self {
        LambdaOver {
            kind,
            signature: HigherOrderSignature::variadic_any(Volatility::Immutable),
        }
    }

    fn label(&self) -> &'static str {
        match self.kind {
            Kind::Transform => "TRANSFORM",
            Kind::Filter => "FILTER",
        }
    }

    /// Lambdas expected after the collection: 1 for arrays and FILTER over maps, 2 for
    /// TRANSFORM over maps.
    fn lambdas_for(&self, collection: &DataType) -> usize {
        match (self.kind, collection) {
            (Kind::Transform, DataType::Map(_, _)) => 2,
            _ => 1,
        }
    }
}

fn map_kv(t: &DataType) -> Option<(FieldRef, FieldRef)> {
    match t {
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => Some((kv[0].clone(), kv[1].clone())),
            _ => None,
        },
        _ => None,
    }
}

fn param(name: &str, t: &DataType) -> FieldRef {
    Arc::new(Field::new(name, t.clone(), true))
}

impl HigherOrderUDFImpl for LambdaOver {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Transform => "transform",
            Kind::Filter => "filter",
        }
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
        let Some(ValueOrLambda::Value(collection)) = fields.first() else {
            return plan_err!("{} takes a collection first, then lambdas", self.label());
        };
        let lambdas = fields.len() - 1;
        let expected = self.lambdas_for(collection.data_type());
        if lambdas != expected {
            return plan_err!(
                "{} over {} takes {expected} lambda(s), not {lambdas}",
                self.label(),
                collection.data_type()
            );
        }
        let params = match collection.data_type() {
            DataType::List(f) | DataType::LargeList(f) => vec![param("x", f.data_type())],
            t @ DataType::Map(_, _) => match map_kv(t) {
                Some((k, v)) => vec![param("k", k.data_type()), param("v", v.data_type())],
                None => return plan_err!("{}: malformed MAP type", self.label()),
            },
            DataType::Null => vec![param("x", &DataType::Null)],
            other => return plan_err!("{} expects an ARRAY or a MAP, not {other}", self.label()),
        };
        Ok(LambdaParametersProgress::Complete(vec![params; expected]))
    }

    fn return_field_from_args(&self, args: HigherOrderReturnFieldArgs) -> Result<FieldRef> {
        let Some(ValueOrLambda::Value(collection)) = args.arg_fields.first() else {
            return plan_err!("{} takes a collection first", self.label());
        };
        let lambda = |i: usize| match args.arg_fields.get(i) {
            Some(ValueOrLambda::Lambda(f)) => Ok(f.data_type().clone()),
            _ => plan_err!("{} expects a lambda as argument {}", self.label(), i + 1),
        };
        let t = match (self.kind, collection.data_type()) {
            (Kind::Filter, t) => t.clone(),
            (Kind::Transform, DataType::Map(_, sorted)) => {
                let entries = Fields::from(vec![
                    Field::new("key", lambda(1)?, false),
                    Field::new("value", lambda(2)?, true),
                ]);
                DataType::Map(
                    Arc::new(Field::new("entries", DataType::Struct(entries), false)),
                    *sorted,
                )
            }
            (Kind::Transform, _) => DataType::List(Arc::new(Field::new("item", lambda(1)?, true))),
        };
        Ok(Arc::new(Field::new("", t, true)))
    }

    fn invoke_with_args(&self, args: HigherOrderFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let Some(ValueOrLambda::Value(collection)) = args.args.first() else {
            return exec_err!("{} takes a collection first", self.label());
        };
        let lambdas: Vec<&LambdaArgument> = args.args[1..]
            .iter()
            .filter_map(|a| match a {
                ValueOrLambda::Lambda(l) => Some(l),
                ValueOrLambda::Value(_) => None,
            })
            .collect();
        let collection = collection.to_array(n)?;
        let result = match collection.data_type() {
            DataType::List(_) => {
                let Some(list) = collection.as_any().downcast_ref::<ListArray>() else {
                    return exec_err!("{}: expected a list", self.label());
                };
                self.over_list(list, &lambdas, args.return_type())?
            }
            DataType::Map(_, _) => {
                let Some(map) = collection.as_any().downcast_ref::<MapArray>() else {
                    return exec_err!("{}: expected a map", self.label());
                };
                self.over_map(map, &lambdas, args.return_type())?
            }
            _ => datafusion::arrow::array::new_null_array(args.return_type(), n),
        };
        Ok(ColumnarValue::Array(result))
    }
}

/// For each element, the row it belongs to (to repeat captured columns per element), and the
/// element range `[start, end)` the rows cover.
fn element_rows(offsets: &[i32]) -> (UInt32Array, usize, usize) {
    let start = offsets.first().copied().unwrap_or(0) as usize;
    let end = offsets.last().copied().unwrap_or(0) as usize;
    let rows: Vec<u32> = offsets
        .windows(2)
        .enumerate()
        .flat_map(|(row, w)| std::iter::repeat_n(row as u32, (w[1] - w[0]) as usize))
        .collect();
    (UInt32Array::from(rows), start, end)
}

fn eval(lambda: &LambdaArgument, params: &[ArrayRef], rows: &UInt32Array) -> Result<ArrayRef> {
    let closures: Vec<Box<dyn Fn() -> Result<ArrayRef>>> = params
        .iter()
        .map(|p| {
            let p = Arc::clone(p);
            Box::new(move || Ok(Arc::clone(&p))) as Box<dyn Fn() -> Result<ArrayRef>>
        })
        .collect();
    let refs: Vec<&dyn Fn() -> Result<ArrayRef>> = closures.iter().map(|c| c.as_ref()).collect();
    lambda
        .evaluate(&refs, |captured| Ok(take_arrays(captured, rows, None)?))?
        .into_array(rows.len())
}

/// Offsets rebased to start at 0 (the input may be a slice), and after keeping `keep` elements.
fn rebased(offsets: &[i32], keep: Option<&BooleanArray>) -> OffsetBuffer<i32> {
    let base = offsets.first().copied().unwrap_or(0);
    let mut out = Vec::with_capacity(offsets.len());
    let mut total = 0_i32;
    out.push(0);
    for w in offsets.windows(2) {
        let len = match keep {
            None => w[1] - w[0],
            Some(k) => ((w[0] - base)..(w[1] - base))
                .filter(|&j| k.is_valid(j as usize) && k.value(j as usize))
                .count() as i32,
        };
        total += len;
        out.push(total);
    }
    OffsetBuffer::new(out.into())
}

fn predicate(result: &ArrayRef, label: &str) -> Result<BooleanArray> {
    match result.as_any().downcast_ref::<BooleanArray>() {
        Some(b) => Ok(b.clone()),
        None => exec_err!(
            "the lambda of {label} must return a BOOLEAN, not {}",
            result.data_type()
        ),
    }
}

impl LambdaOver {
    fn over_list(
        &self,
        list: &ListArray,
        lambdas: &[&LambdaArgument],
        return_type: &DataType,
    ) -> Result<ArrayRef> {
        let offsets = list.value_offsets();
        let (rows, start, end) = element_rows(offsets);
        let values = list.values().slice(start, end - start);
        let Some(lambda) = lambdas.first() else {
            return exec_err!("{} needs a lambda", self.label());
        };
        let result = eval(lambda, &[Arc::clone(&values)], &rows)?;
        let DataType::List(field) = return_type else {
            return exec_err!(
                "{} over an array returns an array, not {return_type}",
                self.label()
            );
        };
        let (offsets, values) = match self.kind {
            Kind::Transform => (rebased(offsets, None), result),
            Kind::Filter => {
                let keep = predicate(&result, self.label())?;
                let keep_or_false =
                    BooleanArray::from_iter(keep.iter().map(|b| Some(b == Some(true))));
                (
                    rebased(offsets, Some(&keep_or_false)),
                    filter(values.as_ref(), &keep_or_false)?,
                )
            }
        };
        Ok(Arc::new(ListArray::try_new(
            Arc::clone(field),
            offsets,
            values,
            list.nulls().cloned(),
        )?))
    }

    fn over_map(
        &self,
        map: &MapArray,
        lambdas: &[&LambdaArgument],
        return_type: &DataType,
    ) -> Result<ArrayRef> {
        let offsets = map.value_offsets();
        let (rows, start, end) = element_rows(offsets);
        let keys = map.keys().slice(start, end - start);
        let values = map.values().slice(start, end - start);
        let params = [Arc::clone(&keys), Arc::clone(&values)];
        let DataType::Map(entries_field, sorted) = return_type else {
            return exec_err!(
                "{} over a map returns a map, not {return_type}",
                self.label()
            );
        };
        let DataType::Struct(fields) = entries_field.data_type() else {
            return exec_err!("{}: malformed MAP type", self.label());
        };
        let (offsets, new_keys, new_values) = match (self.kind, lambdas) {
            (Kind::Transform, [key_lambda, value_lambda]) => {
                let new_keys = eval(key_lambda, &params, &rows)?;
                if new_keys.null_count() > 0 {
                    return exec_err!("TRANSFORM produced a NULL map key");
                }
                (
                    rebased(offsets, None),
                    new_keys,
                    eval(value_lambda, &params, &rows)?,
                )
            }
            (Kind::Filter, [lambda]) => {
                let keep = predicate(&eval(lambda, &params, &rows)?, self.label())?;
                let keep_or_false =
                    BooleanArray::from_iter(keep.iter().map(|b| Some(b == Some(true))));
                (
                    rebased(offsets, Some(&keep_or_false)),
                    filter(keys.as_ref(), &keep_or_false)?,
                    filter(values.as_ref(), &keep_or_false)?,
                )
            }
            _ => return exec_err!("{} got the wrong number of lambdas", self.label()),
        };
        let fields = Fields::from(vec![
            Field::new(fields[0].name(), new_keys.data_type().clone(), false),
            Field::new(fields[1].name(), new_values.data_type().clone(), true),
        ]);
        let entries = StructArray::try_new(fields, vec![new_keys, new_values], None)?;
        Ok(Arc::new(MapArray::try_new(
            Arc::clone(entries_field),
            offsets,
            entries,
            map.nulls().cloned(),
            *sorted,
        )?))
    }
}
