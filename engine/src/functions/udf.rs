//! The one `ScalarUDFImpl` behind every ksqlDB function Sluice registers.
//!
//! ksqlDB functions are overloaded by SQL type (`ABS(INT)`, `ABS(BIGINT)`, `ABS(DOUBLE)` ...) and
//! resolve a call the way Java does: an exact match first, then one that needs implicit widening
//! (`INT` → `BIGINT` → `DECIMAL` → `DOUBLE`). Rather than writing that logic into hundreds of
//! `ScalarUDFImpl`s, each function is a [`FunctionSpec`] (name, category, description and
//! overloads in ksqlDB type spelling, which `DESCRIBE FUNCTION` prints) plus two plain functions:
//! one that picks the return type and one that computes a whole Arrow array at once.
//! [`KsqlUdf`] turns that into a DataFusion UDF whose `coerce_types` performs ksqlDB's overload
//! resolution, so the invoke functions only ever see canonical Arrow types (`Utf8`, `Int32`,
//! `Int64`, `Float64`, `Decimal128`, `Timestamp(ms)` ...).

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, new_null_array};
use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// The type of one parameter of an overload, in ksqlDB's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Param {
    /// `STRING`, held as `Utf8`.
    Str,
    /// `INTEGER`, held as `Int32`.
    Int,
    /// `BIGINT`, held as `Int64`.
    BigInt,
    /// `DOUBLE`, held as `Float64`.
    Double,
    /// `DECIMAL(p, s)` of any precision and scale, held as `Decimal128`.
    Decimal,
    /// `BOOLEAN`.
    Bool,
    /// `BYTES`, held as `Binary`.
    Bytes,
    /// `DATE`, held as `Date32`.
    Date,
    /// `TIME`, held as `Time32(Millisecond)`.
    Time,
    /// `TIMESTAMP`, held as `Timestamp(Millisecond, None)`.
    Timestamp,
    /// `ARRAY<T>` of any element type, held as `List`.
    Array,
    /// `MAP<K, V>` of any key and value type.
    Map,
    /// Any type at all, passed through unchanged.
    Any,
}

impl Param {
    /// The name ksqlDB prints for this parameter type.
    pub fn ksql_name(self) -> &'static str {
        match self {
            Param::Str => "VARCHAR",
            Param::Int => "INT",
            Param::BigInt => "BIGINT",
            Param::Double => "DOUBLE",
            Param::Decimal => "DECIMAL",
            Param::Bool => "BOOLEAN",
            Param::Bytes => "BYTES",
            Param::Date => "DATE",
            Param::Time => "TIME",
            Param::Timestamp => "TIMESTAMP",
            Param::Array => "ARRAY<T>",
            Param::Map => "MAP<K, V>",
            Param::Any => "T",
        }
    }

    /// The Arrow type an argument of type `actual` is coerced to, if this parameter accepts it.
    /// Level 0 accepts only types that need no conversion of value, level 1 also widening
    /// (`INT` → `BIGINT` → `DECIMAL` → `DOUBLE`), level 2 also `BIGINT` → `INT`.
    fn accept(self, actual: &DataType, level: u8) -> Option<DataType> {
        use DataType as D;
        if matches!(actual, D::Null) {
            return Some(match self {
                Param::Any | Param::Array | Param::Map => D::Null,
                Param::Decimal => D::Decimal128(38, 0),
                other => other.canonical()?,
            });
        }
        let exact = match (self, actual) {
            (Param::Str, D::Utf8 | D::Utf8View | D::LargeUtf8) => Some(D::Utf8),
            (Param::Int, D::Int8 | D::Int16 | D::Int32 | D::UInt8 | D::UInt16) => Some(D::Int32),
            (Param::BigInt, D::Int64 | D::UInt32) => Some(D::Int64),
            (Param::Double, D::Float16 | D::Float32 | D::Float64) => Some(D::Float64),
            (Param::Decimal, D::Decimal128(p, s)) => Some(D::Decimal128(*p, *s)),
            (Param::Decimal, D::Decimal32(p, s) | D::Decimal64(p, s)) => {
                Some(D::Decimal128(*p, *s))
            }
            (Param::Bool, D::Boolean) => Some(D::Boolean),
            (Param::Bytes, D::Binary | D::LargeBinary | D::BinaryView | D::FixedSizeBinary(_)) => {
                Some(D::Binary)
            }
            (Param::Date, D::Date32 | D::Date64) => Some(D::Date32),
            (Param::Time, D::Time32(_) | D::Time64(_)) => Some(D::Time32(TimeUnit::Millisecond)),
            (Param::Timestamp, D::Timestamp(_, _)) => {
                Some(D::Timestamp(TimeUnit::Millisecond, None))
            }
            (Param::Array, D::List(_)) => Some(actual.clone()),
            (Param::Array, D::LargeList(f) | D::FixedSizeList(f, _) | D::ListView(f)) => {
                Some(D::List(Arc::clone(f)))
            }
            (Param::Map, D::Map(_, _)) => Some(actual.clone()),
            (Param::Any, t) => Some(t.clone()),
            _ => None,
        };
        if exact.is_some() || level == 0 {
            return exact;
        }
        let is_int = actual.is_integer();
        match self {
            // DataFusion types integer literals as BIGINT where ksqlDB types them INT; narrowing
            // is the last resort, after every overload that only widens.
            Param::Int if is_int && level >= 2 => Some(D::Int32),
            Param::BigInt if is_int => Some(D::Int64),
            Param::Decimal if is_int => Some(D::Decimal128(20, 0)),
            Param::Double if is_int || matches!(actual, D::Decimal128(..) | D::Decimal64(..)) => {
                Some(D::Float64)
            }
            _ => None,
        }
    }

    fn canonical(self) -> Option<DataType> {
        Some(match self {
            Param::Str => DataType::Utf8,
            Param::Int => DataType::Int32,
            Param::BigInt => DataType::Int64,
            Param::Double => DataType::Float64,
            Param::Bool => DataType::Boolean,
            Param::Bytes => DataType::Binary,
            Param::Date => DataType::Date32,
            Param::Time => DataType::Time32(TimeUnit::Millisecond),
            Param::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, None),
            Param::Decimal | Param::Array | Param::Map | Param::Any => return None,
        })
    }
}

