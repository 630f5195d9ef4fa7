//! [`Engine`]: the handle every front end (shell, Postgres wire, tests) executes SQL through.
//!
//! `Engine::open(broker)` replays the command topic (streams, tables, types and persistent
//! queries come back, each query resuming from its last commit) and registers the built-in
//! `KSQL_PROCESSING_LOG` stream. `execute(script)` splits a script into statements and runs them
//! in order, stopping at the first error (the statements before it have taken effect, as in
//! ksqlDB's CLI). Statements that change the catalog run one at a time under one lock; queries
//! return a [`RowStream`](crate::catalog::RowStream) and run on their own once started.
//!
//! Session properties (`SET 'auto.offset.reset'='earliest'`) belong to a
//! [`Session`](crate::catalog::session::Session): `Engine::session()` gives each connection its
//! own; `Engine::execute` uses one default session shared by every caller of that method.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::physical_plan::displayable;
use sluice_broker::Broker;
use tokio::sync::Mutex;

use crate::catalog::ddl::{self, status};
use crate::catalog::describe::{
    describe_function, describe_source, show_functions, show_properties, show_queries,
    show_sources, show_topics,
};
use crate::catalog::error::{EngineError, Result};
use crate::catalog::executor::{AfterLock, Ctx, Mode};
use crate::catalog::persistent::{self, parse_offset_reset};
use crate::catalog::plan::{SelectUse, plan_select, session_with_source};
use crate::catalog::push::{
    PrintOptions, TransientOptions, resolve_topic, start_print, start_select,
};
use crate::catalog::result::{Rows, StatementResult};
use crate::catalog::session::{Session, SessionProperties};
use crate::catalog::transient::{TRANSIENT_ID_PREFIX, TransientQueries, TransientQuery};
use crate::catalog::{Catalog, CommandLog, insert_values};
use crate::exec::ProcessingLog;
use crate::processing_log::{PROCESSING_LOG_DDL, ProcessingLogWriter};
use crate::query::{PersistentQuery, QueryOffsetsStore, StartFrom};
use crate::sql::{
    AssertTopic, Explain, ListKind, Query, SourceKind, Statement, TerminateTarget, parse_script,
    parse_statement,
};

mod describe;
pub use describe::{DESCRIPTION_COLUMNS, StatementShape};

/// The streaming SQL engine over one broker. Cheap to clone: clones share everything.
#[derive(Debug, Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    broker: Broker,
    commands: CommandLog,
    processing_log: ProcessingLogWriter,
    /// One statement that changes the catalog at a time: the command topic's order is the
    /// order statements took effect in, and query ids built from offsets stay unique.
    state: Mutex<State>,
    /// The properties of [`Engine::execute`]'s default session.
    default_properties: SessionProperties,
    /// The push queries running now (SHOW QUERIES lists them, TERMINATE stops them).
    transient: TransientQueries,
}

