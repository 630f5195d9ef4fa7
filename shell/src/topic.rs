//! `sluice topic create|list|describe|delete|produce|consume`: topic administration over the
//! Kafka protocol, output shaped like Kafka's own `kafka-topics.sh`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use clap::{Args, Subcommand};
use sluice_broker::client::{Client, OffsetSpec};

use crate::consume::ConsumeArgs;
use crate::error::CliError;
use crate::produce::ProduceArgs;

/// The `topic` subcommands.
#[derive(Debug, Subcommand)]
pub enum TopicCommand {
    /// Create a topic.
    Create(CreateArgs),
    /// List topic names.
    List {
        /// Also list internal topics such as __consumer_offsets.
        #[arg(long)]
        include_internal: bool,
    },
    /// Show a topic's partitions (with log start and end offsets) and configs.
    Describe {
        /// Topic name.
        name: String,
    },
    /// Delete a topic and its data.
    Delete {
        /// Topic name.
        name: String,
    },
    /// Produce stdin lines as records, one per line.
    Produce(ProduceArgs),
    /// Print records as lines.
    Consume(ConsumeArgs),
}

/// Arguments of `topic create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Topic name.
    name: String,
    /// Number of partitions.
    #[arg(long, default_value_t = 1)]
    partitions: i32,
    /// A topic config as name=value (Kafka config names, e.g. cleanup.policy=compact); repeatable.
    #[arg(long = "config", value_name = "NAME=VALUE")]
    configs: Vec<String>,
}

/// Runs a topic command against the server at `bootstrap`.
pub async fn run(bootstrap: &str, command: TopicCommand) -> Result<(), CliError> {
    match command {
        TopicCommand::Create(args) => create(bootstrap, args).await,
        TopicCommand::List { include_internal } => list(bootstrap, include_internal).await,
        TopicCommand::Describe { name } => describe(bootstrap, &name).await,
        TopicCommand::Delete { name } => {
            Client::connect(bootstrap)
                .await?
                .delete_topic(&name)
                .await?;
            println!("Deleted topic {name}.");
            Ok(())
        }
        TopicCommand::Produce(args) => crate::produce::run(bootstrap, args).await,
        TopicCommand::Consume(args) => crate::consume::run(bootstrap, args).await,
    }
}

fn parse_configs(configs: &[String]) -> Result<BTreeMap<String, String>, CliError> {
    configs
        .iter()
        .map(|c| match c.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
            _ => Err(CliError::Usage(format!(
                "--config {c:?} is not NAME=VALUE (for example retention.ms=60000)"
            ))),
        })
        .collect()
}

async fn create(bootstrap: &str, args: CreateArgs) -> Result<(), CliError> {
    if args.partitions < 1 {
        return Err(CliError::Usage(format!(
            "--partitions must be at least 1, not {}",
            args.partitions
        )));
    }
    let configs = parse_configs(&args.configs)?;
    let client = Client::connect(bootstrap).await?;
    client
        .create_topic(&args.name, args.partitions, &configs)
        .await?;
    println!("Created topic {}.", args.name);
    Ok(())
}

async fn list(bootstrap: &str, include_internal: bool) -> Result<(), CliError> {
    let client = Client::connect(bootstrap).await?;
    let mut out = String::new();
    for topic in client.metadata(None).await?.topics {
        if include_internal || !topic.internal {
            let _ = writeln!(out, "{}", topic.name);
        }
    }
    emit(&out)
}

async fn describe(bootstrap: &str, name: &str) -> Result<(), CliError> {
    let client = Client::connect(bootstrap).await?;
    let mut out = String::new();
    let topic = client.topic(name).await?;
    let configs = client.describe_topic_configs(name).await?;
    let starts = client.list_offsets(name, &[], OffsetSpec::Earliest).await?;
    let ends = client.list_offsets(name, &[], OffsetSpec::Latest).await?;
    let overrides: Vec<String> = configs
        .iter()
        .filter(|c| !c.is_default)
        .map(|c| format!("{}={}", c.name, c.value.as_deref().unwrap_or("")))
        .collect();
    let _ = writeln!(
        out,
        "Topic: {}\tTopicId: {}\tPartitionCount: {}\tReplicationFactor: {}\tConfigs: {}",
        topic.name,
        format_uuid(&topic.id),
        topic.partitions.len(),
        topic.partitions.first().map_or(0, |p| p.replicas.len()),
        overrides.join(",")
    );
    for p in &topic.partitions {
        let _ = writeln!(
            out,
            "\tTopic: {}\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}\tLogStartOffset: {}\tEndOffset: {}",
            topic.name,
            p.partition,
            p.leader,
            join(&p.replicas),
            join(&p.isr),
            starts
                .get(&p.partition)
                .map_or("?".to_owned(), i64::to_string),
            ends.get(&p.partition)
                .map_or("?".to_owned(), i64::to_string),
        );
    }
    let _ = writeln!(out, "Configs:");
    for c in &configs {
        let _ = writeln!(
            out,
            "\t{}={}{}",
            c.name,
            c.value.as_deref().unwrap_or("(not shown)"),
            if c.is_default { "\t(default)" } else { "" }
        );
    }
    emit(&out)
}

/// Writes a command's whole output to stdout. A reader that went away (`| head -1`) is not an
/// error: the output was simply not wanted any more.
fn emit(text: &str) -> Result<(), CliError> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::Io {
            context: "cannot write to stdout".to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

fn join(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// Formats a topic id as a hyphenated hex UUID (Kafka's tools print base64; the hex form is what
/// other tools accept).
fn format_uuid(id: &[u8; 16]) -> String {
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_parse_and_reject_garbage() {
        let parsed = parse_configs(&[
            "retention.ms=1000".into(),
            "cleanup.policy = compact".into(),
        ])
        .unwrap();
        assert_eq!(parsed["retention.ms"], "1000");
        assert_eq!(parsed["cleanup.policy"], "compact");
        assert!(matches!(
            parse_configs(&["novalue".into()]),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            parse_configs(&["=x".into()]),
            Err(CliError::Usage(_))
        ));
    }

    #[test]
    fn uuid_is_hyphenated_hex() {
        let mut id = [0u8; 16];
        id[0] = 0xab;
        id[15] = 0x01;
        assert_eq!(format_uuid(&id), "ab000000-0000-0000-0000-000000000001");
    }
}
