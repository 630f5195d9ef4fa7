//! `sluice server`'s settings: command-line flags, environment variables, and a TOML file
//! (`--config sluice.toml`), in that order of precedence, over built-in defaults.
//!
//! The file uses the flags' names as keys, so whatever a flag does, a line of the file does too:
//!
//! ```toml
//! data-dir = "/var/lib/sluice"
//! kafka-addr = "0.0.0.0:9092"
//! advertised-addr = "sluice.internal:9092"
//! pg-addr = "0.0.0.0:5433"
//! pg-user = "analyst"
//! pg-password = "s3cret"     # or leave it out and set SLUICE_PG_PASSWORD
//! group-initial-rebalance-delay-ms = 3000
//! max-connections = 1024      # limits: see docs/operations.md, "Security: limits"
//! ```
//!
//! An unknown key or a value of the wrong type is an error that names the file, the line and
//! the key, so a typo never silently falls back to a default.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::CliError;
use crate::server::ServerOptions;

/// Where the data lives when neither a flag nor the file says.
pub const DEFAULT_DATA_DIR: &str = "./sluice-data";
/// The Kafka listener's default address.
pub const DEFAULT_KAFKA_ADDR: &str = "127.0.0.1:9092";
/// The Postgres listener's default address.
pub const DEFAULT_PG_ADDR: &str = "127.0.0.1:5433";
/// The Postgres user when a password is set and no user is named.
pub const DEFAULT_PG_USER: &str = "sluice";
/// Kafka's `group.initial.rebalance.delay.ms` default.
const DEFAULT_REBALANCE_DELAY_MS: u64 = 3000;

