//! `sluice`: the Sluice binary.
//!
//! - `sluice` alone runs a local server on `./sluice-data` with a demo stream and opens the SQL
//!   shell on it; leaving the shell stops the server.
//! - `sluice shell` opens the SQL shell on a running server (Postgres wire).
//! - `sluice server` runs the broker headless until SIGINT/SIGTERM.
//! - `sluice topic ...` administers topics and produces/consumes lines over the Kafka protocol,
//!   against any Kafka-compatible server (`--bootstrap`).
//! - `sluice bench ...` measures produce and consume throughput and latency.

mod bench;
mod consume;
mod error;
mod produce;
mod server;
mod shell;
mod topic;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::error::CliError;

/// Sluice: a streaming SQL engine with a built-in Kafka-compatible broker.
///
/// Without a command, starts a local server on ./sluice-data (Kafka on 127.0.0.1:9092 and the
/// Postgres wire on 127.0.0.1:5433 when free, else free ports), a demo stream, and the SQL shell.
#[derive(Debug, Parser)]
#[command(name = "sluice", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Directory holding topics, offsets and state of the local server.
    #[arg(long, default_value = "./sluice-data")]
    data_dir: PathBuf,
    /// Do not start the demo generator (topic demo_orders).
    #[arg(long)]
    no_demo: bool,
    #[command(flatten)]
    script: ScriptArgs,
}

/// `-e` / `-f`: run statements non-interactively instead of the REPL.
#[derive(Debug, clap::Args)]
struct ScriptArgs {
    /// Run these SQL statements (split on `;`), print their results and exit; non-zero exit on
    /// the first error.
    #[arg(short = 'e', long = "execute", conflicts_with = "file")]
    execute: Option<String>,
    /// Run the statements of this file (`-` for stdin), as -e.
    #[arg(short = 'f', long = "file")]
    file: Option<PathBuf>,
    /// Do not print the elapsed time after each statement.
    #[arg(long)]
    no_timing: bool,
}

impl ScriptArgs {
    fn script(&self) -> shell::Script {
        shell::Script {
            execute: self.execute.clone(),
            file: self.file.clone(),
        }
    }
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
    /// Open the SQL shell on a running server (its Postgres wire).
    Shell {
        /// Server host.
        #[arg(long, default_value = "127.0.0.1", env = "SLUICE_HOST")]
        host: String,
        /// Server's Postgres-wire port.
        #[arg(long, short = 'p', default_value_t = 5433, env = "SLUICE_PORT")]
        port: u16,
        /// User name.
        #[arg(long, short = 'U', default_value = "sluice", env = "SLUICE_USER")]
        user: String,
        /// Password, when the server requires one.
        #[arg(long, env = "SLUICE_PASSWORD")]
        password: Option<String>,
        #[command(flatten)]
        script: ScriptArgs,
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
        Some(Command::Server { .. }) => "info",
        _ => "warn",
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

/// `addr` when nothing listens there yet, else the same host with port 0 (a free port).
fn default_or_free(addr: &str) -> String {
    match std::net::TcpListener::bind(addr) {
        Ok(_) => addr.to_owned(),
        Err(_) => match addr.rsplit_once(':') {
            Some((host, _)) => format!("{host}:0"),
            None => addr.to_owned(),
        },
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        None => {
            let mut options =
                server::ServerOptions::new(&cli.data_dir, &default_or_free("127.0.0.1:9092"));
            options.pg_addr = Some(default_or_free("127.0.0.1:5433"));
            let script = cli.script.script();
            shell::run_local(options, script, !cli.no_demo, !cli.script.no_timing).await
        }
        Some(Command::Shell {
            host,
            port,
            user,
            password,
            script,
        }) => {
            let options = shell::ConnectOptions {
                host,
                port,
                user,
                password,
            };
            shell::run_remote(options, script.script(), !script.no_timing).await
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
