//! Recovery of a persistent query at start-up, before its first epoch.
//!
//! The last commit says how far the query read and wrote. The sink may hold more (an epoch wrote
//! and crashed before committing): those records are cut, and the epoch runs again. A source may
//! hold less (the broker lost records that were never fsync'd): the query reads on from its end.

use sluice_broker::{Broker, BrokerError, PartitionLog};

use crate::query::commit::QueryCommit;
use crate::query::streaming_plan::SourceState;

/// Moves committed source offsets that lie past a partition's end back to its end.
///
/// A broker that crashed may come back with a source partition shorter than what the query read
/// (records acknowledged without `acks=all` and never fsync'd). New records will reuse those
/// offsets, so the query must read from the partition's end, which is only known for sure now,
/// at start-up, before anything new is appended.
pub(crate) fn clamp_to_sources(query: &str, sources: &[SourceState], commit: &mut QueryCommit) {
    for s in sources {
        let Some(offsets) = commit.sources.get_mut(&s.topic) else {
            continue;
        };
        for log in &s.partitions {
            let hw = log.high_watermark();
            if let Some(committed) = offsets.get_mut(&log.partition())
                && *committed > hw
            {
                tracing::warn!(query = %query, topic = %s.topic, partition = log.partition(),
                    committed = *committed, high_watermark = hw,
                    "the source partition lost records the query had read; reading on from its end");
                *committed = hw;
            }
        }
    }
}

/// Cuts sink records the last commit does not cover, partition by partition.
pub(crate) async fn recover_sink(
    broker: &Broker,
    query: &str,
    sink_topic: &str,
    commit: &QueryCommit,
) -> Result<(), BrokerError> {
    let Some(ends) = commit.sinks.get(sink_topic) else {
        return Ok(());
    };
    for (&p, &end) in ends {
        let log = broker.partition(sink_topic, p)?;
        if log.high_watermark() > end {
            truncate_sink_partition(query, &log, end).await?;
        }
    }
    Ok(())
}

/// Cuts a single-writer sink partition back to `committed_end`, the end offset the query last
/// committed, so that records of an epoch that crashed before its commit are not seen twice:
/// the epoch runs again from the committed source offsets and writes them anew.
///
/// `committed_end` is always a batch boundary: the sink commits the end of the batches it
/// appended. Only a sink with a single writer (CREATE ... AS SELECT) may be cut like this;
/// INSERT INTO sinks with several writers need stable offsets instead (see docs/architecture.md).
pub async fn truncate_sink_partition(
    query: &str,
    log: &PartitionLog,
    committed_end: i64,
) -> Result<(), BrokerError> {
    let uncommitted = log.high_watermark() - committed_end;
    tracing::warn!(query = %query, topic = %log.topic(), partition = log.partition(),
        committed_end, uncommitted,
        "cutting sink records written after the query's last commit; the epoch runs again");
    log.truncate_to(committed_end).await?;
    Ok(())
}
