//! Catalog views for Postgres clients: `pg_catalog`, `information_schema` and the settings and
//! session functions psql, JDBC, psycopg, node-postgres and BI tools query on connect and when
//! they list relations (`\d`, `\dt`, `\dv`, `\d name`, `\l`, `\dn`).
//!
//! A Sluice statement never comes here: [`route::classify`] picks out by their text the
//! statements Sluice's ksqlDB dialect does not have (queries naming catalog relations or
//! Postgres session functions, `SET name = value`, `SHOW name` of a Postgres setting, `BEGIN` /
//! `COMMIT`). Queries run in a DataFusion [`SessionContext`] of their own whose tables
//! ([`tables`]) are made from Sluice's streams and tables **for each query** (SHOW STREAMS,
//! SHOW TABLES and DESCRIBE of each; a few dozen rows), so they are never stale, plus the
//! functions of [`functions`]. Postgres-only syntax is rewritten first ([`route::rewrite`]).
//!
//! Why not `datafusion-pg-catalog` 0.19 (which targets DataFusion 55): it depends on
//! `datafusion` with its default features and on `arrow-pg`'s `datafusion` feature, which turn
//! on DataFusion's parquet, compression codecs and more than we build today; see
//! docs/architecture.md, "Postgres wire: catalog views".

pub mod build;
pub mod empty;
pub mod functions;
pub mod postgres_sql;
pub mod route;
pub mod tables;
pub mod types;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use datafusion::catalog::MemorySchemaProvider;
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionConfig, SessionContext};
use parking_lot::Mutex;
use thiserror::Error;
use tokio::sync::mpsc;
use tracing::debug;

use crate::catalog::ddl::status;
use crate::catalog::result::Rows;
use crate::pgwire::catalog::functions::FunctionContext;
use crate::pgwire::catalog::route::{Route, classify, rewrite};
use crate::pgwire::catalog::tables::{Relation, catalog_tables, pg_name};
use crate::{EngineError, RowStream, Session, StatementResult};

/// Whether `sql` is a statement the catalog views answer (not a Sluice statement).
pub fn is_catalog_statement(sql: &str) -> bool {
    classify(sql).is_some()
}

