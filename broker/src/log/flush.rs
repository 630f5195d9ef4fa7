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

/// A roll waiting for its fsync: then the directory is synced (the new segment file exists for
/// sure), the producer-state snapshot as of the roll is written and the recovery point moves.
#[derive(Debug)]
struct PendingRoll {
    ticket: u64,
    offset: i64,
    snapshot: Vec<u8>,
}

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
    /// Segment rolls waiting for the fsync that covers them.
    pending_rolls: Vec<PendingRoll>,
    /// The first fsync failure (sticky: see [`Flusher::check_healthy`]).
    failed: Option<String>,
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

    /// Registers segment files that recovery read back after an unclean stop: their bytes may
    /// still be only in the page cache (the process died, the machine did not). They become
    /// dirty and the next fsync covers them, so a retried acks=all duplicate of a batch in them
    /// is acknowledged only after that fsync, and no roll moves the recovery point past them
    /// before it. Returns the ticket that fsync must cover.
    pub fn note_recovered(&self, files: Vec<Arc<File>>) -> u64 {
        let mut st = self.state.lock();
        for f in files {
            if !st.dirty.iter().any(|d| Arc::ptr_eq(d, &f)) {
                st.dirty.push(f);
            }
        }
        st.written += 1;
        st.written
    }

    /// Fails once an fsync has failed: after a failed fsync the kernel may have dropped the dirty
    /// pages, so nothing written since can be trusted to become durable. The partition refuses
    /// writes (KAFKA_STORAGE_ERROR) until the broker restarts and recovery cuts the log back to
    /// what is really on disk, as Kafka takes a failed log directory offline.
    pub fn check_healthy(&self) -> Result<()> {
        match &self.state.lock().failed {
            None => Ok(()),
            Some(reason) => Err(self.fsync_error(reason)),
        }
    }

    fn fsync_error(&self, reason: &str) -> BrokerError {
        BrokerError::Io {
            context: "fsync failed earlier; the partition is offline until restart",
            path: self.recovery_point_path.with_file_name(""),
            source: std::io::Error::other(reason.to_string()),
        }
    }

    /// Adds files (a closed segment's indexes) to be fsync'd by the next flush, after which
    /// their handles are dropped.
    pub fn note_files(&self, files: Vec<Arc<File>>) {
        let mut st = self.state.lock();
        for f in files {
            if !st.dirty.iter().any(|d| Arc::ptr_eq(d, &f)) {
                st.dirty.push(f);
            }
        }
    }

    /// Drops pending rolls past `offset` (their segments were truncated away).
    pub fn forget_rolls_after(&self, offset: i64) {
        self.state
            .lock()
            .pending_rolls
            .retain(|r| r.offset <= offset);
    }

    /// The ticket of the latest write: waiting for it waits for everything written so far.
    pub fn last_ticket(&self) -> u64 {
        self.state.lock().written
    }

    /// Registers a segment roll at `offset` with the producer-state snapshot as of that offset:
    /// once everything written so far is fsync'd, the directory is fsync'd, the snapshot written
    /// and `offset` becomes the recovery point. Returns the ticket to flush to.
    pub fn note_roll(&self, offset: i64, snapshot: Vec<u8>) -> u64 {
        let mut st = self.state.lock();
        let ticket = st.written;
        st.pending_rolls.push(PendingRoll {
            ticket,
            offset,
            snapshot,
        });
        ticket
    }

    /// How many fsyncs this flusher has run (for tests and metrics).
    pub fn fsync_count(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }

    /// Starts an fsync in the background if none is running and something is unsynced.
    pub fn flush_in_background(self: &Arc<Self>) {
        let mut st = self.state.lock();
        if !st.flushing && (st.synced < st.written || !st.pending_rolls.is_empty()) {
            self.start_flush(&mut st);
        }
    }

    fn start_flush(self: &Arc<Self>, st: &mut FlushState) {
        st.flushing = true;
        let target = st.written;
        let files = std::mem::take(&mut st.dirty);
        let (covered, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut st.pending_rolls)
            .into_iter()
            .partition(|r| r.ticket <= target);
        st.pending_rolls = keep;
        let this = self.clone();
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            // No runtime (a synchronous caller): fsync right here.
            let result = this.fsync_files(&files, &covered);
            this.finish(st, target, files, covered, result);
            return;
        };
        handle.spawn(async move {
            let worker = this.clone();
            let files_for_worker = files.clone();
            let (result, covered) = tokio::task::spawn_blocking(move || {
                let result = worker.fsync_files(&files_for_worker, &covered);
                (result, covered)
            })
            .await
            .unwrap_or_else(|e| (Err(format!("fsync task failed: {e}")), Vec::new()));
            let mut st = this.state.lock();
            this.finish(&mut st, target, files, covered, result);
        });
    }

    fn finish(
        &self,
        st: &mut FlushState,
        target: u64,
        files: Vec<Arc<File>>,
        covered: Vec<PendingRoll>,
        result: std::result::Result<(), String>,
    ) {
        st.flushing = false;
        match result {
            Ok(()) => st.synced = st.synced.max(target),
            Err(e) => {
                tracing::error!(error = %e, "fsync failed; acks=all appends it covered fail");
                // The rolls were not made durable: retry them with the next fsync.
                let mut covered = covered;
                covered.append(&mut st.pending_rolls);
                st.pending_rolls = covered;
                for f in files {
                    if !st.dirty.iter().any(|d| Arc::ptr_eq(d, &f)) {
                        st.dirty.push(f);
                    }
                }
                st.failed.get_or_insert(e);
            }
        }
        self.synced_tx.send_replace(st.synced);
    }

    fn fsync_files(
        &self,
        files: &[Arc<File>],
        rolls: &[PendingRoll],
    ) -> std::result::Result<(), String> {
        for f in files {
            f.sync_data().map_err(|e| e.to_string())?;
        }
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        if let Some(last) = rolls.iter().max_by_key(|r| r.offset) {
            let dir = self
                .recovery_point_path
                .parent()
                .unwrap_or(std::path::Path::new("."));
            // New segment files must survive a crash before anything relies on them.
            crate::log::sync_dir(dir).map_err(|e| e.to_string())?;
            crate::log::recovery::write_snapshot(dir, last.offset, &last.snapshot)
                .map_err(|e| e.to_string())?;
            write_recovery_point(&self.recovery_point_path, last.offset)
                .map_err(|e| e.to_string())?;
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
                if let Some(reason) = &st.failed {
                    return Err(self.fsync_error(reason));
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

/// Durably sets the recovery point to `offset` if it is lower than the current one (after a
/// truncation, segments that no longer exist must not be trusted later).
pub fn force_recovery_point(path: &std::path::Path, offset: i64) -> std::io::Result<()> {
    if read_recovery_point(path) <= offset {
        return Ok(());
    }
    crate::log::write_file_atomically(path, offset.to_string().as_bytes())
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
        let t = flusher.note_roll(100, b"{}".to_vec());
        flusher.wait_synced(t).await.unwrap();
        assert_eq!(read_recovery_point(&path), 100);
        assert!(
            dir.path()
                .join(crate::log::recovery::snapshot_file_name(100))
                .exists()
        );
    }
}