/// One overload of a function: its parameters, whether the last one repeats, and the return
/// type as ksqlDB prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sig {
    /// Parameter types, in order.
    pub params: &'static [Param],
    /// True if the last parameter may be repeated any number of times (including zero).
    pub variadic: bool,
    /// The return type as ksqlDB spells it, for `DESCRIBE FUNCTION`.
    pub returns: &'static str,
}

impl Sig {
    /// An overload with a fixed number of parameters.
    pub const fn new(params: &'static [Param], returns: &'static str) -> Sig {
        Sig {
            params,
            variadic: false,
            returns,
        }
    }

    /// An overload whose last parameter repeats.
    pub const fn variadic(params: &'static [Param], returns: &'static str) -> Sig {
        Sig {
            params,
            variadic: true,
            returns,
        }
    }

    /// The coerced argument types and their cost (0 per exact argument, 1 per widened one, 3 per
    /// narrowed one), if this overload accepts the arguments.
    fn coerce(&self, args: &[DataType]) -> Option<(Vec<DataType>, u32)> {
        let fixed = if self.variadic {
            self.params.len().saturating_sub(1)
        } else {
            self.params.len()
        };
        if args.len() < fixed || (!self.variadic && args.len() != fixed) {
            return None;
        }
        let mut cost = 0;
        let mut types = Vec::with_capacity(args.len());
        for (i, t) in args.iter().enumerate() {
            let param = self.params.get(i).or(self.params.last())?;
            let (coerced, c) = (0..=2u8).find_map(|level| {
                param
                    .accept(t, level)
                    .map(|d| (d, [0, 1, 3][level as usize]))
            })?;
            cost += c;
            types.push(coerced);
        }
        Some((types, cost))
    }

    /// `(VARCHAR, INT) -> VARCHAR`, ksqlDB's way of printing an overload.
    pub fn display(&self) -> String {
        let mut params: Vec<String> = self
            .params
            .iter()
            .map(|p| p.ksql_name().to_string())
            .collect();
        if self.variadic
            && let Some(last) = params.last_mut()
        {
            last.push_str("...");
        }
        format!("({}) -> {}", params.join(", "), self.returns)
    }
}

