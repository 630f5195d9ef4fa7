//! From a ksqlDB `SELECT` over catalog sources to what the query runner and push queries need:
//! DataFusion SQL text over the sources' names, the sources themselves, and the output schema.
//!
//! The parser's tree keeps sqlparser expressions, so the SELECT is turned back into SQL that
//! DataFusion's planner accepts: ksqlDB-only clauses are checked and removed (`EMIT`, `LIMIT`,
//! `PARTITION BY` on a column that is projected), `*` is expanded to the declared columns (never
//! to ROWTIME, ROWPARTITION, ROWOFFSET or internal `__` columns, as in ksqlDB), expressions
//! without an alias are named `KSQL_COL_<i>`, and every identifier is double-quoted so names keep
//! their case and never clash with DataFusion keywords. A persistent query also selects ROWTIME,
//! so sink records keep the source timestamps (the sink schema leaves it out).
//!
//! Stateful queries (GROUP BY, WINDOW, joins) need the operators of issues 5 and 6 and are
//! refused with a message that says so.

use std::ops::ControlFlow;
use std::sync::Arc;

use arrow::datatypes::{Schema, SchemaRef};
use datafusion::common::TableReference;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{Expr, Ident, ObjectNamePart, visit_expressions_mut};

use crate::catalog::Catalog;
use crate::catalog::error::{EngineError, Result};
use crate::catalog::projection::{self, Projection};
use crate::catalog::source::SourceInfo;
use crate::exec::guard::{SOURCE_OFFSET_COLUMN, SOURCE_PARTITION_COLUMN};
use crate::exec::{FormatDecoder, ProcessingLog, RecordDecoder, TopicTableProvider};
use crate::query::{QuerySource, streaming_session};
use crate::sql::{Emit, Query, SourceKind};
use crate::types::schema::TOMBSTONE_COLUMN;
use crate::types::{PseudoColumn, SqlType};
use sluice_broker::Broker;

/// Whether the SELECT runs as a persistent query (writes a sink) or a transient one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectUse {
    /// CREATE ... AS SELECT / INSERT INTO ... SELECT.
    Persistent,
    /// A push query or a scan answered to the client.
    Transient,
}

/// A SELECT resolved against the catalog.
#[derive(Debug, Clone)]
pub struct PlannedSelect {
    /// DataFusion SQL over the sources' names.
    pub sql: String,
    /// The output columns: SQL expression and name.
    pub items: Vec<(String, String)>,
    /// The FROM clause.
    pub from: String,
    /// The WHERE condition.
    pub selection: Option<String>,
    /// The expression of the hidden ROWTIME column a persistent query writes as the sink
    /// record's timestamp.
    pub rowtime: Option<String>,
    /// The source read (one today: joins come with issue 6).
    pub source: SourceInfo,
    /// The output columns' names that carry the source key through (the sink key).
    pub key: Vec<String>,
    /// `LIMIT n` of a transient query.
    pub limit: Option<u64>,
    /// The source's `__TOMBSTONE` column, carried to a persistent query's sink: a stream
    /// record whose value is null stays a record with a null value (ksqlDB does not evaluate
    /// the projection over a null row), and a WHERE drops it.
    pub tombstone: Option<String>,
    /// The source record's partition and offset columns (`ROWPARTITION`, `ROWOFFSET` of the
    /// FROM source), carried hidden to a persistent query's sink so that a row the sink cannot
    /// encode is logged with the record it came from.
    pub origin: Option<(String, String)>,
}

impl PlannedSelect {
    /// Writes [`PlannedSelect::sql`] from the parts.
    fn build_sql(&mut self) {
        let mut columns: Vec<String> = self
            .items
            .iter()
            .map(|(expr, name)| format!("{expr} AS {}", quote(name)))
            .collect();
        if let Some(rowtime) = &self.rowtime {
            columns.push(format!("{rowtime} AS \"ROWTIME\""));
        }
        if let Some(tombstone) = &self.tombstone {
            columns.push(format!("{tombstone} AS {}", quote(TOMBSTONE_COLUMN)));
        }
        if let Some((partition, offset)) = &self.origin {
            columns.push(format!("{partition} AS {}", quote(SOURCE_PARTITION_COLUMN)));
            columns.push(format!("{offset} AS {}", quote(SOURCE_OFFSET_COLUMN)));
        }
        self.sql = format!("SELECT {} FROM {}", columns.join(", "), self.from);
        match (&self.selection, &self.tombstone) {
            (Some(selection), Some(tombstone)) => self
                .sql
                .push_str(&format!(" WHERE NOT {tombstone} AND ({selection})")),
            (Some(selection), None) => self.sql.push_str(&format!(" WHERE {selection}")),
            (None, _) => {}
        }
    }

