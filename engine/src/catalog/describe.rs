//! The read-only statements: SHOW STREAMS|TABLES|TOPICS|QUERIES|PROPERTIES|FUNCTIONS, DESCRIBE
//! [EXTENDED] and DESCRIBE FUNCTION, answered from the catalog with ksqlDB's column headers.

use std::collections::BTreeMap;

use sluice_broker::Broker;

use crate::catalog::error::{EngineError, Result};
use crate::catalog::result::{FieldDescription, Rows, SourceDescription};
use crate::catalog::transient::TransientQuery;
use crate::catalog::{Catalog, QueryKind, SourceInfo};
use crate::format::RecordFormat;
use crate::functions::list_functions;
use crate::sql::SourceKind;
use crate::types::ColumnKind;

/// `SHOW STREAMS` / `SHOW TABLES` (`EXTENDED` adds the partitions and the statement).
pub fn show_sources(catalog: &Catalog, broker: &Broker, kind: SourceKind, extended: bool) -> Rows {
    let title = match kind {
        SourceKind::Stream => "Stream Name",
        SourceKind::Table => "Table Name",
    };
    let mut columns = vec![
        title,
        "Kafka Topic",
        "Key Format",
        "Value Format",
        "Windowed",
    ];
    if extended {
        columns.extend(["Partitions", "Statement"]);
    }
    let mut rows = Rows::new(&columns);
    for source in catalog.sources_of(kind) {
        let mut row = vec![
            source.name.clone(),
            source.topic.clone(),
            source.format.key.kind.to_string(),
            source.format.value.kind.to_string(),
            source.schema.window.is_some().to_string(),
        ];
        if extended {
            row.push(partitions(broker, &source.topic).to_string());
            row.push(source.statement.clone());
        }
        rows.rows.push(row);
    }
    rows
}

fn partitions(broker: &Broker, topic: &str) -> i32 {
    broker.topic(topic).map_or(0, |t| t.partitions)
}

/// `SHOW TOPICS` (internal `_` topics only with `ALL`).
pub fn show_topics(broker: &Broker, all: bool) -> Rows {
    let mut rows = Rows::new(&["Kafka Topic", "Partitions", "Partition Replicas"]);
    for topic in broker.topics() {
        if !all && topic.name.starts_with('_') {
            continue;
        }
        rows.rows
            .push(vec![topic.name, topic.partitions.to_string(), "1".into()]);
    }
    rows
}

/// `SHOW QUERIES [EXTENDED]`: the persistent queries, then the push queries running now (Query
/// Type `PUSH`, no sink), as ksqlDB lists them.
pub fn show_queries(
    catalog: &Catalog,
    broker: &Broker,
    push: &[TransientQuery],
    extended: bool,
) -> Rows {
    let mut columns = vec![
        "Query ID",
        "Query Type",
        "Status",
        "Sink Name",
        "Sink Kafka Topic",
        "Query String",
    ];
    if extended {
        columns.extend([
            "Processing Errors",
            "Error",
            "Records Processed",
            "Records Written",
            "Processing Log Dropped",
            "Lag",
        ]);
    }
    let mut rows = Rows::new(&columns);
    for query in catalog.queries.values() {
        let mut row = vec![
            query.id.clone(),
            "PERSISTENT".into(),
            format!("{}:1", query.status()),
            query.sink.clone(),
            query.sink_topic.clone(),
            query.statement.clone(),
        ];
        if extended {
            let status = query.describe(broker);
            row.push(status.processing_errors.to_string());
            row.push(status.error.clone().unwrap_or_default());
            row.push(status.records_in.to_string());
            row.push(status.records_out.to_string());
            row.push(status.processing_log_dropped.to_string());
            row.push(status.lag_text());
        }
        rows.rows.push(row);
    }
    for query in push {
        let mut row = vec![
            query.id.clone(),
            "PUSH".into(),
            "RUNNING:1".into(),
            String::new(),
            String::new(),
            query.statement.clone(),
        ];
        if extended {
            row.extend(std::iter::repeat_n(String::new(), 6));
        }
        rows.rows.push(row);
    }
    rows
}

/// The properties a session may SET, with their defaults.
pub const PROPERTY_DEFAULTS: &[(&str, &str)] = &[
    ("auto.offset.reset", "latest"),
    ("ksql.persistence.default.format.key", "KAFKA"),
    ("ksql.persistence.default.format.value", ""),
    ("ksql.persistence.wrap.single.values", ""),
    ("ksql.query.persistent.active.limit", "2147483647"),
    ("ksql.streams.num.stream.threads", "1"),
];