/// What went wrong answering a catalog statement.
#[derive(Debug, Error)]
pub enum CatalogError {
    /// The query names something the catalog views do not have, or uses SQL they cannot run.
    #[error("catalog query failed: {0}")]
    Query(#[from] DataFusionError),
    /// The catalog tables could not be built (a bug: their rows do not fit their columns).
    #[error("building the catalog views: {0}")]
    Build(#[from] arrow::error::ArrowError),
    /// `SHOW name` of a setting that does not exist.
    #[error("unrecognized configuration parameter \"{0}\"")]
    UnknownSetting(String),
    /// Listing Sluice's streams and tables failed.
    #[error(transparent)]
    Sluice(#[from] EngineError),
}

impl From<CatalogError> for EngineError {
    fn from(e: CatalogError) -> EngineError {
        match e {
            CatalogError::Sluice(e) => e,
            CatalogError::UnknownSetting(_) => EngineError::Invalid(e.to_string()),
            CatalogError::Query(_) | CatalogError::Build(_) => {
                EngineError::Unsupported(e.to_string())
            }
        }
    }
}

/// The Postgres version the catalog reports (`version()`, `server_version`).
pub const SERVER_VERSION: &str = "16.6";

static NEXT_PID: AtomicI32 = AtomicI32::new(1000);

/// One connection's catalog views: its Postgres settings and its backend pid.
#[derive(Debug)]
pub struct PgCatalog {
    settings: Arc<Mutex<BTreeMap<String, String>>>,
    pid: i32,
}

impl Default for PgCatalog {
    fn default() -> Self {
        PgCatalog::new()
    }
}

impl PgCatalog {
    /// The views of a new connection, with Postgres' default settings.
    pub fn new() -> PgCatalog {
        let defaults = [
            ("application_name", ""),
            ("client_encoding", "UTF8"),
            ("datestyle", "ISO, MDY"),
            ("default_transaction_isolation", "read committed"),
            ("default_transaction_read_only", "off"),
            ("extra_float_digits", "1"),
            ("integer_datetimes", "on"),
            ("intervalstyle", "postgres"),
            ("is_superuser", "on"),
            ("lc_collate", "C.UTF-8"),
            ("lc_ctype", "C.UTF-8"),
            ("lc_messages", "C.UTF-8"),
            ("max_identifier_length", "63"),
            ("max_index_keys", "32"),
            ("search_path", "\"$user\", public"),
            ("server_encoding", "UTF8"),
            ("server_version", SERVER_VERSION),
            ("server_version_num", "160006"),
            ("standard_conforming_strings", "on"),
            ("statement_timeout", "0"),
            ("timezone", "UTC"),
            ("transaction_isolation", "read committed"),
            ("transaction_read_only", "off"),
        ];
        PgCatalog {
            settings: Arc::new(Mutex::new(
                defaults
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            )),
            pid: NEXT_PID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Answers `sql` if it is for the catalog views; `None` when it is a Sluice statement.
    pub async fn answer(
        &self,
        session: &Session,
        sql: &str,
    ) -> Option<Result<StatementResult, EngineError>> {
        let route = classify(sql)?;
        debug!(sql, ?route, "catalog statement");
        Some(
            self.run(session, sql, route)
                .await
                .map_err(EngineError::from),
        )
    }

    async fn run(
        &self,
        session: &Session,
        sql: &str,
        route: Route,
    ) -> Result<StatementResult, CatalogError> {
        match route {
            Route::NoOp => Ok(status("")),
            Route::Set { name, value } => {
                let value = if value.eq_ignore_ascii_case("default") {
                    PgCatalog::new()
                        .settings
                        .lock()
                        .get(&name)
                        .cloned()
                        .unwrap_or_default()
                } else {
                    value
                };
                self.settings.lock().insert(name, value);
                Ok(status(""))
            }
            Route::Show { name } => self.show(&name),
            Route::Query => self.query(session, sql).await,
        }
    }

    fn show(&self, name: &str) -> Result<StatementResult, CatalogError> {
        let settings = self.settings.lock();
        if name == "all" {
            let mut rows = Rows::new(&["name", "setting", "description"]);
            for (k, v) in settings.iter() {
                rows.rows.push(vec![k.clone(), v.clone(), String::new()]);
            }
            return Ok(StatementResult::Rows(rows));
        }
        let key = match name {
            "transaction isolation level" => "transaction_isolation",
            "time zone" => "timezone",
            other => other,
        };
        let value = settings
            .get(key)
            .ok_or_else(|| CatalogError::UnknownSetting(name.to_owned()))?;
        let mut rows = Rows::new(&[key]);
        rows.rows.push(vec![value.clone()]);
        Ok(StatementResult::Rows(rows))
    }

    async fn query(&self, session: &Session, sql: &str) -> Result<StatementResult, CatalogError> {
        let relations = Arc::new(relations(session).await?);
        let ctx = self.context(relations)?;
        let text = postgres_sql::rewrite_expressions(&empty::fold_empty_subqueries(&rewrite(sql)));
        debug!(sql = %text, "catalog query rewritten");
        let frame = ctx.sql(&text).await?;
        let schema = Arc::new(frame.schema().as_arrow().clone());
        let batches = frame.collect().await?;
        let (sender, receiver) = mpsc::channel(batches.len().max(1));
        for batch in batches {
            // The channel holds every batch: this cannot be full.
            let _ = sender.try_send(Ok(batch));
        }
        drop(sender);
        let task = tokio::spawn(async {});
        Ok(StatementResult::Stream(RowStream::new(
            schema, receiver, task,
        )))
    }

    /// A DataFusion context holding the catalog views of `relations`.
    fn context(&self, relations: Arc<Vec<Relation>>) -> Result<SessionContext, CatalogError> {
        let mut config = SessionConfig::new()
            .with_default_catalog_and_schema(tables::DATABASE, "pg_catalog")
            .with_information_schema(false);
        config.options_mut().sql_parser.dialect = datafusion::config::Dialect::PostgreSQL;
        let ctx = SessionContext::new_with_config(config);
        let settings: Vec<(String, String)> = self
            .settings
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(catalog) = ctx.catalog(tables::DATABASE) {
            for schema in ["information_schema", "public"] {
                catalog.register_schema(schema, Arc::new(MemorySchemaProvider::new()))?;
            }
        }
        for table in catalog_tables(&relations, &settings)? {
            let provider = MemTable::try_new(table.batch.schema(), vec![vec![table.batch]])?;
            ctx.register_table(
                datafusion::common::TableReference::partial(table.schema, table.name),
                Arc::new(provider),
            )?;
        }
        let cx = FunctionContext {
            settings: self.settings.clone(),
            relations,
            pid: self.pid,
            version: format!(
                "PostgreSQL {SERVER_VERSION} (Sluice {}) on {}, a streaming SQL engine",
                env!("CARGO_PKG_VERSION"),
                std::env::consts::ARCH
            ),
        };
        for function in functions::functions(&cx) {
            ctx.register_udf(function);
        }
        Ok(ctx)
    }
}

/// Sluice's streams and tables as relations, read with SHOW STREAMS, SHOW TABLES and DESCRIBE.
async fn relations(session: &Session) -> Result<Vec<Relation>, EngineError> {
    let mut out = Vec::new();
    for (statement, is_table) in [("SHOW STREAMS;", false), ("SHOW TABLES;", true)] {
        let results = session.execute(statement).await?;
        let names: Vec<String> = results
            .iter()
            .filter_map(StatementResult::rows)
            .flat_map(|rows| rows.rows.iter().filter_map(|r| r.first().cloned()))
            .collect();
        for name in names {
            let described = session.execute(&format!("DESCRIBE `{name}`;")).await?;
            let Some(description) = described.iter().find_map(StatementResult::description) else {
                continue;
            };
            out.push(Relation {
                name: pg_name(&name),
                is_table,
                columns: description
                    .fields
                    .iter()
                    .map(|f| (pg_name(&f.name), f.sql_type.clone(), f.annotation.is_some()))
                    .collect(),
                statement: description.statement.clone(),
            });
        }
    }
    Ok(out)
}
