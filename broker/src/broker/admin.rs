//! Topic administration on the [`Broker`]: create, delete, alter configs, add partitions.
//!
//! Admin operations are serialized by the broker's admin lock; the topic map's lock is taken only
//! to publish the result, so lookups by producers and consumers never wait on an admin fsync.
//! `topic.json` is always written last (atomically): a topic exists on disk once it is there, and
//! start-up removes a topic directory without it (a creation interrupted by a crash).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::broker::{Broker, TopicEntry, off_runtime};
use crate::error::{BrokerError, Result};
use crate::log::recovery::open_partition;
use crate::log::{sync_dir, write_file_atomically};
use crate::topic::{TopicConfig, TopicFile, TopicMeta, validate_topic_name};

impl Broker {
    /// Checks a CreateTopics request without creating anything (`validate_only`): the name, the
    /// partition count (-1 means `default_partitions`), the configs and that the topic is new.
    /// Returns the partition count and effective config the topic would get.
    pub fn validate_new_topic(
        &self,
        name: &str,
        partitions: i32,
        configs: &BTreeMap<String, String>,
    ) -> Result<(i32, TopicConfig)> {
        validate_topic_name(name)?;
        let partitions = if partitions == -1 {
            self.inner.config.default_partitions
        } else {
            partitions
        };
        if partitions < 1 {
            return Err(BrokerError::InvalidPartitions(partitions));
        }
        self.check_partition_limits(partitions, i64::from(partitions))?;
        let config = self.inner.config.topic_defaults.with_overrides(configs)?;
        if self.inner.topics.read().contains_key(name) {
            return Err(BrokerError::TopicAlreadyExists(name.to_string()));
        }
        Ok((partitions, config))
    }

    /// [`Broker::create_topic`] on the calling thread.
    fn create_topic_now(
        &self,
        name: &str,
        partitions: i32,
        configs: &BTreeMap<String, String>,
    ) -> Result<TopicMeta> {
        let _admin = self.inner.admin_lock.lock();
        let (partitions, config) = self.validate_new_topic(name, partitions, configs)?;
        let meta = TopicMeta {
            name: name.to_string(),
            id: rand::random(),
            partitions,
            config,
        };
        let dir = self.topics_dir().join(name);
        if dir.exists() {
            // Leftover of a creation that crashed before topic.json was written.
            std::fs::remove_dir_all(&dir)
                .map_err(BrokerError::io("removing stale topic directory", &dir))?;
        }
        std::fs::create_dir_all(&dir).map_err(BrokerError::io("creating topic directory", &dir))?;
        let mut logs = Vec::with_capacity(partitions as usize);
        for p in 0..partitions {
            let log = open_partition(
                name,
                p,
                &dir.join(p.to_string()),
                meta.config.clone(),
                false,
            )?;
            logs.push(Arc::new(log));
        }
        self.write_topic_file(&meta)?;
        tracing::info!(topic = name, partitions, "created topic");
        let entry = TopicEntry {
            meta: meta.clone(),
            partitions: logs,
            round_robin: AtomicU32::new(0),
        };
        self.inner
            .topics
            .write()
            .insert(name.to_string(), Arc::new(entry));
        Ok(meta)
    }

    /// [`Broker::delete_topic`] on the calling thread.
    fn delete_topic_now(&self, name: &str) -> Result<()> {
        let _admin = self.inner.admin_lock.lock();
        let entry = self
            .inner
            .topics
            .write()
            .remove(name)
            .ok_or_else(|| BrokerError::UnknownTopic(name.to_string()))?;
        for p in &entry.partitions {
            p.deleted.store(true, Ordering::Release);
        }
        let dir = self.topics_dir().join(name);
        let graveyard = self.inner.config.data_dir.join("deleted");
        std::fs::create_dir_all(&graveyard).map_err(BrokerError::io(
            "creating deleted-topics directory",
            &graveyard,
        ))?;
        let id: String = entry.meta.id.iter().map(|b| format!("{b:02x}")).collect();
        let tomb = graveyard.join(format!("{name}-{id}"));
        // Rename first (atomic: the topic is gone even if we crash mid-delete), then remove.
        std::fs::rename(&dir, &tomb)
            .map_err(BrokerError::io("moving topic directory away", &dir))?;
        sync_dir(&self.topics_dir()).map_err(BrokerError::io(
            "syncing topics directory",
            self.topics_dir(),
        ))?;
        std::fs::remove_dir_all(&tomb).map_err(BrokerError::io("removing topic data", &tomb))?;
        tracing::info!(topic = name, "deleted topic");
        Ok(())
    }

