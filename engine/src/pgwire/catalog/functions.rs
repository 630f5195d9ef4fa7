//! The Postgres functions the catalog queries of psql and drivers call (`pg_table_is_visible`,
//! `format_type`, `pg_get_userbyid`, `version()`, `set_config` ...), as DataFusion UDFs.
//!
//! Each is computed row by row on [`ScalarValue`]s: catalog queries touch a few hundred rows at
//! most, and taking any argument type (an oid arrives as an integer or as the text `'16384'`)
//! matters more here than vectorised speed.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use parking_lot::Mutex;

use crate::pgwire::catalog::tables::{DATABASE, ROLE, Relation};
use crate::pgwire::catalog::types::format_type;

type Body = Arc<dyn Fn(&[ScalarValue]) -> ScalarValue + Send + Sync>;

/// One Postgres function: a name, what it returns, and its body over one row's arguments.
struct PgFunction {
    name: &'static str,
    signature: Signature,
    returns: DataType,
    body: Body,
}

impl std::fmt::Debug for PgFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgFunction")
            .field("name", &self.name)
            .finish()
    }
}

impl PartialEq for PgFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for PgFunction {}

impl Hash for PgFunction {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for PgFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(self.returns.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let row = |i: usize| -> DfResult<ScalarValue> {
            let values = args
                .args
                .iter()
                .map(|a| match a {
                    ColumnarValue::Scalar(s) => Ok(s.clone()),
                    ColumnarValue::Array(array) => ScalarValue::try_from_array(array, i),
                })
                .collect::<DfResult<Vec<_>>>()?;
            let out = (self.body)(&values);
            if out.is_null() {
                ScalarValue::try_from(&self.returns)
            } else {
                Ok(out)
            }
        };
        if all_scalar {
            return Ok(ColumnarValue::Scalar(row(0)?));
        }
        let values = (0..args.number_rows)
            .map(row)
            .collect::<DfResult<Vec<_>>>()?;
        if values.is_empty() {
            return exec_err!("{}: no rows", self.name);
        }
        Ok(ColumnarValue::Array(ScalarValue::iter_to_array(values)?))
    }
}

