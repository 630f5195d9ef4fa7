//! Fetch: read record batches from the partitions a consumer asks for, with long polling.
//!
//! When fewer than `min_bytes` are available the request waits, up to `max_wait_ms`, on the
//! high-water-mark watch of every requested partition ([`crate::PartitionLog::subscribe`]), and
//! reads again whenever one moves. Only this connection waits: every connection has its own task.
//! `partition_max_bytes` caps each partition and `max_bytes` (itself capped by the broker's
//! `fetch.max.bytes`, 55 MiB) the response, except that the first batch is always returned whole
//! so a consumer never gets stuck behind a large batch (Kafka's rule). A partition listed more
//! than once is read once: its repeats come back without records. Fetch sessions (KIP-227) are not kept: the response's session id 0 tells clients to send
//! full requests, which every client supports. Versions stop at v12 (v13+ address topics by id).
//!
//! `isolation_level=1` (read_committed) reads only up to each partition's last stable offset and
//! lists the aborted transactions overlapping the returned offsets, which clients use to drop
//! aborted records (and skip control batches), as Kafka does.

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use futures::future::select_all;
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse};
use tokio::sync::watch;
use tokio::time::Instant;

use super::dispatch::{Context, Header};
use crate::Isolation;
use crate::log::batch::BatchHeader;

/// Longest wait accepted from a client, whatever it asks for.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// Handle a Fetch request.
pub async fn handle(ctx: &Context, _header: &Header, req: FetchRequest) -> FetchResponse {
    let wait = Duration::from_millis(req.max_wait_ms.max(0) as u64).min(MAX_WAIT);
    let deadline = Instant::now() + wait;
    let min_bytes = req.min_bytes.max(0) as usize;
    let mut watchers: Vec<watch::Receiver<i64>> = req
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .filter_map(|p| ctx.broker.partition(t.topic.as_str(), p.partition).ok())
                .map(|log| log.subscribe())
        })
        .collect();
    let mut shutdown = ctx.shutdown.clone();
    loop {
        // Mark the current marks as seen before reading, so an append after the read wakes us.
        for w in &mut watchers {
            w.borrow_and_update();
        }
        let (resp, bytes, errors) = read_all(ctx, &req);
        if bytes >= min_bytes || errors || Instant::now() >= deadline || *shutdown.borrow() {
            return resp;
        }
        if watchers.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        let closed = {
            let changed = select_all(watchers.iter_mut().map(|w| Box::pin(w.changed())));
            tokio::select! {
                (result, index, _) = changed => result.is_err().then_some(index),
                _ = tokio::time::sleep_until(deadline) => None,
                _ = shutdown.changed() => None,
            }
        };
        // The partition went away (topic deleted): stop watching it.
        if let Some(index) = closed {
            watchers.swap_remove(index);
        }
    }
}

/// One past the last offset of the whole batches in `records` (None when there are none).
fn end_offset(records: &[u8]) -> Option<i64> {
    let mut pos = 0;
    let mut end = None;
    while let Ok(h) = BatchHeader::parse(records.get(pos..)?) {
        if pos + h.size() > records.len() {
            break;
        }
        end = Some(h.last_offset() + 1);
        pos += h.size();
    }
    end
}

/// Read every requested partition once: the response, the bytes of records in it, and whether a
/// partition reported an error (which ends a long poll at once, as in Kafka).
fn read_all(ctx: &Context, req: &FetchRequest) -> (FetchResponse, usize, bool) {
    let isolation = if req.isolation_level == 1 {
        Isolation::ReadCommitted
    } else {
        Isolation::ReadUncommitted
    };
    let mut remaining = (req.max_bytes.max(0) as usize).min(ctx.config.fetch_max_bytes);
    let mut total = 0usize;
    let mut errors = false;
    let mut seen: HashSet<(&str, i32)> = HashSet::new();
    let mut responses = Vec::with_capacity(req.topics.len());
    for t in &req.topics {
        let mut partitions = Vec::with_capacity(t.partitions.len());
        for p in &t.partitions {
            // A partition named again is answered once: its repeats get no records, so a
            // request listing one partition many times cannot multiply the response.
            let first_time = seen.insert((t.topic.as_str(), p.partition));
            let mut out = PartitionData::default()
                .with_partition_index(p.partition)
                .with_high_watermark(-1)
                .with_last_stable_offset(-1)
                .with_log_start_offset(-1)
                .with_preferred_read_replica(BrokerId(-1))
                .with_aborted_transactions(Some(Vec::new()))
                .with_records(Some(Bytes::new()));
            let log = match ctx.broker.partition(t.topic.as_str(), p.partition) {
                Ok(log) => log,
                Err(e) => {
                    errors = true;
                    partitions.push(out.with_error_code(e.response_error().code()));
                    continue;
                }
            };
            out.high_watermark = log.high_watermark();
            out.last_stable_offset = log.last_stable_offset();
            out.log_start_offset = log.log_start_offset();
            // Once the response is full, later partitions get no records (but no error either).
            let budget = (p.partition_max_bytes.max(0) as usize).min(remaining);
            if !first_time || (budget == 0 && total > 0) {
                partitions.push(out);
                continue;
            }
            match log.read_isolated(p.fetch_offset, budget.max(1), isolation) {
                Ok(read) => {
                    total += read.records.len();
                    remaining = remaining.saturating_sub(read.records.len());
                    out.high_watermark = read.high_watermark;
                    out.last_stable_offset = read.last_stable_offset;
                    out.log_start_offset = read.log_start_offset;
                    if isolation == Isolation::ReadCommitted {
                        let end = end_offset(&read.records).unwrap_or(p.fetch_offset);
                        out.aborted_transactions = Some(
                            log.aborted_transactions(p.fetch_offset, end)
                                .into_iter()
                                .map(|a| {
                                    AbortedTransaction::default()
                                        .with_producer_id(a.producer_id.into())
                                        .with_first_offset(a.first_offset)
                                })
                                .collect(),
                        );
                    } else {
                        out.aborted_transactions = None;
                    }
                    out.records = Some(read.records);
                }
                Err(e) => {
                    errors = true;
                    out.error_code = e.response_error().code();
                }
            }
            partitions.push(out);
        }
        responses.push(
            FetchableTopicResponse::default()
                .with_topic(t.topic.clone())
                .with_partitions(partitions),
        );
    }
    (
        FetchResponse::default().with_responses(responses),
        total,
        errors,
    )
}
