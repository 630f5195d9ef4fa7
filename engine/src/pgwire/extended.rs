//! The extended query protocol (Parse / Bind / Describe / Execute / Close / Sync) of one
//! connection, as Postgres drivers use it for prepared statements and cursors.
//!
//! - **Parse** keeps the statement's text ([`Prepared`]) and fixes each parameter's type: the
//!   client's, else the one planning infers, else `text` ([`crate::pgwire::describe`]).
//! - **Bind** makes a portal: the statement and its values. Re-binding a portal's name closes
//!   the portal that had it (its query stops).
//! - **Describe** of a statement or portal plans it and answers with its columns; nothing runs.
//! - **Execute** runs the portal's statement with its values as literals
//!   ([`crate::pgwire::params`]), or goes on reading a portal an earlier Execute suspended;
//!   `max_rows` is honoured ([`crate::pgwire::portal`]).
//! - **Close** of a portal stops its query; **Sync** outside BEGIN ... COMMIT closes every
//!   portal, as the end of Postgres's implicit transaction does.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, send_describe_response};
use pgwire::api::results::{
    DescribePortalResponse, DescribeResponse, DescribeStatementResponse, FieldInfo, Response,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME, PgWireConnectionState, Type};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::extendedquery::{
    Bind, BindComplete, Close, CloseComplete, Describe, Execute, Sync as PgSync,
    TARGET_TYPE_BYTE_PORTAL, TARGET_TYPE_BYTE_STATEMENT,
};
use pgwire::messages::response::{EmptyQueryResponse, ReadyForQuery, TransactionStatus};

use crate::Session;
use crate::StatementResult;
use crate::pgwire::cancel::CancelSignal;
use crate::pgwire::copy::parse_copy;
use crate::pgwire::describe::{inferred_parameter_types, statement_fields};
use crate::pgwire::errors::user_error;
use crate::pgwire::handler::QueryHandler;
use crate::pgwire::params::{Prepared, literals, parameter_count, parameter_types, substitute};
use crate::pgwire::portal::OpenPortal;
use crate::pgwire::respond::write_result_until;
use crate::pgwire::wire_statements::declared_query;
use crate::sql::split_statements;

/// Parse: keeps a statement as its SQL text and the types of its parameters. Holds the
/// connection's session to infer the types the client left open.
#[derive(Debug)]
pub struct SqlParser {
    session: Session,
}

impl SqlParser {
    /// A parser planning in `session` (the connection's).
    pub fn new(session: Session) -> SqlParser {
        SqlParser { session }
    }
}

#[async_trait]
impl QueryParser for SqlParser {
    type Statement = Prepared;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        declared: &[Option<Type>],
    ) -> PgWireResult<Option<Prepared>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        if split_statements(sql).is_empty() {
            return Ok(None);
        }
        let count = parameter_count(sql).max(declared.len());
        let open = (0..count).any(|i| {
            declared
                .get(i)
                .is_none_or(|t| t.as_ref().is_none_or(|t| *t == Type::UNKNOWN))
        });
        let inferred = if open {
            // A cursor's parameters are its query's.
            let query = declared_query(sql);
            inferred_parameter_types(&self.session, query.as_deref().unwrap_or(sql)).await
        } else {
            Vec::new()
        };
        Ok(Some(Prepared {
            sql: sql.to_owned(),
            parameter_types: parameter_types(declared, &inferred, count),
        }))
    }

    fn get_parameter_types(&self, prepared: &Prepared) -> PgWireResult<Vec<Type>> {
        Ok(prepared.parameter_types.clone())
    }

    fn get_result_schema(
        &self,
        _prepared: &Prepared,
        _format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        // The handler's describe methods plan the statement instead.
        Ok(Vec::new())
    }
}

/// Describe(statement)'s answer: the parameter types, then the columns or NoData.
struct StatementDescription {
    parameters: Vec<Type>,
    /// `None` for a statement that returns no rows.
    fields: Option<Vec<FieldInfo>>,
}

