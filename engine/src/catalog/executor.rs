//! [`Ctx`]: what a catalog-changing statement runs with, and the rule that it is written to the
//! command topic before it takes effect.
//!
//! The same handler code runs a statement typed by a user ([`Mode::User`]: validate, append to
//! `_sluice_commands` with fsync, apply) and a command replayed at start-up ([`Mode::Replay`]:
//! validate, apply, with the query id and properties it had the first time). Built-in sources
//! ([`Mode::Builtin`], the processing log stream) are applied without being stored.

use std::collections::BTreeMap;

use sluice_broker::Broker;

use crate::catalog::commands::{Command, CommandLog};
use crate::catalog::error::Result;
use crate::catalog::{Catalog, QueryInfo};
use crate::processing_log::ProcessingLogWriter;
use crate::query::{QueryOptions, QuerySpec, Recovery};

/// Where a statement comes from.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Typed by a user now: it is stored before it takes effect.
    User,
    /// Read back from the command topic at `offset` at start-up.
    Replay {
        /// The command's offset.
        offset: i64,
        /// The query id it was given the first time.
        query_id: Option<String>,
    },
    /// Registered by the engine itself at every start (never stored).
    Builtin,
}

/// Everything a statement handler needs.
pub struct Ctx<'a> {
    /// The broker holding every topic.
    pub broker: &'a Broker,
    /// The command topic.
    pub commands: &'a CommandLog,
    /// The processing log writer, for new queries.
    pub processing_log: &'a ProcessingLogWriter,
    /// The catalog being changed.
    pub catalog: &'a mut Catalog,
    /// The properties in effect (session overrides, or those stored with the command).
    pub properties: &'a BTreeMap<String, String>,
    /// User, replay or built-in.
    pub mode: Mode,
    /// Slow work the statement leaves for after the catalog lock is released.
    pub after: Vec<AfterLock>,
}

/// Work a statement needs done once the catalog lock is released, in order: starting a query
/// (cutting its sink, reading and writing its commit, fsync'd) and stopping one (waiting for its
/// epoch to end) must not hold up every other statement.
#[derive(Debug)]
pub enum AfterLock {
    /// Stop a query already taken out of the catalog (TERMINATE, CREATE OR REPLACE).
    Stop(QueryInfo),
    /// Forget a terminated query's progress.
    Forget(String),
    /// Plan, recover and start a query the statement registered as starting (`PENDING`).
    Start {
        /// The query id.
        id: String,
        /// Which registration this is (an id may be terminated and used again meanwhile).
        generation: u64,
        /// What to run.
        spec: QuerySpec,
        /// How.
        options: QueryOptions,
        /// From where.
        recovery: Recovery,
    },
}

impl Ctx<'_> {
    /// The offset the statement has (or will have) in the command topic: query ids end with it.
    pub fn command_offset(&self) -> i64 {
        match &self.mode {
            Mode::Replay { offset, .. } => *offset,
            _ => self.commands.next_offset(),
        }
    }

    /// The query id stored with a replayed command, if any.
    pub fn replayed_query_id(&self) -> Option<&str> {
        match &self.mode {
            Mode::Replay { query_id, .. } => query_id.as_deref(),
            _ => None,
        }
    }

    /// Whether the statement is being replayed from the command topic.
    pub fn is_replay(&self) -> bool {
        matches!(self.mode, Mode::Replay { .. })
    }

    /// Appends the statement to the command topic (fsync'd) when a user typed it; a replayed or
    /// built-in statement is already stored or never is.
    pub async fn persist(&self, statement: &str, query_id: Option<&str>) -> Result<()> {
        if let Mode::User = self.mode {
            let command = Command {
                statement: statement.to_string(),
                query_id: query_id.map(str::to_string),
                properties: self.properties.clone(),
            };
            self.commands.append(&command).await?;
        }
        Ok(())
    }

    /// A property in effect, or its default.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name).map(String::as_str).or_else(|| {
            crate::catalog::describe::PROPERTY_DEFAULTS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, d)| *d)
                .filter(|d| !d.is_empty())
        })
    }
}
