//! The SELECT list of a stateless query resolved as ksqlDB resolves it: which output columns
//! there are, what each is called, and which of them form the sink's key.
//!
//! Without `PARTITION BY` the key is the source key, carried through by selecting its columns
//! (a persistent query must select each of them exactly once). With `PARTITION BY e1, e2 ...`
//! the source is re-keyed first, as ksqlDB's repartition step does: the new key columns are the
//! expressions (named after the column for a plain column reference, `KSQL_COL_<n>` otherwise),
//! and the old key columns move into the value, so `*` means the new key, then the value
//! columns that are not now the key, then the old key columns. `PARTITION BY NULL` leaves the
//! stream without a key. Names ksqlDB makes up (`KSQL_COL_<n>`) skip the names the source
//! already has, so `SELECT ABS(KSQL_COL_2), *` never clashes with a source column.

use std::collections::BTreeSet;

use datafusion::sql::sqlparser::ast::{
    AccessExpr, Expr, SelectItem, SelectItemQualifiedWildcardKind, Value,
};

use crate::catalog::error::{EngineError, Result};
use crate::catalog::plan::{SelectUse, quote, quoted};
use crate::catalog::source::SourceInfo;
use crate::sql::Query;
use crate::types::{ColumnKind, PseudoColumn};

/// The resolved SELECT list.
#[derive(Debug, Clone, Default)]
pub(crate) struct Projection {
    /// The output columns: SQL expression (DataFusion text) and name, in order.
    pub items: Vec<(String, String)>,
    /// The names of the output columns that form the sink key, in key order.
    pub key: Vec<String>,
}

/// One column the projection can see through `*`.
struct Visible {
    expr: String,
    name: String,
    /// Index of the key column this is (source key or PARTITION BY expression).
    key: Option<usize>,
}

/// Makes up ksqlDB's `KSQL_COL_<n>` names, skipping the names the source already uses.
struct Generated {
    next: usize,
    taken: BTreeSet<String>,
}

impl Generated {
    fn name(&mut self) -> String {
        loop {
            let name = format!("KSQL_COL_{}", self.next);
            self.next += 1;
            if self.taken.insert(name.clone()) {
                return name;
            }
        }
    }
}

/// A key column of the re-keyed (or original) source.
struct KeyColumn {
    /// The name it has in the output when selected through `*` (or as a bare expression).
    name: String,
    /// Its DataFusion text.
    expr: String,
    /// How the user wrote it, for messages.
    written: String,
    /// Whether it is a plain column of the source (so `SELECT col` carries it).
    is_column: bool,
}