/// `sluice server`'s flags. Every one is optional here so that a flag left out can come from
/// the `--config` file; the defaults are applied in [`ServerArgs::resolve`].
#[derive(Debug, Default, clap::Args)]
pub struct ServerArgs {
    /// A TOML file of settings, keyed by these flags' names (`pg-addr = "0.0.0.0:5433"`);
    /// flags and environment variables override it.
    #[arg(long, env = "SLUICE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory holding topics, offsets and state [default: ./sluice-data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Address of the Kafka listener; port 0 picks a free port [default: 127.0.0.1:9092].
    #[arg(long)]
    pub kafka_addr: Option<String>,
    /// How long the first rebalance of a new consumer group waits for more members (Kafka's
    /// group.initial.rebalance.delay.ms) [default: 3000].
    #[arg(long)]
    pub group_initial_rebalance_delay_ms: Option<u64>,
    /// host:port that clients are told to connect to (Kafka's advertised.listeners), when it
    /// differs from --kafka-addr, e.g. behind NAT or when listening on 0.0.0.0.
    #[arg(long)]
    pub advertised_addr: Option<String>,
    /// Address of the Postgres wire listener for SQL clients; port 0 picks a free port
    /// [default: 127.0.0.1:5433].
    #[arg(long)]
    pub pg_addr: Option<String>,
    /// User name Postgres clients log in as when a password is set [default: sluice].
    #[arg(long, env = "SLUICE_PG_USER")]
    pub pg_user: Option<String>,
    /// Password Postgres clients must give (SCRAM-SHA-256). Without it anyone may log in, which
    /// is allowed only when --pg-addr is a loopback address.
    #[arg(long, env = "SLUICE_PG_PASSWORD", hide_env_values = true)]
    pub pg_password: Option<String>,
    /// Let anyone log in without a password even on a non-loopback --pg-addr.
    #[arg(long)]
    pub pg_insecure_no_auth: bool,
    /// Kafka connections served at once (Kafka's max.connections); when all are taken a new client takes the slot of the connection idle longest [default: 1024].
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Kafka connections served at once from one address (Kafka's max.connections.per.ip); more are closed [default: 1024].
    #[arg(long)]
    pub max_connections_per_ip: Option<usize>,
    /// Close a Kafka connection with no request for this long (Kafka's connections.max.idle.ms) [default: 600000].
    #[arg(long)]
    pub connections_max_idle_ms: Option<u64>,
    /// Close a Kafka connection whose request frame is not whole this long after its first byte, or that sends no request this long after connecting [default: 30000].
    #[arg(long)]
    pub request_read_timeout_ms: Option<u64>,
    /// Largest Kafka request frame (Kafka's socket.request.max.bytes) [default: 104857600].
    #[arg(long)]
    pub socket_request_max_bytes: Option<usize>,
    /// Most record bytes in one Fetch response (Kafka's fetch.max.bytes) [default: 57671680].
    #[arg(long)]
    pub fetch_max_bytes: Option<usize>,
    /// Create unknown topics named in Metadata requests (Kafka's auto.create.topics.enable) [default: true].
    #[arg(long)]
    pub auto_create_topics_enable: Option<bool>,
    /// Most partitions of one topic (CreateTopics, CreatePartitions) [default: 1000].
    #[arg(long)]
    pub max_partitions_per_topic: Option<i32>,
    /// Most partitions on this broker in all (KIP-578's max.broker.partitions) [default: 10000].
    #[arg(long)]
    pub max_broker_partitions: Option<i64>,
    /// Most members of one consumer group (Kafka's group.max.size) [default: 1000].
    #[arg(long)]
    pub group_max_size: Option<usize>,
    /// Memory for compaction's key map per pass (Kafka's log.cleaner.dedupe.buffer.size) [default: 134217728].
    #[arg(long)]
    pub log_cleaner_dedupe_buffer_size: Option<usize>,
    /// Postgres connections served at once; more get SQLSTATE 53300 [default: 256].
    #[arg(long)]
    pub pg_max_connections: Option<usize>,
    /// Close a Postgres connection that has not finished its start-up (and login) this long after connecting [default: 30000].
    #[arg(long)]
    pub pg_startup_timeout_ms: Option<u64>,
    /// Largest Postgres message a client may send (a query's text, a Bind's parameters); larger ones get SQLSTATE 54000 [default: 67108864].
    #[arg(long)]
    pub pg_max_message_bytes: Option<usize>,
}

/// The `--config` file: the same settings as the flags, under the flags' names.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    data_dir: Option<PathBuf>,
    kafka_addr: Option<String>,
    group_initial_rebalance_delay_ms: Option<u64>,
    advertised_addr: Option<String>,
    pg_addr: Option<String>,
    pg_user: Option<String>,
    pg_password: Option<String>,
    pg_insecure_no_auth: Option<bool>,
    max_connections: Option<usize>,
    max_connections_per_ip: Option<usize>,
    connections_max_idle_ms: Option<u64>,
    request_read_timeout_ms: Option<u64>,
    socket_request_max_bytes: Option<usize>,
    fetch_max_bytes: Option<usize>,
    auto_create_topics_enable: Option<bool>,
    max_partitions_per_topic: Option<i32>,
    max_broker_partitions: Option<i64>,
    group_max_size: Option<usize>,
    log_cleaner_dedupe_buffer_size: Option<usize>,
    pg_max_connections: Option<usize>,
    pg_startup_timeout_ms: Option<u64>,
    pg_max_message_bytes: Option<usize>,
}

impl FileConfig {
    fn read(path: &Path) -> Result<FileConfig, CliError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::Usage(format!(
                "cannot read the config file {}: {e}",
                path.display()
            ))
        })?;
        toml::from_str(&text)
            .map_err(|e| CliError::Usage(format!("config file {}: {e}", path.display())))
    }
}

