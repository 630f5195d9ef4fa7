//! Waiting until every persistent query has processed everything there is to read.
//!
//! The engine runs its queries on their own tasks; each epoch reads what its sources hold and
//! ends with a commit in `_sluice_query_offsets` (key = query id, value = the next offset per
//! source partition). The runner produces one input record, then waits here until every running
//! query's latest commit has reached the high-water mark of every partition it reads. Because
//! nothing new arrives meanwhile, each record is processed in an epoch of its own, as ksqlDB's
//! harness does (one record at a time, caching off). Chains settle too: a query reading
//! another's sink is behind until it has read what the first one wrote.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use sluice_broker::{Broker, decode_records};
use sluice_engine::Session;
use sluice_engine::query::OFFSETS_TOPIC;

/// How long to sleep between two looks at the commits.
const POLL: Duration = Duration::from_millis(1);

/// Tracks the latest commit of every query from the offsets topic, reading only what is new.
#[derive(Debug, Default)]
pub struct Settler {
    position: i64,
    /// Query id → per source topic, per partition, the next offset to read.
    commits: BTreeMap<String, BTreeMap<String, BTreeMap<i32, i64>>>,
}

/// A query that stopped (its epoch failed) while the runner waited.
#[derive(Debug, Clone)]
pub struct FailedQuery {
    /// The query id.
    pub id: String,
    /// Its error as SHOW QUERIES EXTENDED shows it.
    pub error: String,
}

impl Settler {
    /// Waits until every running query has caught up. Returns the queries found stopped with
    /// an error (they are not waited for). Never returns while a query is still behind; the
    /// caller bounds the time.
    pub async fn settle(
        &mut self,
        broker: &Broker,
        session: &Session,
    ) -> Result<Vec<FailedQuery>, String> {
        loop {
            let (running, failed) = queries(session).await?;
            self.read_commits(broker)?;
            if running.iter().all(|id| self.caught_up(broker, id)) {
                return Ok(failed);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    fn caught_up(&self, broker: &Broker, id: &str) -> bool {
        let Some(sources) = self.commits.get(id) else {
            return false;
        };
        sources.iter().all(|(topic, partitions)| {
            partitions.iter().all(|(p, next)| {
                broker
                    .partition(topic, *p)
                    .is_ok_and(|log| *next >= log.high_watermark())
            })
        })
    }

    fn read_commits(&mut self, broker: &Broker) -> Result<(), String> {
        let Ok(log) = broker.partition(OFFSETS_TOPIC, 0) else {
            return Ok(()); // no query ever committed
        };
        let end = log.high_watermark();
        while self.position < end {
            let read = log
                .read(self.position, 1024 * 1024)
                .map_err(|e| e.to_string())?;
            let records = decode_records(&read.records).map_err(|e| e.to_string())?;
            let Some(last) = records.iter().map(|r| r.offset).max() else {
                break;
            };
            for r in records.into_iter().filter(|r| r.offset >= self.position) {
                let (Some(key), Some(value)) = (r.key, r.value) else {
                    continue;
                };
                let id = String::from_utf8_lossy(&key).into_owned();
                let commit: Value = serde_json::from_slice(&value).map_err(|e| e.to_string())?;
                self.commits.insert(id, sources_of(&commit));
            }
            self.position = last + 1;
        }
        Ok(())
    }
}

fn sources_of(commit: &Value) -> BTreeMap<String, BTreeMap<i32, i64>> {
    let mut out = BTreeMap::new();
    if let Some(sources) = commit.get("sources").and_then(Value::as_object) {
        for (topic, partitions) in sources {
            let parts = partitions
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(p, o)| Some((p.parse().ok()?, o.as_i64()?)))
                        .collect()
                })
                .unwrap_or_default();
            out.insert(topic.clone(), parts);
        }
    }
    out
}

/// Running query ids, and the queries that stopped with an error.
async fn queries(session: &Session) -> Result<(Vec<String>, Vec<FailedQuery>), String> {
    let results = session
        .execute("SHOW QUERIES EXTENDED;")
        .await
        .map_err(|e| format!("SHOW QUERIES failed: {e}"))?;
    let mut running = Vec::new();
    let mut failed = Vec::new();
    for result in &results {
        let Some(rows) = result.rows() else { continue };
        let col = |name: &str| rows.columns.iter().position(|c| c == name);
        let (Some(id), Some(status), error) = (col("Query ID"), col("Status"), col("Error")) else {
            continue;
        };
        for row in &rows.rows {
            if row[status].starts_with("RUNNING") {
                running.push(row[id].clone());
            } else {
                failed.push(FailedQuery {
                    id: row[id].clone(),
                    error: error.map(|e| row[e].clone()).unwrap_or_default(),
                });
            }
        }
    }
    Ok((running, failed))
}
