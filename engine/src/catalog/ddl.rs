//! CREATE STREAM|TABLE (without AS SELECT), DROP STREAM|TABLE, CREATE TYPE and DROP TYPE.
//!
//! Each handler validates first (nothing is stored for a refused statement), then stores the
//! statement in the command topic, then changes the broker (creating or deleting a topic) and
//! the catalog.

use std::collections::BTreeMap;

use sluice_broker::{BrokerError, TopicMeta};

use crate::catalog::describe::check_kind;
use crate::catalog::error::{EngineError, Result};
use crate::catalog::executor::{Ctx, Mode};
use crate::catalog::result::{CommandStatus, StatementResult};
use crate::catalog::source::{
    SourceInfo, check_property_names, format_defaults, schema_from_columns, timestamp_column,
    topic_shape, validate_formats,
};
use crate::format::RecordFormat;
use crate::processing_log::PROCESSING_LOG_STREAM;
use crate::sql::{AlterSource, CreateSource, CreateType, DropSource, DropType, SourceKind};
use crate::types::{Column, PseudoColumn};

/// A status result.
pub fn status(message: impl Into<String>) -> StatementResult {
    StatementResult::Status(CommandStatus {
        message: message.into(),
        query_id: None,
    })
}

/// Title case of a source kind, for messages (`Stream`, `Table`).
pub fn kind_title(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "Stream",
        SourceKind::Table => "Table",
    }
}

/// What to do about a name that is already taken; `Ok(Some(result))` ends the statement.
pub fn check_name_free(
    ctx: &Ctx<'_>,
    kind: SourceKind,
    name: &str,
    or_replace: bool,
    if_not_exists: bool,
) -> Result<Option<StatementResult>> {
    let Some(existing) = ctx.catalog.sources.get(name) else {
        return Ok(None);
    };
    if or_replace && existing.kind == kind && !if_not_exists {
        return Ok(None);
    }
    let message = format!(
        "Cannot add {} '{name}': A {} with the same name already exists",
        kind.to_string().to_lowercase(),
        existing.kind.to_string().to_lowercase()
    );
    if if_not_exists {
        // Not an error: the statement asked to do nothing in this case.
        return Ok(Some(status(message)));
    }
    Err(EngineError::Invalid(message))
}

/// `CREATE [OR REPLACE] STREAM|TABLE name (columns) WITH (...)`.
pub async fn create_source(
    ctx: &mut Ctx<'_>,
    create: &CreateSource,
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
    if create.or_replace && !ctx.catalog.writers_of(&name).is_empty() {
        return Err(EngineError::invalid(format!(
            "Cannot replace {name}: it is written by the queries {:?}; terminate them first.",
            ctx.catalog.writers_of(&name)
        )));
    }
    let properties = &create.properties;
    check_property_names(properties, &[])?;
    // ksqlDB validates the WITH clause (formats, delimiters) before the columns: a statement
    // with a bad format is refused for the format even when its columns are wrong too.
    let defaults = format_defaults(|name| ctx.property(name).map(str::to_string))?;
    let mut format = RecordFormat::from_properties(|name| properties.get_str(name), &defaults)
        .map_err(EngineError::prepare)?;
    let schema = schema_from_columns(create.kind, &create.columns, &ctx.catalog.types)?;
    validate_formats(&schema, &format)?;
    defaults.apply_wrap_default(&mut format, schema.value.len());
    let (timestamp, timestamp_format) = timestamp_column(properties, &schema)?;
    let shape = topic_shape(properties)?;
    let topic = match (properties.get_str("KAFKA_TOPIC"), shape.partitions) {
        (Some(topic), _) => topic,
        (None, Some(_)) => name.clone(),
        (None, None) => {
            return Err(EngineError::invalid(
                "Missing required property \"KAFKA_TOPIC\" which has no default value.",
            ));
        }
    };
    let exists = ctx.broker.topic(&topic);
    check_topic_partitions(ctx, &topic, exists.as_ref(), shape.partitions)?;
    if exists.is_none() && shape.partitions.is_none() && !matches!(ctx.mode, Mode::Builtin) {
        return Err(EngineError::invalid(format!(
            "Topic '{topic}' does not exist. If you want to create a new topic for the \
             {kind} please re-run the statement providing the required 'PARTITIONS' \
             configuration in the WITH clause (and optionally 'REPLICAS'). For example: \
             CREATE {kind_upper} {name} (ID INT, VALUE STRING) WITH (KAFKA_TOPIC='{topic}', \
             PARTITIONS=2, REPLICAS=1, VALUE_FORMAT='JSON');",
            kind = create.kind.to_string().to_lowercase(),
            kind_upper = create.kind
        )));
    }
    ctx.persist(text, None).await?;
    if exists.is_none() {
        let configs = topic_configs(properties, create.kind)?;
        create_topic(ctx, &topic, shape.partitions.unwrap_or(1), &configs)?;
    }
    let replaced = ctx.catalog.sources.contains_key(&name);
    ctx.catalog.sources.insert(
        name.clone(),
        SourceInfo {
            name,
            kind: create.kind,
            schema,
            topic,
            format,
            timestamp_column: timestamp,
            timestamp_format,
            is_source: create.is_source,
            statement_is_query: false,
            statement: text.to_string(),
        },
    );
    Ok(status(format!(
        "{} {}",
        kind_title(create.kind),
        if replaced { "replaced" } else { "created" }
    )))
}

