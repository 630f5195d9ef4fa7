//! The push queries running right now: what `SHOW QUERIES` lists next to the persistent ones
//! (Query Type `PUSH`) and what `TERMINATE transient_...` stops.
//!
//! A push query belongs to the client reading it: it lives as long as its
//! [`RowStream`](crate::catalog::RowStream). The stream holds a [`TransientGuard`]; dropping the
//! stream (the client cancelled, disconnected, or its LIMIT was reached and the front end is
//! done) drops the guard, which takes the query off the list. So the list is exactly the set of
//! push queries that still hold resources, and a test can watch one go away. Nothing here is
//! persisted: a transient query does not survive a restart.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use futures::task::AtomicWaker;

/// How every push query's id starts (`transient_<SOURCE>_<n>`); no persistent query's does.
pub const TRANSIENT_ID_PREFIX: &str = "transient_";

/// One running push query, as SHOW QUERIES shows it.
#[derive(Debug, Clone)]
pub struct TransientQuery {
    /// `transient_<SOURCE>_<n>`.
    pub id: String,
    /// The statement as the client wrote it.
    pub statement: String,
    /// When it started.
    pub started: SystemTime,
}

/// The list of running push queries; cheap to clone (clones share it).
#[derive(Debug, Clone, Default)]
pub struct TransientQueries {
    running: Arc<Mutex<BTreeMap<String, Entry>>>,
}

#[derive(Debug)]
struct Entry {
    query: TransientQuery,
    stop: Arc<StopSignal>,
}

impl TransientQueries {
    /// Lists `query` until the returned guard is dropped.
    pub fn register(&self, query: TransientQuery) -> TransientGuard {
        let stop = Arc::new(StopSignal::default());
        let id = query.id.clone();
        self.lock().insert(
            id.clone(),
            Entry {
                query,
                stop: stop.clone(),
            },
        );
        TransientGuard {
            id,
            list: self.clone(),
            stop,
        }
    }

    /// The running push queries, by id.
    pub fn list(&self) -> Vec<TransientQuery> {
        self.lock().values().map(|e| e.query.clone()).collect()
    }

    /// Asks push query `id` (any case) to stop: its stream ends (the client sees the query
    /// complete) and it is taken off the list once the stream is dropped. False if no such
    /// query runs.
    pub fn terminate(&self, id: &str) -> bool {
        let running = self.lock();
        match running.iter().find(|(k, _)| k.eq_ignore_ascii_case(id)) {
            Some((_, entry)) => {
                entry.stop.stop();
                true
            }
            None => false,
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        // The map is only inserted into and removed from; a panic elsewhere cannot leave it
        // half-changed, so a poisoned lock is still good to use.
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Keeps a push query on the list; held by its row stream.
#[derive(Debug)]
pub struct TransientGuard {
    id: String,
    list: TransientQueries,
    stop: Arc<StopSignal>,
}

impl TransientGuard {
    /// The query's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether TERMINATE asked the query to stop; registers `waker` to be woken when it does.
    pub(crate) fn stopped(&self, waker: &std::task::Waker) -> bool {
        self.stop.waker.register(waker);
        self.stop.stopped.load(Ordering::Acquire)
    }
}

impl Drop for TransientGuard {
    fn drop(&mut self) {
        self.list.lock().remove(&self.id);
    }
}

/// Set once by TERMINATE; wakes the stream's reader so that it sees the end at once.
#[derive(Debug, Default)]
struct StopSignal {
    stopped: AtomicBool,
    waker: AtomicWaker,
}

impl StopSignal {
    fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.waker.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(id: &str) -> TransientQuery {
        TransientQuery {
            id: id.into(),
            statement: "SELECT * FROM s EMIT CHANGES;".into(),
            started: SystemTime::now(),
        }
    }

    #[test]
    fn a_query_is_listed_while_its_guard_lives() {
        let list = TransientQueries::default();
        let a = list.register(query("transient_S_1"));
        let b = list.register(query("transient_S_2"));
        let ids: Vec<String> = list.list().into_iter().map(|q| q.id).collect();
        assert_eq!(ids, ["transient_S_1", "transient_S_2"]);
        drop(a);
        let ids: Vec<String> = list.list().into_iter().map(|q| q.id).collect();
        assert_eq!(ids, ["transient_S_2"]);
        assert_eq!(b.id(), "transient_S_2");
    }

    #[test]
    fn terminate_sets_the_stop_signal_of_that_query_only() {
        let list = TransientQueries::default();
        let a = list.register(query("transient_S_1"));
        let b = list.register(query("transient_S_2"));
        let waker = futures::task::noop_waker();
        assert!(list.terminate("TRANSIENT_s_1"), "any case");
        assert!(a.stopped(&waker));
        assert!(!b.stopped(&waker));
        assert!(!list.terminate("transient_S_9"));
    }
}
