//! The statements that start or stop persistent queries: CREATE STREAM ... AS SELECT,
//! INSERT INTO ... SELECT and TERMINATE.
//!
//! A new query is planned completely (sink schema, key, formats) before its command is stored,
//! so a refused statement leaves nothing behind. Then the sink topic is created if needed
//! (PARTITIONS defaults to the source's), and the exec branch's epoch runner plans and starts
//! it; on a replay the runner finds the query's last commit and resumes from there.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::physical_plan::displayable;

use crate::catalog::ddl::{
    check_name_free, check_topic_partitions, create_topic, kind_title, topic_configs,
};
use crate::catalog::describe::query_kind;
use crate::catalog::error::{EngineError, Result};
use crate::catalog::executor::{AfterLock, Ctx};
use crate::catalog::plan::{
    PlannedSelect, check_persistent_source, output_schema, plan_persistent,
};
use crate::catalog::result::{CommandStatus, StatementResult};
use crate::catalog::source::{
    QUERY_ID_PROPERTY, SourceInfo, check_property_names, timestamp_column, topic_shape,
    validate_formats,
};
use crate::catalog::{PendingQuery, QueryInfo, QueryKind};
use crate::exec::FormatEncoder;
use crate::format::RecordFormat;
use crate::query::{
    PersistentQuery, Progress, QueryCommit, QueryOptions, QuerySpec, Recovery, StartFrom, spawn,
};
use crate::sql::{CreateSourceAs, InsertInto, Properties, SourceKind, TerminateTarget};
use crate::types::LogicalSchema;

/// Where new persistent queries start, from `auto.offset.reset`.
pub fn start_from(ctx: &Ctx<'_>) -> Result<StartFrom> {
    parse_offset_reset(ctx.property("auto.offset.reset").unwrap_or("latest"))
}

/// `earliest` or `latest`, with ksqlDB's message for anything else.
pub fn parse_offset_reset(value: &str) -> Result<StartFrom> {
    match value.to_ascii_lowercase().as_str() {
        "earliest" => Ok(StartFrom::Earliest),
        "latest" => Ok(StartFrom::Latest),
        _ => Err(EngineError::invalid(format!(
            "Invalid value {value} for configuration auto.offset.reset: String must be one of: \
             latest, earliest"
        ))),
    }
}

/// The query id: `QUERY_ID` from the WITH clause, the id stored with a replayed command, or a
/// new one ending with the command's offset.
fn query_id(ctx: &Ctx<'_>, properties: &Properties, kind: QueryKind, sink: &str) -> Result<String> {
    if let Some(id) = ctx.replayed_query_id() {
        return Ok(id.to_string());
    }
    if let Some(id) = properties.get_str(QUERY_ID_PROPERTY) {
        let id = id.to_ascii_uppercase();
        if ctx.catalog.queries.contains_key(&id) {
            return Err(EngineError::invalid(format!(
                "Query ID '{id}' already exists."
            )));
        }
        return Ok(id);
    }
    Ok(kind.query_id(sink, ctx.command_offset()))
}

