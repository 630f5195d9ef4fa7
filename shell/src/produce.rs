//! `sluice topic produce NAME`: one record per stdin line, like `kafka-console-producer.sh`.
//!
//! With `--key-separator SEP`, the text before the first SEP is the key and the rest the value;
//! a line without SEP is rejected (as Kafka's console producer does with `parse.key=true`).
//! Records are batched and pipelined by the client's [`Producer`]; at the end the command prints
//! how many the server acknowledged.

use std::io::BufRead;

use bytes::Bytes;
use clap::Args;
use sluice_broker::client::{Acks, Client, Producer, ProducerConfig, ProducerRecord};

use crate::error::CliError;

/// Arguments of `topic produce`.
#[derive(Debug, Args)]
pub struct ProduceArgs {
    /// Topic name.
    name: String,
    /// Split each line at the first occurrence of this text into key and value.
    #[arg(long)]
    key_separator: Option<String>,
    /// Acknowledgement level: all (durable), 1 (written) or 0 (no acknowledgement).
    #[arg(long, default_value = "all")]
    acks: String,
}

/// Splits a line into (key, value) by the separator, if one is configured.
fn parse_line(
    line: &str,
    separator: Option<&str>,
    line_no: usize,
) -> Result<ProducerRecord, CliError> {
    match separator {
        None => Ok(ProducerRecord::new(
            None::<Bytes>,
            Bytes::copy_from_slice(line.as_bytes()),
        )),
        Some(sep) => match line.split_once(sep) {
            Some((key, value)) => Ok(ProducerRecord::new(
                Some(Bytes::copy_from_slice(key.as_bytes())),
                Bytes::copy_from_slice(value.as_bytes()),
            )),
            None => Err(CliError::Usage(format!(
                "line {line_no} has no key separator {sep:?}: {line:?}"
            ))),
        },
    }
}

/// Runs `topic produce`.
pub async fn run(bootstrap: &str, args: ProduceArgs) -> Result<(), CliError> {
    let acks: Acks = args.acks.parse()?;
    if args.key_separator.as_deref() == Some("") {
        return Err(CliError::Usage(
            "--key-separator must not be empty".to_owned(),
        ));
    }
    let client = Client::connect(bootstrap).await?;
    // Fail early, before reading stdin, when the topic does not exist.
    client.topic(&args.name).await?;
    let config = ProducerConfig {
        acks,
        ..ProducerConfig::default()
    };
    let mut producer = Producer::new(client, config);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<String>>(4096);
    // stdin is blocking; read it on its own thread so the runtime keeps sending.
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    let mut failure = None;
    let mut line_no = 0;
    while let Some(line) = rx.recv().await {
        line_no += 1;
        let line = match line {
            Ok(line) => line,
            Err(source) => {
                failure = Some(CliError::Io {
                    context: "cannot read stdin".to_owned(),
                    source,
                });
                break;
            }
        };
        let line = line.strip_suffix('\r').unwrap_or(&line);
        let record = match parse_line(line, args.key_separator.as_deref(), line_no) {
            Ok(record) => record,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        if let Err(e) = producer.send(&args.name, record).await {
            failure = Some(e.into());
            break;
        }
    }
    let flushed = producer.flush().await;
    let acked = producer.acked();
    let word = if acks == Acks::None {
        "sent (acks=0, not acknowledged)"
    } else {
        "acknowledged"
    };
    println!("{acked} records {word}");
    match (failure, flushed) {
        (Some(e), _) => Err(e),
        (None, Err(e)) => Err(e.into()),
        (None, Ok(_)) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_first_separator() {
        let r = parse_line("k1:v:1", Some(":"), 1).unwrap();
        assert_eq!(r.key.as_deref(), Some(&b"k1"[..]));
        assert_eq!(r.value.as_deref(), Some(&b"v:1"[..]));
        let r = parse_line("plain", None, 1).unwrap();
        assert_eq!(r.key, None);
        assert_eq!(r.value.as_deref(), Some(&b"plain"[..]));
        assert!(
            matches!(parse_line("nosep", Some(":"), 3), Err(CliError::Usage(m)) if m.contains("line 3"))
        );
    }
}
