//! The client's error type.
//!
//! Every failure a caller can see is one [`ClientError`] variant that says what was being done:
//! the server could not be reached, the connection broke, the server does not speak an API, or the
//! server answered with a Kafka error code. Kafka errors keep the numeric code and Kafka's own
//! name (`UNKNOWN_TOPIC_OR_PARTITION`), so tools can print what Kafka users recognise and callers
//! can match on the code.

use kafka_protocol::ResponseError;

/// Shorthand for results of client operations.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// Something a Kafka client operation could not do.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The TCP connection to the server could not be opened.
    #[error("cannot reach a Kafka server at {addr}: {source}")]
    Connect {
        /// The address that was dialled.
        addr: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The bootstrap address is not `host:port`.
    #[error("invalid server address {addr:?}: expected host:port")]
    InvalidAddress {
        /// The address as given.
        addr: String,
    },
    /// The connection broke while requests were outstanding.
    #[error("connection to {addr} closed: {reason}")]
    ConnectionClosed {
        /// The server address.
        addr: String,
        /// Why it closed (I/O error, end of stream, malformed response).
        reason: String,
    },
    /// No response came within the request timeout.
    #[error("{api} request to {addr} timed out after {timeout_ms} ms")]
    Timeout {
        /// The API that was called.
        api: &'static str,
        /// The server address.
        addr: String,
        /// The timeout that expired.
        timeout_ms: u128,
    },
    /// The server supports no version of an API that this client speaks.
    #[error("the server at {addr} does not support {api} in any version this client speaks")]
    UnsupportedApi {
        /// The API name.
        api: &'static str,
        /// The server address.
        addr: String,
    },
    /// A request could not be encoded or a response could not be decoded.
    #[error("malformed {api} message: {reason}")]
    Protocol {
        /// The API being encoded or decoded.
        api: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The server answered with a Kafka error code.
    #[error("{context}: {} (Kafka error {code}){}", kafka_error_name(*code), message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Kafka {
        /// What the client was doing, e.g. `create topic "orders"`.
        context: String,
        /// Kafka's numeric error code.
        code: i16,
        /// The server's error message, when it sent one.
        message: Option<String>,
    },
    /// The topic does not exist on the server.
    #[error("topic {topic:?} does not exist")]
    UnknownTopic {
        /// The topic name.
        topic: String,
    },
    /// A caller passed an argument the client cannot act on.
    #[error("{0}")]
    InvalidArgument(String),
}

impl ClientError {
    /// Builds a [`ClientError::Kafka`] from a non-zero error code.
    pub fn kafka(context: impl Into<String>, code: i16, message: Option<String>) -> Self {
        ClientError::Kafka {
            context: context.into(),
            code,
            message,
        }
    }

    /// The Kafka error code, when the server answered with one
    /// ([`ClientError::UnknownTopic`] reports `UNKNOWN_TOPIC_OR_PARTITION`).
    pub fn kafka_code(&self) -> Option<i16> {
        match self {
            ClientError::Kafka { code, .. } => Some(*code),
            ClientError::UnknownTopic { .. } => Some(ResponseError::UnknownTopicOrPartition.code()),
            _ => None,
        }
    }

    /// True when retrying the same request may succeed (Kafka's retriable codes, timeouts).
    pub fn is_retriable(&self) -> bool {
        match self {
            ClientError::Kafka { code, .. } => ResponseError::try_from_code(*code)
                .map(|e| e.is_retriable())
                .unwrap_or(false),
            ClientError::Timeout { .. } => true,
            _ => false,
        }
    }
}

/// Returns `Ok(())` for code 0 and the [`ClientError::Kafka`] otherwise.
pub(crate) fn check(
    code: i16,
    context: impl FnOnce() -> String,
    message: Option<&str>,
) -> Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(ClientError::kafka(
            context(),
            code,
            message.map(str::to_owned),
        ))
    }
}

/// Kafka's upper-case name for an error code (`UNKNOWN_TOPIC_OR_PARTITION`), as Kafka's own tools
/// print it; `UNKNOWN_ERROR_CODE_<n>` for codes this protocol crate does not know.
pub fn kafka_error_name(code: i16) -> String {
    match ResponseError::try_from_code(code) {
        None => "NONE".to_owned(),
        Some(ResponseError::Unknown(n)) => format!("UNKNOWN_ERROR_CODE_{n}"),
        Some(err) => {
            // The crate's Display gives the variant name in CamelCase; Kafka spells it in
            // SCREAMING_SNAKE_CASE.
            let camel = err.to_string();
            let mut out = String::with_capacity(camel.len() + 8);
            for (i, ch) in camel.chars().enumerate() {
                if ch.is_ascii_uppercase() && i > 0 {
                    out.push('_');
                }
                out.push(ch.to_ascii_uppercase());
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_kafka_spelling() {
        assert_eq!(kafka_error_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
        assert_eq!(kafka_error_name(36), "TOPIC_ALREADY_EXISTS");
        assert_eq!(kafka_error_name(-1), "UNKNOWN_SERVER_ERROR");
        assert_eq!(kafka_error_name(0), "NONE");
        assert_eq!(kafka_error_name(9999), "UNKNOWN_ERROR_CODE_9999");
    }

    #[test]
    fn kafka_error_keeps_code_name_and_message() {
        let err = ClientError::kafka("create topic \"t\"", 36, Some("exists".into()));
        assert_eq!(err.kafka_code(), Some(36));
        assert_eq!(
            err.to_string(),
            "create topic \"t\": TOPIC_ALREADY_EXISTS (Kafka error 36): exists"
        );
        assert!(!err.is_retriable());
        assert!(ClientError::kafka("x", 3, None).is_retriable());
    }
}