/// What kind of function it is, for grouping in `SHOW FUNCTIONS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Text functions.
    String,
    /// Numeric functions.
    Math,
    /// Functions on DATE, TIME and TIMESTAMP.
    DateTime,
    /// Functions on JSON text.
    Json,
    /// Functions on ARRAY values.
    Array,
    /// Functions on MAP values.
    Map,
    /// Functions on BYTES.
    Bytes,
    /// NULL handling and conditionals.
    Conditional,
    /// Functions on URLs.
    Url,
    /// Geospatial functions.
    Geo,
    /// Anything else.
    Other,
}

impl Category {
    /// The category's name as `SHOW FUNCTIONS` prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::String => "STRING",
            Category::Math => "MATHEMATICAL",
            Category::DateTime => "DATE / TIME",
            Category::Json => "JSON",
            Category::Array => "ARRAY",
            Category::Map => "MAP",
            Category::Bytes => "BYTES",
            Category::Conditional => "CONDITIONAL",
            Category::Url => "URL",
            Category::Geo => "GEOSPATIAL",
            Category::Other => "OTHER",
        }
    }
}

/// The description of a ksqlDB function: what `SHOW FUNCTIONS` and `DESCRIBE FUNCTION` print,
/// and the overloads used to resolve a call.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FunctionSpec {
    /// Upper-case ksqlDB name.
    pub name: &'static str,
    /// Other names the same function answers to.
    pub aliases: &'static [&'static str],
    /// Grouping for `SHOW FUNCTIONS`.
    pub category: Category,
    /// One or two sentences on what it does, including its NULL behaviour.
    pub description: &'static str,
    /// The overloads, most specific first.
    pub sigs: &'static [Sig],
}

impl FunctionSpec {
    /// ksqlDB's overload resolution: the overload that accepts the arguments with the fewest
    /// conversions (exact beats widening, widening beats narrowing DataFusion's BIGINT integer
    /// literals to INT); the first listed wins a tie.
    pub fn resolve(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let best = self
            .sigs
            .iter()
            .filter_map(|s| s.coerce(args))
            .reduce(|best, next| if next.1 < best.1 { next } else { best });
        if let Some((types, _)) = best {
            return Ok(types);
        }
        let given: Vec<String> = args.iter().map(ksql_type_name).collect();
        plan_err!(
            "Function '{}' does not accept parameters ({}). Valid alternatives are: {}",
            self.name,
            given.join(", "),
            self.sigs
                .iter()
                .map(|s| format!("{}{}", self.name, s.display()))
                .collect::<Vec<_>>()
                .join("; ")
        )
    }
}

