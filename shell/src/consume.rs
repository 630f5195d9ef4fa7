//! `sluice topic consume NAME`: prints record values one per line, like
//! `kafka-console-consumer.sh`.
//!
//! Without `--group` it reads every partition, from the start with `--from-beginning`, else only
//! new records. With `--group G` it joins the consumer group, resumes from the group's committed
//! offsets (or the start/end when there are none) and commits what it printed when it stops. It
//! stops after `--max-messages` records, after `--timeout-ms` without a record, or on Ctrl-C.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use clap::Args;
use sluice_broker::client::{
    Client, Consumer, ConsumerRecord, GroupConfig, GroupConsumer, StartFrom,
};

use crate::error::CliError;

/// Arguments of `topic consume`.
#[derive(Debug, Args)]
pub struct ConsumeArgs {
    /// Topic name.
    name: String,
    /// Start at the earliest offset instead of the end (for a group: only where nothing was
    /// committed).
    #[arg(long)]
    from_beginning: bool,
    /// Consume as a member of this consumer group and commit offsets.
    #[arg(long)]
    group: Option<String>,
    /// Exit after printing this many records.
    #[arg(long)]
    max_messages: Option<u64>,
    /// Exit when no record came for this many milliseconds.
    #[arg(long)]
    timeout_ms: Option<u64>,
    /// Print the key before the value.
    #[arg(long)]
    print_key: bool,
    /// Text between key and value with --print-key.
    #[arg(long, default_value = "\t")]
    key_separator: String,
}

enum Source {
    Plain(Consumer),
    Group(Box<GroupConsumer>),
}

/// How often a group member commits what it printed while it runs (Kafka's
/// `auto.commit.interval.ms`); it also commits when it stops.
const COMMIT_INTERVAL: Duration = Duration::from_secs(5);

impl Source {
    /// Commits the printed positions if this is a group member and the interval has passed.
    async fn maybe_commit(
        &mut self,
        printed: &BTreeMap<(String, i32), i64>,
        last_commit: &mut Instant,
    ) -> Result<(), CliError> {
        if let Source::Group(group) = self
            && last_commit.elapsed() >= COMMIT_INTERVAL
        {
            group.commit(printed).await?;
            *last_commit = Instant::now();
        }
        Ok(())
    }

    async fn poll(&mut self, wait: Duration) -> Result<Vec<ConsumerRecord>, CliError> {
        Ok(match self {
            Source::Plain(c) => c.poll(wait).await?,
            Source::Group(g) => g.poll(wait).await?,
        })
    }
}

/// Runs `topic consume`.
pub async fn run(bootstrap: &str, args: ConsumeArgs) -> Result<(), CliError> {
    let client = Client::connect(bootstrap).await?;
    client.topic(&args.name).await?;
    let start = if args.from_beginning {
        StartFrom::Earliest
    } else {
        StartFrom::Latest
    };
    let mut source = match &args.group {
        None => {
            let mut consumer = Consumer::new(client, start);
            consumer.assign_topic(&args.name, start).await?;
            Source::Plain(consumer)
        }
        Some(group) => Source::Group(Box::new(
            GroupConsumer::join(
                client,
                GroupConfig::new(group.clone(), start),
                vec![args.name.clone()],
            )
            .await?,
        )),
    };
    let result = print_records(&mut source, &args).await;
    if let Source::Group(group) = source {
        let (printed, outcome) = match result {
            Ok(printed) => (printed, Ok(())),
            Err((printed, e)) => (printed, Err(e)),
        };
        group.commit(&printed).await?;
        group.close().await?;
        outcome
    } else {
        result.map(|_| ()).map_err(|(_, e)| e)
    }
}

/// Polls and prints until a stop condition. Returns the next offset of every partition it
/// printed from (what a group commits), also when it stops with an error.
async fn print_records(
    source: &mut Source,
    args: &ConsumeArgs,
) -> Result<BTreeMap<(String, i32), i64>, (BTreeMap<(String, i32), i64>, CliError)> {
    let mut printed: BTreeMap<(String, i32), i64> = BTreeMap::new();
    let mut count: u64 = 0;
    let timeout = args.timeout_ms.map(Duration::from_millis);
    let mut last_record = Instant::now();
    let mut last_commit = Instant::now();
    let stdout = std::io::stdout();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        if args.max_messages.is_some_and(|max| count >= max) {
            return Ok(printed);
        }
        let wait = match timeout {
            Some(t) => match t.checked_sub(last_record.elapsed()) {
                Some(left) if !left.is_zero() => left.min(Duration::from_millis(500)),
                _ => return Ok(printed),
            },
            None => Duration::from_millis(500),
        };
        let records = tokio::select! {
            r = source.poll(wait) => match r {
                Ok(r) => r,
                Err(e) => return Err((printed, e)),
            },
            _ = &mut ctrl_c => return Ok(printed),
        };
        if !records.is_empty() {
            last_record = Instant::now();
        }
        let mut out = stdout.lock();
        for record in records {
            if args.max_messages.is_some_and(|max| count >= max) {
                break;
            }
            let write = write_record(&mut out, &record, args);
            if let Err(source) = write {
                return Err((
                    printed,
                    CliError::Io {
                        context: "cannot write to stdout".to_owned(),
                        source,
                    },
                ));
            }
            printed.insert(
                (record.topic.to_string(), record.partition),
                record.offset + 1,
            );
            count += 1;
        }
        if let Err(source) = out.flush() {
            return Err((
                printed,
                CliError::Io {
                    context: "cannot write to stdout".to_owned(),
                    source,
                },
            ));
        }
        drop(out);
        if let Err(e) = source.maybe_commit(&printed, &mut last_commit).await {
            return Err((printed, e));
        }
    }
}

fn write_record(
    out: &mut impl Write,
    record: &ConsumerRecord,
    args: &ConsumeArgs,
) -> std::io::Result<()> {
    if args.print_key {
        match &record.key {
            Some(key) => out.write_all(key)?,
            None => out.write_all(b"null")?,
        }
        out.write_all(args.key_separator.as_bytes())?;
    }
    match &record.value {
        Some(value) => out.write_all(value)?,
        None => out.write_all(b"null")?,
    }
    out.write_all(b"\n")
}
