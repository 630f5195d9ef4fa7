//! Group commit: one fsync covers every append written before it started.
//!
//! Each write registers itself with [`Flusher::note_write`] (under the partition lock, right
//! after the bytes are written) and gets a ticket. An `acks=all` appender then awaits
//! [`Flusher::wait_synced`]: if no fsync is running, it starts one that covers every ticket issued
//! so far; otherwise it waits for the running one and, if that did not cover it, the next. The
//! fsync runs on tokio's blocking pool in its own task, holding no lock, so appends go on while
//! it runs and a cancelled appender cannot leave the flusher stuck. Files of rolled segments
//! stay in the dirty list until an fsync covers them, and once a roll is covered the partition's
//! recovery point advances (recovery then trusts everything below it).

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use tokio::sync::watch;

use crate::error::{BrokerError, Result};

#[derive(Debug, Default)]
struct FlushState {
    /// Tickets issued (one per write).
    written: u64,
    /// Every ticket up to this one is on disk.
    synced: u64,
    /// An fsync task is running.
    flushing: bool,
    /// Files written since the last fsync.
    dirty: Vec<Arc<File>>,
    /// Recovery points waiting for the ticket that covers them: (ticket, offset).
    pending_recovery_points: Vec<(u64, i64)>,
    /// The last fsync failure: tickets up to `.0` were not made durable.
    failed: Option<(u64, String)>,
}

/// The group-commit flusher of one partition.
#[derive(Debug)]
pub struct Flusher {
    state: Mutex<FlushState>,
    synced_tx: watch::Sender<u64>,
    fsyncs: AtomicU64,
    recovery_point_path: PathBuf,
}

impl Flusher {
    /// A flusher whose covered roll points are written to `recovery_point_path`.
    pub fn new(recovery_point_path: PathBuf) -> Flusher {
        Flusher {
            state: Mutex::new(FlushState::default()),
            synced_tx: watch::Sender::new(0),
            fsyncs: AtomicU64::new(0),
            recovery_point_path,
        }
    }

    /// Registers a write to `file`; returns the ticket an fsync must cover.
    pub fn note_write(&self, file: &Arc<File>) -> u64 {
        let mut st = self.state.lock();
        st.written += 1;
        if !st.dirty.iter().any(|f| Arc::ptr_eq(f, file)) {
            st.dirty.push(file.clone());
        }
        st.written
    }

    /// Registers a segment roll: once everything written so far is fsync'd, `offset` becomes the
    /// recovery point. Returns the ticket to flush to.
    pub fn note_roll(&self, offset: i64) -> u64 {
        let mut st = self.state.lock();
        let ticket = st.written;
        st.pending_recovery_points.push((ticket, offset));
        ticket
    }

    /// How many fsyncs this flusher has run (for tests and metrics).
    pub fn fsync_count(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }

    /// Starts an fsync in the background if none is running and something is unsynced.
    pub fn flush_in_background(self: &Arc<Self>) {
        let mut st = self.state.lock();
        if !st.flushing && (st.synced < st.written || !st.pending_recovery_points.is_empty()) {
            self.start_flush(&mut st);
        }
    }

