//! Cluster and topic administration: Metadata, CreateTopics, DeleteTopics, DescribeConfigs and
//! ListOffsets, as plain async methods on [`Client`] returning plain Rust types.

use std::collections::BTreeMap;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    BrokerId, CreateTopicsRequest, DeleteTopicsRequest, DescribeConfigsRequest, ListOffsetsRequest,
    MetadataRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::client::Client;
use super::error::{ClientError, Result, check};

/// One broker of the cluster, as Metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    /// The broker's node id.
    pub node_id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
}

/// One partition of a topic, as Metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// Partition index.
    pub partition: i32,
    /// Node id of the leader, -1 when none.
    pub leader: i32,
    /// Replica node ids.
    pub replicas: Vec<i32>,
    /// In-sync replica node ids.
    pub isr: Vec<i32>,
}

/// A topic, as Metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// Topic name.
    pub name: String,
    /// Topic id (all zero when the server's Metadata version has none).
    pub id: [u8; 16],
    /// Whether the topic is internal (e.g. `__consumer_offsets`).
    pub internal: bool,
    /// Partitions sorted by index.
    pub partitions: Vec<PartitionInfo>,
}

/// The answer to a Metadata request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterMetadata {
    /// Brokers of the cluster.
    pub brokers: Vec<BrokerInfo>,
    /// Topics that exist, sorted by name.
    pub topics: Vec<TopicInfo>,
}

/// One configuration entry of a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    /// Kafka config name, e.g. `retention.ms`.
    pub name: String,
    /// The value, `None` for sensitive or unset values.
    pub value: Option<String>,
    /// True when the value is the broker's default rather than set on the topic.
    pub is_default: bool,
    /// True when the config cannot be altered.
    pub read_only: bool,
}

/// Which offset ListOffsets should look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset (Kafka's timestamp -2).
    Earliest,
    /// The high-water mark: the next offset to be written (Kafka's timestamp -1).
    Latest,
    /// The first offset whose timestamp is at or after this many ms since the epoch.
    Timestamp(i64),
}

impl OffsetSpec {
    fn timestamp(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::Timestamp(ts) => ts,
        }
    }
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_owned()))
}

