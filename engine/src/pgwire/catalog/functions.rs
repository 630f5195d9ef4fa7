//! The Postgres functions the catalog queries of psql and drivers call (`pg_table_is_visible`,
//! `format_type`, `pg_get_userbyid`, `version()`, `set_config` ...), as DataFusion UDFs.
//!
//! Each is computed row by row on [`ScalarValue`]s: catalog queries touch a few hundred rows at
//! most, and taking any argument type (an oid arrives as an integer or as the text `'16384'`)
//! matters more here than vectorised speed.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, ListArray, StructArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{Result as DfResult, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use parking_lot::Mutex;

use crate::pgwire::catalog::tables::{
    CATALOG_RELATION_OIDS, DATABASE, INFORMATION_SCHEMA_OID, PG_CATALOG_OID, PUBLIC_OID, ROLE,
    ROLE_OID, Relation, quote,
};
use crate::pgwire::catalog::types::{KNOWN_TYPES, format_type};

type Body = Arc<dyn Fn(&[ScalarValue]) -> ScalarValue + Send + Sync>;
/// Finds an object's oid by its name.
type ByName = Arc<dyn Fn(&str) -> Option<i64> + Send + Sync>;
/// Finds an object's name by its oid.
type ByOid = Arc<dyn Fn(i64) -> Option<String> + Send + Sync>;

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
            return Ok(ColumnarValue::Array(arrow::array::new_empty_array(
                &self.returns,
            )));
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
        "pg_get_serial_sequence",
        "pg_get_function_result",
        "pg_get_function_arguments",
        "pg_get_function_identity_arguments",
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
    add_oid_aliases(&mut add, &cx.relations);
    add(
        "current_schemas",
        DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
        1,
        Arc::new(|args| {
            let implicit = matches!(args.first(), Some(ScalarValue::Boolean(Some(true))));
            let names: &[&str] = if implicit {
                &["pg_catalog", "public"]
            } else {
                &["public"]
            };
            ScalarValue::List(ScalarValue::new_list_nullable(
                &names
                    .iter()
                    .map(|n| ScalarValue::Utf8(Some((*n).to_owned())))
                    .collect::<Vec<_>>(),
                &DataType::Utf8,
            ))
        }),
    );
    add(
        "array_upper",
        DataType::Int64,
        2,
        Arc::new(|args| {
            let len = list_values(args.first()).map(|v| v.len() as i64);
            ScalarValue::Int64(len.filter(|n| *n > 0))
        }),
    );
    add(
        "pg_expandarray",
        expanded_type(),
        1,
        Arc::new(|args| expand_array(args.first())),
    );
    let relations = cx.relations.clone();
    add(
        "pg_get_indexdef",
        DataType::Utf8,
        3,
        Arc::new(move |args| {
            let oid = int(args.first());
            let Some(r) = relations
                .iter()
                .find(|r| Some(r.pkey_index_oid()) == oid && !r.primary_key().is_empty())
            else {
                return utf8(None);
            };
            // With a column number (from 1): that column's name; 0 or none: the definition.
            match int(args.get(1)).filter(|c| *c > 0) {
                Some(column) => utf8(
                    r.primary_key()
                        .get(usize::try_from(column - 1).unwrap_or(usize::MAX))
                        .map(|(_, name)| quote(name)),
                ),
                None => utf8(Some(r.pkey_index_def())),
            }
        }),
    );
    let relations = cx.relations.clone();
    add(
        "pg_get_constraintdef",
        DataType::Utf8,
        2,
        Arc::new(move |args| {
            let oid = int(args.first());
            utf8(
                relations
                    .iter()
                    .find(|r| Some(r.pkey_constraint_oid()) == oid && !r.primary_key().is_empty())
                    .map(Relation::pkey_constraint_def),
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

/// The values of a list argument, as integers.
fn list_values(v: Option<&ScalarValue>) -> Option<Vec<Option<i64>>> {
    let list = match v? {
        ScalarValue::List(list) => list.clone(),
        _ => return None,
    };
    if list.is_empty() || list.is_null(0) {
        return None;
    }
    let values = list.value(0);
    let values = arrow::compute::cast(&values, &DataType::Int64).ok()?;
    let values = values.as_any().downcast_ref::<Int64Array>()?;
    Some(values.iter().collect())
}

fn expanded_fields() -> Fields {
    Fields::from(vec![
        Field::new("x", DataType::Int64, true),
        Field::new("n", DataType::Int64, true),
    ])
}

/// What `pg_expandarray` returns: a list of `(x, n)`, each element and its position from 1.
fn expanded_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(
        DataType::Struct(expanded_fields()),
        true,
    )))
}

/// `information_schema._pg_expandarray(a)` as a list (unnest makes it rows).
fn expand_array(v: Option<&ScalarValue>) -> ScalarValue {
    let values = list_values(v).unwrap_or_default();
    let n = values.len();
    let xs: ArrayRef = Arc::new(Int64Array::from(values));
    let ns: ArrayRef = Arc::new(Int64Array::from_iter_values(1..=n as i64));
    let structs = StructArray::new(expanded_fields(), vec![xs, ns], None);
    let list = ListArray::new(
        Arc::new(Field::new_list_field(
            DataType::Struct(expanded_fields()),
            true,
        )),
        OffsetBuffer::from_lengths([n]),
        Arc::new(structs),
        None,
    );
    ScalarValue::List(Arc::new(list))
}

/// A name as Postgres reads it in a regclass literal: `public.orders`, `"Orders"`, `ORDERS`.
fn object_name(text: &str) -> (Option<String>, String) {
    let unquote = |part: &str| match part.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => part.to_ascii_lowercase(),
    };
    let text = text.trim();
    match text.split_once('.') {
        Some((schema, name)) if !schema.starts_with('"') || schema.ends_with('"') => {
            (Some(unquote(schema)), unquote(name))
        }
        _ => (None, unquote(text)),
    }
}