/// `CREATE [OR REPLACE] STREAM name [WITH (...)] AS SELECT ...`.
pub async fn create_as(
    ctx: &mut Ctx<'_>,
    create: &CreateSourceAs,
    text: &str,
) -> Result<StatementResult> {
    let name = create.name.value.clone();
    if let Some(done) = check_name_free(
        ctx,
        create.kind,
        &name,
        create.or_replace,
        create.if_not_exists,
    )? {
        return Ok(done);
    }
    let properties = &create.properties;
    check_property_names(properties, &[QUERY_ID_PROPERTY])?;
    let mut planned = plan_persistent(&create.query, ctx.catalog, &name)?;
    check_persistent_source(&planned.source)?;
    if create.kind == SourceKind::Table {
        return Err(EngineError::invalid(
            "Invalid result type. Your SELECT query produces a STREAM. Please use CREATE STREAM \
             AS SELECT statement instead.",
        ));
    }
    if planned.source.name == name {
        return Err(EngineError::invalid(format!(
            "Cannot create {name} from itself: a query cannot read and write the same source."
        )));
    }
    let output = output_schema(ctx.broker, &planned).await?;
    let key: Vec<&str> = planned.key.iter().map(String::as_str).collect();
    let schema = LogicalSchema::from_arrow(&output, &key)?;
    let format = planned
        .source
        .format
        .for_sink(|name| properties.get_str(name))?;
    validate_formats(&schema, &format)?;
    let (timestamp, timestamp_format) = timestamp_column(properties, &schema)?;
    if let Some(column) = timestamp.as_ref().and_then(|c| schema.find(c)) {
        planned.set_sink_timestamp(&column.name, &column.sql_type, timestamp_format.as_deref())?;
    }
    let shape = topic_shape(properties)?;
    let topic = properties
        .get_str("KAFKA_TOPIC")
        .unwrap_or_else(|| name.clone());
    let source_partitions = ctx
        .broker
        .topic(&planned.source.topic)
        .map_or(1, |t| t.partitions);
    let partitions = shape.partitions.unwrap_or(source_partitions);
    if topic == planned.source.topic {
        return Err(EngineError::invalid(format!(
            "Cannot write {name} into '{topic}': it is the topic of {}, which the query reads.",
            planned.source.name
        )));
    }
    check_topic_partitions(
        ctx,
        &topic,
        ctx.broker.topic(&topic).as_ref(),
        shape.partitions,
    )?;

    // OR REPLACE: the query writing the old definition is replaced, keeping its id (and so its
    // offsets).
    let replaced: Option<String> = if ctx.catalog.sources.contains_key(&name) {
        let writers = ctx.catalog.writers_of(&name);
        match writers.as_slice() {
            [] => None,
            [one] => Some(one.clone()),
            _ => {
                return Err(EngineError::invalid(format!(
                    "Cannot replace {name}: several queries write into it ({})",
                    writers.join(", ")
                )));
            }
        }
    } else {
        None
    };
    let id = match &replaced {
        Some(id) => id.clone(),
        None => query_id(ctx, properties, query_kind(create.kind), &name)?,
    };
    ctx.persist(text, Some(&id)).await?;
    if let Some(old) = replaced
        .as_ref()
        .and_then(|id| ctx.catalog.queries.remove(id))
    {
        ctx.after.push(AfterLock::Stop(old));
    }
    if ctx.broker.topic(&topic).is_none() {
        let configs = topic_configs(properties, create.kind)?;
        create_topic(ctx, &topic, partitions, &configs)?;
    }
    ctx.catalog.sources.insert(
        name.clone(),
        SourceInfo {
            name: name.clone(),
            kind: create.kind,
            schema: schema.clone(),
            topic: topic.clone(),
            format: format.clone(),
            timestamp_column: timestamp,
            timestamp_format,
            is_source: false,
            statement_is_query: true,
            statement: text.to_string(),
        },
    );
    let kind = query_kind(create.kind);
    // A new query starts fresh even when its id was used before (QUERY_ID='...'); OR REPLACE
    // keeps the replaced query's progress on the sources the new plan still reads.
    let progress = if replaced.is_some() {
        Progress::Load
    } else {
        Progress::Fresh
    };
    start_query(
        ctx,
        StartQuery {
            id: id.clone(),
            kind,
            sink: &name,
            sink_topic: &topic,
            planned,
            schema,
            format,
            text,
            progress,
        },
    )
    .await?;
    tracing::info!(query = %id, sink = %name, kind = kind_title(create.kind), "query created");
    Ok(StatementResult::Status(CommandStatus {
        message: format!("Created query with ID {id}"),
        query_id: Some(id),
    }))
}