impl Client {
    /// Fetches metadata for `topics`, or for every topic when `None`. Unknown topics named in
    /// `topics` are left out of the answer (see [`Client::topic`] to get an error instead); they
    /// are never auto-created.
    pub async fn metadata(&self, topics: Option<&[&str]>) -> Result<ClusterMetadata> {
        let mut request = MetadataRequest::default();
        // `None` (null) asks for every topic.
        request.topics = topics.map(|topics| {
            topics
                .iter()
                .map(|t| {
                    let mut topic = MetadataRequestTopic::default();
                    topic.name = Some(name(t));
                    topic
                })
                .collect()
        });
        request.allow_auto_topic_creation = false;
        let response = self.request(&request).await?;
        let brokers = response
            .brokers
            .iter()
            .map(|b| BrokerInfo {
                node_id: b.node_id.0,
                host: b.host.to_string(),
                port: b.port,
            })
            .collect();
        let mut out = Vec::new();
        for topic in response.topics {
            let topic_name = topic.name.map(|n| n.0.to_string()).unwrap_or_default();
            if topic.error_code == ResponseError::UnknownTopicOrPartition.code() {
                continue;
            }
            check(
                topic.error_code,
                || format!("metadata for topic {topic_name:?}"),
                None,
            )?;
            let mut partitions: Vec<PartitionInfo> = topic
                .partitions
                .iter()
                .map(|p| PartitionInfo {
                    partition: p.partition_index,
                    leader: p.leader_id.0,
                    replicas: p.replica_nodes.iter().map(|b: &BrokerId| b.0).collect(),
                    isr: p.isr_nodes.iter().map(|b| b.0).collect(),
                })
                .collect();
            partitions.sort_by_key(|p| p.partition);
            out.push(TopicInfo {
                name: topic_name,
                id: *topic.topic_id.as_bytes(),
                internal: topic.is_internal,
                partitions,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(ClusterMetadata {
            brokers,
            topics: out,
        })
    }

    /// Metadata of one topic; [`ClientError::UnknownTopic`] when it does not exist.
    pub async fn topic(&self, topic: &str) -> Result<TopicInfo> {
        self.metadata(Some(&[topic]))
            .await?
            .topics
            .into_iter()
            .find(|t| t.name == topic)
            .ok_or_else(|| ClientError::UnknownTopic {
                topic: topic.to_owned(),
            })
    }

    /// Creates `topic` with `partitions` partitions and the given topic configs.
    pub async fn create_topic(
        &self,
        topic: &str,
        partitions: i32,
        configs: &BTreeMap<String, String>,
    ) -> Result<()> {
        let version = self.version::<CreateTopicsRequest>()?;
        let mut creatable = CreatableTopic::default();
        creatable.name = name(topic);
        creatable.num_partitions = partitions;
        // v4+ lets the server pick its default replication factor.
        creatable.replication_factor = if version >= 4 { -1 } else { 1 };
        creatable.configs = configs
            .iter()
            .map(|(k, v)| {
                let mut config = CreatableTopicConfig::default();
                config.name = StrBytes::from_string(k.clone());
                config.value = Some(StrBytes::from_string(v.clone()));
                config
            })
            .collect();
        let mut request = CreateTopicsRequest::default();
        request.topics = vec![creatable];
        request.timeout_ms = self.timeout_ms();
        let response = self.request(&request).await?;
        for result in &response.topics {
            check(
                result.error_code,
                || format!("create topic {topic:?}"),
                result.error_message.as_deref(),
            )?;
        }
        Ok(())
    }

    /// Deletes `topic`.
    pub async fn delete_topic(&self, topic: &str) -> Result<()> {
        let version = self.version::<DeleteTopicsRequest>()?;
        let mut request = DeleteTopicsRequest::default();
        if version >= 6 {
            let mut state = DeleteTopicState::default();
            state.name = Some(name(topic));
            request.topics = vec![state];
        } else {
            request.topic_names = vec![name(topic)];
        }
        request.timeout_ms = self.timeout_ms();
        let response = self.request(&request).await?;
        for result in &response.responses {
            if result.error_code == ResponseError::UnknownTopicOrPartition.code() {
                return Err(ClientError::UnknownTopic {
                    topic: topic.to_owned(),
                });
            }
            check(
                result.error_code,
                || format!("delete topic {topic:?}"),
                result.error_message.as_deref(),
            )?;
        }
        Ok(())
    }

    /// The configs of `topic`, sorted by name.
    pub async fn describe_topic_configs(&self, topic: &str) -> Result<Vec<ConfigEntry>> {
        const TOPIC_RESOURCE: i8 = 2;
        const DEFAULT_CONFIG_SOURCE: i8 = 5;
        let version = self.version::<DescribeConfigsRequest>()?;
        let mut resource = DescribeConfigsResource::default();
        resource.resource_type = TOPIC_RESOURCE;
        resource.resource_name = StrBytes::from_string(topic.to_owned());
        resource.configuration_keys = None;
        let mut request = DescribeConfigsRequest::default();
        request.resources = vec![resource];
        let response = self.request(&request).await?;
        let mut entries = Vec::new();
        for result in response.results {
            if result.error_code == ResponseError::UnknownTopicOrPartition.code() {
                return Err(ClientError::UnknownTopic {
                    topic: topic.to_owned(),
                });
            }
            check(
                result.error_code,
                || format!("describe configs of topic {topic:?}"),
                result.error_message.as_deref(),
            )?;
            for config in result.configs {
                // v0 had `is_default`; v1+ reports the source instead.
                let is_default = version >= 1 && config.config_source == DEFAULT_CONFIG_SOURCE;
                entries.push(ConfigEntry {
                    name: config.name.to_string(),
                    value: config.value.map(|v| v.to_string()),
                    is_default,
                    read_only: config.read_only,
                });
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// Looks up one offset per partition of `topic` (all partitions when `partitions` is empty).
    /// Returns partition -> offset, sorted by partition.
    pub async fn list_offsets(
        &self,
        topic: &str,
        partitions: &[i32],
        spec: OffsetSpec,
    ) -> Result<BTreeMap<i32, i64>> {
        let partitions: Vec<i32> = if partitions.is_empty() {
            self.topic(topic)
                .await?
                .partitions
                .iter()
                .map(|p| p.partition)
                .collect()
        } else {
            partitions.to_vec()
        };
        let mut request = ListOffsetsRequest::default();
        request.replica_id = BrokerId(-1);
        let mut list_topic = ListOffsetsTopic::default();
        list_topic.name = name(topic);
        list_topic.partitions = partitions
            .iter()
            .map(|&p| {
                let mut partition = ListOffsetsPartition::default();
                partition.partition_index = p;
                partition.timestamp = spec.timestamp();
                partition
            })
            .collect();
        request.topics = vec![list_topic];
        let response = self.request(&request).await?;
        let mut offsets = BTreeMap::new();
        for topic_response in response.topics {
            for p in topic_response.partitions {
                if p.error_code == ResponseError::UnknownTopicOrPartition.code() {
                    return Err(ClientError::UnknownTopic {
                        topic: topic.to_owned(),
                    });
                }
                check(
                    p.error_code,
                    || format!("list offsets of {topic}-{}", p.partition_index),
                    None,
                )?;
                offsets.insert(p.partition_index, p.offset);
            }
        }
        Ok(offsets)
    }

    pub(crate) fn timeout_ms(&self) -> i32 {
        i32::try_from(self.config().request_timeout.as_millis()).unwrap_or(i32::MAX)
    }
}
