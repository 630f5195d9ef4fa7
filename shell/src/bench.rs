//! `sluice bench produce|consume`: throughput and latency through the Kafka protocol.
//!
//! Without `--bootstrap` the benchmark starts a server inside this process on a temporary data
//! directory, so the numbers include the whole path a Kafka client sees: encoding, the wire,
//! the broker's CRC check, the append and (with acks=all) the fsync. Client and server share the
//! machine's cores, as they do when the benchmark runs against a local `sluice server`.
//!
//! - `produce`: records/s and MB/s for each record size (default 100 B and 1 KB) with the
//!   batching, pipelining producer; then produce latency (p50/p99/max) at a fixed `--rate`.
//! - `consume`: writes the records first (not timed), then reads them all back from the start
//!   and reports records/s and MB/s.
//!
//! - `transactions`: the broker's transaction path in-process (no wire, no server): records
//!   written in transactions of `--txn-size` records through the coordinator's
//!   `TransactionalProducer` (add the partitions, append to each, then commit: fsync'd
//!   `__transaction_state` records and one fsync'd marker per partition), beside the same records
//!   appended as plain fsync'd (acks=all) batches of the same size.
//!
//! MB/s counts record values only (records × record size), as Kafka's perf tools do.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clap::{Args, Subcommand};
use sluice_broker::client::{
    Acks, Client, ClientError, Consumer, FetchOptions, Producer, ProducerConfig, ProducerRecord,
    StartFrom, produce_batch,
};

use crate::error::CliError;
use crate::server::{LocalServer, ServerOptions};

/// Arguments of `sluice bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    mode: BenchMode,
    /// Benchmark this server instead of starting one in-process on a temporary directory.
    #[arg(long, global = true)]
    bootstrap: Option<String>,
    /// Records per throughput run.
    #[arg(long, global = true, default_value_t = 2_000_000)]
    records: u64,
    /// Record value size in bytes; repeatable (default: 100 and 1024).
    #[arg(long = "record-size", global = true)]
    record_sizes: Vec<usize>,
    /// Partitions of each benchmark topic.
    #[arg(long, global = true, default_value_t = 4)]
    partitions: i32,
    /// Acknowledgement level of the producer: all, 1 or 0.
    #[arg(long, global = true, default_value = "all")]
    acks: String,
}

#[derive(Debug, Subcommand)]
enum BenchMode {
    /// Produce throughput per record size, then latency at a fixed rate.
    Produce {
        /// Records per second of the latency run (0 skips it).
        #[arg(long, default_value_t = 10_000)]
        rate: u64,
        /// Length of the latency run in seconds.
        #[arg(long, default_value_t = 5)]
        latency_seconds: u64,
    },
    /// Consume throughput per record size.
    Consume,
    /// Transactional writes in-process (coordinator API) beside plain acks=all appends.
    Transactions {
        /// Records per transaction.
        #[arg(long, default_value_t = 1000)]
        txn_size: u64,
    },
}

/// Runs the benchmark.
pub async fn run(args: BenchArgs) -> Result<(), CliError> {
    let acks: Acks = args.acks.parse()?;
    if args.partitions < 1 || args.records == 0 {
        return Err(CliError::Usage(
            "--partitions and --records must be at least 1".to_owned(),
        ));
    }
    let sizes = if args.record_sizes.is_empty() {
        vec![100, 1024]
    } else {
        args.record_sizes.clone()
    };
    if let BenchMode::Transactions { txn_size } = &args.mode {
        if args.bootstrap.is_some() {
            return Err(CliError::Usage(
                "bench transactions runs in-process; --bootstrap is not supported".to_owned(),
            ));
        }
        return transactions(&args, &sizes, *txn_size).await;
    }
    let (bootstrap, local) = match &args.bootstrap {
        Some(b) => (b.clone(), None),
        None => {
            let dir = tempfile::tempdir().map_err(|source| CliError::Io {
                context: "cannot create a temporary data directory".to_owned(),
                source,
            })?;
            let server = LocalServer::start(&ServerOptions::new(dir.path(), "127.0.0.1:0")).await?;
            println!(
                "in-process server on {} (data in {})",
                server.addr(),
                dir.path().display()
            );
            (server.addr().to_string(), Some((server, dir)))
        }
    };
    let client = Client::connect(&bootstrap).await?;
    println!(
        "acks={} partitions={} records per run={}",
        args.acks, args.partitions, args.records
    );
    let outcome = match &args.mode {
        BenchMode::Produce {
            rate,
            latency_seconds,
        } => {
            for &size in &sizes {
                let topic = new_topic(&client, "produce", size, args.partitions).await?;
                let (elapsed, n) = produce_all(&client, &topic, args.records, size, acks).await?;
                report("produce", size, n, elapsed);
            }
            if *rate > 0 {
                let topic = new_topic(&client, "latency", sizes[0], args.partitions).await?;
                latency(
                    &client,
                    &topic,
                    sizes[0],
                    *rate,
                    Duration::from_secs(*latency_seconds),
                    acks,
                )
                .await?;
            }
            Ok(())
        }
        BenchMode::Transactions { .. } => Ok(()),
        BenchMode::Consume => {
            for &size in &sizes {
                let topic = new_topic(&client, "consume", size, args.partitions).await?;
                produce_all(&client, &topic, args.records, size, Acks::Leader).await?;
                let (elapsed, n) = consume_all(&client, &topic, args.records).await?;
                report("consume", size, n, elapsed);
            }
            Ok(())
        }
    };
    if let Some((server, dir)) = local {
        server.shutdown().await?;
        drop(dir);
    }
    outcome
}