/// The Kafka configs of a topic a statement creates: `RETENTION_MS` and `CLEANUP_POLICY` from
/// the WITH clause; a table's topic is compacted unless it says otherwise (the latest value per
/// key is what a table is), as ksqlDB does.
pub fn topic_configs(
    properties: &crate::sql::Properties,
    kind: SourceKind,
) -> Result<BTreeMap<String, String>> {
    let mut configs = BTreeMap::new();
    if kind == SourceKind::Table {
        configs.insert("cleanup.policy".to_string(), "compact".to_string());
    }
    if let Some(policy) = properties.get_str("CLEANUP_POLICY") {
        configs.insert("cleanup.policy".to_string(), policy.to_ascii_lowercase());
    }
    if let Some(retention) = properties.get_int("RETENTION_MS")? {
        configs.insert("retention.ms".to_string(), retention.to_string());
    }
    Ok(configs)
}

/// Refuses a `PARTITIONS` that differs from the partition count of the topic that already
/// exists, with ksqlDB's message. A replayed command is not checked again: it was accepted when
/// it first ran.
pub fn check_topic_partitions(
    ctx: &Ctx<'_>,
    topic: &str,
    existing: Option<&TopicMeta>,
    wanted: Option<i32>,
) -> Result<()> {
    match (existing, wanted) {
        (Some(meta), Some(wanted)) if meta.partitions != wanted && !ctx.is_replay() => {
            Err(EngineError::invalid(format!(
                "A Kafka topic with the name '{topic}' already exists, with different \
                 partition/replica configuration than required. KSQL expects {wanted} \
                 partitions (topic has {}), 1 replication factor (topic has 1).",
                meta.partitions
            )))
        }
        _ => Ok(()),
    }
}