    /// `CREATE ... WITH (TIMESTAMP='col' [, TIMESTAMP_FORMAT='...']) AS SELECT`: the sink
    /// records take their timestamp from output column `column` (of type `sql_type`).
    pub fn set_sink_timestamp(
        &mut self,
        column: &str,
        sql_type: &SqlType,
        format: Option<&str>,
    ) -> Result<()> {
        let Some((expr, _)) = self.items.iter().find(|(_, name)| name == column) else {
            return Err(EngineError::invalid(format!(
                "The TIMESTAMP column set in the WITH clause does not exist in the schema: \
                 '{column}'"
            )));
        };
        self.rowtime = Some(event_time_expr(&format!("({expr})"), sql_type, format));
        self.build_sql();
        Ok(())
    }

    /// The sources as the query runner wants them.
    pub fn query_sources(&self) -> Vec<QuerySource> {
        // The runner registers the table by parsing this name, which lower-cases unquoted
        // names: quoted, it stays exactly the source's name.
        vec![QuerySource {
            name: quote(&self.source.name),
            topic: self.source.topic.clone(),
            decoder: decoder(&self.source),
        }]
    }
}

/// The decoder of a source's records.
pub fn decoder(source: &SourceInfo) -> Arc<dyn RecordDecoder> {
    Arc::new(FormatDecoder::new(
        source.schema.clone(),
        source.format.clone(),
    ))
}

/// Resolves `query` against `catalog` and writes it as DataFusion SQL.
pub fn plan_select(query: &Query, catalog: &Catalog, usage: SelectUse) -> Result<PlannedSelect> {
    plan_select_into(query, catalog, usage, None)
}

/// [`plan_select`] for a persistent query writing `sink` (named in its messages).
pub fn plan_persistent(query: &Query, catalog: &Catalog, sink: &str) -> Result<PlannedSelect> {
    plan_select_into(query, catalog, SelectUse::Persistent, Some(sink))
}

fn plan_select_into(
    query: &Query,
    catalog: &Catalog,
    usage: SelectUse,
    sink: Option<&str>,
) -> Result<PlannedSelect> {
    // ksqlDB's semantic checks come first: an invalid query is refused as invalid, even when it
    // also uses what Sluice does not run yet.
    crate::catalog::validate::check_select(query, catalog, usage == SelectUse::Persistent)?;
    if !query.from.joins.is_empty() {
        return Err(EngineError::Unsupported(
            "Joins are not supported yet: Sluice runs stateless queries (filters, projections, \
             scalar functions) until the join operators land."
                .into(),
        ));
    }
    if query.window.is_some() || !query.group_by.is_empty() || query.having.is_some() {
        return Err(EngineError::Unsupported(
            "Aggregations (GROUP BY, WINDOW, HAVING) are not supported yet: Sluice runs \
             stateless queries (filters, projections, scalar functions) until the aggregate \
             operators land."
                .into(),
        ));
    }
    if query.emit == Some(Emit::Final) {
        return Err(EngineError::invalid(
            "EMIT FINAL is only supported for windowed aggregations.",
        ));
    }
    if usage == SelectUse::Persistent && query.limit.is_some() {
        return Err(EngineError::invalid(
            "LIMIT is not supported in persistent queries (CREATE ... AS SELECT, INSERT INTO).",
        ));
    }
    let from = &query.from.source;
    let source = catalog.source(&from.name.value)?.clone();
    let event_time = source
        .timestamp_column
        .as_ref()
        .is_some_and(|c| source.schema.find(c).is_some());
    let reference = from.reference_name().value.clone();

    let sink = match sink {
        Some(name) => format!("`{name}`"),
        None => "the sink".to_string(),
    };
    let Projection { items, key } =
        projection::resolve(query, &source, &reference, event_time, usage, &sink)?;
    let names: Vec<&String> = items.iter().map(|(_, name)| name).collect();
    for name in &names {
        if PseudoColumn::from_name(name).is_some() && usage == SelectUse::Persistent {
            return Err(EngineError::invalid(format!(
                "Reserved column name in select: `{name}`. Please remove or alias the column."
            )));
        }
    }
    let mut duplicates = names.clone();
    duplicates.sort();
    if let Some(w) = duplicates.windows(2).find(|w| w[0] == w[1]) {
        return Err(EngineError::invalid(format!(
            "Duplicate value columns found in schema: `{}`",
            w[0]
        )));
    }
    // A persistent query's sink record keeps the source record's (event) time; the sink
    // schema leaves ROWTIME out.
    let rowtime = (usage == SelectUse::Persistent).then(|| {
        let column = if event_time {
            EVENT_TIME_COLUMN
        } else {
            "ROWTIME"
        };
        format!("{}.{}", quote(&reference), quote(column))
    });
    let mut planned = PlannedSelect {
        sql: String::new(),
        items,
        from: from_clause(&source, from.alias.as_ref().map(|a| a.value.as_str())),
        selection: query
            .selection
            .as_ref()
            .map(|s| quoted(s.clone(), event_time)),
        rowtime,
        source,
        key,
        limit: query.limit,
        tombstone: (usage == SelectUse::Persistent)
            .then(|| format!("{}.{}", quote(&reference), quote(TOMBSTONE_COLUMN))),
        // Persistent and transient queries alike: a push query strips them before its client
        // sees the rows (exec/guard.rs, `without_origin_columns`).
        origin: Some({
            let column = |p: PseudoColumn| format!("{}.{}", quote(&reference), quote(p.name()));
            (
                column(PseudoColumn::RowPartition),
                column(PseudoColumn::RowOffset),
            )
        }),
    };
    planned.build_sql();
    Ok(planned)
}