/// An integer argument: an integer, or text holding one (`'16384'`).
fn int(v: Option<&ScalarValue>) -> Option<i64> {
    match v? {
        ScalarValue::Int8(x) => x.map(i64::from),
        ScalarValue::Int16(x) => x.map(i64::from),
        ScalarValue::Int32(x) => x.map(i64::from),
        ScalarValue::Int64(x) => *x,
        ScalarValue::UInt32(x) => x.map(i64::from),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A text argument.
fn text(v: Option<&ScalarValue>) -> Option<String> {
    match v? {
        ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => s.clone(),
        other if other.is_null() => None,
        other => Some(other.to_string()),
    }
}

fn utf8(s: Option<String>) -> ScalarValue {
    ScalarValue::Utf8(s)
}

/// What the functions read from the connection: its settings and the relations of the moment.
#[derive(Debug, Clone)]
pub struct FunctionContext {
    /// The connection's Postgres settings (`SET`, `set_config`).
    pub settings: Arc<Mutex<BTreeMap<String, String>>>,
    /// The relations the catalog views show.
    pub relations: Arc<Vec<Relation>>,
    /// The number `pg_backend_pid()` returns for this connection.
    pub pid: i32,
    /// What `version()` returns.
    pub version: String,
}

/// Every function of the catalog views, bound to `cx`.
pub fn functions(cx: &FunctionContext) -> Vec<ScalarUDF> {
    let mut list: Vec<PgFunction> = Vec::new();
    let mut add = |name: &'static str, returns: DataType, arity: usize, body: Body| {
        let signature = if arity == 0 {
            Signature::nullary(Volatility::Stable)
        } else {
            Signature::variadic_any(Volatility::Stable)
        };
        list.push(PgFunction {
            name,
            signature,
            returns,
            body,
        });
    };
    let constant = |value: &str| -> Body {
        let value = value.to_owned();
        Arc::new(move |_| utf8(Some(value.clone())))
    };
    let null_text: Body = Arc::new(|_| utf8(None));
    let yes: Body = Arc::new(|_| ScalarValue::Boolean(Some(true)));

    add("version", DataType::Utf8, 0, constant(&cx.version));
    add("current_schema", DataType::Utf8, 0, constant("public"));
    add("current_database", DataType::Utf8, 0, constant(DATABASE));
    add("current_catalog", DataType::Utf8, 0, constant(DATABASE));
    add("current_user", DataType::Utf8, 0, constant(ROLE));
    add("session_user", DataType::Utf8, 0, constant(ROLE));
    let pid = cx.pid;
    add(
        "pg_backend_pid",
        DataType::Int32,
        0,
        Arc::new(move |_| ScalarValue::Int32(Some(pid))),
    );
    add(
        "pg_is_in_recovery",
        DataType::Boolean,
        0,
        Arc::new(|_| ScalarValue::Boolean(Some(false))),
    );
    let settings = cx.settings.clone();
    add(
        "current_setting",
        DataType::Utf8,
        1,
        Arc::new(move |args| {
            let name = text(args.first()).map(|n| n.to_ascii_lowercase());
            utf8(name.and_then(|n| settings.lock().get(&n).cloned()))
        }),
    );
    let settings = cx.settings.clone();
    add(
        "set_config",
        DataType::Utf8,
        3,
        Arc::new(move |args| {
            let (Some(name), Some(value)) = (text(args.first()), text(args.get(1))) else {
                return utf8(None);
            };
            settings
                .lock()
                .insert(name.to_ascii_lowercase(), value.clone());
            utf8(Some(value))
        }),
    );
    for name in [
        "pg_table_is_visible",
        "pg_type_is_visible",
        "pg_function_is_visible",
    ] {
        add(name, DataType::Boolean, 1, yes.clone());
    }
    for name in [
        "has_table_privilege",
        "has_schema_privilege",
        "has_database_privilege",
        "has_column_privilege",
    ] {
        add(name, DataType::Boolean, 2, yes.clone());
    }
    add("pg_get_userbyid", DataType::Utf8, 1, constant(ROLE));
    add(
        "pg_encoding_to_char",
        DataType::Utf8,
        1,
        Arc::new(|args| {
            utf8(int(args.first()).map(|e| if e == 6 { "UTF8" } else { "SQL_ASCII" }.to_owned()))
        }),
    );
    add(
        "format_type",
        DataType::Utf8,
        2,
        Arc::new(|args| utf8(int(args.first()).and_then(|oid| format_type(oid, int(args.get(1)))))),
    );
    for name in [
        "pg_get_expr",
        "obj_description",
        "col_description",
        "shobj_description",
        "pg_get_indexdef",
        "pg_get_constraintdef",
        "pg_get_triggerdef",
        "pg_get_partkeydef",
        "pg_get_statisticsobjdef_columns",
        "pg_tablespace_location",
    ] {
        add(name, DataType::Utf8, 1, null_text.clone());
    }
    let relations = cx.relations.clone();
    add(
        "pg_get_viewdef",
        DataType::Utf8,
        1,
        Arc::new(move |args| {
            let oid = int(args.first());
            utf8(
                relations
                    .iter()
                    .find(|r| Some(r.oid()) == oid)
                    .map(|r| r.statement.clone()),
            )
        }),
    );
    let relations = cx.relations.clone();
    add(
        "to_regclass",
        DataType::Int64,
        1,
        Arc::new(move |args| {
            let name = text(args.first()).map(|n| n.trim_start_matches("public.").to_owned());
            ScalarValue::Int64(
                relations
                    .iter()
                    .find(|r| Some(&r.name) == name.as_ref())
                    .map(Relation::oid),
            )
        }),
    );
    for name in [
        "pg_relation_size",
        "pg_total_relation_size",
        "pg_table_size",
        "pg_indexes_size",
    ] {
        add(
            name,
            DataType::Int64,
            1,
            Arc::new(|_| ScalarValue::Int64(Some(0))),
        );
    }
    add(
        "pg_size_pretty",
        DataType::Utf8,
        1,
        Arc::new(|args| utf8(int(args.first()).map(|b| format!("{b} bytes")))),
    );
    add(
        "quote_ident",
        DataType::Utf8,
        1,
        Arc::new(|args| utf8(text(args.first()).map(|s| quote_ident(&s)))),
    );
    list.into_iter().map(ScalarUDF::new_from_impl).collect()
}

/// `s` as an identifier: bare when it is lower case letters, digits and `_`, else quoted.
fn quote_ident(s: &str) -> String {
    let bare = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if bare {
        s.to_owned()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_when_postgres_would() {
        assert_eq!(quote_ident("orders"), "orders");
        assert_eq!(quote_ident("Orders"), "\"Orders\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn oids_are_read_from_integers_and_text() {
        assert_eq!(int(Some(&ScalarValue::Int64(Some(7)))), Some(7));
        assert_eq!(
            int(Some(&ScalarValue::Utf8(Some("16384".into())))),
            Some(16384)
        );
        assert_eq!(int(Some(&ScalarValue::Utf8(None))), None);
    }
}
