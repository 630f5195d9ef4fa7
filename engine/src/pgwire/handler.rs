//! The query handlers of one Postgres connection.
//!
//! [`ConnectionHandlers`] is made per connection and holds that connection's [`Session`], so
//! `SET` in one connection is invisible to the others.
//!
//! - **Simple protocol** (`Query`): the whole text is parsed first (a syntax error anywhere runs
//!   nothing and comes back as SQLSTATE 42601 with its position), then each statement runs and
//!   its result is written before the next one starts, so a push query streams.
//! - **Extended protocol** (Parse/Bind/Describe/Execute): a statement is its SQL text; parameters
//!   `$n` are replaced by literals of the bound values ([`crate::pgwire::params`]). The engine
//!   only knows a query's columns once it plans it, so Describe of a row-returning statement
//!   (SELECT, SHOW, LIST, DESCRIBE, EXPLAIN, PRINT) starts it: Describe of a portal keeps the
//!   started result for the Execute that follows; Describe of a statement (no values bound yet)
//!   starts it with every parameter NULL and drops it. Execute ignores `max_rows` (a portal is
//!   never suspended: the rows are sent until the query ends).

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use parking_lot::Mutex;
use pgwire::api::auth::noop::NoopStartupHandler;
use pgwire::api::cancel::DefaultCancelHandler;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler, send_ready_for_query};
use pgwire::api::results::{
    DescribePortalResponse, DescribeResponse, DescribeStatementResponse, FieldInfo, Response,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{
    ClientInfo, ClientPortalStore, ConnectionManager, DEFAULT_NAME, PgWireConnectionState,
    PgWireServerHandlers, Type,
};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::extendedquery::{Execute, Sync as PgSync};
use pgwire::messages::response::{EmptyQueryResponse, ErrorResponse, ReadyForQuery};
use pgwire::messages::simplequery::Query;
use tracing::debug;

use crate::pgwire::auth::{PgCredentials, Startup};
use crate::pgwire::cancel::{CancelSignal, canceled};
use crate::pgwire::catalog::{PgCatalog, is_catalog_statement};
use crate::pgwire::copy::{CopyOut, parse_copy, write_copy};
use crate::pgwire::errors::{error_info, to_pgwire};
use crate::pgwire::params::{literals, parameter_count, parameter_type, substitute};
use crate::pgwire::respond::{result_fields, write_result_until};
use crate::sql::{parse_script, split_statements};
use crate::{EngineError, Session, StatementResult};

/// The handlers of one connection, holding its session.
#[derive(Debug)]
pub struct ConnectionHandlers {
    handler: Arc<QueryHandler>,
    cancel: Arc<DefaultCancelHandler>,
    startup: Arc<Startup>,
}

impl ConnectionHandlers {
    /// Handlers running statements in `session`; the connection registers with `backends` (the
    /// listener's registry of backend keys) so that a CancelRequest can find it. With
    /// `credentials` the client must log in with SCRAM-SHA-256 first.
    pub fn new(
        session: Session,
        backends: Arc<ConnectionManager>,
        credentials: Option<Arc<PgCredentials>>,
    ) -> ConnectionHandlers {
        let handler = Arc::new(QueryHandler {
            session,
            parser: Arc::new(SqlParser),
            described: Mutex::new(HashMap::new()),
            backends: backends.clone(),
            catalog: PgCatalog::new(),
        });
        ConnectionHandlers {
            startup: Arc::new(Startup::new(credentials, handler.clone(), backends.clone())),
            handler,
            cancel: Arc::new(DefaultCancelHandler::new(backends)),
        }
    }
}

impl PgWireServerHandlers for ConnectionHandlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.handler.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.handler.clone()
    }

    fn startup_handler(&self) -> Arc<impl pgwire::api::auth::StartupHandler> {
        self.startup.clone()
    }

    fn cancel_handler(&self) -> Arc<impl pgwire::api::cancel::CancelHandler> {
        self.cancel.clone()
    }
}

/// Runs a connection's statements in its session.
#[derive(Debug)]
pub struct QueryHandler {
    session: Session,
    parser: Arc<SqlParser>,
    /// Results started by Describe of a portal, by portal name, for the Execute that follows.
    /// Cleared at Sync. A Mutex because pgwire hands the handler out as `&self`; it is only
    /// touched by this connection's task.
    described: Mutex<HashMap<String, (String, StatementResult)>>,
    /// The listener's registry of backend keys, for CancelRequest.
    backends: Arc<ConnectionManager>,
    /// This connection's `pg_catalog` views and Postgres settings (engine/src/pgwire/catalog/).
    catalog: PgCatalog,
}

impl NoopStartupHandler for QueryHandler {
    fn connection_manager(&self) -> Option<Arc<ConnectionManager>> {
        Some(self.backends.clone())
    }
}