/// Resolves the SELECT list of `query` over `source` (referred to as `reference`).
///
/// `sink` names the persistent query's output in messages (`` `OUTPUT` ``).
pub(crate) fn resolve(
    query: &Query,
    source: &SourceInfo,
    reference: &str,
    event_time: bool,
    usage: SelectUse,
    sink: &str,
) -> Result<Projection> {
    let mut generated = Generated {
        next: 0,
        taken: source.schema.columns().map(|c| c.name.clone()).collect(),
    };
    let column_ref = |name: &str| format!("{}.{}", quote(reference), quote(name));
    let repartitioned = !query.partition_by.is_empty();
    let partition_by_null = query.partition_by.len() == 1
        && matches!(unnested(&query.partition_by[0]), Expr::Value(v) if v.value == Value::Null);

    // The key columns the projection must carry, and what `*` expands to.
    let mut keys: Vec<KeyColumn> = Vec::new();
    let mut star: Vec<Visible> = Vec::new();
    if !repartitioned {
        for column in source.schema.columns() {
            let key = (column.kind == ColumnKind::Key).then(|| {
                keys.push(KeyColumn {
                    name: column.name.clone(),
                    expr: column_ref(&column.name),
                    written: column.name.clone(),
                    is_column: true,
                });
                keys.len() - 1
            });
            star.push(Visible {
                expr: column_ref(&column.name),
                name: column.name.clone(),
                key,
            });
        }
    } else {
        if !partition_by_null {
            for expr in &query.partition_by {
                let column = column_of(expr);
                if let Some(c) = &column {
                    check_partition_column(c, source, query)?;
                }
                let is_column = column.is_some();
                let name = column
                    .or_else(|| field_name(expr))
                    .unwrap_or_else(|| generated.name());
                // A stream record with a null value gets a null key: ksqlDB evaluates
                // nothing over a null row.
                keys.push(KeyColumn {
                    name,
                    is_column,
                    expr: format!(
                        "CASE WHEN {} THEN NULL ELSE {} END",
                        super::plan::quote(crate::types::schema::TOMBSTONE_COLUMN),
                        quoted(expr.clone(), event_time)
                    ),
                    written: expr.to_string(),
                });
            }
        }
        for (i, key) in keys.iter().enumerate() {
            star.push(Visible {
                expr: key.expr.clone(),
                name: key.name.clone(),
                key: Some(i),
            });
        }
        let now_key = |name: &str| keys.iter().any(|k| k.name == name);
        let moved = source.schema.value.iter().chain(&source.schema.key);
        for column in moved {
            if !now_key(&column.name) {
                star.push(Visible {
                    expr: column_ref(&column.name),
                    name: column.name.clone(),
                    key: None,
                });
            }
        }
    }

    let mut out = Projection::default();
    // Which output columns carry each key column.
    let mut carried: Vec<Vec<String>> = vec![Vec::new(); keys.len()];
    let mut push = |out: &mut Projection, expr: String, name: String, key: Option<usize>| {
        if let Some(k) = key {
            carried[k].push(name.clone());
        }
        out.items.push((expr, name));
    };
    for item in &query.projection {
        let (expr, alias) = match item {
            SelectItem::Wildcard(_) => {
                for v in &star {
                    push(&mut out, v.expr.clone(), v.name.clone(), v.key);
                }
                continue;
            }
            SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), _) => {
                let qualifier = name.to_string();
                if !qualifier.eq_ignore_ascii_case(reference) {
                    return Err(EngineError::invalid(format!(
                        "'{qualifier}' is not a valid stream/table name or alias."
                    )));
                }
                for v in &star {
                    push(&mut out, v.expr.clone(), v.name.clone(), v.key);
                }
                continue;
            }
            SelectItem::ExprWithAliases { expr, .. } => {
                return Err(EngineError::invalid(format!(
                    "Unsupported select item: {expr} with several aliases"
                )));
            }
            SelectItem::QualifiedWildcard(other, _) => {
                return Err(EngineError::invalid(format!(
                    "Unsupported select item: {other}"
                )));
            }
            SelectItem::UnnamedExpr(expr) => (expr, None),
            SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.value.clone())),
        };
        let text = quoted(expr.clone(), event_time);
        let column = column_of(expr);
        let key = keys.iter().position(|k| {
            k.expr == text || (k.is_column && column.as_deref() == Some(k.name.as_str()))
        });
        let name = match (alias, column, key) {
            (Some(alias), _, _) => alias,
            (None, Some(column), _) => column,
            (None, None, Some(k)) => keys[k].name.clone(),
            (None, None, None) => field_name(expr).unwrap_or_else(|| generated.name()),
        };
        push(&mut out, text, name, key);
    }

    for (k, names) in carried.iter().enumerate() {
        match names.as_slice() {
            [] => {}
            [one] => out.key.push(one.clone()),
            several if usage == SelectUse::Persistent => {
                let mut aliases = several.to_vec();
                aliases.sort();
                return Err(EngineError::invalid(format!(
                    "The projection contains a key column (`{}`) more than once, aliased as: {}.",
                    keys[k].name,
                    grammatical_and(&aliases)
                )));
            }
            // A transient query shows every copy; the first is the key.
            several => out.key.push(several[0].clone()),
        }
    }
    // The sink key takes its columns in the order the projection lists them, as in ksqlDB.
    let position = |name: &String| out.items.iter().position(|(_, n)| n == name);
    out.key.sort_by_key(position);
    if usage == SelectUse::Persistent {
        if carried.iter().any(Vec::is_empty) {
            let required: Vec<String> = if repartitioned {
                keys.iter().map(|k| k.written.clone()).collect()
            } else {
                keys.iter().map(|k| k.name.clone()).collect()
            };
            let what = match (repartitioned, required.len()) {
                (true, 1) => "partitioning expression",
                (true, _) => "partitioning expressions",
                (false, 1) => "key column",
                (false, _) => "key columns",
            };
            return Err(EngineError::invalid(format!(
                "Key{} missing from projection (ie, SELECT).\nThe query used to build {sink} \
                 must include the {what} {} in its projection (eg, SELECT {}...).",
                if required.len() > 1 { "s" } else { "" },
                grammatical_and(&required),
                required.join(", ")
            )));
        }
        if out.items.len() == out.key.len() {
            return Err(EngineError::invalid(
                "The projection contains no value columns.",
            ));
        }
    }
    Ok(out)
}

/// Refuses `PARTITION BY c` when `c` is no column of the source: PARTITION BY applies to the
/// input, so an output alias does not count (ksqlDB's messages).
fn check_partition_column(column: &str, source: &SourceInfo, query: &Query) -> Result<()> {
    if source.schema.find(column).is_some() || PseudoColumn::from_name(column).is_some() {
        return Ok(());
    }
    let is_alias = query.projection.iter().any(
        |item| matches!(item, SelectItem::ExprWithAlias { alias, .. } if alias.value == column),
    );
    let hint = if is_alias {
        format!(
            " '{column}' must be a column in the source schema since PARTITION BY is applied on \
             the input."
        )
    } else {
        String::new()
    };
    Err(EngineError::invalid(format!(
        "PARTITION BY column '{column}' cannot be resolved.{hint}"
    )))
}

/// The name ksqlDB gives a struct field access (`ADDRESS->TOWN` is `TOWN`).
fn field_name(expr: &Expr) -> Option<String> {
    match unnested(expr) {
        Expr::CompoundFieldAccess { access_chain, .. } => match access_chain.last()? {
            AccessExpr::Dot(Expr::Value(v)) => match &v.value {
                Value::SingleQuotedString(field) => Some(field.to_uppercase()),
                _ => None,
            },
            AccessExpr::Dot(Expr::Identifier(ident)) => Some(ident.value.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// `a`, `a and b`, `a, b and c`.
fn grammatical_and(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// `expr` without the parentheses around it.
fn unnested(expr: &Expr) -> &Expr {
    match expr {
        Expr::Nested(inner) => unnested(inner),
        other => other,
    }
}

/// The column an expression names, if it is a plain (or qualified) column reference.
pub(crate) fn column_of(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(ident) => Some(ident.value.clone()),
        Expr::CompoundIdentifier(parts) => parts.last().map(|i| i.value.clone()),
        Expr::Nested(inner) => column_of(inner),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_english() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(grammatical_and(&names(&["ID"])), "ID");
        assert_eq!(grammatical_and(&names(&["ID", "ID2"])), "ID and ID2");
        assert_eq!(grammatical_and(&names(&["A", "B", "C"])), "A, B and C");
    }

    #[test]
    fn generated_names_skip_the_sources_names() {
        let mut generated = Generated {
            next: 0,
            taken: ["KSQL_COL_1".to_string()].into_iter().collect(),
        };
        assert_eq!(generated.name(), "KSQL_COL_0");
        assert_eq!(generated.name(), "KSQL_COL_2");
    }
}
