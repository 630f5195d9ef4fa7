//! The syntax tree of ksqlDB statements.
//!
//! One [`Statement`] per statement kind ksqlDB has. Expressions, select items and identifiers are
//! sqlparser's types (re-exported by DataFusion), so the planner hands them to DataFusion's
//! `SqlToRel` unchanged; the rest (sources, windows, properties, types) is ksqlDB's own and lives
//! in the submodules. Identifiers are already normalised the way ksqlDB does it: unquoted ones
//! upper-cased, quoted ones (backticks or double quotes) as written; compare them by `value`.

mod props;
mod query;
mod statement;
mod types;

pub use props::{Duration, Properties, Property, PropertyValue, TimeUnit};
pub use query::{
    AliasedSource, Emit, Join, JoinKind, JoinWindow, Query, Relation, WindowExpression, WindowKind,
};
pub use statement::{
    AlterSource, AssertSchema, AssertTopic, ColumnConstraint, ColumnDef, CreateSource,
    CreateSourceAs, CreateType, DescribeSource, DropSource, DropType, Explain, InsertInto,
    InsertValues, ListKind, PrintTopic, SourceKind, Statement, TerminateTarget,
};
pub use types::{TypeExpr, TypeExprField};