impl DescribeResponse for StatementDescription {
    fn parameters(&self) -> Option<&[Type]> {
        Some(&self.parameters)
    }

    fn fields(&self) -> &[FieldInfo] {
        self.fields.as_deref().unwrap_or_default()
    }

    fn no_data() -> Self {
        StatementDescription {
            parameters: Vec::new(),
            fields: None,
        }
    }

    fn is_no_data(&self) -> bool {
        self.fields.is_none()
    }
}

/// The SQL of `portal` with its parameters replaced by literals.
fn bound_sql(portal: &Portal<Prepared>) -> PgWireResult<String> {
    let sql = &portal.statement.statement.sql;
    let values = literals(portal)?;
    substitute(sql, &values).ok_or_else(|| {
        user_error(
            "08P01",
            format!(
                "the statement uses {} parameters but {} were bound",
                parameter_count(sql),
                values.len()
            ),
        )
    })
}

#[async_trait]
impl ExtendedQueryHandler for QueryHandler {
    type Statement = Prepared;
    type QueryParser = SqlParser;

    fn query_parser(&self) -> Arc<SqlParser> {
        self.parser.clone()
    }

    async fn on_bind<C>(&self, client: &mut C, message: Bind) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statement_name = message.statement_name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal_name = message.portal_name.as_deref().unwrap_or(DEFAULT_NAME);
        // The portal this name had is gone, and with it its query.
        self.portals.close(portal_name);
        let expected = match client.portal_store().get_statement(statement_name) {
            Some(Entry::Value(statement)) => {
                let expected = statement.statement.parameter_types.len();
                if message.parameters.len() == expected {
                    let portal = Portal::try_new(&message, statement)?;
                    client.portal_store().put_portal(Arc::new(portal));
                }
                expected
            }
            Some(Entry::Empty) => {
                if message.parameters.is_empty() {
                    client.portal_store().put_empty_portal(portal_name);
                }
                0
            }
            None => return Err(PgWireError::StatementNotFound(statement_name.to_owned())),
        };
        if message.parameters.len() != expected {
            return Err(user_error(
                "08P01",
                format!(
                    "bind message supplies {} parameters, but prepared statement \"{statement_name}\" \
                     requires {expected}",
                    message.parameters.len()
                ),
            ));
        }
        client
            .send(PgWireBackendMessage::BindComplete(BindComplete::new()))
            .await?;
        Ok(())
    }

    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        // A statement of Sluice's: ParameterDescription, then RowDescription or NoData (pgwire's
        // own answer sends an empty RowDescription for a command with parameters).
        if message.target_type == TARGET_TYPE_BYTE_STATEMENT
            && let Some(Entry::Value(statement)) = client.portal_store().get_statement(name)
        {
            let prepared = &statement.statement;
            let fields = self.fields_of(&prepared.sql, &Format::UnifiedText).await?;
            let answer = StatementDescription {
                parameters: prepared.parameter_types.clone(),
                fields,
            };
            return send_describe_response(client, &answer).await;
        }
        // The portal of a SQL cursor (psycopg Describes its named cursors' portals).
        if message.target_type == TARGET_TYPE_BYTE_PORTAL
            && client.portal_store().get_portal(name).is_none()
            && let Some(fields) = self.cursor_fields(name)
        {
            return send_describe_response(client, &DescribePortalResponse::new(fields)).await;
        }
        self._on_describe(client, message).await
    }

    async fn do_describe_statement<C>(
        &self,
        _client: &mut C,
        target: &StoredStatement<Prepared>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let prepared = &target.statement;
        let fields = self.fields_of(&prepared.sql, &Format::UnifiedText).await?;
        Ok(DescribeStatementResponse::new(
            prepared.parameter_types.clone(),
            fields.unwrap_or_default(),
        ))
    }

    async fn do_describe_portal<C>(
        &self,
        _client: &mut C,
        portal: &Portal<Prepared>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let sql = bound_sql(portal)?;
        let fields = self.fields_of(&sql, &portal.result_column_format).await?;
        Ok(match fields {
            Some(fields) => DescribePortalResponse::new(fields),
            None => DescribePortalResponse::no_data(),
        })
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
        // 0 (or, from a confused client, a negative count) means every row.
        let max_rows = usize::try_from(message.max_rows).unwrap_or(0);
        client.set_state(PgWireConnectionState::QueryInProgress);
        let mut cancel = CancelSignal::start(&*client).await;
        let outcome = self
            .execute_portal(client, &portal, max_rows, &mut cancel)
            .await;
        client.set_state(PgWireConnectionState::ReadyForQuery);
        outcome
    }

    async fn on_close<C>(&self, client: &mut C, message: Close) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => client.portal_store().rm_statement(name),
            TARGET_TYPE_BYTE_PORTAL => {
                // Its query stops here.
                self.portals.close(name);
                client.portal_store().rm_portal(name);
            }
            _ => {}
        }
        client
            .send(PgWireBackendMessage::CloseComplete(CloseComplete::new()))
            .await?;
        Ok(())
    }

    async fn on_sync<C>(&self, client: &mut C, _message: PgSync) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // Outside a transaction block Sync ends the implicit transaction, and with it every
        // portal (their queries stop); inside one, portals live on until COMMIT or ROLLBACK.
        if client.transaction_status() == TransactionStatus::Idle {
            self.portals.close_all();
            client.portal_store().clear_portals();
        }
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
        portal: &Portal<Prepared>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // on_execute writes results itself (flushing rows as they come); this is not reached.
        Err(user_error(
            "XX000",
            format!("internal: do_query called for portal {:?}", portal.name),
        ))
    }
}

