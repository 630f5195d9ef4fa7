//! The query handlers of one Postgres connection.
//!
//! [`ConnectionHandlers`] is made per connection and holds that connection's [`Session`], so
//! `SET` in one connection is invisible to the others.
//!
//! - **Simple protocol** (`Query`): the whole text is parsed first (a syntax error anywhere runs
//!   nothing and comes back as SQLSTATE 42601 with its position), then each statement runs and
//!   its result is written before the next one starts, so a push query streams.
//! - **Extended protocol** (Parse/Bind/Describe/Execute): in [`crate::pgwire::extended`];
//!   Describe plans without running ([`crate::pgwire::describe`]), Execute honours `max_rows`
//!   ([`crate::pgwire::portal`]), parameters become typed literals
//!   ([`crate::pgwire::params`]).

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use parking_lot::Mutex;
use pgwire::api::auth::noop::NoopStartupHandler;
use pgwire::api::cancel::DefaultCancelHandler;
use pgwire::api::portal::Format;
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler, send_ready_for_query};
use pgwire::api::results::Response;
use pgwire::api::store::PortalStore;
use pgwire::api::{
    ClientInfo, ClientPortalStore, ConnectionManager, PgWireConnectionState, PgWireServerHandlers,
};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::response::{EmptyQueryResponse, ErrorResponse, TransactionStatus};
use pgwire::messages::simplequery::Query;
use tracing::debug;

use crate::pgwire::auth::{PgCredentials, Startup};
use crate::pgwire::cancel::{CancelSignal, canceled};
use crate::pgwire::catalog::PgCatalog;
use crate::pgwire::copy::{CopyOut, parse_copy, write_copy};
use crate::pgwire::cursor::Cursors;
use crate::pgwire::errors::{error_info, to_pgwire};
use crate::pgwire::extended::SqlParser;
use crate::pgwire::portal::Portals;
use crate::pgwire::respond::write_result_until;
use crate::pgwire::transaction::Savepoints;
use crate::pgwire::wire_statements::is_wire_statement;
use crate::sql::parse_script;
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
            parser: Arc::new(SqlParser::new(session.clone())),
            session,
            portals: Portals::default(),
            cursors: Cursors::default(),
            savepoints: Mutex::new(Savepoints::default()),
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
    pub(crate) session: Session,
    pub(crate) parser: Arc<SqlParser>,
    /// Portals being read a few rows at a time, and the transaction block that keeps them.
    pub(crate) portals: Portals,
    /// SQL cursors (DECLARE ... FETCH ... CLOSE).
    pub(crate) cursors: Cursors,
    /// The savepoints of the open transaction block. A Mutex for `&self`; never held across an
    /// await.
    pub(crate) savepoints: Mutex<Savepoints>,
    /// The listener's registry of backend keys, for CancelRequest.
    backends: Arc<ConnectionManager>,
    /// This connection's `pg_catalog` views and Postgres settings (engine/src/pgwire/catalog/).
    pub(crate) catalog: PgCatalog,
}

impl NoopStartupHandler for QueryHandler {
    fn connection_manager(&self) -> Option<Arc<ConnectionManager>> {
        Some(self.backends.clone())
    }
}

impl QueryHandler {
    /// Runs one statement text and returns its results.
    pub(crate) async fn run(&self, sql: &str) -> Result<Vec<StatementResult>, EngineError> {
        debug!(sql, "statement");
        // Catalog queries and driver start-up statements (psql's \d, SET extra_float_digits).
        if let Some(answer) = self.catalog.answer(&self.session, sql).await {
            return answer.map(|result| vec![result]);
        }
        self.session.execute(sql).await
    }

    /// [`Self::run`] until the client cancels: a statement still running then is dropped (and
    /// with it whatever it started) and the answer is SQLSTATE 57014.
    pub(crate) async fn run_until(
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
}

/// Reports the outcome of a statement: `Ok(true)` if it succeeded, `Ok(false)` once a statement
/// error was sent as an ErrorResponse, `Err` if the connection failed (nothing more can be
/// written).
pub(crate) async fn report<C>(client: &mut C, outcome: PgWireResult<()>) -> PgWireResult<bool>
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
            // Catalog, transaction and cursor statements are Postgres SQL, which Sluice's parser
            // may reject.
            .filter(|s| !is_wire_statement(s.source.text))
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
                let outcome = match self.wire_statement(client, text, true, &mut cancel).await {
                    Some(outcome) => outcome,
                    None => self.run_and_write(client, text, &mut cancel).await,
                };
                // A failed statement is reported and none of the rest runs, as in Postgres;
                // inside a block, the block has failed.
                if !report(client, outcome).await? {
                    if client.transaction_status() == TransactionStatus::Transaction {
                        client.set_transaction_status(TransactionStatus::Error);
                    }
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

impl QueryHandler {
    /// Runs the query of `copy` and writes its rows as COPY data.
    pub(crate) async fn copy_out<C>(
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

    /// Runs the Sluice (or catalog) statement `sql` and writes its results, RowDescription
    /// first (the simple protocol).
    async fn run_and_write<C>(
        &self,
        client: &mut C,
        sql: &str,
        cancel: &mut CancelSignal,
    ) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        for result in self.run_until(sql, cancel).await? {
            write_result_until(client, sql, result, &Format::UnifiedText, true, cancel).await?;
        }
        Ok(())
    }
}
