//! Statements the Postgres wire answers itself, before Sluice or the catalog views see them:
//! transaction control ([`crate::pgwire::transaction`]) and SQL cursors
//! ([`crate::pgwire::cursor`]); and the gate of a failed transaction, which refuses everything
//! else (SQLSTATE 25P02) until the block is rolled back.
//!
//! Both protocols come here: the simple one writes a FETCH's RowDescription first, the extended
//! one answered Describe with it ([`QueryHandler::wire_fields`]).

use std::fmt::Debug;

use futures::{Sink, SinkExt};
use pgwire::api::portal::Format;
use pgwire::api::query::send_describe_response;
use pgwire::api::results::{DescribePortalResponse, FieldInfo, Tag};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::response::{NoticeResponse, TransactionStatus};

use crate::StatementResult;
use crate::pgwire::cancel::CancelSignal;
use crate::pgwire::catalog::is_catalog_statement;
use crate::pgwire::cursor::{Cursor, CursorCommand, is_cursor_statement};
use crate::pgwire::errors::user_error;
use crate::pgwire::handler::QueryHandler;
use crate::pgwire::portal::OpenPortal;
use crate::pgwire::transaction::{TransactionCommand, is_transaction_statement};

/// Whether `sql` is a statement Sluice's ksqlDB parser does not read: a catalog query, a
/// transaction or a cursor statement.
pub fn is_wire_statement(sql: &str) -> bool {
    is_transaction_statement(sql) || is_cursor_statement(sql) || is_catalog_statement(sql)
}

/// The query a `DECLARE ... CURSOR FOR query` runs, to infer its parameters' types.
pub fn declared_query(sql: &str) -> Option<String> {
    match CursorCommand::parse(sql)? {
        Ok(CursorCommand::Declare { query, .. }) => Some(query),
        _ => None,
    }
}

fn aborted() -> PgWireError {
    user_error(
        "25P02",
        "current transaction is aborted, commands ignored until end of transaction block",
    )
}

async fn complete<C>(client: &mut C, tag: Tag) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<C::Error>,
{
    client
        .send(PgWireBackendMessage::CommandComplete(tag.into()))
        .await?;
    Ok(())
}

async fn warning<C>(client: &mut C, code: &str, message: &str) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<C::Error>,
{
    let info = ErrorInfo::new("WARNING".to_owned(), code.to_owned(), message.to_owned());
    client
        .feed(PgWireBackendMessage::NoticeResponse(NoticeResponse::from(
            info,
        )))
        .await?;
    Ok(())
}

