//! [`Broker`]: the registry of topics on disk and the handle everyone shares.
//!
//! It owns the data directory (`<data>/topics/<topic>/topic.json` and one directory per
//! partition), creates and deletes topics, hands out [`PartitionLog`]s, picks partitions for keys,
//! allocates idempotent producer ids, and runs retention and compaction in background tasks.
//! A clean shutdown fsyncs every partition and leaves a `.clean-shutdown` marker so the next start
//! can trust the data instead of scanning it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;

use crate::error::{BrokerError, Result};
use crate::log::{PartitionLog, now_ms, write_file_atomically};
use crate::topic::{TopicConfig, TopicMeta, partition_for_key};

mod admin;
mod load;
mod producer_ids;

use producer_ids::ProducerIdAllocator;

/// Marker file written at the end of a clean shutdown and removed at start-up.
pub const CLEAN_SHUTDOWN_FILE: &str = ".clean-shutdown";

/// Default of [`BrokerConfig::max_partitions_per_topic`].
pub const DEFAULT_MAX_PARTITIONS_PER_TOPIC: i32 = 1000;
/// Default of [`BrokerConfig::max_broker_partitions`].
pub const DEFAULT_MAX_BROKER_PARTITIONS: i64 = 10_000;

/// How the broker is set up.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Root of everything the broker stores.
    pub data_dir: PathBuf,
    /// This broker's node id (Metadata answers with it).
    pub node_id: i32,
    /// Partitions for topics created without a count (auto-created topics, CreateTopics with -1).
    pub default_partitions: i32,
    /// Configs of topics that do not override them.
    pub topic_defaults: TopicConfig,
    /// How often the background task applies retention (Kafka's `log.retention.check.interval.ms`).
    pub retention_check_interval: Duration,
    /// How often the background task compacts `cleanup.policy=compact` topics.
    pub compaction_interval: Duration,
    /// Memory for compaction's map of the latest offset of each key, per pass (Kafka's
    /// `log.cleaner.dedupe.buffer.size`, 128 MiB): a pass maps as many keys as fit and cleans
    /// the segments they cover; the next pass goes on from there.
    pub cleaner_dedupe_buffer_size: usize,
    /// Most partitions one topic may have (CreateTopics, CreatePartitions): more is
    /// INVALID_PARTITIONS, checked before anything is allocated.
    pub max_partitions_per_topic: i32,
    /// Most partitions the broker holds in all (KIP-578's `max.broker.partitions`): a creation
    /// or growth past it is INVALID_PARTITIONS. Each partition keeps files open.
    pub max_broker_partitions: i64,
}

impl BrokerConfig {
    /// Defaults (Kafka's where it has one) with the given data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> BrokerConfig {
        BrokerConfig {
            data_dir: data_dir.into(),
            node_id: 1,
            default_partitions: 1,
            topic_defaults: TopicConfig::default(),
            retention_check_interval: Duration::from_secs(5 * 60),
            compaction_interval: Duration::from_secs(15),
            cleaner_dedupe_buffer_size: 128 * 1024 * 1024,
            max_partitions_per_topic: DEFAULT_MAX_PARTITIONS_PER_TOPIC,
            max_broker_partitions: DEFAULT_MAX_BROKER_PARTITIONS,
        }
    }
}

#[derive(Debug)]
pub(crate) struct TopicEntry {
    pub(crate) meta: TopicMeta,
    pub(crate) partitions: Vec<Arc<PartitionLog>>,
    pub(crate) round_robin: AtomicU32,
}

#[derive(Debug)]
struct Inner {
    config: BrokerConfig,
    topics: RwLock<BTreeMap<String, Arc<TopicEntry>>>,
    producer_ids: Mutex<ProducerIdAllocator>,
    shutdown_tx: watch::Sender<bool>,
    closed: AtomicBool,
    /// Serializes topic administration (create, delete, alter, add partitions).
    admin_lock: Mutex<()>,
    /// Holds an exclusive lock on `<data>/.lock` until shutdown (or drop), so that two brokers
    /// never share a data directory.
    dir_lock: Mutex<Option<std::fs::File>>,
}

/// The broker: cheap to clone, shared by the Kafka protocol server, the engine and the shell.
#[derive(Debug, Clone)]
pub struct Broker {
    inner: Arc<Inner>,
}