impl QueryHandler {
    /// Runs one statement text and returns its results.
    async fn run(&self, sql: &str) -> Result<Vec<StatementResult>, EngineError> {
        debug!(sql, "statement");
        // Catalog queries and driver start-up statements (psql's \d, SET extra_float_digits).
        if let Some(answer) = self.catalog.answer(&self.session, sql).await {
            return answer.map(|result| vec![result]);
        }
        self.session.execute(sql).await
    }

    /// [`Self::run`] until the client cancels: a statement still running then is dropped (and
    /// with it whatever it started) and the answer is SQLSTATE 57014.
    async fn run_until(
        &self,
        sql: &str,
        cancel: &mut CancelSignal,
    ) -> PgWireResult<Vec<StatementResult>> {
        tokio::select! {
            biased;
            () = cancel.cancelled() => Err(canceled()),
            results = self.run(sql) => results.map_err(|e| to_pgwire(&e, sql)),
        }
    }

    /// The SQL of `portal` with its parameters replaced by literals.
    fn bound_sql(portal: &Portal<String>) -> PgWireResult<String> {
        let sql = &portal.statement.statement;
        let values = literals(portal)?;
        substitute(sql, &values).ok_or_else(|| {
            crate::pgwire::errors::user_error(
                "08P01",
                format!(
                    "the statement uses {} parameters but {} were bound",
                    parameter_count(sql),
                    values.len()
                ),
            )
        })
    }

    /// Starts a row-returning statement to learn its columns; `None` for a command.
    async fn start_for_describe(
        &self,
        sql: &str,
        format: &Format,
    ) -> PgWireResult<Option<(Vec<FieldInfo>, StatementResult)>> {
        if !returns_rows(sql) {
            return Ok(None);
        }
        let mut results = self.run(sql).await.map_err(|e| to_pgwire(&e, sql))?;
        let Some(result) = results.pop() else {
            return Ok(None);
        };
        Ok(result_fields(&result, format)?.map(|fields| (fields, result)))
    }
}

/// Reports the outcome of a statement: `Ok(true)` if it succeeded, `Ok(false)` once a statement
/// error was sent as an ErrorResponse, `Err` if the connection failed (nothing more can be
/// written).
async fn report<C>(client: &mut C, outcome: PgWireResult<()>) -> PgWireResult<bool>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<C::Error>,
{
    match outcome {
        Ok(()) => Ok(true),
        Err(PgWireError::UserError(info)) => {
            client
                .feed(PgWireBackendMessage::ErrorResponse(ErrorResponse::from(
                    *info,
                )))
                .await?;
            Ok(false)
        }
        Err(other) => Err(other),
    }
}

/// Whether `sql` is a statement that answers with rows (its first keyword says so).
fn returns_rows(sql: &str) -> bool {
    let first = sql
        .trim_start_matches(|c: char| c.is_whitespace() || c == '(')
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    matches!(
        first.as_str(),
        "SELECT" | "SHOW" | "LIST" | "DESCRIBE" | "EXPLAIN" | "PRINT"
    )
}

#[async_trait]
impl SimpleQueryHandler for QueryHandler {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        let script = query.query;
        let statements = parse_script(&script);
        if let Some(copy) = parse_copy(&script) {
            let mut cancel = CancelSignal::start(&*client).await;
            let outcome = match copy {
                Ok(copy) => self.copy_out(client, &copy, &mut cancel).await,
                Err(e) => Err(e),
            };
            report(client, outcome).await?;
        } else if statements.is_empty() {
            client
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await?;
        } else if let Some(error) = statements
            .iter()
            // A catalog statement is Postgres SQL, which Sluice's parser may reject.
            .filter(|s| !is_catalog_statement(s.source.text))
            .find_map(|s| s.result.clone().err())
        {
            let info = error_info(&EngineError::Parse(error), &script);
            client
                .feed(PgWireBackendMessage::ErrorResponse(ErrorResponse::from(
                    info,
                )))
                .await?;
        } else {
            let mut cancel = CancelSignal::start(&*client).await;
            for statement in &statements {
                let text = statement.source.text;
                let outcome = match self.run_until(text, &mut cancel).await {
                    Ok(results) => {
                        let mut written = Ok(());
                        for result in results {
                            written = write_result_until(
                                client,
                                text,
                                result,
                                &Format::UnifiedText,
                                true,
                                &mut cancel,
                            )
                            .await;
                            if written.is_err() {
                                break;
                            }
                        }
                        written
                    }
                    Err(e) => Err(e),
                };
                // A failed statement is reported and none of the rest runs, as in Postgres.
                if !report(client, outcome).await? {
                    break;
                }
            }
        }
        client.set_state(PgWireConnectionState::ReadyForQuery);
        let status = client.transaction_status();
        send_ready_for_query(client, status).await
    }

    async fn do_query<C>(&self, _client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // on_query writes results itself (flushing rows as they come); this is not reached.
        Err(crate::pgwire::errors::user_error(
            "XX000",
            format!("internal: do_query called for {query:?}"),
        ))
    }
}

/// Keeps a statement as its SQL text; parameters are counted in it.
#[derive(Debug)]
pub struct SqlParser;

