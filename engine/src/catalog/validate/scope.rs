//! The names a query can refer to: its sources (by name or alias) and their columns.
//!
//! Name resolution gives ksqlDB's messages (`WHERE column 'BOB' cannot be resolved.`, `'X' is
//! not a valid stream/table name or alias.`) before DataFusion sees the query.

use datafusion::sql::sqlparser::ast::Ident;

use super::typing::{CheckError, Result, Ty};
use crate::catalog::source::SourceInfo;
use crate::types::PseudoColumn;

/// One source of the FROM clause.
#[derive(Debug)]
pub struct ScopeSource<'a> {
    /// The name other clauses use for it: the alias, or the source's name.
    pub qualifier: String,
    /// The stream or table.
    pub info: &'a SourceInfo,
}

/// The sources of a query's FROM clause, in order.
#[derive(Debug)]
pub struct Scope<'a> {
    /// The first source, then each joined one.
    pub sources: Vec<ScopeSource<'a>>,
}

impl Scope<'_> {
    /// Whether the query joins sources (ksqlDB then names columns `ALIAS_COLUMN`).
    pub fn joined(&self) -> bool {
        self.sources.len() > 1
    }

    /// The source a qualifier names, or ksqlDB's error for an unknown one.
    pub fn source(&self, qualifier: &str) -> Result<&ScopeSource<'_>> {
        self.sources
            .iter()
            .find(|s| s.qualifier == qualifier)
            .ok_or_else(|| {
                CheckError::Name(format!(
                    "'{qualifier}' is not a valid stream/table name or alias."
                ))
            })
    }

    /// The type of column `name` (of the source `qualifier` names, if given) used in `clause`.
    /// Pseudo columns (ROWTIME ...) resolve to an unknown type: ksqlDB types them as BIGINT but
    /// rewrites their comparisons with strings, so the check leaves them to the planner.
    pub fn resolve(&self, qualifier: Option<&str>, column: &Ident, clause: &str) -> Result<Ty> {
        let name = column.value.as_str();
        if PseudoColumn::from_name(name).is_some() {
            if let Some(q) = qualifier {
                self.source(q)?;
            }
            return Ok(Ty::Unknown);
        }
        let found: Vec<_> = match qualifier {
            Some(q) => {
                let source = self.source(q)?;
                source.info.schema.find(name).into_iter().collect()
            }
            None => self
                .sources
                .iter()
                .filter_map(|s| s.info.schema.find(name))
                .collect(),
        };
        match found.as_slice() {
            [] => {
                let shown = match qualifier {
                    Some(q) => format!("{q}.{name}"),
                    None => name.to_string(),
                };
                Err(CheckError::Name(format!(
                    "{clause} column '{shown}' cannot be resolved."
                )))
            }
            [column] => Ok(Ty::Known(column.sql_type.clone())),
            _ => {
                let candidates: Vec<String> = self
                    .sources
                    .iter()
                    .filter(|s| s.info.schema.find(name).is_some())
                    .map(|s| format!("{}.{name}", s.qualifier))
                    .collect();
                Err(CheckError::Located(
                    column.span,
                    format!(
                        "Column '{name}' is ambiguous. Could be {}.",
                        candidates.join(" or ")
                    ),
                ))
            }
        }
    }
}
