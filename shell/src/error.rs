//! The binary's error type: what a command could not do, printed as one line on stderr.
//!
//! Every variant maps to a non-zero exit code (see [`CliError::exit_code`]) so scripts can tell
//! "the server is not reachable" from "the topic does not exist" from "bad input".

use sluice_broker::client::ClientError;

/// A failed `sluice` command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Talking to the Kafka server failed, or it answered with an error.
    #[error("{0}")]
    Client(#[from] ClientError),
    /// The arguments or the input do not make sense.
    #[error("{0}")]
    Usage(String),
    /// The server could not start or stopped with an error.
    #[error("{0}")]
    Server(String),
    /// The shell could not connect to the server's Postgres wire.
    #[error("{0}")]
    Connect(String),
    /// A statement of a `-e`/`-f` script failed (its error was printed above).
    #[error("stopped at the first failing statement")]
    StatementFailed,
    /// Reading stdin or writing stdout failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    /// The process exit code: 2 for usage errors (as clap), 3 when the server cannot be
    /// reached, 4 for an unknown topic, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Client(ClientError::Connect { .. } | ClientError::InvalidAddress { .. }) => 3,
            CliError::Connect(_) => 3,
            CliError::Client(ClientError::UnknownTopic { .. }) => 4,
            _ => 1,
        }
    }
}