/// The name ROWTIME takes inside a query over a source with `TIMESTAMP='col'`.
///
/// The subquery of [`from_clause`] cannot simply call the event time `ROWTIME`: DataFusion 55's
/// projection pushdown then confuses it with the scan's own ROWTIME column once a filter is
/// pushed below the projection (the sink got the record time). So the event time gets this
/// name, the record time is left out of the subquery, and [`quoted`] renames every `ROWTIME`
/// the user wrote.
const EVENT_TIME_COLUMN: &str = "__EVENT_ROWTIME";

/// The FROM clause of `source`: the table itself, or, when the source takes ROWTIME from a
/// column (`TIMESTAMP='col'`), a subquery that gives that column (parsed with
/// `TIMESTAMP_FORMAT` for a STRING column) as [`EVENT_TIME_COLUMN`], so every use of ROWTIME
/// (WHERE, SELECT, the sink record's timestamp) sees the event time, as in ksqlDB.
fn from_clause(source: &SourceInfo, alias: Option<&str>) -> String {
    let reference = quote(alias.unwrap_or(&source.name));
    let Some(column) = source
        .timestamp_column
        .as_ref()
        .and_then(|c| source.schema.find(c))
    else {
        return match alias {
            Some(alias) => format!("{} AS {}", quote(&source.name), quote(alias)),
            None => quote(&source.name),
        };
    };
    let rowtime = event_time_expr(
        &quote(&column.name),
        &column.sql_type,
        source.timestamp_format.as_deref(),
    );
    let mut columns = vec![format!("{rowtime} AS {}", quote(EVENT_TIME_COLUMN))];
    columns.extend(
        source
            .schema
            .pseudo_columns()
            .into_iter()
            .filter(|p| *p != PseudoColumn::RowTime)
            .map(|p| quote(p.name())),
    );
    columns.extend(source.schema.columns().map(|c| quote(&c.name)));
    columns.push(quote(TOMBSTONE_COLUMN));
    format!(
        "(SELECT {} FROM {}) AS {reference}",
        columns.join(", "),
        quote(&source.name)
    )
}

/// `expr` (a TIMESTAMP, a BIGINT of epoch milliseconds, or a STRING in `format`) as a ROWTIME
/// value: an Arrow millisecond timestamp.
fn event_time_expr(expr: &str, sql_type: &SqlType, format: Option<&str>) -> String {
    match (sql_type, format) {
        (SqlType::Timestamp, _) => format!("arrow_cast({expr}, 'Timestamp(Millisecond, None)')"),
        (SqlType::String, Some(format)) => format!(
            "arrow_cast(parse_timestamp({expr}, '{}'), 'Timestamp(Millisecond, None)')",
            format.replace('\'', "''")
        ),
        _ => format!("arrow_cast({expr}, 'Timestamp(Millisecond, None)')"),
    }
}