/// `SHOW PROPERTIES`: every known property, its override and the value in effect.
pub fn show_properties(overrides: &BTreeMap<String, String>) -> Rows {
    let mut rows = Rows::new(&["Property", "Default override", "Effective Value"]);
    let mut names: Vec<&str> = PROPERTY_DEFAULTS.iter().map(|(n, _)| *n).collect();
    names.extend(
        overrides
            .keys()
            .map(String::as_str)
            .filter(|k| !PROPERTY_DEFAULTS.iter().any(|(n, _)| n == k)),
    );
    names.sort();
    for name in names {
        let default = PROPERTY_DEFAULTS
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, d)| *d);
        let over = overrides.get(name).cloned().unwrap_or_default();
        let effective = if over.is_empty() {
            default.to_string()
        } else {
            over.clone()
        };
        rows.rows.push(vec![name.to_string(), over, effective]);
    }
    rows
}

/// `SHOW FUNCTIONS`: every scalar function, with ksqlDB's category.
pub fn show_functions() -> Rows {
    let mut rows = Rows::new(&["Function Name", "Category"]);
    for function in list_functions() {
        rows.rows.push(vec![
            function.name.to_string(),
            function.category.as_str().to_string(),
        ]);
    }
    rows
}

/// `DESCRIBE FUNCTION name`: one row per overload.
pub fn describe_function(name: &str) -> Result<Rows> {
    let Some(function) = crate::functions::describe_function(name) else {
        return Err(EngineError::invalid(format!(
            "Can't find any functions with the name '{}'",
            name.to_ascii_uppercase()
        )));
    };
    let mut rows = Rows::new(&["Name", "Category", "Signature", "Description"]);
    for signature in &function.signatures {
        rows.rows.push(vec![
            function.name.to_string(),
            function.category.as_str().to_string(),
            signature.clone(),
            function.description.to_string(),
        ]);
    }
    Ok(rows)
}

/// `DESCRIBE [EXTENDED] source`.
pub fn describe_source(
    catalog: &Catalog,
    broker: &Broker,
    source: &SourceInfo,
    extended: bool,
) -> SourceDescription {
    let key_annotation = match source.kind {
        SourceKind::Stream => "(key)",
        SourceKind::Table => "(primary key)",
    };
    let fields = source
        .schema
        .columns()
        .map(|c| FieldDescription {
            name: c.name.clone(),
            sql_type: c.sql_type.to_string(),
            annotation: match &c.kind {
                ColumnKind::Key => Some(key_annotation.to_string()),
                ColumnKind::Value => None,
                ColumnKind::Headers => Some("(headers)".to_string()),
                ColumnKind::Header(k) => Some(format!("(header('{k}'))")),
            },
        })
        .collect();
    let writers = catalog.writers_of(&source.name);
    let processing_errors = writers
        .iter()
        .filter_map(|id| catalog.queries.get(id))
        .map(|q| q.processing_errors())
        .sum();
    SourceDescription {
        name: source.name.clone(),
        kind: source.kind.to_string(),
        fields,
        extended,
        topic: source.topic.clone(),
        partitions: partitions(broker, &source.topic),
        key_format: format_name(&source.format, true),
        value_format: format_name(&source.format, false),
        timestamp_column: source.timestamp_column.clone(),
        statement: source.statement.clone(),
        read_queries: catalog.readers_of(&source.name),
        query_statuses: if extended {
            writers
                .iter()
                .filter_map(|id| catalog.queries.get(id))
                .map(|q| q.describe(broker))
                .collect()
        } else {
            Vec::new()
        },
        write_queries: writers,
        processing_errors,
    }
}

fn format_name(format: &RecordFormat, key: bool) -> String {
    if key {
        format.key.kind.to_string()
    } else {
        format.value.kind.to_string()
    }
}

/// The kind a DROP statement names must match the source's.
pub fn check_kind(source: &SourceInfo, kind: SourceKind, verb: &str) -> Result<()> {
    if source.kind != kind {
        return Err(EngineError::invalid(format!(
            "Incompatible data source type is {}, but statement was {verb} {kind}",
            source.kind
        )));
    }
    Ok(())
}

/// The query kind created by CREATE ... AS SELECT of `kind`.
pub fn query_kind(kind: SourceKind) -> QueryKind {
    match kind {
        SourceKind::Stream => QueryKind::CreateStreamAs,
        SourceKind::Table => QueryKind::CreateTableAs,
    }
}
