//! ksqlDB's semantic checks of a SELECT, run before it is planned: sources and aliases exist,
//! columns resolve, system column names are not selected into a persistent query, expressions
//! type-check (comparisons, arithmetic, a WHERE that is a predicate), and a persistent query has
//! value columns.
//!
//! Each check gives ksqlDB's message, so a user (or ksqlDB's test suite) sees the same refusal
//! as from ksqlDB, and it runs before Sluice refuses what it does not support yet (joins,
//! aggregations): an invalid statement is reported as invalid, not as unsupported.

pub mod names;
pub mod print;
pub mod scope;
pub mod typing;

use datafusion::sql::sqlparser::ast::{Expr, SelectItem, SelectItemQualifiedWildcardKind};

use crate::catalog::Catalog;
use crate::catalog::error::{EngineError, Result};
use crate::sql::Query;
use crate::types::PseudoColumn;
use print::ksql_text;
use scope::{Scope, ScopeSource};
use typing::{CheckError, Ty, infer};

/// Checks `query` against `catalog`; `persistent` for CREATE ... AS SELECT and INSERT INTO.
pub fn check_select(query: &Query, catalog: &Catalog, persistent: bool) -> Result<()> {
    let mut sources = Vec::new();
    for aliased in
        std::iter::once(&query.from.source).chain(query.from.joins.iter().map(|j| &j.source))
    {
        let name = &aliased.name.value;
        let Some(info) = catalog.sources.get(name) else {
            return Err(EngineError::invalid(format!(
                "{name} does not exist.{}",
                names::alternatives(catalog, name, None)
            )));
        };
        sources.push(ScopeSource {
            qualifier: aliased.reference_name().value.clone(),
            info,
        });
    }
    let scope = Scope { sources };
    let joined = scope.joined();

    for item in &query.projection {
        if let SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), _) =
            item
        {
            scope
                .source(&name.to_string())
                .map_err(|e| plain("SELECT", e))?;
        }
    }
    if persistent {
        check_reserved_names(&query.projection)?;
    }
    for item in &query.projection {
        let expr = match item {
            SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => expr,
            _ => continue,
        };
        match infer(expr, &scope, "SELECT").map_err(|e| plain("SELECT", e))? {
            Ty::Null => {
                return Err(EngineError::invalid(
                    "Can't infer a type of null. Please explicitly cast it to a required type, \
                     e.g. CAST(null AS VARCHAR).",
                ));
            }
            Ty::Known(_) | Ty::Unknown => {}
        }
    }
    for join in &query.from.joins {
        infer(&join.on, &scope, "JOIN").map_err(|e| plain("JOIN", e))?;
    }
    if let Some(selection) = &query.selection {
        check_predicate(selection, &scope, "WHERE", joined)?;
    }
    if let Some(having) = &query.having {
        check_predicate(having, &scope, "HAVING", joined)?;
    }
    if persistent
        && !joined
        && query.group_by.is_empty()
        && query.partition_by.is_empty()
        && only_key_columns(&query.projection, &scope)
    {
        return Err(EngineError::invalid(
            "The projection contains no value columns.",
        ));
    }
    Ok(())
}

/// An expression's error outside a predicate: reported as it is.
fn plain(_clause: &str, error: CheckError) -> EngineError {
    match error {
        CheckError::Name(message) | CheckError::Type(message) => EngineError::Invalid(message),
        CheckError::Located(span, message) => EngineError::at(span, message),
    }
}

/// A WHERE or HAVING: its type errors are prefixed with the clause, and it must be a predicate.
fn check_predicate(expr: &Expr, scope: &Scope<'_>, clause: &str, joined: bool) -> Result<()> {
    match infer(expr, scope, clause) {
        Err(error @ (CheckError::Name(_) | CheckError::Located(..))) => Err(plain(clause, error)),
        Err(CheckError::Type(message)) => Err(EngineError::Invalid(format!(
            "Error in {clause} expression: {message}"
        ))),
        Ok(Ty::Known(ty)) if ty != crate::types::SqlType::Boolean => {
            Err(EngineError::Invalid(format!(
                "Type error in {clause} expression: Should evaluate to boolean but is {} ({ty}) \
                 instead.",
                ksql_text(expr, joined)
            )))
        }
        Ok(_) => Ok(()),
    }
}

/// ksqlDB's `Analyzer.checkForReservedToken`: a persistent query may not select a system column
/// (ROWTIME, WINDOWSTART ...) under its own name, nor alias anything else to one.
fn check_reserved_names(projection: &[SelectItem]) -> Result<()> {
    for item in projection {
        let (expr, name) = match item {
            SelectItem::UnnamedExpr(expr) => match column_name(expr) {
                Some(name) => (expr, name),
                None => continue,
            },
            SelectItem::ExprWithAlias { expr, alias } => (expr, alias.value.clone()),
            _ => continue,
        };
        if PseudoColumn::from_name(&name).is_none() {
            continue;
        }
        if column_name(expr).as_deref() == Some(name.as_str()) {
            return Err(EngineError::invalid(format!(
                "Reserved column name in select: `{name}`. Please remove or alias the column."
            )));
        }
        return Err(EngineError::invalid(format!(
            "`{name}` is a reserved column name. You cannot use it as an alias for a column."
        )));
    }
    Ok(())
}

/// The column an expression is a bare reference to (`A` or `S.A`), by its name.
fn column_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(ident) => Some(ident.value.clone()),
        Expr::CompoundIdentifier(parts) if parts.len() == 2 => Some(parts[1].value.clone()),
        _ => None,
    }
}

/// Whether every select item is a bare reference to a key column of the (single) source.
fn only_key_columns(projection: &[SelectItem], scope: &Scope<'_>) -> bool {
    let Some(source) = scope.sources.first() else {
        return false;
    };
    !projection.is_empty()
        && projection.iter().all(|item| {
            let expr = match item {
                SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. } => expr,
                _ => return false,
            };
            column_name(expr)
                .is_some_and(|name| source.info.schema.key.iter().any(|k| k.name == name))
        })
}

#[cfg(test)]
mod tests;
