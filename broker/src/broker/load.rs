//! Start-up: loading the data directory (lock, clean-shutdown marker, topics, producer ids).
//!
//! Every topic directory with a `topic.json` is opened and its partitions recovered (see
//! `log/recovery.rs`); a directory without one is the remainder of an interrupted create and is
//! removed, as is `<data>/deleted/` (topics whose delete was interrupted).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use crate::broker::producer_ids::ProducerIdAllocator;
use crate::broker::{BrokerConfig, CLEAN_SHUTDOWN_FILE, TopicEntry};
use crate::error::{BrokerError, Result};
use crate::log::recovery::open_partition;
use crate::log::sync_dir;
use crate::topic::{TopicFile, TopicMeta};

/// Loads every topic under `<data>/topics`, recovering partitions, and the producer-id allocator.
pub(super) type Loaded = (
    BTreeMap<String, Arc<TopicEntry>>,
    ProducerIdAllocator,
    std::fs::File,
);

pub(super) fn load(config: &BrokerConfig) -> Result<Loaded> {
    let data = &config.data_dir;
    let topics_dir = data.join("topics");
    std::fs::create_dir_all(&topics_dir)
        .map_err(BrokerError::io("creating data directory", &topics_dir))?;
    let lock_path = data.join(".lock");
    let dir_lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(BrokerError::io(
            "opening the data directory lock",
            &lock_path,
        ))?;
    match dir_lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(BrokerError::DataDirInUse(data.clone()));
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(BrokerError::Io {
                context: "locking the data directory",
                path: lock_path,
                source: e,
            });
        }
    }
    let marker = data.join(CLEAN_SHUTDOWN_FILE);
    let clean = marker.exists();
    if clean {
        std::fs::remove_file(&marker)
            .map_err(BrokerError::io("removing clean-shutdown marker", &marker))?;
        sync_dir(data).map_err(BrokerError::io("syncing data directory", data))?;
    } else {
        tracing::info!(data_dir = %data.display(), "no clean-shutdown marker: recovering log tails");
    }
    let graveyard = data.join("deleted");
    if graveyard.exists() {
        std::fs::remove_dir_all(&graveyard)
            .map_err(BrokerError::io("removing deleted topics", &graveyard))?;
    }
    let mut topics = BTreeMap::new();
    let entries =
        std::fs::read_dir(&topics_dir).map_err(BrokerError::io("listing topics", &topics_dir))?;
    for entry in entries {
        let dir = entry
            .map_err(BrokerError::io("listing topics", &topics_dir))?
            .path();
        if !dir.is_dir() {
            continue;
        }
        match load_topic(config, &dir, clean)? {
            Some(t) => {
                topics.insert(t.meta.name.clone(), Arc::new(t));
            }
            None => {
                tracing::warn!(dir = %dir.display(), "removing a topic directory without topic.json (interrupted create)");
                std::fs::remove_dir_all(&dir)
                    .map_err(BrokerError::io("removing incomplete topic", &dir))?;
            }
        }
    }
    let allocator = ProducerIdAllocator::open(&data.join("producer-ids"))?;
    Ok((topics, allocator, dir_lock))
}

fn load_topic(config: &BrokerConfig, dir: &Path, clean: bool) -> Result<Option<TopicEntry>> {
    let path = dir.join("topic.json");
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(BrokerError::Io {
                context: "reading topic.json",
                path,
                source: e,
            });
        }
    };
    let corrupt = |reason: String| BrokerError::CorruptMetadata {
        path: path.clone(),
        reason,
    };
    let file: TopicFile = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    let id = file
        .id_bytes()
        .ok_or_else(|| corrupt(format!("bad topic id '{}'", file.id)))?;
    let topic_config = config.topic_defaults.with_overrides(&file.configs)?;
    let meta = TopicMeta {
        name: file.name.clone(),
        id,
        partitions: file.partitions,
        config: topic_config,
    };
    let mut partitions = Vec::new();
    for p in 0..meta.partitions {
        let log = open_partition(
            &meta.name,
            p,
            &dir.join(p.to_string()),
            meta.config.clone(),
            clean,
        )?;
        partitions.push(Arc::new(log));
    }
    Ok(Some(TopicEntry {
        meta,
        partitions,
        round_robin: AtomicU32::new(0),
    }))
}