async fn new_topic(
    client: &Client,
    kind: &str,
    size: usize,
    partitions: i32,
) -> Result<String, CliError> {
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let topic = format!("bench-{kind}-{size}-{stamp}");
    client
        .create_topic(&topic, partitions, &Default::default())
        .await?;
    Ok(topic)
}

fn payload(size: usize) -> Bytes {
    // Printable, not all one byte, so that compression (if ever enabled) does not flatter.
    Bytes::from(
        (0..size)
            .map(|i| b'a' + ((i * 7 + i / 13) % 26) as u8)
            .collect::<Vec<u8>>(),
    )
}

/// Produces `n` unkeyed records of `size` bytes with the batching producer; returns the time
/// from the first send to the last acknowledgement.
async fn produce_all(
    client: &Client,
    topic: &str,
    n: u64,
    size: usize,
    acks: Acks,
) -> Result<(Duration, u64), CliError> {
    let value = payload(size);
    let config = ProducerConfig {
        acks,
        ..ProducerConfig::default()
    };
    let mut producer = Producer::new(client.clone(), config);
    let start = Instant::now();
    for _ in 0..n {
        let record = ProducerRecord {
            value: Some(value.clone()),
            timestamp: None,
            ..ProducerRecord::default()
        };
        producer.send(topic, record).await?;
    }
    let acked = producer.flush().await?;
    Ok((start.elapsed(), acked))
}

/// Reads `n` records from the start of every partition; returns the elapsed time.
async fn consume_all(client: &Client, topic: &str, n: u64) -> Result<(Duration, u64), CliError> {
    let mut consumer = Consumer::new(client.clone(), StartFrom::Earliest);
    consumer.set_fetch_options(FetchOptions {
        max_bytes: 64 * 1024 * 1024,
        partition_max_bytes: 16 * 1024 * 1024,
        ..FetchOptions::default()
    });
    consumer.assign_topic(topic, StartFrom::Earliest).await?;
    let start = Instant::now();
    let mut read = 0u64;
    let mut idle_polls = 0;
    while read < n {
        let records = consumer.poll(Duration::from_millis(500)).await?;
        if records.is_empty() {
            idle_polls += 1;
            if idle_polls > 20 {
                return Err(CliError::Server(format!(
                    "consume stalled after {read} of {n} records"
                )));
            }
        }
        read += records.len() as u64;
    }
    Ok((start.elapsed(), read))
}

fn report(kind: &str, size: usize, records: u64, elapsed: Duration) {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let rate = records as f64 / secs;
    let mb = rate * size as f64 / 1e6;
    println!(
        "{kind:<8} {size:>6} B records: {records} in {secs:.2} s = {rate:>12.0} records/s, {mb:>8.1} MB/s"
    );
}