impl ServerArgs {
    /// The server's options: each setting from its flag (or environment variable), else from
    /// the config file, else the default.
    pub fn resolve(self) -> Result<ServerOptions, CliError> {
        let file = match &self.config {
            Some(path) => FileConfig::read(path)?,
            None => FileConfig::default(),
        };
        let data_dir = self
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let kafka_addr = self
            .kafka_addr
            .or(file.kafka_addr)
            .unwrap_or_else(|| DEFAULT_KAFKA_ADDR.to_owned());
        let mut options = ServerOptions::new(data_dir, &kafka_addr);
        options.advertised_addr = self.advertised_addr.or(file.advertised_addr);
        options.pg_addr = Some(
            self.pg_addr
                .or(file.pg_addr)
                .unwrap_or_else(|| DEFAULT_PG_ADDR.to_owned()),
        );
        let user = self
            .pg_user
            .or(file.pg_user)
            .unwrap_or_else(|| DEFAULT_PG_USER.to_owned());
        options.pg_credentials = self
            .pg_password
            .or(file.pg_password)
            .map(|password| sluice_engine::pgwire::credentials(&user, &password))
            .transpose()
            .map_err(|e| CliError::Usage(e.to_string()))?;
        options.pg_insecure_no_auth =
            self.pg_insecure_no_auth || file.pg_insecure_no_auth.unwrap_or(false);
        let limits = &mut options.limits;
        macro_rules! pick {
            ($field:ident) => {
                if let Some(value) = self.$field.or(file.$field) {
                    limits.$field = value;
                }
            };
        }
        pick!(max_connections);
        pick!(max_connections_per_ip);
        pick!(connections_max_idle_ms);
        pick!(request_read_timeout_ms);
        pick!(socket_request_max_bytes);
        pick!(fetch_max_bytes);
        pick!(auto_create_topics_enable);
        pick!(max_partitions_per_topic);
        pick!(max_broker_partitions);
        pick!(group_max_size);
        pick!(log_cleaner_dedupe_buffer_size);
        pick!(pg_max_connections);
        pick!(pg_startup_timeout_ms);
        pick!(pg_max_message_bytes);
        options.group_initial_rebalance_delay = Duration::from_millis(
            self.group_initial_rebalance_delay_ms
                .or(file.group_initial_rebalance_delay_ms)
                .unwrap_or(DEFAULT_REBALANCE_DELAY_MS),
        );
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("sluice.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn defaults_apply_without_flags_or_file() {
        let options = ServerArgs::default().resolve().unwrap();
        assert_eq!(options.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(options.kafka_addr, DEFAULT_KAFKA_ADDR);
        assert_eq!(options.pg_addr.as_deref(), Some(DEFAULT_PG_ADDR));
        assert!(options.pg_credentials.is_none());
        assert!(!options.pg_insecure_no_auth);
        assert_eq!(
            options.group_initial_rebalance_delay,
            Duration::from_millis(3000)
        );
    }

    #[test]
    fn the_file_sets_what_flags_leave_out_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            r#"
            data-dir = "/var/lib/sluice"
            kafka-addr = "0.0.0.0:19092"
            pg-addr = "0.0.0.0:15433"
            pg-user = "analyst"
            pg-password = "s3cret"
            group-initial-rebalance-delay-ms = 0
            max-connections = 50
            pg-max-message-bytes = 4096
            "#,
        );
        let args = ServerArgs {
            config: Some(path),
            kafka_addr: Some("127.0.0.1:29092".into()),
            ..ServerArgs::default()
        };
        let options = args.resolve().unwrap();
        assert_eq!(options.data_dir, PathBuf::from("/var/lib/sluice"));
        assert_eq!(options.kafka_addr, "127.0.0.1:29092", "the flag wins");
        assert_eq!(options.pg_addr.as_deref(), Some("0.0.0.0:15433"));
        assert!(
            options.pg_credentials.is_some(),
            "the file's password is used"
        );
        assert_eq!(options.group_initial_rebalance_delay, Duration::ZERO);
        assert_eq!(options.limits.max_connections, 50);
        assert_eq!(options.limits.pg_max_message_bytes, 4096);
        assert_eq!(
            options.limits.connections_max_idle_ms, 600_000,
            "defaults stay where neither says"
        );
    }

    #[test]
    fn a_typo_in_the_file_is_an_error_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "pg-adr = \"0.0.0.0:5433\"\n");
        let args = ServerArgs {
            config: Some(path),
            ..ServerArgs::default()
        };
        let err = args.resolve().unwrap_err().to_string();
        assert!(err.contains("sluice.toml"), "{err}");
        assert!(err.contains("pg-adr"), "{err}");
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let args = ServerArgs {
            config: Some(PathBuf::from("/nonexistent/sluice.toml")),
            ..ServerArgs::default()
        };
        let err = args.resolve().unwrap_err().to_string();
        assert!(err.contains("cannot read the config file"), "{err}");
    }
}