impl Broker {
    /// Opens the data directory, recovering every partition, and starts the background tasks
    /// (retention, compaction) when called inside a tokio runtime.
    pub async fn open(config: BrokerConfig) -> Result<Broker> {
        let cfg = config.clone();
        let (topics, allocator, dir_lock) = tokio::task::spawn_blocking(move || load::load(&cfg))
            .await
            .map_err(|e| BrokerError::Codec(format!("start-up task failed: {e}")))??;
        let (shutdown_tx, _) = watch::channel(false);
        let broker = Broker {
            inner: Arc::new(Inner {
                config,
                topics: RwLock::new(topics),
                producer_ids: Mutex::new(allocator),
                shutdown_tx,
                closed: AtomicBool::new(false),
                admin_lock: Mutex::new(()),
                dir_lock: Mutex::new(Some(dir_lock)),
            }),
        };
        broker.spawn_background_tasks();
        Ok(broker)
    }

    /// The configuration the broker was opened with.
    pub fn config(&self) -> &BrokerConfig {
        &self.inner.config
    }

    pub(crate) fn topics_dir(&self) -> PathBuf {
        self.inner.config.data_dir.join("topics")
    }

    /// All topics, sorted by name.
    pub fn topics(&self) -> Vec<TopicMeta> {
        self.inner
            .topics
            .read()
            .values()
            .map(|t| t.meta.clone())
            .collect()
    }

    /// One topic's metadata.
    pub fn topic(&self, name: &str) -> Option<TopicMeta> {
        self.inner.topics.read().get(name).map(|t| t.meta.clone())
    }

    pub(crate) fn entry(&self, topic: &str) -> Result<Arc<TopicEntry>> {
        self.inner
            .topics
            .read()
            .get(topic)
            .cloned()
            .ok_or_else(|| BrokerError::UnknownTopic(topic.to_string()))
    }

    /// A partition's log (UNKNOWN_TOPIC_OR_PARTITION when there is no such topic or partition).
    pub fn partition(&self, topic: &str, partition: i32) -> Result<Arc<PartitionLog>> {
        let entry = self.entry(topic)?;
        usize::try_from(partition)
            .ok()
            .and_then(|p| entry.partitions.get(p).cloned())
            .ok_or_else(|| BrokerError::UnknownPartition {
                topic: topic.to_string(),
                partition,
            })
    }

    /// The partition a record goes to when the producer names none: murmur2 of the key as
    /// Kafka's default partitioner, or round robin for records without a key.
    pub fn partition_for_key(&self, topic: &str, key: Option<&[u8]>) -> Result<i32> {
        let entry = self.entry(topic)?;
        let n = entry.meta.partitions;
        Ok(match key {
            Some(k) => partition_for_key(k, n),
            None => (entry.round_robin.fetch_add(1, Ordering::Relaxed) % n as u32) as i32,
        })
    }

    /// A new idempotent producer id, never handed out before, also across restarts
    /// (InitProducerId calls this).
    pub fn allocate_producer_id(&self) -> Result<i64> {
        self.inner.producer_ids.lock().allocate()
    }

    /// DeleteRecords: moves a partition's log start offset to `offset` (-1 = high-water mark),
    /// deleting whole segments before it. Returns the new log start offset.
    pub fn delete_records(&self, topic: &str, partition: i32, offset: i64) -> Result<i64> {
        let log = self.partition(topic, partition)?;
        off_runtime(|| log.delete_records_before(offset))
    }

    /// Every partition of every topic.
    pub fn all_partitions(&self) -> Vec<Arc<PartitionLog>> {
        self.inner
            .topics
            .read()
            .values()
            .flat_map(|t| t.partitions.iter().cloned())
            .collect()
    }

    /// Total fsyncs run by all partitions' flushers (metrics, group-commit tests).
    pub fn fsync_count(&self) -> u64 {
        self.all_partitions().iter().map(|p| p.fsync_count()).sum()
    }

    /// Applies retention to every partition now; returns the number of segments deleted.
    pub async fn run_retention_now(&self) -> Result<usize> {
        self.on_every_partition("retention", |p, now| p.apply_retention(now))
            .await
    }

    /// Compacts every partition of every `cleanup.policy=compact` topic now; returns the number
    /// of segments rewritten.
    pub async fn run_compaction_now(&self) -> Result<usize> {
        let budget = self.inner.config.cleaner_dedupe_buffer_size;
        self.on_every_partition("compaction", move |p, now| {
            Ok(p.compact_with_budget(now, budget)?.segments_cleaned)
        })
        .await
    }

