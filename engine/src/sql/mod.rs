//! The ksqlDB dialect: parser, syntax tree, errors with line and column, script splitting.
//!
//! `sql` turns text into a [`Statement`] tree and does nothing else: no catalog lookups, no
//! planning. Expressions in the tree are sqlparser's (`datafusion::sql::sqlparser`), ready for
//! DataFusion's `SqlToRel`. What the planner must know when it takes them over:
//! - identifiers are already case-normalised the ksqlDB way (unquoted upper-cased, quoted kept),
//!   so plan with `enable_ident_normalization = false`; function names arrive upper-case too
//!   (`COUNT`, `UCASE`), so look them up case-insensitively;
//! - `a->b` is a field access with a string in a `Dot` step, `a[1]`/`a['k']` a subscript (see
//!   [`parser::expr`](self::parser) docs), `STRUCT(...)`/`MAP(...)` are `Expr::Struct`/`Expr::Map`;
//! - time units given to functions (`TIMESTAMPADD(SECONDS, 1, ts)`) arrive as identifiers;
//! - store and show statements from their original text (see [`split_statements`]), not from the
//!   tree's `Display`, which prints lambdas with `->`.
//!
//! ```
//! use sluice_engine::sql::{parse_statement, Statement};
//! let statement = parse_statement("SELECT * FROM pageviews EMIT CHANGES;").unwrap();
//! assert!(matches!(statement, Statement::Query(_)));
//! ```

pub mod ast;
mod dialect;
mod error;
mod parser;
mod script;

pub use ast::*;
/// sqlparser as DataFusion re-exports it: the expression types inside the tree.
pub use datafusion::sql::sqlparser;
pub use dialect::KsqlDialect;
pub use error::{ParseError, ParseStage};
pub use parser::{parse_statement, parse_statements, parse_type_expr};
pub use script::{ParsedStatement, ScriptStatement, parse_script, split_statements};