/// A double-quoted identifier.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `expr` as SQL text with every column identifier double-quoted (and ROWTIME renamed to
/// [`EVENT_TIME_COLUMN`] when `event_time`).
pub(crate) fn quoted(mut expr: Expr, event_time: bool) -> String {
    // `DATEADD(DAYS, 1, d)`: the unit is a word, not a column; lambda parameters keep their case
    // (both before identifiers get quoted).
    crate::functions::prepare_for_planning(&mut expr);
    let requote = |ident: &mut Ident| {
        if event_time && ident.value == PseudoColumn::RowTime.name() {
            ident.value = EVENT_TIME_COLUMN.to_string();
        }
        ident.quote_style = Some('"');
    };
    let _ = visit_expressions_mut(&mut expr, |e: &mut Expr| {
        match e {
            Expr::Identifier(ident) => requote(ident),
            Expr::CompoundIdentifier(parts) => {
                // Only the last part is a column; the others name the source.
                let last = parts.len().saturating_sub(1);
                for (i, part) in parts.iter_mut().enumerate() {
                    if i == last {
                        requote(part);
                    } else {
                        part.quote_style = Some('"');
                    }
                }
            }
            // Functions are registered under lower-case names; identifiers are not normalised
            // in a streaming session, so an unquoted `UCASE` must be written `ucase`.
            Expr::Function(function) => {
                if let [ObjectNamePart::Identifier(name)] = function.name.0.as_mut_slice()
                    && name.quote_style.is_none()
                {
                    name.value = name.value.to_ascii_lowercase();
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    expr.to_string()
}

/// A streaming session with `source` registered under its name, for planning and transient
/// queries; `slice`-sharing providers are returned so the caller can drive the scans.
pub fn session_with_source(
    broker: &Broker,
    source: &SourceInfo,
    processing_log: Arc<dyn ProcessingLog>,
) -> Result<(SessionContext, TopicTableProvider)> {
    let partitions = broker
        .topic(&source.topic)
        .map(|t| t.partitions)
        .ok_or_else(|| {
            EngineError::invalid(format!(
                "Kafka topic does not exist: {} (the topic of {})",
                source.topic, source.name
            ))
        })?;
    let ctx = streaming_session(partitions.max(1) as usize);
    let provider = TopicTableProvider::new(
        broker.clone(),
        &source.topic,
        decoder(source),
        processing_log,
    );
    ctx.register_table(
        TableReference::bare(source.name.as_str()),
        Arc::new(provider.clone()),
    )?;
    Ok((ctx, provider))
}

/// The output schema of `planned` (without the ROWTIME a persistent query adds).
pub async fn output_schema(broker: &Broker, planned: &PlannedSelect) -> Result<SchemaRef> {
    let log: Arc<dyn ProcessingLog> = Arc::new(crate::exec::TracingProcessingLog::default());
    let (ctx, _) = session_with_source(broker, &planned.source, log)?;
    let frame = ctx.sql(&planned.sql).await?;
    let arrow: Schema = frame.schema().as_arrow().clone();
    Ok(Arc::new(arrow))
}

/// Whether queries over this source are allowed to run (tables need the upsert operator).
pub fn check_persistent_source(source: &SourceInfo) -> Result<()> {
    if source.kind == SourceKind::Table {
        return Err(EngineError::Unsupported(format!(
            "Persistent queries over the table {} are not supported yet: they need the table \
             operators (latest row per key, deletes) that land with issue 5.",
            source.name
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{Statement, parse_statement};
    use crate::types::Column;

    fn catalog() -> Catalog {
        let mut catalog = Catalog::default();
        let source = SourceInfo::test_stream(
            "ORDERS",
            [
                Column::key("ID", SqlType::String),
                Column::value("AMOUNT", SqlType::Double),
                Column::value("TS", SqlType::BigInt),
            ],
        );
        catalog.sources.insert("ORDERS".into(), source);
        catalog
    }

    fn plan(sql: &str, usage: SelectUse) -> Result<PlannedSelect> {
        let Statement::Query(query) = parse_statement(sql).unwrap() else {
            panic!("not a query");
        };
        plan_select(&query, &catalog(), usage)
    }

    fn parse(sql: &str) -> Query {
        let Statement::Query(query) = parse_statement(sql).unwrap() else {
            panic!("not a query");
        };
        *query
    }

    #[test]
    fn star_expands_to_declared_columns_and_keeps_the_key() {
        let planned = plan(
            "SELECT * FROM orders WHERE amount > 1;",
            SelectUse::Persistent,
        )
        .unwrap();
        assert_eq!(
            planned.sql,
            "SELECT \"ORDERS\".\"ID\" AS \"ID\", \"ORDERS\".\"AMOUNT\" AS \"AMOUNT\", \
             \"ORDERS\".\"TS\" AS \"TS\", \"ORDERS\".\"ROWTIME\" AS \"ROWTIME\", \
             \"ORDERS\".\"__TOMBSTONE\" AS \"__TOMBSTONE\", \
             \"ORDERS\".\"ROWPARTITION\" AS \"__SRC_PARTITION\", \
             \"ORDERS\".\"ROWOFFSET\" AS \"__SRC_OFFSET\" FROM \"ORDERS\" \
             WHERE NOT \"ORDERS\".\"__TOMBSTONE\" AND (\"AMOUNT\" > 1)"
        );
        assert_eq!(planned.key, ["ID"]);
    }

    #[test]
    fn expressions_get_ksql_col_names_and_functions_lower_case() {
        let planned = plan(
            "SELECT id AS k, ABS(amount), o.ts FROM orders o EMIT CHANGES LIMIT 3;",
            SelectUse::Transient,
        )
        .unwrap();
        assert_eq!(
            planned.sql,
            "SELECT \"ID\" AS \"K\", abs(\"AMOUNT\") AS \"KSQL_COL_0\", \"O\".\"TS\" AS \"TS\", \
             \"O\".\"ROWPARTITION\" AS \"__SRC_PARTITION\", \"O\".\"ROWOFFSET\" AS \"__SRC_OFFSET\" \
             FROM \"ORDERS\" AS \"O\""
        );
        assert_eq!(planned.key, ["K"]);
        assert_eq!(planned.limit, Some(3));
    }

    #[test]
    fn persistent_queries_need_the_key_and_no_limit() {
        let err = plan("SELECT amount FROM orders;", SelectUse::Persistent).unwrap_err();
        assert!(
            err.to_string().starts_with("Key missing from projection"),
            "{err}"
        );
        let err = plan("SELECT * FROM orders LIMIT 1;", SelectUse::Persistent).unwrap_err();
        assert!(
            err.to_string().starts_with("LIMIT is not supported"),
            "{err}"
        );
        let err = plan("SELECT * FROM nope;", SelectUse::Transient).unwrap_err();
        assert_eq!(err.to_string(), "NOPE does not exist.");
    }

    #[test]
    fn partition_by_a_projected_column_makes_it_the_key() {
        let planned = plan(
            "SELECT amount, id FROM orders PARTITION BY amount;",
            SelectUse::Persistent,
        )
        .unwrap();
        assert_eq!(planned.key, ["AMOUNT"]);
        assert!(
            plan(
                "SELECT id FROM orders PARTITION BY amount;",
                SelectUse::Persistent
            )
            .is_err()
        );
    }

    #[test]
    fn partition_by_an_expression_keys_by_its_value_and_moves_the_old_key() {
        let planned = plan(
            "SELECT * FROM orders PARTITION BY ABS(amount);",
            SelectUse::Persistent,
        )
        .unwrap();
        assert_eq!(planned.key, ["KSQL_COL_0"]);
        let names: Vec<&str> = planned.items.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names[0], "KSQL_COL_0");
        assert!(
            names.contains(&"ID"),
            "the old key moves into the value: {names:?}"
        );
        let planned = plan(
            "SELECT id, amount FROM orders PARTITION BY NULL;",
            SelectUse::Persistent,
        )
        .unwrap();
        assert!(planned.key.is_empty());
        let err = plan(
            "SELECT id FROM orders PARTITION BY ABS(amount);",
            SelectUse::Persistent,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("must include the partitioning expression ABS(AMOUNT)"),
            "{err}"
        );
    }

    #[test]
    fn the_key_is_selected_exactly_once_with_a_value_column() {
        let err =
            plan_persistent(&parse("SELECT amount FROM orders;"), &catalog(), "OUT").unwrap_err();
        assert!(
            err.to_string().ends_with(
                "The query used to build `OUT` must include the key column ID in its \
                 projection (eg, SELECT ID...)."
            ),
            "{err}"
        );
        let err = plan(
            "SELECT id, id AS id2, amount FROM orders;",
            SelectUse::Persistent,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "The projection contains a key column (`ID`) more than once, aliased as: ID and ID2."
        );
        let err = plan("SELECT id FROM orders;", SelectUse::Persistent).unwrap_err();
        assert_eq!(err.to_string(), "The projection contains no value columns.");
    }
}