impl QueryHandler {
    /// The columns `sql` returns (`None` for a command), for Describe.
    async fn fields_of(&self, sql: &str, format: &Format) -> PgWireResult<Option<Vec<FieldInfo>>> {
        if let Some(fields) = self.wire_fields(sql) {
            return Ok(fields);
        }
        statement_fields(&self.session, &self.catalog, sql, format).await
    }

    /// One Execute of `portal`: starts its statement the first time, then sends up to
    /// `max_rows` rows (0: all) of its result, keeping a suspended result for the next Execute.
    async fn execute_portal<C>(
        &self,
        client: &mut C,
        portal: &Portal<Prepared>,
        max_rows: usize,
        cancel: &mut CancelSignal,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let format = &portal.result_column_format;
        let mut open = match self.portals.take(&portal.name) {
            Some(open) => open,
            None => {
                let sql = bound_sql(portal)?;
                if let Some(outcome) = self.wire_statement(client, &sql, false, cancel).await {
                    return outcome;
                }
                if let Some(copy) = parse_copy(&sql) {
                    return self.copy_out(client, &copy?, cancel).await;
                }
                let mut results = self.run_until(&sql, cancel).await?;
                let Some(last) = results.pop() else {
                    return Ok(());
                };
                for result in results {
                    write_result_until(client, &sql, result, format, false, cancel).await?;
                }
                if matches!(last, StatementResult::Status(_)) {
                    return write_result_until(client, &sql, last, format, false, cancel).await;
                }
                match OpenPortal::open(&sql, last, format)? {
                    Some(open) => open,
                    None => return Ok(()),
                }
            }
        };
        // On an error the result is dropped here, which stops its query.
        let fetched = open.fetch(client, max_rows, cancel).await?;
        // A finished portal stays too (until Close or the end of its transaction): executing
        // it again answers `SELECT 0`, as in Postgres, instead of running the query again.
        tracing::debug!(portal = %portal.name, ?fetched, "execute done");
        self.portals.keep(&portal.name, open);
        Ok(())
    }
}
