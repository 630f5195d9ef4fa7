//! [`QueryError`]: why a persistent query could not be created, recovered or run.

use sluice_broker::BrokerError;

/// What went wrong with a persistent query, in terms of what the user asked for.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The query text did not plan (unknown column, type error, unsupported construct ...).
    #[error("query '{query}' does not plan: {source}")]
    Plan {
        /// The query id.
        query: String,
        /// DataFusion's explanation.
        #[source]
        source: datafusion::error::DataFusionError,
    },
    /// A source or sink topic does not exist.
    #[error("query '{query}' uses topic '{topic}', which does not exist")]
    UnknownTopic {
        /// The query id.
        query: String,
        /// The missing topic.
        topic: String,
    },
    /// An epoch failed while executing (a broker write failed, an encoder refused a row ...).
    #[error("query '{query}' failed in epoch {epoch}: {source}")]
    Execution {
        /// The query id.
        query: String,
        /// The epoch that failed (nothing of it was committed).
        epoch: u64,
        /// What failed.
        #[source]
        source: datafusion::error::DataFusionError,
    },
    /// The broker refused a read or write of the query's own bookkeeping.
    #[error("query '{query}': broker error: {source}")]
    Broker {
        /// The query id.
        query: String,
        /// The broker's error.
        #[source]
        source: BrokerError,
    },
    /// The last commit of the query could not be read back.
    #[error("query '{query}': its last commit in {topic} is unreadable: {message}")]
    CorruptCommit {
        /// The query id.
        query: String,
        /// The offsets topic.
        topic: String,
        /// What was wrong.
        message: String,
    },
    /// An earlier epoch failed; the query runs no more epochs until it is created again.
    #[error(
        "query '{query}' stopped after a failed epoch ({message}); restart it to resume from its last commit"
    )]
    Failed {
        /// The query id.
        query: String,
        /// The error of the failed epoch.
        message: String,
    },
}