    fn start_flush(self: &Arc<Self>, st: &mut FlushState) {
        st.flushing = true;
        let target = st.written;
        let files = std::mem::take(&mut st.dirty);
        let covered: Vec<i64> = {
            let (done, keep): (Vec<_>, Vec<_>) = st
                .pending_recovery_points
                .drain(..)
                .partition(|(t, _)| *t <= target);
            st.pending_recovery_points = keep;
            done.into_iter().map(|(_, o)| o).collect()
        };
        let this = self.clone();
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            // No runtime (a synchronous caller): fsync right here.
            let result = this.fsync_files(&files, covered.iter().max().copied());
            this.finish(st, target, files, result);
            return;
        };
        handle.spawn(async move {
            let worker = this.clone();
            let files_for_worker = files.clone();
            let result = tokio::task::spawn_blocking(move || {
                worker.fsync_files(&files_for_worker, covered.iter().max().copied())
            })
            .await
            .unwrap_or_else(|e| Err(format!("fsync task failed: {e}")));
            let mut st = this.state.lock();
            this.finish(&mut st, target, files, result);
        });
    }

    fn finish(
        &self,
        st: &mut FlushState,
        target: u64,
        files: Vec<Arc<File>>,
        result: std::result::Result<(), String>,
    ) {
        st.flushing = false;
        match result {
            Ok(()) => st.synced = st.synced.max(target),
            Err(e) => {
                tracing::error!(error = %e, "fsync failed; acks=all appends it covered fail");
                for f in files {
                    if !st.dirty.iter().any(|d| Arc::ptr_eq(d, &f)) {
                        st.dirty.push(f);
                    }
                }
                st.failed = Some((target, e));
            }
        }
        self.synced_tx.send_replace(st.synced);
    }

    fn fsync_files(
        &self,
        files: &[Arc<File>],
        recovery_point: Option<i64>,
    ) -> std::result::Result<(), String> {
        for f in files {
            f.sync_data().map_err(|e| e.to_string())?;
        }
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        if let Some(offset) = recovery_point {
            write_recovery_point(&self.recovery_point_path, offset).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Waits until an fsync covers `ticket`, starting one if none is running.
    pub async fn wait_synced(self: &Arc<Self>, ticket: u64) -> Result<()> {
        loop {
            let mut rx = self.synced_tx.subscribe();
            {
                let mut st = self.state.lock();
                if st.synced >= ticket {
                    return Ok(());
                }
                if let Some((failed_to, reason)) = &st.failed
                    && *failed_to >= ticket
                {
                    return Err(BrokerError::Io {
                        context: "fsync of appended batches",
                        path: self.recovery_point_path.with_file_name(""),
                        source: std::io::Error::other(reason.clone()),
                    });
                }
                if !st.flushing {
                    self.start_flush(&mut st);
                    if st.synced >= ticket {
                        return Ok(());
                    }
                }
            }
            if rx.changed().await.is_err() {
                return Err(BrokerError::ShuttingDown);
            }
        }
    }

    /// Fsyncs every dirty file now, on the calling thread (shutdown and tests).
    pub fn sync_now(&self) -> Result<()> {
        let (target, files) = {
            let mut st = self.state.lock();
            (st.written, std::mem::take(&mut st.dirty))
        };
        for f in &files {
            f.sync_data().map_err(BrokerError::io(
                "fsync at shutdown",
                &self.recovery_point_path,
            ))?;
        }
        let mut st = self.state.lock();
        st.synced = st.synced.max(target);
        self.synced_tx.send_replace(st.synced);
        Ok(())
    }
}

/// Reads the recovery point (offset below which every segment was fsync'd); 0 when absent or
/// unreadable (recovery then scans everything, which is safe).
pub fn read_recovery_point(path: &std::path::Path) -> i64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Durably replaces the recovery point file (write to a temp file, fsync, rename).
pub fn write_recovery_point(path: &std::path::Path, offset: i64) -> std::io::Result<()> {
    let current = read_recovery_point(path);
    if offset <= current {
        return Ok(());
    }
    crate::log::write_file_atomically(path, offset.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_fsync_covers_many_writes() {
        let dir = tempfile::tempdir().unwrap();
        let file = Arc::new(File::create(dir.path().join("f")).unwrap());
        let flusher = Arc::new(Flusher::new(dir.path().join("recovery-point")));
        let tickets: Vec<u64> = (0..10).map(|_| flusher.note_write(&file)).collect();
        let waits = tickets.iter().map(|t| flusher.wait_synced(*t));
        for r in futures::future::join_all(waits).await {
            r.unwrap();
        }
        // All ten were written before the first fsync started, so one fsync covered them.
        assert_eq!(flusher.fsync_count(), 1);
    }

    #[tokio::test]
    async fn roll_advances_recovery_point_after_fsync() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("recovery-point");
        let file = Arc::new(File::create(dir.path().join("f")).unwrap());
        let flusher = Arc::new(Flusher::new(path.clone()));
        flusher.note_write(&file);
        let t = flusher.note_roll(100);
        flusher.wait_synced(t).await.unwrap();
        assert_eq!(read_recovery_point(&path), 100);
    }
}
