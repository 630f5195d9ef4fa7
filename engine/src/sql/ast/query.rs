//! The ksqlDB `SELECT`.
//!
//! ksqlDB's query differs from standard SQL in its clauses (WINDOW, PARTITION BY, EMIT, joins
//! WITHIN a time window) and in what it leaves out (subqueries, ORDER BY, set operations), so it
//! has its own node here. Its pieces that *are* standard (select items, expressions) are
//! sqlparser's types, ready for DataFusion's SQL planner.

use std::fmt;

use datafusion::sql::sqlparser::ast::{Expr, Ident, SelectItem};

use super::props::Duration;

/// `SELECT ... FROM ... [WINDOW ...] [WHERE ...] [GROUP BY ...] [PARTITION BY ...] [HAVING ...]
/// [EMIT CHANGES|FINAL] [LIMIT n]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The select list: expressions with aliases, `*` and `source.*`.
    pub projection: Vec<SelectItem>,
    /// The source and its joins.
    pub from: Relation,
    /// The window of an aggregation.
    pub window: Option<WindowExpression>,
    /// The filter.
    pub selection: Option<Expr>,
    /// Grouping expressions (value expressions, never predicates).
    pub group_by: Vec<Expr>,
    /// Re-keying expressions of a stream.
    pub partition_by: Vec<Expr>,
    /// Filter on groups.
    pub having: Option<Expr>,
    /// `EMIT CHANGES` (push query) or `EMIT FINAL` (one row per closed window).
    pub emit: Option<Emit>,
    /// `LIMIT n`.
    pub limit: Option<u64>,
}

/// How results are emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    /// Every change to a result, as it happens.
    Changes,
    /// Only a window's final result, when it closes.
    Final,
}

/// The `FROM` clause: a source and the sources joined to it, left to right.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    /// The first source.
    pub source: AliasedSource,
    /// Each further source, joined to everything before it.
    pub joins: Vec<Join>,
}

/// A source name with its optional alias.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasedSource {
    /// The stream or table.
    pub name: Ident,
    /// `AS alias`.
    pub alias: Option<Ident>,
}

impl AliasedSource {
    /// The name other clauses use for this source: the alias if there is one.
    pub fn reference_name(&self) -> &Ident {
        self.alias.as_ref().unwrap_or(&self.name)
    }
}

/// `[INNER|LEFT|RIGHT|FULL] JOIN source [WITHIN ...] ON condition`.
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    /// Which rows survive without a partner.
    pub kind: JoinKind,
    /// The source joined.
    pub source: AliasedSource,
    /// The time window of a stream-stream join.
    pub within: Option<JoinWindow>,
    /// The `ON` condition.
    pub on: Expr,
}

/// The join types ksqlDB knows; `OUTER` is optional after LEFT, RIGHT and FULL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// `[INNER] JOIN`
    Inner,
    /// `LEFT [OUTER] JOIN`
    Left,
    /// `RIGHT [OUTER] JOIN`
    Right,
    /// `FULL [OUTER] JOIN`
    Full,
}

/// `WITHIN n unit` or `WITHIN (before, after)`, with an optional grace period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinWindow {
    /// How far the other side may be earlier.
    pub before: Duration,
    /// How far the other side may be later (equal to `before` for `WITHIN n unit`).
    pub after: Duration,
    /// `GRACE PERIOD n unit`: how late records may arrive.
    pub grace: Option<Duration>,
}

/// `WINDOW TUMBLING|HOPPING|SESSION (...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowExpression {
    /// Tumbling, hopping or session, with its sizes.
    pub kind: WindowKind,
    /// `RETENTION n unit`: how long windows stay queryable.
    pub retention: Option<Duration>,
    /// `GRACE PERIOD n unit`: how late records may arrive.
    pub grace: Option<Duration>,
}

/// The shape of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    /// `TUMBLING (SIZE n unit)`: fixed, non-overlapping.
    Tumbling {
        /// Window length.
        size: Duration,
    },
    /// `HOPPING (SIZE n unit, ADVANCE BY m unit)`: fixed, overlapping.
    Hopping {
        /// Window length.
        size: Duration,
        /// Distance between window starts.
        advance: Duration,
    },
    /// `SESSION (n unit)`: closed after a gap of inactivity.
    Session {
        /// Inactivity gap.
        gap: Duration,
    },
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SELECT ")?;
        comma_separated(f, &self.projection)?;
        write!(f, " FROM {}", self.from)?;
        if let Some(window) = &self.window {
            write!(f, " WINDOW {window}")?;
        }
        if let Some(selection) = &self.selection {
            write!(f, " WHERE {selection}")?;
        }
        if !self.group_by.is_empty() {
            f.write_str(" GROUP BY ")?;
            comma_separated(f, &self.group_by)?;
        }
        if !self.partition_by.is_empty() {
            f.write_str(" PARTITION BY ")?;
            comma_separated(f, &self.partition_by)?;
        }
        if let Some(having) = &self.having {
            write!(f, " HAVING {having}")?;
        }
        match self.emit {
            Some(Emit::Changes) => f.write_str(" EMIT CHANGES")?,
            Some(Emit::Final) => f.write_str(" EMIT FINAL")?,
            None => {}
        }
        if let Some(limit) = self.limit {
            write!(f, " LIMIT {limit}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        for join in &self.joins {
            let kind = match join.kind {
                JoinKind::Inner => "INNER",
                JoinKind::Left => "LEFT OUTER",
                JoinKind::Right => "RIGHT OUTER",
                JoinKind::Full => "FULL OUTER",
            };
            write!(f, " {kind} JOIN {}", join.source)?;
            if let Some(within) = &join.within {
                if within.before == within.after {
                    write!(f, " WITHIN {}", within.before)?;
                } else {
                    write!(f, " WITHIN ({}, {})", within.before, within.after)?;
                }
                if let Some(grace) = within.grace {
                    write!(f, " GRACE PERIOD {grace}")?;
                }
            }
            write!(f, " ON {}", join.on)?;
        }
        Ok(())
    }
}

impl fmt::Display for AliasedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if let Some(alias) = &self.alias {
            write!(f, " {alias}")?;
        }
        Ok(())
    }
}

impl fmt::Display for WindowExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            WindowKind::Tumbling { size } => write!(f, "TUMBLING (SIZE {size}")?,
            WindowKind::Hopping { size, advance } => {
                write!(f, "HOPPING (SIZE {size}, ADVANCE BY {advance}")?
            }
            WindowKind::Session { gap } => write!(f, "SESSION ({gap}")?,
        }
        if let Some(retention) = self.retention {
            write!(f, ", RETENTION {retention}")?;
        }
        if let Some(grace) = self.grace {
            write!(f, ", GRACE PERIOD {grace}")?;
        }
        f.write_str(")")
    }
}

/// Writes `items` separated by `, `.
pub(crate) fn comma_separated<T: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    items: &[T],
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}
