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
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler, send_ready_for_query};
use pgwire::api::results::{
    DescribePortalResponse, DescribeResponse, DescribeStatementResponse, FieldInfo, Response,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{
    ClientInfo, ClientPortalStore, DEFAULT_NAME, PgWireConnectionState, PgWireServerHandlers, Type,
};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::extendedquery::{Execute, Sync as PgSync};
use pgwire::messages::response::{EmptyQueryResponse, ErrorResponse, ReadyForQuery};
use pgwire::messages::simplequery::Query;
use tracing::debug;

use crate::pgwire::catalog::{PgCatalog, is_catalog_statement};
use crate::pgwire::errors::{error_info, to_pgwire};
use crate::pgwire::params::{literals, parameter_count, parameter_type, substitute};
use crate::pgwire::respond::{result_fields, write_result};
use crate::sql::{parse_script, split_statements};
use crate::{EngineError, Session, StatementResult};

/// The handlers of one connection, holding its session.
#[derive(Debug)]
pub struct ConnectionHandlers {
    handler: Arc<QueryHandler>,
}

impl ConnectionHandlers {
    /// Handlers running statements in `session`.
    pub fn new(session: Session) -> ConnectionHandlers {
        ConnectionHandlers {
            handler: Arc::new(QueryHandler {
                session,
                parser: Arc::new(SqlParser),
                described: Mutex::new(HashMap::new()),
                catalog: PgCatalog::new(),
            }),
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
        self.handler.clone()
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
    /// This connection's `pg_catalog` views and Postgres settings (engine/src/pgwire/catalog/).
    catalog: PgCatalog,
}

impl NoopStartupHandler for QueryHandler {}

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
        if statements.is_empty() {
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
            for statement in &statements {
                let text = statement.source.text;
                let outcome = match self.run(text).await {
                    Ok(results) => {
                        let mut written = Ok(());
                        for result in results {
                            written =
                                write_result(client, text, result, &Format::UnifiedText, true)
                                    .await;
                            if written.is_err() {
                                break;
                            }
                        }
                        written
                    }
                    Err(e) => Err(to_pgwire(&e, text)),
                };
                match outcome {
                    Ok(()) => {}
                    // The statement failed: report it and run none of the rest, as Postgres.
                    Err(PgWireError::UserError(info)) => {
                        client
                            .feed(PgWireBackendMessage::ErrorResponse(ErrorResponse::from(
                                *info,
                            )))
                            .await?;
                        break;
                    }
                    // The connection failed: nothing more can be written.
                    Err(other) => return Err(other),
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
        let started = self.described.lock().remove(&portal.name);
        let outcome = match started {
            Some((sql, result)) => {
                write_result(client, &sql, result, &portal.result_column_format, false).await
            }
            None => self.execute_portal(client, &portal).await,
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
    /// Runs the bound statement of `portal` and writes its results (rows described already).
    async fn execute_portal<C>(&self, client: &mut C, portal: &Portal<String>) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let sql = Self::bound_sql(portal)?;
        let results = self.run(&sql).await.map_err(|e| to_pgwire(&e, &sql))?;
        for result in results {
            write_result(client, &sql, result, &portal.result_column_format, false).await?;
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