/// Produces at `rate` records/s for `duration` and reports per-record latency, measured as
/// Kafka's producer-perf-test does: from the moment a record is due (created) to the moment its
/// acknowledgement arrives. Records due while `MAX_IN_FLIGHT` requests are outstanding wait and
/// go out together in the next request (Kafka's producer with `linger.ms=0` behaves the same),
/// so queueing delay is part of the figure and the request size adapts to the load.
async fn latency(
    client: &Client,
    topic: &str,
    size: usize,
    rate: u64,
    duration: Duration,
    acks: Acks,
) -> Result<(), CliError> {
    const MAX_IN_FLIGHT: usize = 5;
    let value = payload(size);
    let partitions = client.topic(topic).await?.partitions.len().max(1) as i32;
    let mut latencies: Vec<Duration> = Vec::new();
    let mut requests = 0u64;
    let mut in_flight: tokio::task::JoinSet<Result<(Vec<Instant>, Instant), ClientError>> =
        tokio::task::JoinSet::new();
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let start = Instant::now();
    let total = (duration.as_secs_f64() * rate as f64) as u64;
    let mut created: u64 = 0;
    let mut waiting: Vec<Instant> = Vec::new();
    let mut next_partition = 0;
    while created < total || !waiting.is_empty() || !in_flight.is_empty() {
        tokio::select! {
            _ = ticker.tick(), if created < total || !waiting.is_empty() => {}
            done = in_flight.join_next(), if !in_flight.is_empty() => {
                let (due, acked) = match done {
                    Some(Ok(result)) => result?,
                    Some(Err(e)) => return Err(CliError::Server(format!("a latency probe failed: {e}"))),
                    None => continue,
                };
                latencies.extend(due.iter().map(|d| acked.saturating_duration_since(*d)));
            }
        }
        let now_due = ((start.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
        while created < now_due {
            waiting.push(start + Duration::from_secs_f64(created as f64 / rate as f64));
            created += 1;
        }
        if waiting.is_empty() || in_flight.len() >= MAX_IN_FLIGHT {
            continue;
        }
        let due = std::mem::take(&mut waiting);
        let records: Vec<ProducerRecord> = due
            .iter()
            .map(|_| ProducerRecord {
                value: Some(value.clone()),
                ..ProducerRecord::default()
            })
            .collect();
        let client = client.clone();
        let topic = topic.to_owned();
        let partition = next_partition;
        next_partition = (next_partition + 1) % partitions;
        requests += 1;
        in_flight.spawn(async move {
            produce_batch(&client, &topic, partition, records, acks).await?;
            Ok((due, Instant::now()))
        });
    }
    latencies.sort();
    let pct = |p: f64| -> Duration {
        if latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i]
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "latency  {size:>6} B records at {rate} records/s for {:.0} s ({} records, {requests} requests): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        duration.as_secs_f64(),
        latencies.len(),
        ms(pct(0.50)),
        ms(pct(0.99)),
        ms(pct(1.0)),
    );
    Ok(())
}

/// `bench transactions`: plain fsync'd appends and transactional writes of the same records,
/// in chunks of `txn_size` records spread over the partitions, in-process.
async fn transactions(args: &BenchArgs, sizes: &[usize], txn_size: u64) -> Result<(), CliError> {
    use std::sync::Arc;

    use sluice_broker::group::{GroupConfig, GroupCoordinator};
    use sluice_broker::txn::{TxnConfig, TxnCoordinator};
    use sluice_broker::{Broker, BrokerConfig, Durability, new_record};

    let server_err = |e: &dyn std::fmt::Display| CliError::Server(e.to_string());
    let dir = tempfile::tempdir().map_err(|source| CliError::Io {
        context: "cannot create a temporary data directory".to_owned(),
        source,
    })?;
    let broker = Broker::open(BrokerConfig::new(dir.path()))
        .await
        .map_err(|e| server_err(&e))?;
    let groups = GroupCoordinator::start(broker.clone(), GroupConfig::default())
        .await
        .map_err(|e| server_err(&e))?;
    let txns: Arc<TxnCoordinator> =
        TxnCoordinator::start(broker.clone(), groups.clone(), TxnConfig::default())
            .await
            .map_err(|e| server_err(&e))?;
    let txn_size = txn_size.max(1);
    let parts = args.partitions as u64;
    println!(
        "in-process broker (data in {}), partitions={} records per run={} records per transaction={txn_size}",
        dir.path().display(),
        args.partitions,
        args.records
    );
    for &size in sizes {
        let value = payload(size);
        let chunk: Vec<_> = (0..txn_size.div_ceil(parts))
            .map(|_| new_record(None, Some(&value), 0))
            .collect();
        let chunks = args.records.div_ceil(txn_size);
        for transactional in [false, true] {
            let topic = format!("bench-txn-{size}-{transactional}");
            broker
                .create_topic(&topic, args.partitions, &Default::default())
                .map_err(|e| server_err(&e))?;
            let logs: Vec<_> = (0..args.partitions)
                .map(|p| broker.partition(&topic, p))
                .collect::<Result<_, _>>()
                .map_err(|e| server_err(&e))?;
            let mut producer = txns
                .producer(&format!("bench-{size}"), Duration::from_secs(60))
                .await
                .map_err(|e| server_err(&e))?;
            let start = Instant::now();
            let mut written = 0u64;
            for _ in 0..chunks {
                if transactional {
                    producer.begin().map_err(|e| server_err(&e))?;
                    let all: Vec<(String, i32)> =
                        (0..args.partitions).map(|p| (topic.clone(), p)).collect();
                    producer
                        .add_partitions(&all)
                        .await
                        .map_err(|e| server_err(&e))?;
                    for p in 0..args.partitions {
                        producer
                            .append(&topic, p, &chunk)
                            .await
                            .map_err(|e| server_err(&e))?;
                    }
                    producer.commit().await.map_err(|e| server_err(&e))?;
                } else {
                    let appends = logs
                        .iter()
                        .map(|log| log.append_records(&chunk, Durability::Fsynced));
                    for r in futures::future::join_all(appends).await {
                        r.map_err(|e| server_err(&e))?;
                    }
                }
                written += chunk.len() as u64 * parts;
            }
            let kind = if transactional { "txn" } else { "acks=all" };
            report(kind, size, written, start.elapsed());
        }
    }
    txns.stop();
    groups.stop();
    broker.shutdown().await;
    Ok(())
}