#[async_trait]
impl QueryParser for SqlParser {
    type Statement = String;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        _types: &[Option<Type>],
    ) -> PgWireResult<Option<String>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        Ok((!split_statements(sql).is_empty()).then(|| sql.to_owned()))
    }

    fn get_parameter_types(&self, sql: &String) -> PgWireResult<Vec<Type>> {
        Ok(vec![Type::TEXT; parameter_count(sql)])
    }

    fn get_result_schema(
        &self,
        _sql: &String,
        _format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        // The handler's describe methods plan the statement instead.
        Ok(Vec::new())
    }
}

#[async_trait]
impl ExtendedQueryHandler for QueryHandler {
    type Statement = String;
    type QueryParser = SqlParser;

    fn query_parser(&self) -> Arc<SqlParser> {
        self.parser.clone()
    }

    async fn do_describe_statement<C>(
        &self,
        _client: &mut C,
        target: &StoredStatement<String>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let sql = &target.statement;
        let count = parameter_count(sql).max(target.parameter_types.len());
        let types = (0..count)
            .map(|i| parameter_type(&target.parameter_types, i))
            .collect();
        let nulls = vec!["NULL".to_owned(); count];
        let probe = substitute(sql, &nulls).unwrap_or_else(|| sql.clone());
        let fields = match self
            .start_for_describe(&probe, &Format::UnifiedText)
            .await?
        {
            // Dropping the result stops the query started to learn the columns.
            Some((fields, _result)) => fields,
            None => Vec::new(),
        };
        Ok(DescribeStatementResponse::new(types, fields))
    }

    async fn do_describe_portal<C>(
        &self,
        _client: &mut C,
        portal: &Portal<String>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let sql = Self::bound_sql(portal)?;
        match self
            .start_for_describe(&sql, &portal.result_column_format)
            .await?
        {
            Some((fields, result)) => {
                self.described
                    .lock()
                    .insert(portal.name.clone(), (sql, result));
                Ok(DescribePortalResponse::new(fields))
            }
            None => Ok(DescribePortalResponse::no_data()),
        }
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal = match client.portal_store().get_portal(name) {
            Some(Entry::Value(portal)) => portal,
            Some(Entry::Empty) => {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
                return Ok(());
            }
            None => return Err(PgWireError::PortalNotFound(name.to_owned())),
        };
        client.set_state(PgWireConnectionState::QueryInProgress);
        let mut cancel = CancelSignal::start(&*client).await;
        let started = self.described.lock().remove(&portal.name);
        let outcome = match started {
            Some((sql, result)) => {
                write_result_until(
                    client,
                    &sql,
                    result,
                    &portal.result_column_format,
                    false,
                    &mut cancel,
                )
                .await
            }
            None => self.execute_portal(client, &portal, &mut cancel).await,
        };
        client.set_state(PgWireConnectionState::ReadyForQuery);
        outcome
    }

    async fn on_sync<C>(&self, client: &mut C, _message: PgSync) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // A result started by Describe but never executed is stopped here.
        self.described.lock().clear();
        client.portal_store().rm_portal(DEFAULT_NAME);
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                client.transaction_status(),
            )))
            .await?;
        Ok(())
    }

    async fn do_query<C>(
        &self,
        _client: &mut C,
        portal: &Portal<String>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // on_execute writes results itself (flushing rows as they come); this is not reached.
        Err(crate::pgwire::errors::user_error(
            "XX000",
            format!("internal: do_query called for portal {:?}", portal.name),
        ))
    }
}

impl QueryHandler {
    /// Runs the query of `copy` and writes its rows as COPY data.
    async fn copy_out<C>(
        &self,
        client: &mut C,
        copy: &CopyOut,
        cancel: &mut CancelSignal,
    ) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let mut results = self.run_until(&copy.query, cancel).await?;
        let Some(result) = results.pop().filter(|_| results.is_empty()) else {
            return Err(crate::pgwire::errors::user_error(
                "0A000",
                "COPY takes exactly one query",
            ));
        };
        write_copy(client, copy, result, cancel).await
    }

    /// Runs the bound statement of `portal` and writes its results (rows described already).
    async fn execute_portal<C>(
        &self,
        client: &mut C,
        portal: &Portal<String>,
        cancel: &mut CancelSignal,
    ) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let sql = Self::bound_sql(portal)?;
        if let Some(copy) = parse_copy(&sql) {
            return self.copy_out(client, &copy?, cancel).await;
        }
        let results = self.run_until(&sql, cancel).await?;
        for result in results {
            write_result_until(
                client,
                &sql,
                result,
                &portal.result_column_format,
                false,
                cancel,
            )
            .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_returning_statements_are_known_by_their_first_keyword() {
        assert!(returns_rows("SELECT * FROM s EMIT CHANGES"));
        assert!(returns_rows("  show streams"));
        assert!(returns_rows("(SELECT 1)"));
        assert!(returns_rows("DESCRIBE s"));
        assert!(!returns_rows("CREATE STREAM s (id INT)"));
        assert!(!returns_rows("INSERT INTO s VALUES (1)"));
    }
}