impl QueryHandler {
    /// Runs `sql` if the wire answers it (writing its whole answer), refuses it in a failed
    /// transaction; `None` when it is for Sluice or the catalog views. `describe`: send a
    /// FETCH's RowDescription (the simple protocol).
    pub(crate) async fn wire_statement<C>(
        &self,
        client: &mut C,
        sql: &str,
        describe: bool,
        cancel: &mut CancelSignal,
    ) -> Option<PgWireResult<()>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        if let Some(command) = TransactionCommand::parse(sql) {
            return Some(self.transaction_statement(client, command).await);
        }
        if client.transaction_status() == TransactionStatus::Error {
            return Some(Err(aborted()));
        }
        Some(match CursorCommand::parse(sql)? {
            Ok(command) => {
                self.cursor_statement(client, command, describe, cancel)
                    .await
            }
            Err(e) => Err(user_error(e.code, e.message)),
        })
    }

    /// The columns a wire statement returns, for Describe: `Some(None)` for one without rows
    /// (and a FETCH of a cursor that does not exist, which its Execute reports), `None` when
    /// `sql` is not a wire statement.
    pub(crate) fn wire_fields(&self, sql: &str) -> Option<Option<Vec<FieldInfo>>> {
        if TransactionCommand::parse(sql).is_some() {
            return Some(None);
        }
        match CursorCommand::parse(sql)? {
            Ok(CursorCommand::Fetch {
                name,
                discard: false,
                ..
            }) => Some(self.cursors.fields(&name)),
            _ => Some(None),
        }
    }

    /// The columns of the cursor `name` when a driver Describes the portal it is (psycopg).
    pub(crate) fn cursor_fields(&self, name: &str) -> Option<Vec<FieldInfo>> {
        self.cursors.fields(name)
    }

    /// The block ended (COMMIT when `committed`, else ROLLBACK): its savepoints, portals and
    /// cursors (but held ones on COMMIT) are gone.
    fn end_block<C>(&self, client: &mut C, committed: bool)
    where
        C: ClientInfo + ClientPortalStore,
        C::PortalStore: PortalStore,
    {
        client.set_transaction_status(TransactionStatus::Idle);
        self.savepoints.lock().clear();
        self.portals.close_all();
        client.portal_store().clear_portals();
        self.cursors.end_block(committed);
    }

    async fn transaction_statement<C>(
        &self,
        client: &mut C,
        command: TransactionCommand,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let status = client.transaction_status();
        if status == TransactionStatus::Error && !command.allowed_when_failed() {
            return Err(aborted());
        }
        let idle = status == TransactionStatus::Idle;
        let outside = |what: &str| {
            user_error(
                "25P01",
                format!("{what} can only be used in transaction blocks"),
            )
        };
        let missing =
            |name: &str| user_error("3B001", format!("savepoint \"{name}\" does not exist"));
        let tag = match command {
            TransactionCommand::Begin => {
                if idle {
                    client.set_transaction_status(TransactionStatus::Transaction);
                } else {
                    warning(
                        client,
                        "25001",
                        "there is already a transaction in progress",
                    )
                    .await?;
                }
                "BEGIN"
            }
            TransactionCommand::Commit | TransactionCommand::Rollback => {
                if idle {
                    warning(client, "25P01", "there is no transaction in progress").await?;
                }
                let committed =
                    command == TransactionCommand::Commit && status != TransactionStatus::Error;
                self.end_block(client, committed);
                // COMMIT of a failed block rolls it back, and its tag says so.
                if committed { "COMMIT" } else { "ROLLBACK" }
            }
            TransactionCommand::Savepoint(name) => {
                if idle {
                    return Err(outside("SAVEPOINT"));
                }
                self.savepoints.lock().push(name);
                "SAVEPOINT"
            }
            TransactionCommand::Release(name) => {
                if idle {
                    return Err(outside("RELEASE SAVEPOINT"));
                }
                self.savepoints
                    .lock()
                    .release(&name)
                    .map_err(|_| missing(&name))?;
                "RELEASE"
            }
            TransactionCommand::RollbackTo(name) => {
                if idle {
                    return Err(outside("ROLLBACK TO SAVEPOINT"));
                }
                let depth = self
                    .savepoints
                    .lock()
                    .rollback_to(&name)
                    .map_err(|_| missing(&name))?;
                self.cursors.rollback_to(depth);
                client.set_transaction_status(TransactionStatus::Transaction);
                "ROLLBACK"
            }
        };
        complete(client, Tag::new(tag)).await
    }

    async fn cursor_statement<C>(
        &self,
        client: &mut C,
        command: CursorCommand,
        describe: bool,
        cancel: &mut CancelSignal,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let missing = |name: &str| user_error("34000", format!("cursor \"{name}\" does not exist"));
        match command {
            CursorCommand::Declare {
                name,
                binary,
                hold,
                query,
            } => {
                let in_block = client.transaction_status() != TransactionStatus::Idle;
                if !hold && !in_block {
                    return Err(user_error(
                        "25P01",
                        "DECLARE CURSOR can only be used in transaction blocks",
                    ));
                }
                if self.cursors.contains(&name) {
                    return Err(user_error(
                        "42P03",
                        format!("cursor \"{name}\" already exists"),
                    ));
                }
                let not_a_query = || {
                    user_error(
                        "42P11",
                        "a cursor is declared for one query that returns rows",
                    )
                };
                let mut results = self.run_until(&query, cancel).await?;
                let result = results.pop().filter(|_| results.is_empty());
                let Some(
                    result @ (StatementResult::Rows(_)
                    | StatementResult::Stream(_)
                    | StatementResult::Description(_)),
                ) = result
                else {
                    return Err(not_a_query());
                };
                let format = if binary {
                    Format::UnifiedBinary
                } else {
                    Format::UnifiedText
                };
                let portal = OpenPortal::open(&query, result, &format)?.ok_or_else(not_a_query)?;
                let level = self.savepoints.lock().depth();
                self.cursors.keep(
                    &name,
                    Cursor {
                        portal,
                        hold,
                        level,
                        in_open_block: in_block,
                    },
                );
                complete(client, Tag::new("DECLARE CURSOR")).await
            }
            CursorCommand::Fetch {
                name,
                count,
                discard,
            } => {
                let mut cursor = self.cursors.take(&name).ok_or_else(|| missing(&name))?;
                if describe && !discard {
                    let fields = cursor.portal.fields().to_vec();
                    send_describe_response(client, &DescribePortalResponse::new(fields)).await?;
                }
                // On an error (a cancel, a failed query) the cursor is dropped: its query stops.
                let (rows, _) = cursor
                    .portal
                    .send_rows(client, count, discard, cancel)
                    .await?;
                self.cursors.keep(&name, cursor);
                let verb = if discard { "MOVE" } else { "FETCH" };
                complete(client, Tag::new(verb).with_rows(rows)).await
            }
            CursorCommand::Close(Some(name)) => {
                if !self.cursors.close(&name) {
                    return Err(missing(&name));
                }
                complete(client, Tag::new("CLOSE CURSOR")).await
            }
            CursorCommand::Close(None) => {
                self.cursors.close_all();
                complete(client, Tag::new("CLOSE CURSOR")).await
            }
        }
    }
}