/// `INSERT INTO stream [WITH (QUERY_ID='...')] SELECT ...`.
pub async fn insert_into(
    ctx: &mut Ctx<'_>,
    insert: &InsertInto,
    text: &str,
) -> Result<StatementResult> {
    let name = insert.target.value.clone();
    let target =
        crate::catalog::validate::names::insert_into_target(ctx.catalog, &insert.target)?.clone();
    if target.kind == SourceKind::Table {
        return Err(EngineError::invalid(format!(
            "INSERT INTO can only be used to insert into a stream. {name} is a table."
        )));
    }
    if target.is_source {
        return Err(EngineError::invalid(format!(
            "Cannot insert into read-only stream: {name}"
        )));
    }
    check_property_names(&insert.properties, &[QUERY_ID_PROPERTY])?;
    let planned = plan_persistent(&insert.query, ctx.catalog, &name)?;
    check_persistent_source(&planned.source)?;
    if planned.source.name == name {
        return Err(EngineError::invalid(format!(
            "Cannot insert into {name} from itself: a query cannot read and write the same source."
        )));
    }
    let output = output_schema(ctx.broker, &planned).await?;
    let key: Vec<&str> = planned.key.iter().map(String::as_str).collect();
    let schema = LogicalSchema::from_arrow(&output, &key)?;
    if schema.key != target.schema.key || schema.value != target.schema.value {
        return Err(EngineError::invalid(format!(
            "Incompatible schema between results and sink.\nResult schema is {schema}\nSink \
             schema is {}",
            target.schema
        )));
    }
    let id = query_id(ctx, &insert.properties, QueryKind::InsertInto, &name)?;
    ctx.persist(text, Some(&id)).await?;
    ctx.catalog.shared_sinks.insert(name.clone());
    start_query(
        ctx,
        StartQuery {
            id: id.clone(),
            kind: QueryKind::InsertInto,
            sink: &name,
            sink_topic: &target.topic,
            planned,
            schema: target.schema.clone(),
            format: target.format.clone(),
            text,
            progress: Progress::Fresh,
        },
    )
    .await?;
    Ok(StatementResult::Status(CommandStatus {
        message: format!("Created query with ID {id}"),
        query_id: Some(id),
    }))
}

/// What [`start_query`] starts.
struct StartQuery<'a> {
    id: String,
    kind: QueryKind,
    sink: &'a str,
    sink_topic: &'a str,
    planned: PlannedSelect,
    schema: LogicalSchema,
    format: RecordFormat,
    text: &'a str,
    progress: Progress,
}

/// Plans and starts query `id` writing `sink`; registers it in the catalog even when it fails
/// to start (SHOW QUERIES then says ERROR), so it can still be terminated. A replayed query is
/// only registered: [`start_pending`] starts the ones still alive once the replay is done.
async fn start_query(ctx: &mut Ctx<'_>, start: StartQuery<'_>) -> Result<()> {
    let StartQuery {
        id,
        kind,
        sink,
        sink_topic,
        planned,
        schema,
        format,
        text,
        progress,
    } = start;
    let processing_log = ctx.processing_log.for_query(&id);
    let spec = QuerySpec {
        id: id.clone(),
        sql: planned.sql.clone(),
        sources: planned.query_sources(),
        sink_topic: sink_topic.to_string(),
        encoder: Arc::new(FormatEncoder::new(schema, format)),
    };
    let options = QueryOptions {
        start_from: start_from(ctx)?,
        processing_log: processing_log.clone(),
        ..QueryOptions::default()
    };
    // A sink only this query writes is cut back to its last commit at restart (exactly once);
    // a sink INSERT INTO queries also write is not, as the records may be theirs.
    let exclusive_sink = kind != QueryKind::InsertInto && !ctx.catalog.shared_sinks.contains(sink);
    let mut info = QueryInfo {
        id: id.clone(),
        kind,
        sink: sink.to_string(),
        sink_topic: sink_topic.to_string(),
        sources: vec![planned.source.name.clone()],
        statement: text.to_string(),
        plan: String::new(),
        handle: None,
        error: None,
        processing_log,
        starting: None,
        pending: None,
    };
    if ctx.is_replay() {
        info.pending = Some(PendingQuery {
            spec,
            options,
            exclusive_sink,
        });
        ctx.catalog.queries.insert(id, info);
        return Ok(());
    }
    let generation = NEXT_GENERATION.fetch_add(1, Ordering::Relaxed);
    info.starting = Some(generation);
    ctx.catalog.queries.insert(id.clone(), info);
    ctx.after.push(AfterLock::Start {
        id,
        generation,
        spec,
        options,
        recovery: Recovery {
            exclusive_sink,
            progress,
        },
    });
    Ok(())
}

