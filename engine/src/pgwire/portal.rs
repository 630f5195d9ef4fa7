//! Portals that return their rows a few at a time: Execute with `max_rows`, PortalSuspended, and
//! the transaction block that keeps a portal alive across Syncs.
//!
//! Execute with `max_rows = N` (node-postgres's `pg-cursor`, JDBC's `fetchSize`,
//! tokio-postgres's `query_portal`) sends at most N DataRows and then PortalSuspended; the
//! running result (a push query's [`crate::RowStream`], or the rows of a SHOW) stays with the
//! portal for the next Execute of it, which goes on where the last one stopped. The Execute
//! that reaches the end sends CommandComplete with the rows *it* sent, as Postgres does.
//!
//! As in Postgres, a portal lives until it is closed (Close), re-bound (Bind of the same
//! name), or its transaction ends. Outside `BEGIN` ... `COMMIT` every Sync ends the implicit
//! transaction and so closes every portal, named or not (a portal read with Execute/Flush
//! only, as `pg-cursor` does, lives until its Sync); inside a block, portals survive Syncs until
//! COMMIT or ROLLBACK. Dropping a portal's result stops its query. Sluice has no transactions
//! otherwise: BEGIN and COMMIT only mark the block, every statement takes effect at once.

use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::sync::Arc;

use futures::{Sink, SinkExt};
use parking_lot::Mutex;
use pgwire::api::portal::Format;
use pgwire::api::results::{FieldInfo, Tag};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::DataRow;
use pgwire::messages::extendedquery::PortalSuspended;
use tracing::debug;

use crate::pgwire::cancel::{CancelSignal, next_batch_until};
use crate::pgwire::respond::{description_rows, result_fields};
use crate::pgwire::types::{batch_rows, text_row};
use crate::{RowStream, StatementResult};

/// A portal's result, started by its first Execute and read by every Execute of it.
pub struct OpenPortal {
    /// The bound SQL (for error positions).
    sql: String,
    fields: Arc<Vec<FieldInfo>>,
    /// Rows encoded but not sent yet (the rest of a batch, or a SHOW's rows).
    pending: VecDeque<DataRow>,
    /// Where more rows come from; `None` once it ended (or for rows known at once).
    stream: Option<RowStream>,
}

impl Debug for OpenPortal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenPortal")
            .field("sql", &self.sql)
            .field("pending", &self.pending.len())
            .field("running", &self.stream.is_some())
            .finish()
    }
}

/// How an Execute of a portal ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// `max_rows` rows were sent and there may be more: PortalSuspended was sent.
    Suspended,
    /// The result ended: CommandComplete `SELECT n` was sent.
    Complete,
}

impl OpenPortal {
    /// The portal reading `result` of `sql`; `None` for a command's result, which has no rows.
    pub fn open(sql: &str, result: StatementResult, format: &Format) -> PgWireResult<Option<Self>> {
        let Some(fields) = result_fields(&result, format)? else {
            return Ok(None);
        };
        let fields = Arc::new(fields);
        let text_rows = |rows: &crate::catalog::result::Rows| {
            rows.rows
                .iter()
                .map(|row| text_row(&fields, row))
                .collect::<PgWireResult<VecDeque<_>>>()
        };
        let (pending, stream) = match result {
            StatementResult::Rows(rows) => (text_rows(&rows)?, None),
            StatementResult::Description(d) => (text_rows(&description_rows(&d))?, None),
            StatementResult::Stream(stream) => (VecDeque::new(), Some(stream)),
            StatementResult::Status(_) => return Ok(None),
        };
        Ok(Some(OpenPortal {
            sql: sql.to_owned(),
            fields,
            pending,
            stream,
        }))
    }

    /// The columns of its rows.
    pub fn fields(&self) -> &[FieldInfo] {
        &self.fields
    }