    /// [`Broker::alter_topic_config`] on the calling thread.
    fn alter_topic_config_now(
        &self,
        name: &str,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<TopicMeta> {
        let _admin = self.inner.admin_lock.lock();
        let entry = self.entry(name)?;
        let config = self.altered_config(&entry.meta.config, set, remove)?;
        let overrides = &config.overrides;
        let meta = TopicMeta {
            config: config.clone(),
            ..entry.meta.clone()
        };
        self.write_topic_file(&meta)?;
        for p in &entry.partitions {
            *p.config.write() = config.clone();
        }
        self.publish(&entry, meta.clone(), entry.partitions.clone());
        tracing::info!(topic = name, ?overrides, "altered topic config");
        Ok(meta)
    }

    /// Checks an [`Broker::alter_topic_config`] without applying it (`validate_only`): the topic
    /// exists and the resulting overrides are valid. Returns the config the topic would get.
    pub fn validate_topic_config_change(
        &self,
        name: &str,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<TopicConfig> {
        let entry = self.entry(name)?;
        self.altered_config(&entry.meta.config, set, remove)
    }

    /// `current` with the overrides in `remove` dropped and those in `set` added or replaced.
    fn altered_config(
        &self,
        current: &TopicConfig,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<TopicConfig> {
        let mut overrides = current.overrides.clone();
        for key in remove {
            if !crate::topic::CONFIG_NAMES.contains(&key.as_str())
                && !crate::topic::compat::is_accepted(key)
            {
                return Err(BrokerError::invalid_config(key, "", "unknown topic config"));
            }
            overrides.remove(key);
        }
        overrides.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.inner.config.topic_defaults.with_overrides(&overrides)
    }

    /// Checks a [`Broker::create_partitions`] without growing anything (`validate_only`): the
    /// topic exists and `total` is more than it has. Returns the current partition count.
    pub fn validate_create_partitions(&self, name: &str, total: i32) -> Result<i32> {
        let entry = self.entry(name)?;
        self.check_partition_increase(&entry.meta, total)?;
        Ok(entry.meta.partitions)
    }

    fn check_partition_increase(&self, meta: &TopicMeta, total: i32) -> Result<()> {
        if total <= meta.partitions {
            return Err(BrokerError::PartitionsNotIncreased {
                topic: meta.name.clone(),
                current: meta.partitions,
                requested: total,
            });
        }
        self.check_partition_limits(total, i64::from(total) - i64::from(meta.partitions))
    }

    /// Refuses a topic of `topic_total` partitions, or `added` more partitions on this broker,
    /// past the configured limits, before anything is allocated for them.
    fn check_partition_limits(&self, topic_total: i32, added: i64) -> Result<()> {
        let per_topic = self.inner.config.max_partitions_per_topic;
        if topic_total > per_topic {
            return Err(BrokerError::TooManyPartitions {
                requested: i64::from(topic_total),
                limit_name: "max.partitions.per.topic",
                limit: i64::from(per_topic),
                detail: String::new(),
            });
        }
        let held: i64 = self
            .inner
            .topics
            .read()
            .values()
            .map(|t| i64::from(t.meta.partitions))
            .sum();
        let limit = self.inner.config.max_broker_partitions;
        if held + added > limit {
            return Err(BrokerError::TooManyPartitions {
                requested: added,
                limit_name: "max.broker.partitions",
                limit,
                detail: format!(" and the broker already holds {held}"),
            });
        }
        Ok(())
    }

    /// [`Broker::create_partitions`] on the calling thread.
    fn create_partitions_now(&self, name: &str, total: i32) -> Result<TopicMeta> {
        let _admin = self.inner.admin_lock.lock();
        let entry = self.entry(name)?;
        let current = entry.meta.partitions;
        self.check_partition_increase(&entry.meta, total)?;
        let dir = self.topics_dir().join(name);
        let mut logs = entry.partitions.clone();
        for p in current..total {
            let part_dir = dir.join(p.to_string());
            if part_dir.exists() {
                // Leftover of an earlier growth that failed before topic.json was written: the
                // partition never existed, so nothing in it may come back.
                std::fs::remove_dir_all(&part_dir).map_err(BrokerError::io(
                    "removing stale partition directory",
                    &part_dir,
                ))?;
            }
            let log = open_partition(name, p, &part_dir, entry.meta.config.clone(), false)?;
            logs.push(Arc::new(log));
        }
        let meta = TopicMeta {
            partitions: total,
            ..entry.meta.clone()
        };
        self.write_topic_file(&meta)?;
        self.publish(&entry, meta.clone(), logs);
        tracing::info!(topic = name, from = current, to = total, "added partitions");
        Ok(meta)
    }

    fn publish(
        &self,
        old: &TopicEntry,
        meta: TopicMeta,
        partitions: Vec<Arc<crate::PartitionLog>>,
    ) {
        let round_robin = AtomicU32::new(old.round_robin.load(Ordering::Relaxed));
        let name = meta.name.clone();
        let entry = TopicEntry {
            meta,
            partitions,
            round_robin,
        };
        self.inner.topics.write().insert(name, Arc::new(entry));
    }

    fn write_topic_file(&self, meta: &TopicMeta) -> Result<()> {
        let dir = self.topics_dir().join(&meta.name);
        let json = serde_json::to_vec_pretty(&TopicFile::from_meta(meta))
            .map_err(|e| BrokerError::Codec(format!("topic.json: {e}")))?;
        let path = dir.join("topic.json");
        write_file_atomically(&path, &json)
            .map_err(BrokerError::io("writing topic.json", &path))?;
        sync_dir(&self.topics_dir()).map_err(BrokerError::io(
            "syncing topics directory",
            self.topics_dir(),
        ))
    }
}

impl Broker {
    /// Creates a topic with `partitions` partitions (-1 means `default_partitions`) and Kafka-named
    /// config overrides. INVALID_TOPIC_EXCEPTION, INVALID_PARTITIONS, INVALID_CONFIG or
    /// TOPIC_ALREADY_EXISTS when the request is wrong. Runs its file work off the async runtime.
    pub fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        configs: &BTreeMap<String, String>,
    ) -> Result<TopicMeta> {
        off_runtime(|| self.create_topic_now(name, partitions, configs))
    }

    /// Deletes a topic and its data. Appends to its partitions fail from now on; readers holding
    /// a partition finish what they are reading.
    pub fn delete_topic(&self, name: &str) -> Result<()> {
        off_runtime(|| self.delete_topic_now(name))
    }

    /// Changes a topic's config overrides (IncrementalAlterConfigs): `set` adds or replaces
    /// overrides, `remove` drops overrides back to the broker default. Validated as on create,
    /// persisted in topic.json and in effect for the next append, retention or compaction pass.
    pub fn alter_topic_config(
        &self,
        name: &str,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<TopicMeta> {
        off_runtime(|| self.alter_topic_config_now(name, set, remove))
    }

    /// Grows a topic to `total` partitions (CreatePartitions). Kafka never shrinks a topic:
    /// fewer or as many partitions as now is INVALID_PARTITIONS.
    pub fn create_partitions(&self, name: &str, total: i32) -> Result<TopicMeta> {
        off_runtime(|| self.create_partitions_now(name, total))
    }
}