/// Generations of query registrations (see [`AfterLock::Start`]).
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

/// Installs a query created outside the catalog lock in its catalog entry: its task starts, or
/// the entry says why it could not. Returns the query back when the registration is gone (it
/// was terminated meanwhile), for the caller to drop and forget.
pub fn install_started(
    queries: &mut BTreeMap<String, QueryInfo>,
    id: &str,
    generation: u64,
    created: std::result::Result<PersistentQuery, crate::query::QueryError>,
) -> Result<Option<PersistentQuery>> {
    let Some(info) = queries
        .get_mut(id)
        .filter(|info| info.starting == Some(generation))
    else {
        return Ok(created.ok());
    };
    info.starting = None;
    match created {
        Ok(query) => {
            info.plan = displayable(query.plan().as_ref()).indent(true).to_string();
            info.handle = Some(spawn(query));
            Ok(None)
        }
        Err(e) => {
            tracing::error!(query = %id, error = %e, "query did not start");
            info.error = Some(e.to_string());
            Err(EngineError::from(e))
        }
    }
}

/// Starts the queries the replay registered, each from its own commit in `commits` (one scan
/// of the offsets topic for all of them); a query that cannot start is left in ERROR with the
/// reason.
pub async fn start_pending(
    broker: &sluice_broker::Broker,
    queries: &mut BTreeMap<String, QueryInfo>,
    commits: &BTreeMap<String, QueryCommit>,
) {
    for (id, info) in queries.iter_mut() {
        let Some(pending) = info.pending.take() else {
            continue;
        };
        let recovery = Recovery {
            exclusive_sink: pending.exclusive_sink,
            progress: Progress::Given(commits.get(id).cloned()),
        };
        match PersistentQuery::create_with(broker.clone(), pending.spec, pending.options, recovery)
            .await
        {
            Ok(query) => {
                info.plan = displayable(query.plan().as_ref()).indent(true).to_string();
                info.handle = Some(spawn(query));
            }
            Err(e) => {
                tracing::error!(query = %id, error = %e, "query did not start");
                info.error = Some(e.to_string());
            }
        }
    }
}

/// Stops a query's task, logging why it had stopped if it failed.
pub async fn stop_query(query: QueryInfo) {
    if let Some(handle) = query.handle
        && let Err(e) = handle.stop().await
    {
        tracing::warn!(query = %query.id, error = %e, "the query had failed before it was terminated");
    }
}

/// `TERMINATE id` / `TERMINATE ALL`.
pub async fn terminate(
    ctx: &mut Ctx<'_>,
    target: &TerminateTarget,
    text: &str,
) -> Result<StatementResult> {
    let ids: Vec<String> = match target {
        TerminateTarget::All => ctx.catalog.queries.keys().cloned().collect(),
        TerminateTarget::Query(id) => {
            let id = id.value.clone();
            let found = ctx
                .catalog
                .queries
                .keys()
                .find(|k| k.eq_ignore_ascii_case(&id))
                .cloned();
            match found {
                Some(found) => vec![found],
                None => return Err(EngineError::invalid(format!("Unknown queryId: {id}"))),
            }
        }
    };
    ctx.persist(text, None).await?;
    for id in &ids {
        if let Some(query) = ctx.catalog.queries.remove(id) {
            ctx.after.push(AfterLock::Stop(query));
        }
        // A terminated query's progress is forgotten: an id used again starts fresh. (A replay
        // does not need to: the engine forgets every query not alive at its end.)
        if !ctx.is_replay() {
            ctx.after.push(AfterLock::Forget(id.clone()));
        }
    }
    Ok(StatementResult::Status(CommandStatus {
        message: if ids.len() == 1 {
            "Query terminated.".to_string()
        } else {
            format!("{} queries terminated.", ids.len())
        },
        query_id: None,
    }))
}
