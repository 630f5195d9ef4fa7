//! The Postgres wire front end: psql, JDBC, tokio-postgres and every Postgres driver talk to the
//! engine through it.
//!
//! Each accepted connection gets its own [`crate::Session`] (its own `SET` properties) and its own
//! task, so a connection that fails or hangs never affects another. The protocol itself
//! (start-up, framing, Parse/Bind/Describe/Execute bookkeeping) is the `pgwire` crate's; this
//! module decides what a statement returns:
//!
//! - [`handler`]: the handlers of one connection and the simple query protocol;
//! - [`extended`]: the extended protocol (Parse/Bind/Describe/Execute/Close/Sync);
//! - [`describe`]: Describe answered by planning, never by running the statement;
//! - [`portal`]: Execute with `max_rows`, suspended portals, and the BEGIN ... COMMIT block that
//!   keeps portals alive across Syncs;
//! - [`transaction`]: BEGIN / COMMIT / ROLLBACK, savepoints and the failed-transaction state;
//!   [`cursor`]: DECLARE / FETCH / MOVE / CLOSE; [`wire_statements`] runs both;
//! - [`respond`]: a [`crate::StatementResult`] written as Postgres messages (command tags,
//!   RowDescription, DataRows flushed one by one for push queries);
//! - [`types`]: Arrow types to Postgres types and row encoding (on `arrow-pg`);
//! - [`params`]: `$n` parameters of a bound statement turned into SQL literals, with the
//!   type of each; [`literal`]: one text or binary value as a typed ksqlDB literal;
//! - [`cancel`]: CancelRequest stops the statement a backend runs (SQLSTATE 57014);
//! - [`copy`]: `COPY (query) TO STDOUT` streams a query's rows as COPY data (psql prints them
//!   as they arrive);
//! - [`errors`]: [`crate::EngineError`] to an ErrorResponse with a SQLSTATE and a position;
//! - [`auth`]: optional SCRAM-SHA-256 password authentication (trust only on loopback unless
//!   the operator insists);
//! - [`catalog`]: `pg_catalog` / `information_schema` views and Postgres settings for psql's
//!   `\d` and drivers' start-up queries.
//!
//! - [`guard`]: the listener's limits between a client's socket and the protocol handler
//!   (start-up timeout, largest message).
//!
//! No TLS yet.

pub mod auth;
pub mod cancel;
pub mod catalog;
pub mod copy;
pub mod cursor;
pub mod describe;
pub mod errors;
pub mod extended;
pub mod guard;
pub mod handler;
pub mod literal;
pub mod params;
pub mod portal;
pub mod respond;
pub mod server;
pub mod transaction;
pub mod types;
pub mod wire_statements;

pub use auth::{AuthConfigError, PgCredentials, check_exposure, credentials};
pub use server::{PgLimits, PgServer, serve};