    /// Runs the blocking cleaner step `step` (`what` names it in errors) on every partition,
    /// off the async runtime, and sums the segments it reports. A partition whose step fails (or
    /// panics) is logged and skipped; the others go on, as Kafka's cleaner marks one partition
    /// uncleanable instead of stopping.
    async fn on_every_partition(
        &self,
        what: &'static str,
        step: impl Fn(&PartitionLog, i64) -> Result<usize> + Send + 'static,
    ) -> Result<usize> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(BrokerError::ShuttingDown);
        }
        let parts = self.all_partitions();
        tokio::task::spawn_blocking(move || {
            let now = now_ms();
            let mut total = 0;
            for p in &parts {
                let result =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| step(p, now)));
                match result {
                    Ok(Ok(n)) => total += n,
                    Ok(Err(BrokerError::ShuttingDown)) => return Err(BrokerError::ShuttingDown),
                    Ok(Err(e)) => {
                        tracing::error!(task = what, topic = %p.topic(), partition = p.partition(),
                            error = %e, "partition skipped by the cleaner; the others go on");
                    }
                    Err(_) => {
                        tracing::error!(task = what, topic = %p.topic(), partition = p.partition(),
                            "the cleaner panicked on this partition; it is skipped");
                    }
                }
            }
            Ok(total)
        })
        .await
        .map_err(|e| BrokerError::Codec(format!("{what} task failed: {e}")))?
    }

    /// Flushes and fsyncs everything, writes the clean-shutdown marker, stops the background
    /// tasks and releases the data directory (a new broker may open it while this handle still
    /// exists). Appends, retention and compaction after this fail with a shutting-down error.
    pub async fn shutdown(&self) {
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.inner.shutdown_tx.send_replace(true);
        let parts = self.all_partitions();
        let data_dir = self.inner.config.data_dir.clone();
        let result = tokio::task::spawn_blocking(move || -> Result<()> {
            let mut ok = true;
            for p in &parts {
                p.closed.store(true, Ordering::Release);
                let _maintenance = p.maintenance.lock();
                if let Err(e) = p.close() {
                    ok = false;
                    tracing::error!(topic = %p.topic(), partition = p.partition(), error = %e, "could not close partition");
                }
            }
            if ok {
                let marker = data_dir.join(CLEAN_SHUTDOWN_FILE);
                write_file_atomically(&marker, b"").map_err(BrokerError::io("writing clean-shutdown marker", &marker))?;
            }
            Ok(())
        })
        .await;
        match result {
            Ok(Ok(())) => tracing::info!("broker shut down cleanly"),
            Ok(Err(e)) => tracing::error!(error = %e, "broker shutdown was not clean"),
            Err(e) => tracing::error!(error = %e, "broker shutdown task failed"),
        }
        // Everything is closed: another broker may open the directory now.
        self.inner.dir_lock.lock().take();
    }

    fn spawn_background_tasks(&self) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let weak = Arc::downgrade(&self.inner);
        let every = self.inner.config.retention_check_interval;
        handle.spawn(background_loop(weak.clone(), every, "retention", |b| {
            Box::pin(async move { b.run_retention_now().await })
        }));
        let every = self.inner.config.compaction_interval;
        handle.spawn(background_loop(weak, every, "compaction", |b| {
            Box::pin(async move { b.run_compaction_now().await })
        }));
    }
}

/// Runs blocking file work `f` (directory creation, fsyncs, renames) that async code called,
/// without stalling the other tasks of the runtime worker it was called on: on a multi-threaded
/// runtime the worker first hands its other tasks to another thread (`block_in_place`); on a
/// current-thread runtime (tests) or outside a runtime `f` just runs.
pub(crate) fn off_runtime<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

type TaskFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Result<usize>> + Send>>;

async fn background_loop(
    weak: Weak<Inner>,
    every: Duration,
    what: &'static str,
    run: fn(Broker) -> TaskFuture,
) {
    let mut shutdown = match weak.upgrade() {
        Some(inner) => inner.shutdown_tx.subscribe(),
        None => return,
    };
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => return,
        }
        let Some(inner) = weak.upgrade() else { return };
        if *inner.shutdown_tx.borrow() {
            return;
        }
        let broker = Broker { inner };
        if let Err(e) = run(broker).await {
            tracing::error!(task = what, error = %e, "background task failed");
        }
    }
}