/// Creates `topic` unless it exists (it does when a replayed command created it before).
///
/// A replayed command finds its topic missing only when the server stopped between storing the
/// command and creating the topic, or when a later command dropped it: the topic is created
/// (later replayed commands may need it) and noted, and once the replay is done the engine
/// deletes the noted topics that no source of the final catalog uses.
pub fn create_topic(
    ctx: &mut Ctx<'_>,
    topic: &str,
    partitions: i32,
    configs: &BTreeMap<String, String>,
) -> Result<()> {
    match ctx.broker.create_topic(topic, partitions, configs) {
        Ok(_) => {
            if ctx.is_replay() {
                ctx.catalog.replay_created_topics.insert(topic.to_string());
            }
            Ok(())
        }
        Err(BrokerError::TopicAlreadyExists(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// `DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC]`: refused while queries use the source.
pub async fn drop_source(
    ctx: &mut Ctx<'_>,
    drop: &DropSource,
    text: &str,
) -> Result<StatementResult> {
    let name = drop.name.value.clone();
    let Some(source) = ctx.catalog.sources.get(&name) else {
        if drop.if_exists {
            return Ok(status(format!("Source `{name}` does not exist.")));
        }
        return Err(EngineError::invalid(format!(
            "Source {name} does not exist."
        )));
    };
    check_kind(source, drop.kind, "DROP")?;
    if name == PROCESSING_LOG_STREAM {
        return Err(EngineError::invalid(format!(
            "{PROCESSING_LOG_STREAM} is built in: it is declared again at every start and cannot \
             be dropped."
        )));
    }
    let readers = ctx.catalog.readers_of(&name);
    let writers = ctx.catalog.writers_of(&name);
    if !readers.is_empty() || !writers.is_empty() {
        return Err(EngineError::invalid(format!(
            "Cannot drop {name}.\nThe following queries read from this source: [{}].\nThe \
             following queries write into this source: [{}].\nYou need to terminate them before \
             dropping {name}.",
            readers.join(", "),
            writers.join(", ")
        )));
    }
    let topic = source.topic.clone();
    ctx.persist(text, None).await?;
    ctx.catalog.sources.remove(&name);
    // A replayed DROP ... DELETE TOPIC deleted its topic when it first ran; the topic of that
    // name now may be a newer one (a later CREATE with KAFKA_TOPIC='same'), so replay never
    // deletes (see `create_topic` for topics a replay itself re-created).
    if drop.delete_topic && !ctx.is_replay() {
        match ctx.broker.delete_topic(&topic) {
            Ok(()) | Err(BrokerError::UnknownTopic(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(status(format!(
        "Source `{name}` (topic: {topic}) was dropped."
    )))
}

/// `CREATE TYPE [IF NOT EXISTS] name AS type`.
pub async fn create_type(
    ctx: &mut Ctx<'_>,
    create: &CreateType,
    text: &str,
) -> Result<StatementResult> {
    let name = create.name.value.clone();
    if let Some(existing) = ctx.catalog.types.get(&name) {
        if create.if_not_exists {
            return Ok(status(format!("Type {name} already exists")));
        }
        return Err(EngineError::invalid(format!(
            "Cannot register custom type '{name}' since it is already registered with type: {existing}"
        )));
    }
    let resolved = crate::catalog::source::resolve_type(&create.data_type, &ctx.catalog.types)?;
    ctx.persist(text, None).await?;
    ctx.catalog.types.insert(name.clone(), resolved.clone());
    Ok(status(format!(
        "Registered custom type with name '{name}' and SQL type {resolved}"
    )))
}

/// `DROP TYPE [IF EXISTS] name`.
pub async fn drop_type(ctx: &mut Ctx<'_>, drop: &DropType, text: &str) -> Result<StatementResult> {
    let name = drop.name.value.clone();
    if !ctx.catalog.types.contains_key(&name) {
        if drop.if_exists {
            return Ok(status(format!("Type {name} does not exist")));
        }
        return Err(EngineError::invalid(format!("Type {name} does not exist")));
    }
    ctx.persist(text, None).await?;
    ctx.catalog.types.remove(&name);
    Ok(status(format!("Dropped type '{name}'")))
}

/// `ALTER STREAM|TABLE name ADD [COLUMN] name type, ...`: new value columns for a source that a
/// CREATE (not CREATE ... AS SELECT) declared. Queries already running keep the columns they
/// were planned with.
pub async fn alter_source(
    ctx: &mut Ctx<'_>,
    alter: &AlterSource,
    text: &str,
) -> Result<StatementResult> {
    let name = alter.name.value.clone();
    let source = ctx
        .catalog
        .sources
        .get(&name)
        .ok_or_else(|| EngineError::invalid(format!("Source {name} does not exist.")))?;
    check_kind(source, alter.kind, "ALTER")?;
    if !ctx.catalog.writers_of(&name).is_empty() || source.statement_is_query {
        return Err(EngineError::invalid(
            "ALTER command is not supported for CREATE ... AS statements.",
        ));
    }
    let mut schema = source.schema.clone();
    for def in &alter.add_columns {
        let column = def.name.value.clone();
        if schema.find(&column).is_some() || PseudoColumn::from_name(&column).is_some() {
            return Err(EngineError::invalid(format!(
                "Cannot add column `{column}` to schema. A column with the same name already \
                 exists."
            )));
        }
        if def.constraint.is_some() {
            return Err(EngineError::invalid(format!(
                "Cannot add column `{column}`: ALTER adds value columns only."
            )));
        }
        let sql_type = crate::catalog::source::resolve_type(&def.data_type, &ctx.catalog.types)?;
        schema.value.push(Column::value(column, sql_type));
    }
    validate_formats(&schema, &source.format)?;
    ctx.persist(text, None).await?;
    if let Some(source) = ctx.catalog.sources.get_mut(&name) {
        source.schema = schema;
    }
    Ok(status(format!("{} altered.", kind_title(alter.kind))))
}