    /// Sends up to `max_rows` rows (0: all of them) and then PortalSuspended, or the rest and
    /// CommandComplete. Rows are flushed as the query produces them, so a push query read
    /// without a limit streams. `cancel` stops the wait for rows (SQLSTATE 57014).
    pub async fn fetch<C>(
        &mut self,
        client: &mut C,
        max_rows: usize,
        cancel: &mut CancelSignal,
    ) -> PgWireResult<Fetched>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let limit = (max_rows > 0).then_some(max_rows);
        let (sent, fetched) = self.send_rows(client, limit, false, cancel).await?;
        match fetched {
            Fetched::Suspended => {
                debug!(rows = sent, "portal suspended");
                client
                    .send(PgWireBackendMessage::PortalSuspended(PortalSuspended::new()))
                    .await?;
            }
            Fetched::Complete => {
                debug!(rows = sent, "portal complete");
                let tag = Tag::new("SELECT").with_rows(sent);
                client
                    .send(PgWireBackendMessage::CommandComplete(tag.into()))
                    .await?;
            }
        }
        Ok(fetched)
    }

    /// Sends the next `limit` rows (`None`: every row until the result ends) as DataRows, or
    /// skips them when `discard` (MOVE); returns how many and whether the result may have more
    /// ([`Fetched::Suspended`]) or ended. Nothing else is written: the caller ends the command.
    pub async fn send_rows<C>(
        &mut self,
        client: &mut C,
        limit: Option<usize>,
        discard: bool,
        cancel: &mut CancelSignal,
    ) -> PgWireResult<(usize, Fetched)>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let mut sent = 0usize;
        loop {
            while let Some(row) = self.pending.pop_front() {
                if limit == Some(sent) {
                    self.pending.push_front(row);
                    break;
                }
                if !discard {
                    client.feed(PgWireBackendMessage::DataRow(row)).await?;
                }
                sent += 1;
            }
            if limit == Some(sent) {
                return Ok((sent, Fetched::Suspended));
            }
            let Some(stream) = self.stream.as_mut() else {
                break;
            };
            // A push query's rows go out as they are produced, not when a buffer fills.
            client.flush().await?;
            match next_batch_until(stream, cancel, &self.sql, sent).await? {
                Some(batch) => {
                    for row in batch_rows(&self.fields, batch) {
                        self.pending.push_back(row?);
                    }
                }
                None => self.stream = None,
            }
        }
        Ok((sent, Fetched::Complete))
    }
}

/// The open portals of one connection. Whether it is inside BEGIN ... COMMIT is the
/// connection's transaction status ([`crate::pgwire::transaction`]).
#[derive(Debug, Default)]
pub struct Portals {
    /// By portal name. A Mutex because pgwire hands the handler out as `&self`; only this
    /// connection's task touches it, and never across an await (a portal is taken out while
    /// it is read).
    open: Mutex<HashMap<String, OpenPortal>>,
}

impl Portals {
    /// Takes the open result of portal `name` out for an Execute; `None` if it has not started.
    pub fn take(&self, name: &str) -> Option<OpenPortal> {
        self.open.lock().remove(name)
    }

    /// Keeps `portal` as `name`'s result for its next Execute.
    pub fn keep(&self, name: &str, portal: OpenPortal) {
        self.open.lock().insert(name.to_owned(), portal);
    }

    /// Closes portal `name` (Close, or Bind reusing the name): its query stops.
    pub fn close(&self, name: &str) {
        self.open.lock().remove(name);
    }

    /// Closes every portal (the transaction ended): their queries stop.
    pub fn close_all(&self) {
        self.open.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_every_portal_stops_them() {
        let portals = Portals::default();
        let open = OpenPortal::open(
            "SHOW TOPICS",
            StatementResult::Rows(crate::catalog::result::Rows::new(&["Kafka Topic"])),
            &Format::UnifiedText,
        )
        .unwrap()
        .unwrap();
        portals.keep("c1", open);
        assert!(portals.open.lock().contains_key("c1"));
        portals.close_all();
        assert!(portals.open.lock().is_empty());
    }
}
