//! [`Session`]: one client's view of the engine, with its own properties.
//!
//! ksqlDB keeps `SET` properties per CLI session: one user's `SET 'auto.offset.reset' =
//! 'earliest'` must not change where another user's push query starts. The catalog and the
//! persistent queries are shared by every session; the properties a DDL statement ran with are
//! stored with it in the command topic, so a replay does not depend on any session.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::Engine;
use crate::catalog::error::Result;
use crate::catalog::result::StatementResult;
use crate::engine::StatementShape;

/// The `SET` properties of one session; clones share the same map.
#[derive(Debug, Clone, Default)]
pub struct SessionProperties {
    values: Arc<Mutex<BTreeMap<String, String>>>,
}

impl SessionProperties {
    /// Sets `name` to `value`.
    pub fn set(&self, name: &str, value: &str) {
        self.values
            .lock()
            .insert(name.to_string(), value.to_string());
    }

    /// Removes `name`; its previous value, if it was set.
    pub fn unset(&self, name: &str) -> Option<String> {
        self.values.lock().remove(name)
    }

    /// A copy of every property set.
    pub fn snapshot(&self) -> BTreeMap<String, String> {
        self.values.lock().clone()
    }
}

/// A client session: executes statements with its own properties.
#[derive(Debug, Clone)]
pub struct Session {
    engine: Engine,
    properties: SessionProperties,
}

impl Session {
    /// A session of `engine` with no property set.
    pub(crate) fn new(engine: Engine) -> Session {
        Session {
            engine,
            properties: SessionProperties::default(),
        }
    }

    /// Runs `script` as [`Engine::execute`] does, with this session's properties.
    pub async fn execute(&self, script: &str) -> Result<Vec<StatementResult>> {
        self.engine.execute_in(&self.properties, script).await
    }

    /// What the last statement of `script` returns (its columns, the types of its `$n`
    /// parameters), learned by planning it without running it: no query starts, no topic is
    /// read. The Postgres front end answers Describe with it. See [`StatementShape`].
    pub async fn describe(&self, script: &str) -> Result<StatementShape> {
        self.engine.describe_in(&self.properties, script).await
    }

    /// The properties this session set.
    pub fn properties(&self) -> BTreeMap<String, String> {
        self.properties.snapshot()
    }

    /// The engine behind the session.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}