/// The ksqlDB name of an Arrow type, for error messages.
pub fn ksql_type_name(t: &DataType) -> String {
    use DataType as D;
    match t {
        D::Null => "NULL".into(),
        D::Boolean => "BOOLEAN".into(),
        D::Int8 | D::Int16 | D::Int32 | D::UInt8 | D::UInt16 => "INTEGER".into(),
        D::Int64 | D::UInt32 | D::UInt64 => "BIGINT".into(),
        D::Float16 | D::Float32 | D::Float64 => "DOUBLE".into(),
        D::Decimal32(p, s) | D::Decimal64(p, s) => format!("DECIMAL({p}, {s})"),
        D::Decimal128(p, s) | D::Decimal256(p, s) => format!("DECIMAL({p}, {s})"),
        D::Utf8 | D::Utf8View | D::LargeUtf8 => "STRING".into(),
        D::Binary | D::BinaryView | D::LargeBinary | D::FixedSizeBinary(_) => "BYTES".into(),
        D::Date32 | D::Date64 => "DATE".into(),
        D::Time32(_) | D::Time64(_) => "TIME".into(),
        D::Timestamp(_, _) => "TIMESTAMP".into(),
        D::List(f) | D::LargeList(f) | D::FixedSizeList(f, _) | D::ListView(f) => {
            format!("ARRAY<{}>", ksql_type_name(f.data_type()))
        }
        D::Map(entries, _) => match entries.data_type() {
            D::Struct(kv) if kv.len() == 2 => format!(
                "MAP<{}, {}>",
                ksql_type_name(kv[0].data_type()),
                ksql_type_name(kv[1].data_type())
            ),
            _ => "MAP".into(),
        },
        D::Struct(fields) => format!(
            "STRUCT<{}>",
            fields
                .iter()
                .map(|f| format!("{} {}", f.name(), ksql_type_name(f.data_type())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// Picks the return type from the (already coerced) argument types.
pub type ReturnTypeFn = fn(&[DataType]) -> Result<DataType>;
/// Computes the function over whole arrays: `(arguments, number of rows, return type)`.
/// Every argument array has exactly `number of rows` elements.
pub type InvokeFn = fn(&[ArrayRef], usize, &DataType) -> Result<ArrayRef>;
/// Replaces the default overload resolution (for functions whose arguments must share a type).
pub type CoerceFn = fn(&FunctionSpec, &[DataType]) -> Result<Vec<DataType>>;

/// A ksqlDB function as a DataFusion scalar UDF. Built with [`KsqlUdf::new`] and the `with_*`
/// methods, then turned into a [`ScalarUDF`] with [`KsqlUdf::into_udf`].
#[derive(Debug)]
pub struct KsqlUdf {
    spec: &'static FunctionSpec,
    lower_name: String,
    aliases: Vec<String>,
    signature: Signature,
    return_type: ReturnTypeFn,
    invoke: InvokeFn,
    coerce: Option<CoerceFn>,
    null_if_null_typed: bool,
}

impl KsqlUdf {
    /// A deterministic function described by `spec`.
    pub fn new(spec: &'static FunctionSpec, return_type: ReturnTypeFn, invoke: InvokeFn) -> Self {
        KsqlUdf {
            spec,
            lower_name: spec.name.to_ascii_lowercase(),
            aliases: spec
                .aliases
                .iter()
                .map(|a| a.to_ascii_lowercase())
                .collect(),
            signature: Signature::user_defined(Volatility::Immutable),
            return_type,
            invoke,
            coerce: None,
            null_if_null_typed: true,
        }
    }

    /// Marks the function as returning a different value on every call (`RANDOM`, `NOW`).
    pub fn volatile(mut self) -> Self {
        self.signature = Signature::user_defined(Volatility::Volatile);
        self
    }

    /// Custom overload resolution.
    pub fn with_coerce(mut self, coerce: CoerceFn) -> Self {
        self.coerce = Some(coerce);
        self
    }

    /// The function handles a `NULL`-typed argument itself (by default an argument that is the
    /// untyped `NULL` literal makes every row NULL, which is what ksqlDB does for most functions).
    pub fn handles_null(mut self) -> Self {
        self.null_if_null_typed = false;
        self
    }

    /// The DataFusion UDF.
    pub fn into_udf(self) -> ScalarUDF {
        ScalarUDF::new_from_impl(self)
    }
}

impl PartialEq for KsqlUdf {
    fn eq(&self, other: &Self) -> bool {
        self.spec.name == other.spec.name
    }
}

impl Eq for KsqlUdf {}

impl Hash for KsqlUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.spec.name.hash(state);
    }
}

impl ScalarUDFImpl for KsqlUdf {
    fn name(&self) -> &str {
        &self.lower_name
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match self.coerce {
            Some(coerce) => coerce(self.spec, arg_types),
            None => self.spec.resolve(arg_types),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        (self.return_type)(arg_types)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let return_type = args.return_field.data_type().clone();
        let null_typed = args
            .args
            .iter()
            .any(|a| matches!(a.data_type(), DataType::Null));
        let out_rows = if all_scalar && !args.args.is_empty() {
            1
        } else {
            rows
        };
        let result = if self.null_if_null_typed && null_typed {
            new_null_array(&return_type, out_rows)
        } else {
            let arrays: Vec<ArrayRef> = args
                .args
                .iter()
                .map(|a| a.to_array(out_rows))
                .collect::<Result<_>>()?;
            (self.invoke)(&arrays, out_rows, &return_type)?
        };
        if all_scalar && !args.args.is_empty() {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                &result, 0,
            )?))
        } else {
            Ok(ColumnarValue::Array(result))
        }
    }
}

/// A return type that does not depend on the arguments.
pub fn field_list(element: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", element, true)))
}