impl Drop for Inner {
    /// The last handle is gone: the processing log writer stops too (queries stop by
    /// themselves when their handles drop).
    fn drop(&mut self) {
        self.processing_log.stop();
    }
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("broker", &self.broker.config().data_dir)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct State {
    catalog: Catalog,
    transient_queries: u64,
}

impl Engine {
    /// Opens the engine over `broker`: replays `_sluice_commands` in order and restarts every
    /// persistent query from its last commit. A command that no longer applies (its topic was
    /// deleted behind the engine's back ...) is logged and skipped, so one bad command cannot
    /// keep the server down.
    pub async fn open(broker: Broker) -> Result<Engine> {
        let commands = CommandLog::open(&broker)?;
        let processing_log = ProcessingLogWriter::start(&broker)?;
        let engine = Engine {
            inner: Arc::new(Inner {
                broker,
                commands,
                processing_log,
                state: Mutex::new(State::default()),
                default_properties: SessionProperties::default(),
                transient: TransientQueries::default(),
            }),
        };
        let builtin = parse_statement(PROCESSING_LOG_DDL)?;
        engine
            .run_catalog_statement(&builtin, PROCESSING_LOG_DDL, Mode::Builtin, Props::None)
            .await?;
        let replay = engine.inner.commands.read_all()?;
        tracing::info!(commands = replay.len(), "replaying the command topic");
        {
            // Known before any query restarts: which sinks have INSERT INTO writers.
            let mut state = engine.inner.state.lock().await;
            for (_, command) in &replay {
                if let Ok(Statement::InsertInto(insert)) = parse_statement(&command.statement) {
                    state
                        .catalog
                        .shared_sinks
                        .insert(insert.target.value.clone());
                }
            }
        }
        for (offset, command) in replay {
            let statement = match parse_statement(&command.statement) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(offset, error = %e, "skipping a command that does not parse");
                    continue;
                }
            };
            let mode = Mode::Replay {
                offset,
                query_id: command.query_id.clone(),
            };
            if let Err(e) = engine
                .run_catalog_statement(
                    &statement,
                    &command.statement,
                    mode,
                    Props::Stored(&command.properties),
                )
                .await
            {
                tracing::error!(offset, statement = %command.statement, error = %e,
                    "a replayed command failed; it is skipped");
            }
        }
        engine.finish_replay().await?;
        Ok(engine)
    }

    /// After the replay, the catalog is in its final state and nothing has run yet: topics the
    /// replay re-created for sources dropped later are deleted again, the progress of queries
    /// not alive any more is forgotten (a terminated query never runs again, and a new query
    /// under its id starts fresh), and only then the queries alive now start, each from its
    /// own commit.
    async fn finish_replay(&self) -> Result<()> {
        let broker = &self.inner.broker;
        let mut state = self.inner.state.lock().await;
        let catalog = &mut state.catalog;
        let used: std::collections::BTreeSet<String> =
            catalog.sources.values().map(|s| s.topic.clone()).collect();
        for topic in std::mem::take(&mut catalog.replay_created_topics) {
            if !used.contains(&topic) {
                tracing::info!(topic = %topic, "deleting a topic the replay re-created for a dropped source");
                match broker.delete_topic(&topic) {
                    Ok(()) | Err(sluice_broker::BrokerError::UnknownTopic(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        // No offsets topic: no query ever ran (and none is created just to be read).
        let commits = if broker.topic(crate::query::OFFSETS_TOPIC).is_some()
            || catalog.queries.values().any(|q| q.pending.is_some())
        {
            let store = QueryOffsetsStore::open(broker.clone())?;
            let commits = store.load_all()?;
            for id in commits.keys() {
                if !catalog.queries.contains_key(id) {
                    tracing::info!(query = %id, "forgetting the progress of a query that is gone");
                    store.forget(id).await?;
                }
            }
            commits
        } else {
            BTreeMap::new()
        };
        persistent::start_pending(broker, &mut catalog.queries, &commits).await;
        Ok(())
    }

    /// The broker the engine runs on.
    pub fn broker(&self) -> &Broker {
        &self.inner.broker
    }

    /// A new session: its own properties (SET/UNSET), the same catalog and queries.
    pub fn session(&self) -> Session {
        Session::new(self.clone())
    }

    /// Runs every statement of `script` in order and returns one result per statement. The
    /// whole script is parsed first, so a typo anywhere runs nothing (line and column of the
    /// error are positions in `script`); then execution stops at the first statement that
    /// fails, and the statements before it have taken effect, as in ksqlDB. Properties are
    /// those of the engine's default session (see [`Engine::session`] for one of your own).
    pub async fn execute(&self, script: &str) -> Result<Vec<StatementResult>> {
        let properties = self.inner.default_properties.clone();
        self.execute_in(&properties, script).await
    }

    /// [`Engine::execute`] with the properties of a session.
    pub(crate) async fn execute_in(
        &self,
        properties: &SessionProperties,
        script: &str,
    ) -> Result<Vec<StatementResult>> {
        let mut statements = Vec::new();
        for parsed in parse_script(script) {
            statements.push((parsed.result?, parsed.source));
        }
        let mut results = Vec::new();
        for (statement, source) in statements {
            let text = source.text;
            if let Statement::RunScript(path) = &statement {
                let file =
                    tokio::fs::read_to_string(path)
                        .await
                        .map_err(|e| EngineError::Script {
                            path: path.clone(),
                            message: e.to_string(),
                        })?;
                results.extend(Box::pin(self.execute_in(properties, &file)).await?);
                continue;
            }
            results.push(
                self.execute_parsed(&statement, text, properties)
                    .await
                    // Node positions count in the statement; report them in the script.
                    .map_err(|e| e.placed(source.line, source.column))?,
            );
        }
        Ok(results)
    }

    /// Runs one statement (a trailing `;` is allowed).
    pub async fn execute_one(&self, sql: &str) -> Result<StatementResult> {
        let mut results = self.execute(sql).await?;
        match results.len() {
            1 => Ok(results.remove(0)),
            n => Err(EngineError::invalid(format!(
                "expected exactly one statement, got {n}"
            ))),
        }
    }

    /// Stops every persistent query (each resumes from its last commit at the next open) and
    /// the processing log writer. Call before shutting the broker down.
    pub async fn close(&self) {
        let queries = std::mem::take(&mut self.inner.state.lock().await.catalog.queries);
        for (_, query) in queries {
            persistent::stop_query(query).await;
        }
        self.inner.processing_log.stop();
    }

    /// Records query `id` could not process so far (None: no such query).
    pub async fn processing_errors(&self, id: &str) -> Option<u64> {
        let state = self.inner.state.lock().await;
        state
            .catalog
            .queries
            .get(id)
            .map(|q| q.processing_log.count())
    }

    async fn execute_parsed(
        &self,
        statement: &Statement,
        text: &str,
        properties: &SessionProperties,
    ) -> Result<StatementResult> {
        match statement {
            Statement::Query(query) => self.transient(query, text, &properties.snapshot()).await,
            Statement::Terminate(TerminateTarget::Query(id))
                if id
                    .value
                    .to_ascii_lowercase()
                    .starts_with(TRANSIENT_ID_PREFIX) =>
            {
                // A push query: not in the command topic, it only has to stop.
                if self.inner.transient.terminate(&id.value) {
                    Ok(status("Query terminated."))
                } else {
                    Err(EngineError::invalid(format!(
                        "Unknown queryId: {}",
                        id.value
                    )))
                }
            }
            Statement::Print(print) => {
                let topic = resolve_topic(self.broker(), &print.topic.value)?;
                let stream = start_print(
                    self.broker(),
                    &topic,
                    PrintOptions {
                        from_beginning: print.from_beginning,
                        interval: print.interval.unwrap_or(1),
                        limit: print.limit,
                    },
                )?;
                Ok(StatementResult::Stream(stream))
            }
            Statement::AssertTopic(assert) => assert_topic(self.broker(), assert).await,
            Statement::InsertValues(insert) => {
                let source = {
                    let state = self.inner.state.lock().await;
                    crate::catalog::validate::names::insert_values_target(
                        &state.catalog,
                        &insert.target,
                    )?
                    .clone()
                };
                if source.is_source {
                    return Err(EngineError::invalid(format!(
                        "Cannot insert values into read-only {}: {}",
                        source.kind.to_string().to_lowercase(),
                        source.name
                    )));
                }
                insert_values::insert_values(self.broker(), &source, insert).await?;
                Ok(status(""))
            }
            _ => {
                self.run_catalog_statement(statement, text, Mode::User, Props::Session(properties))
                    .await
            }
        }
    }

    /// Runs a statement that reads or changes the catalog, holding the catalog lock.
    async fn run_catalog_statement(
        &self,
        statement: &Statement,
        text: &str,
        mode: Mode,
        props: Props<'_>,
    ) -> Result<StatementResult> {
        let inner = &self.inner;
        let mut guard = inner.state.lock().await;
        let State { catalog, .. } = &mut *guard;
        let broker = &inner.broker;
        if matches!(
            statement,
            Statement::List { .. } | Statement::Describe(_) | Statement::Explain(_)
        ) {
            catalog.collect_failures().await;
        }
        let session = match props {
            Props::Session(session) => Some(session),
            _ => None,
        };
        match statement {
            Statement::SetProperty { name, value } => {
                if name == "auto.offset.reset" {
                    parse_offset_reset(value)?;
                }
                if let Some(session) = session {
                    session.set(name, value);
                }
                return Ok(status(format!(
                    "Successfully changed local property '{name}' to '{value}'."
                )));
            }
            Statement::UnsetProperty(name) => {
                return match session.and_then(|s| s.unset(name)) {
                    Some(old) => Ok(status(format!(
                        "Successfully unset local property '{name}' (value was '{old}')."
                    ))),
                    None => Ok(status(format!("Property '{name}' was not set."))),
                };
            }
            Statement::List { kind, extended } => {
                return Ok(StatementResult::Rows(match kind {
                    ListKind::Streams => {
                        show_sources(catalog, broker, SourceKind::Stream, *extended)
                    }
                    ListKind::Tables => show_sources(catalog, broker, SourceKind::Table, *extended),
                    ListKind::Topics => show_topics(broker, false),
                    ListKind::AllTopics => show_topics(broker, true),
                    ListKind::Queries => {
                        show_queries(catalog, broker, &inner.transient.list(), *extended)
                    }
                    ListKind::Properties => {
                        show_properties(&session.map(|s| s.snapshot()).unwrap_or_default())
                    }
                    ListKind::Functions => show_functions(),
                    ListKind::Types => {
                        let mut rows = Rows::new(&["Type Name", "Schema"]);
                        for (name, ty) in &catalog.types {
                            rows.rows.push(vec![name.clone(), ty.to_string()]);
                        }
                        rows
                    }
                    ListKind::Variables | ListKind::Connectors => {
                        return Err(EngineError::Unsupported(format!(
                            "{statement} is not supported: Sluice has no variables or connectors."
                        )));
                    }
                }));
            }
            Statement::Describe(describe) => {
                let source = catalog.source(&describe.name.value)?;
                return Ok(StatementResult::Description(Box::new(describe_source(
                    catalog,
                    broker,
                    source,
                    describe.extended,
                ))));
            }
            Statement::DescribeSources { kind, extended } => {
                return Ok(StatementResult::Rows(show_sources(
                    catalog, broker, *kind, *extended,
                )));
            }
            Statement::DescribeFunction(name) => {
                return Ok(StatementResult::Rows(describe_function(&name.value)?));
            }
            Statement::Explain(explain) => {
                return explain_statement(catalog, broker, explain)
                    .await
                    .map(StatementResult::Rows);
            }
            _ => {}
        }
        let properties = match props {
            Props::Session(session) => session.snapshot(),
            Props::Stored(stored) => stored.clone(),
            Props::None => BTreeMap::new(),
        };
        let mut ctx = Ctx {
            broker,
            commands: &inner.commands,
            processing_log: &inner.processing_log,
            catalog,
            properties: &properties,
            mode,
            after: Vec::new(),
        };
        let result = match statement {
            Statement::CreateSource(create) => ddl::create_source(&mut ctx, create, text).await,
            Statement::CreateSourceAs(create) => {
                persistent::create_as(&mut ctx, create, text).await
            }
            Statement::InsertInto(insert) => persistent::insert_into(&mut ctx, insert, text).await,
            Statement::DropSource(drop) => ddl::drop_source(&mut ctx, drop, text).await,
            Statement::Terminate(target) => persistent::terminate(&mut ctx, target, text).await,
            Statement::CreateType(create) => ddl::create_type(&mut ctx, create, text).await,
            Statement::DropType(drop) => ddl::drop_type(&mut ctx, drop, text).await,
            Statement::AlterSource(alter) => ddl::alter_source(&mut ctx, alter, text).await,
            other => Err(EngineError::Unsupported(format!(
                "{} is not supported yet.",
                statement_kind(other)
            ))),
        };
        // Starting and stopping queries is slow (sink recovery, commits, fsyncs, waiting for an
        // epoch): it runs after the catalog lock is released.
        let after = std::mem::take(&mut ctx.after);
        drop(ctx);
        drop(guard);
        let finished = self.run_after_lock(after).await;
        let result = result?;
        finished?;
        Ok(result)
    }

    /// Runs the work statements leave for after the catalog lock (see [`AfterLock`]), in order;
    /// the first error is returned once everything ran.
    async fn run_after_lock(&self, work: Vec<AfterLock>) -> Result<()> {
        let broker = &self.inner.broker;
        let mut outcome = Ok(());
        for item in work {
            match item {
                AfterLock::Stop(query) => persistent::stop_query(query).await,
                AfterLock::Forget(id) => {
                    if let Err(e) = forget_progress(broker, &id).await {
                        outcome = outcome.and(Err(e));
                    }
                }
                AfterLock::Start {
                    id,
                    generation,
                    spec,
                    options,
                    recovery,
                } => {
                    let created =
                        PersistentQuery::create_with(broker.clone(), spec, options, recovery).await;
                    let installed = {
                        let mut state = self.inner.state.lock().await;
                        persistent::install_started(
                            &mut state.catalog.queries,
                            &id,
                            generation,
                            created,
                        )
                    };
                    match installed {
                        Ok(None) => {}
                        // Terminated while it was being created: it never runs.
                        Ok(Some(query)) => {
                            drop(query);
                            if let Err(e) = forget_progress(broker, &id).await {
                                outcome = outcome.and(Err(e));
                            }
                        }
                        Err(e) => outcome = outcome.and(Err(e)),
                    }
                }
            }
        }
        outcome
    }

    /// A transient query: `EMIT CHANGES` is a push query from `auto.offset.reset`; without it,
    /// a query over a stream scans what the topic holds now (ksqlDB's pull query on a stream).
    async fn transient(
        &self,
        query: &Query,
        text: &str,
        properties: &BTreeMap<String, String>,
    ) -> Result<StatementResult> {
        let (planned, start, id) = {
            let mut state = self.inner.state.lock().await;
            let planned = plan_select(query, &state.catalog, SelectUse::Transient)?;
            let reset = properties
                .get("auto.offset.reset")
                .map(String::as_str)
                .unwrap_or("latest");
            let start = parse_offset_reset(reset)?;
            state.transient_queries += 1;
            let id = format!(
                "{TRANSIENT_ID_PREFIX}{}_{}",
                planned.source.name, state.transient_queries
            );
            (planned, start, id)
        };
        let bounded = query.emit.is_none();
        if bounded && planned.source.kind == SourceKind::Table {
            return Err(EngineError::Unsupported(format!(
                "Pull queries on the table {} are not supported yet (they need the table state of \
                 issue 5); add EMIT CHANGES to follow its changes.",
                planned.source.name
            )));
        }
        let options = TransientOptions {
            start: if bounded { StartFrom::Earliest } else { start },
            bounded,
        };
        let log: Arc<dyn ProcessingLog> = self.inner.processing_log.for_query(&id);
        let stream = start_select(self.broker(), &id, planned, options, log).await?;
        if bounded {
            return Ok(StatementResult::Stream(stream));
        }
        let guard = self.inner.transient.register(TransientQuery {
            id,
            statement: text.trim().to_owned(),
            started: std::time::SystemTime::now(),
        });
        Ok(StatementResult::Stream(stream.with_guard(guard)))
    }
}

/// Forgets query `id`'s progress in the offsets topic.
async fn forget_progress(broker: &Broker, id: &str) -> Result<()> {
    QueryOffsetsStore::open(broker.clone())?.forget(id).await?;
    Ok(())
}

/// Where the properties of a statement come from.
#[derive(Clone, Copy)]
enum Props<'a> {
    /// A user's session (SET and UNSET change it).
    Session(&'a SessionProperties),
    /// Stored with a replayed command.
    Stored(&'a BTreeMap<String, String>),
    /// None (built-in statements).
    None,
}

/// `ASSERT [NOT EXISTS] TOPIC name [WITH (PARTITIONS=n)] [TIMEOUT n unit]`: waits up to the
/// timeout (ksqlDB's default: 1 second) for the topic to exist (or not) with the partitions
/// asked for.
async fn assert_topic(broker: &Broker, assert: &AssertTopic) -> Result<StatementResult> {
    let name = resolve_topic(broker, &assert.topic.value).unwrap_or(assert.topic.value.clone());
    let wanted = assert.properties.get_int("PARTITIONS")?;
    let timeout = assert
        .timeout
        .map_or(std::time::Duration::from_secs(1), |t| t.to_std());
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let meta = broker.topic(&name);
        let outcome = match (&meta, assert.not_exists) {
            (None, true) => Ok(format!("Topic {name} does not exist")),
            (Some(_), true) => Err(format!("Topic {name} exists")),
            (None, false) => Err(format!("Topic {name} does not exist")),
            (Some(meta), false) => match wanted {
                Some(n) if i64::from(meta.partitions) != n => Err(format!(
                    "Mismatched configuration for topic {name}: For config partitions, expected                      {n} got {}",
                    meta.partitions
                )),
                _ => Ok(format!("Topic {name} exists")),
            },
        };
        match outcome {
            Ok(message) => return Ok(status(message)),
            Err(message) if tokio::time::Instant::now() >= deadline => {
                return Err(EngineError::Invalid(message));
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
}

/// `EXPLAIN query_id` (the running plan) or `EXPLAIN <statement>` (the plan it would run).
async fn explain_statement(catalog: &Catalog, broker: &Broker, explain: &Explain) -> Result<Rows> {
    let mut rows = Rows::new(&["Execution plan"]);
    let plan = match explain {
        Explain::QueryId(id) => {
            let query = catalog
                .queries
                .values()
                .find(|q| q.id.eq_ignore_ascii_case(&id.value))
                .ok_or_else(|| EngineError::invalid(format!("Query with id:{} does not exist, use SHOW QUERIES to view the full set of queries.", id.value)))?;
            rows.rows.push(vec![format!("Query ID: {}", query.id)]);
            rows.rows
                .push(vec![format!("Statement: {}", query.statement)]);
            query.plan.clone()
        }
        Explain::Statement(statement) => {
            let (query, usage) = match statement.as_ref() {
                Statement::Query(q) => (q.as_ref(), SelectUse::Transient),
                Statement::CreateSourceAs(c) => (c.query.as_ref(), SelectUse::Persistent),
                Statement::InsertInto(i) => (i.query.as_ref(), SelectUse::Persistent),
                other => {
                    return Err(EngineError::invalid(format!(
                        "EXPLAIN is only supported for queries, CREATE ... AS SELECT and INSERT INTO ... SELECT, not {}",
                        statement_kind(other)
                    )));
                }
            };
            let planned = plan_select(query, catalog, usage)?;
            let log: Arc<dyn ProcessingLog> =
                Arc::new(crate::exec::TracingProcessingLog::default());
            let (ctx, _) = session_with_source(broker, &planned.source, log)?;
            let plan = ctx.sql(&planned.sql).await?.create_physical_plan().await?;
            displayable(plan.as_ref()).indent(true).to_string()
        }
    };
    rows.rows.extend(plan.lines().map(|l| vec![l.to_string()]));
    Ok(rows)
}

/// The statement's kind for messages (`ALTER STREAM`, `ASSERT TOPIC` ...).
fn statement_kind(statement: &Statement) -> String {
    let text = statement.to_string();
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::describe::check_kind;

    #[test]
    fn check_kind_names_both_kinds() {
        let source = crate::catalog::SourceInfo::test_stream("S", []);
        assert_eq!(
            check_kind(&source, SourceKind::Table, "DROP")
                .unwrap_err()
                .to_string(),
            "Incompatible data source type is STREAM, but statement was DROP TABLE"
        );
    }
}