/// The oid of the relation called `text` (a stream, a table, a primary key index or a catalog).
fn relation_by_name(relations: &[Relation], text: &str) -> Option<i64> {
    let (schema, name) = object_name(text);
    let user = relations.iter().find_map(|r| {
        if r.name == name {
            Some(r.oid())
        } else if !r.primary_key().is_empty() && r.pkey_name() == name {
            Some(r.pkey_index_oid())
        } else {
            None
        }
    });
    let catalog = || {
        CATALOG_RELATION_OIDS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, oid)| *oid)
    };
    match schema.as_deref() {
        Some("pg_catalog") => catalog(),
        Some("public") => user,
        None => user.or_else(catalog),
        Some(_) => None,
    }
}

/// The name of the relation with `oid`.
fn relation_name(relations: &[Relation], oid: i64) -> Option<String> {
    relations
        .iter()
        .find_map(|r| {
            if r.oid() == oid {
                Some(quote(&r.name))
            } else if !r.primary_key().is_empty() && r.pkey_index_oid() == oid {
                Some(quote(&r.pkey_name()))
            } else {
                None
            }
        })
        .or_else(|| {
            CATALOG_RELATION_OIDS
                .iter()
                .find(|(_, o)| *o == oid)
                .map(|(n, _)| (*n).to_owned())
        })
}

/// The oid of the type called `text` (`int4`, `integer`, `text[]`, `pg_catalog.numeric`).
fn type_by_name(text: &str) -> Option<i64> {
    let (_, name) = object_name(text);
    let name = match name.as_str() {
        "int" => "integer",
        "decimal" => "numeric",
        "float" => "double precision",
        "timestamp" => "timestamp without time zone",
        "timestamptz" => "timestamp with time zone",
        "varchar" => "character varying",
        "char" => "character",
        "bool" => "boolean",
        other => other,
    };
    KNOWN_TYPES
        .iter()
        .find(|t| {
            t.name() == name || format_type(i64::from(t.oid()), None).as_deref() == Some(name)
        })
        .map(|t| i64::from(t.oid()))
}

