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
mod config;
mod consume;
mod error;
mod produce;
mod server;
mod shell;
mod topic;

use std::path::PathBuf;

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

// Parsed once per run: the server variant's many optional flags cost nothing worth boxing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server headless: the broker with its Kafka listener and the SQL engine with its
    /// Postgres listener, until SIGINT/SIGTERM.
    Server(config::ServerArgs),
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

fn main() {
    let cli = Cli::parse();
    // The server logs what it does at info; client commands and the benchmark only warnings, so
    // their output stays readable. RUST_LOG overrides both.
    let default_level = match cli.command {
        Some(Command::Server(_)) => "info",
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
            let mut options = server::ServerOptions::new(
                &cli.data_dir,
                &default_or_free(config::DEFAULT_KAFKA_ADDR),
            );
            options.pg_addr = Some(default_or_free(config::DEFAULT_PG_ADDR));
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
        Some(Command::Server(args)) => server::run(&args.resolve()?).await,
        Some(Command::Topic { bootstrap, command }) => topic::run(&bootstrap, command).await,
        Some(Command::Bench(args)) => bench::run(args).await,
    }
}
