//! CancelRequest: a client's cancel (psql Ctrl-C, tokio-postgres `cancel_query`, psycopg
//! `conn.cancel()`) stops the statement its backend is running.
//!
//! A client cancels by opening a second connection that sends only the process id and secret
//! key its backend announced in BackendKeyData. `pgwire` keeps the registry of backends (a
//! [`ConnectionManager`] shared by every connection of a listener) and fires a per-connection
//! [`ConnectionHandle`]; a [`CancelSignal`] taken when a statement starts resolves when that
//! happens. The handler then drops the statement's [`crate::RowStream`] (which stops the query
//! and frees its resources) and answers SQLSTATE 57014, leaving the connection usable.

use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use futures::channel::oneshot;
use pgwire::api::{ClientInfo, ConnectionHandle};
use pgwire::error::{PgWireError, PgWireResult};
use tracing::debug;

use crate::RowStream;
use crate::pgwire::errors::{to_pgwire, user_error};

/// SQLSTATE `query_canceled`.
pub const QUERY_CANCELED: &str = "57014";

/// The error a cancelled statement answers with, worded as Postgres words it.
pub fn canceled() -> PgWireError {
    user_error(QUERY_CANCELED, "canceling statement due to user request")
}

/// The next batch of `stream` unless the client cancels first: `None` at the end of the
/// stream, 57014 on a cancel (`sent` rows had gone out), and a failed query as the error of
/// statement `sql`. Every writer of a stream's rows (DataRows, a portal, COPY) waits here, so
/// a cancel reaches a push query that has nothing new to send.
pub async fn next_batch_until(
    stream: &mut RowStream,
    cancel: &mut CancelSignal,
    sql: &str,
    sent: usize,
) -> PgWireResult<Option<RecordBatch>> {
    let batch = tokio::select! {
        biased;
        () = cancel.cancelled() => {
            debug!(rows = sent, "statement cancelled by the client");
            return Err(canceled());
        }
        batch = stream.next_batch() => batch,
    };
    batch.transpose().map_err(|e| to_pgwire(&e, sql))
}

/// Fires when the client cancels the statement under way.
#[derive(Debug, Default)]
pub struct CancelSignal {
    receiver: Option<oneshot::Receiver<()>>,
}

impl CancelSignal {
    /// A signal for the statement `client` starts now; a cancel sent before this is forgotten,
    /// as Postgres forgets a cancel that arrives while the backend is idle.
    pub async fn start<C: ClientInfo + ?Sized>(client: &C) -> CancelSignal {
        let handle = client.session_extensions().get::<Arc<ConnectionHandle>>();
        match handle {
            Some(handle) => CancelSignal {
                receiver: Some(handle.start_query().await),
            },
            None => CancelSignal::default(),
        }
    }

    /// A signal that never fires (statements run where no client can cancel).
    pub fn never() -> CancelSignal {
        CancelSignal::default()
    }

    /// Resolves once the client asks to cancel; pending forever otherwise. Safe to call again
    /// after it resolved (it then stays pending).
    pub async fn cancelled(&mut self) {
        if let Some(receiver) = self.receiver.as_mut() {
            let fired = receiver.await.is_ok();
            self.receiver = None;
            if fired {
                return;
            }
        }
        std::future::pending::<()>().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_fired_handle_resolves_the_signal_once() {
        let handle = ConnectionHandle::new();
        let mut signal = CancelSignal {
            receiver: Some(handle.start_query().await),
        };
        assert!(handle.cancel().await);
        signal.cancelled().await;
        // Fired once: now it stays pending.
        let again =
            tokio::time::timeout(std::time::Duration::from_millis(20), signal.cancelled()).await;
        assert!(again.is_err());
    }

    #[tokio::test]
    async fn a_replaced_handle_does_not_cancel() {
        let handle = ConnectionHandle::new();
        let mut signal = CancelSignal {
            receiver: Some(handle.start_query().await),
        };
        // The next statement replaces the sender: the old signal must not read that as a cancel.
        let _next = handle.start_query().await;
        let fired =
            tokio::time::timeout(std::time::Duration::from_millis(20), signal.cancelled()).await;
        assert!(fired.is_err());
    }
}