const NAMESPACES: &[(&str, i64)] = &[
    ("pg_catalog", PG_CATALOG_OID),
    ("public", PUBLIC_OID),
    ("information_schema", INFORMATION_SCHEMA_OID),
];

/// `regclass(x)` and the other oid alias types: an oid as it is, a name looked up (NULL when
/// nothing has it, as `to_regclass` answers); `regclass_out(x)`: the name of an oid.
fn add_oid_aliases(
    add: &mut impl FnMut(&'static str, DataType, usize, Body),
    relations: &Arc<Vec<Relation>>,
) {
    let lookup = |resolve: ByName| -> Body {
        Arc::new(move |args| match args.first() {
            Some(
                v @ (ScalarValue::Utf8(_) | ScalarValue::LargeUtf8(_) | ScalarValue::Utf8View(_)),
            ) => ScalarValue::Int64(
                text(Some(v)).and_then(|t| t.trim().parse::<i64>().ok().or_else(|| resolve(&t))),
            ),
            other => ScalarValue::Int64(int(other)),
        })
    };
    let name_of = |resolve: ByOid| -> Body {
        Arc::new(move |args| match args.first() {
            Some(
                v @ (ScalarValue::Utf8(_) | ScalarValue::LargeUtf8(_) | ScalarValue::Utf8View(_)),
            ) => utf8(text(Some(v))),
            other => utf8(int(other).map(|oid| resolve(oid).unwrap_or_else(|| oid.to_string()))),
        })
    };
    let r = relations.clone();
    let class: ByName = Arc::new(move |t| relation_by_name(&r, t));
    let r = relations.clone();
    let class_name: ByOid = Arc::new(move |oid| relation_name(&r, oid));
    let ty: ByName = Arc::new(type_by_name);
    let ty_name: ByOid = Arc::new(|oid| format_type(oid, None));
    let namespace: ByName = Arc::new(|t| {
        let (_, name) = object_name(t);
        NAMESPACES.iter().find(|(n, _)| *n == name).map(|(_, o)| *o)
    });
    let namespace_name: ByOid = Arc::new(|oid| {
        NAMESPACES
            .iter()
            .find(|(_, o)| *o == oid)
            .map(|(n, _)| (*n).to_owned())
    });
    let role: ByName = Arc::new(|t| (object_name(t).1 == ROLE).then_some(ROLE_OID));
    let role_name: ByOid = Arc::new(|oid| (oid == ROLE_OID).then(|| ROLE.to_owned()));
    for name in ["regclass", "to_regclass"] {
        add(name, DataType::Int64, 1, lookup(class.clone()));
    }
    add("regclass_out", DataType::Utf8, 1, name_of(class_name));
    for name in ["regtype", "to_regtype"] {
        add(name, DataType::Int64, 1, lookup(ty.clone()));
    }
    add("regtype_out", DataType::Utf8, 1, name_of(ty_name));
    for name in ["regnamespace", "to_regnamespace"] {
        add(name, DataType::Int64, 1, lookup(namespace.clone()));
    }
    add(
        "regnamespace_out",
        DataType::Utf8,
        1,
        name_of(namespace_name),
    );
    for name in ["regrole", "to_regrole"] {
        add(name, DataType::Int64, 1, lookup(role.clone()));
    }
    add("regrole_out", DataType::Utf8, 1, name_of(role_name));
    // Functions are referred to by name (pg_type.typinput holds names here): regproc is the
    // name without its schema.
    let proc_name: Body = Arc::new(|args| {
        utf8(text(args.first()).map(|t| {
            let (_, name) = object_name(&t);
            name.split('(').next().unwrap_or("").to_owned()
        }))
    });
    for name in [
        "regproc",
        "regprocedure",
        "to_regproc",
        "to_regprocedure",
        "regproc_out",
        "regprocedure_out",
    ] {
        add(name, DataType::Utf8, 1, proc_name.clone());
    }
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
