//! The Sluice shell: a SQL client of the Postgres wire (tokio-postgres), so it works the same
//! against the local server `sluice` starts and against a remote `sluice server`.
//!
//! - [`run_local`]: `sluice` with no arguments: local server, demo generator, REPL.
//! - [`run_remote`]: `sluice shell`: connect to a running server; `-e`/`-f` run a script.

mod complete;
mod demo;
mod render;
mod repl;
mod session;
mod split;

use std::path::PathBuf;

pub use session::ConnectOptions;
use session::{Outcome, Session};

use crate::error::CliError;
use crate::server::{LocalServer, ServerOptions};

/// What to run: the REPL, or a script from `-e` / `-f`.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// `-e SQL`: statements given on the command line.
    pub execute: Option<String>,
    /// `-f FILE`: statements read from a file (`-` is stdin).
    pub file: Option<PathBuf>,
}

impl Script {
    fn text(&self) -> Result<Option<String>, CliError> {
        if let Some(sql) = &self.execute {
            return Ok(Some(sql.clone()));
        }
        let Some(path) = &self.file else {
            return Ok(None);
        };
        let text = if path.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin())
        } else {
            std::fs::read_to_string(path)
        };
        text.map(Some).map_err(|source| CliError::Io {
            context: format!("cannot read {}", path.display()),
            source,
        })
    }
}

/// Runs every statement of `text`, stopping at the first that fails.
async fn run_script(session: &mut Session, text: &str) -> Result<(), CliError> {
    let (mut statements, rest) = split::split_statements(text);
    if !rest.is_empty() {
        statements.push(rest);
    }
    for statement in statements {
        match session.run(&statement).await? {
            Outcome::Done => {}
            Outcome::Failed | Outcome::Cancelled => return Err(CliError::StatementFailed),
        }
    }
    Ok(())
}

/// `sluice shell`: connects to a running server and runs the REPL or the script.
pub async fn run_remote(
    options: ConnectOptions,
    script: Script,
    timing: bool,
) -> Result<(), CliError> {
    let mut session = Session::connect(options).await?;
    session.timing = timing;
    match script.text()? {
        Some(text) => run_script(&mut session, &text).await,
        None => repl::run(&mut session).await,
    }
}

/// `sluice` alone: starts a local server (and the demo generator), runs the REPL or script on
/// it, then stops the server cleanly.
pub async fn run_local(
    options: ServerOptions,
    script: Script,
    demo: bool,
    timing: bool,
) -> Result<(), CliError> {
    let server = LocalServer::start(&options).await?;
    let pg = server
        .pg_addr()
        .ok_or_else(|| CliError::Server("the SQL engine did not start".to_owned()))?;
    println!(
        "Sluice is running on {}: Postgres wire on {pg} (psql -h {} -p {}), Kafka on {}.",
        options.data_dir.display(),
        pg.ip(),
        pg.port(),
        server.addr()
    );
    let generator = if demo {
        match demo::DemoGenerator::start(&server.addr().to_string()).await {
            Ok(generator) => {
                println!(
                    "A demo generator writes an order every 300 ms to the topic `{}`. Type `help` for help.",
                    demo::DEMO_TOPIC
                );
                Some(generator)
            }
            Err(e) => {
                eprintln!("warning: the demo generator did not start: {e}");
                None
            }
        }
    } else {
        None
    };
    let connect = ConnectOptions {
        host: pg.ip().to_string(),
        port: pg.port(),
        user: "sluice".to_owned(),
        password: None,
    };
    let result = run_remote(connect, script, timing).await;
    if let Some(generator) = generator {
        generator.stop().await;
    }
    let stopped = server.shutdown().await;
    result.and(stopped)
}
