//! `sluice`: the Sluice binary.
//!
//! - `sluice` alone runs a local server on `./sluice-data` (later also the SQL shell).
//! - `sluice server` runs the broker headless until SIGINT/SIGTERM.
//! - `sluice topic ...` administers topics and produces/consumes lines over the Kafka protocol,
//!   against any Kafka-compatible server (`--bootstrap`).
//! - `sluice bench ...` measures produce and consume throughput and latency.

mod bench;
mod consume;
mod error;
mod produce;
mod server;
mod topic;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::error::CliError;

/// Sluice: a streaming SQL engine with a built-in Kafka-compatible broker.
///
/// Without a command, runs a local server on ./sluice-data with the Kafka API on 127.0.0.1:9092
/// (the same as `sluice server`).
#[derive(Debug, Parser)]
#[command(name = "sluice", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server headless: the broker on a data directory with its Kafka listener.
    Server {
        /// Directory holding topics, offsets and state.
        #[arg(long, default_value = "./sluice-data")]
        data_dir: PathBuf,
        /// Address of the Kafka listener (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:9092")]
        kafka_addr: String,
        /// How long the first rebalance of a new consumer group waits for more members (Kafka's
        /// group.initial.rebalance.delay.ms).
        #[arg(long, default_value_t = 3000)]
        group_initial_rebalance_delay_ms: u64,
        /// host:port that clients are told to connect to (Kafka's advertised.listeners), when it
        /// differs from --kafka-addr, e.g. behind NAT or when listening on 0.0.0.0.
        #[arg(long)]
        advertised_addr: Option<String>,
        /// Address of the Postgres wire listener for SQL clients (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:5433")]
        pg_addr: String,
        #[command(flatten)]
        pg_auth: PgAuthArgs,
    },
    /// Create, list, describe, delete topics; produce and consume lines.
    Topic {
        /// Kafka server to talk to.
        #[arg(
            long,
            global = true,
            default_value = "127.0.0.1:9092",
            env = "SLUICE_BOOTSTRAP"
        )]
        bootstrap: String,
        #[command(subcommand)]
        command: topic::TopicCommand,
    },
    /// Measure produce and consume throughput through the Kafka protocol.
    Bench(bench::BenchArgs),
}

/// Who may log in to the Postgres listener.
#[derive(Debug, clap::Args)]
struct PgAuthArgs {
    /// User name Postgres clients log in as when --pg-password is set.
    #[arg(long, default_value = "sluice", env = "SLUICE_PG_USER")]
    pg_user: String,
    /// Password Postgres clients must give (SCRAM-SHA-256). Without it anyone may log in, which
    /// is allowed only when --pg-addr is a loopback address.
    #[arg(long, env = "SLUICE_PG_PASSWORD", hide_env_values = true)]
    pg_password: Option<String>,
    /// Let anyone log in without a password even on a non-loopback --pg-addr.
    #[arg(long)]
    pg_insecure_no_auth: bool,
}

impl PgAuthArgs {
    /// The credentials to ask for, if a password is set.
    fn credentials(&self) -> Result<Option<sluice_engine::pgwire::PgCredentials>, CliError> {
        self.pg_password
            .as_deref()
            .map(|password| sluice_engine::pgwire::credentials(&self.pg_user, password))
            .transpose()
            .map_err(|e| CliError::Usage(e.to_string()))
    }
}

fn main() {
    let cli = Cli::parse();
    // The server logs what it does at info; client commands and the benchmark only warnings, so
    // their output stays readable. RUST_LOG overrides both.
    let default_level = match cli.command {
        None | Some(Command::Server { .. }) => "info",
        Some(_) => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(run(cli));
    if let Err(err) = result {
        eprintln!("error: {err}");
        std::process::exit(err.exit_code());
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        None => {
            let mut options = server::ServerOptions::new("./sluice-data", "127.0.0.1:9092");
            options.pg_addr = Some("127.0.0.1:5433".to_owned());
            server::run(&options).await
        }
        Some(Command::Server {
            data_dir,
            kafka_addr,
            group_initial_rebalance_delay_ms,
            advertised_addr,
            pg_addr,
            pg_auth,
        }) => {
            let mut options = server::ServerOptions::new(data_dir, &kafka_addr);
            options.advertised_addr = advertised_addr;
            options.pg_addr = Some(pg_addr);
            options.pg_credentials = pg_auth.credentials()?;
            options.pg_insecure_no_auth = pg_auth.pg_insecure_no_auth;
            options.group_initial_rebalance_delay =
                Duration::from_millis(group_initial_rebalance_delay_ms);
            server::run(&options).await
        }
        Some(Command::Topic { bootstrap, command }) => topic::run(&bootstrap, command).await,
        Some(Command::Bench(args)) => bench::run(args).await,
    }
}
