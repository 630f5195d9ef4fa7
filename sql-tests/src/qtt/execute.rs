//! Running one [`Case`] on a fresh broker and engine in a temporary directory.
//!
//! Order, as in ksqlDB's harness: declared and input topics are created first (partitions from
//! `topics` or the statement's `PARTITIONS`, else 1), `auto.offset.reset` is `earliest` and the
//! case's properties are SET, the statements run in order, then each input record is produced
//! and the queries settle before the next one (one epoch per record, see [`super::settle`]).
//! Sink records are collected after every step, so records of different partitions keep the
//! order they were written in.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use regex::Regex;
use serde_json::Value;
use sluice_broker::{Broker, BrokerConfig, Durability, Record, decode_records, new_record};
use sluice_engine::{Engine, Session};

use super::case::{Case, scalar_text};
use super::codec::{SourceShape, decode, encode_key, encode_value, split_window};
use super::compare::{OutRecord, diff_topic};
use super::post::check_post;
use super::settle::Settler;

/// What a case came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Everything compared matched.
    Passed,
    /// Something did not match, or the run failed: the reason, with a short diff.
    Failed(String),
    /// Not run: what it needs that does not exist yet.
    Skipped(String),
}

/// The verdict plus the kinds of post condition the runner could not check.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The verdict.
    pub verdict: Verdict,
    /// Post-condition kinds seen but not checked (`post.topics`, `keyFeatures` ...).
    pub unchecked: BTreeSet<String>,
}

/// Runs `case` in a fresh broker and engine under `dir`.
pub async fn run_case(case: &Case, dir: &Path) -> Outcome {
    let mut unchecked = BTreeSet::new();
    let verdict = match run(case, dir, &mut unchecked).await {
        Ok(v) => v,
        Err(reason) => Verdict::Failed(reason),
    };
    Outcome { verdict, unchecked }
}

async fn run(case: &Case, dir: &Path, unchecked: &mut BTreeSet<String>) -> Result<Verdict, String> {
    let broker = Broker::open(BrokerConfig::new(dir))
        .await
        .map_err(|e| format!("broker did not open: {e}"))?;
    let engine = Engine::open(broker.clone())
        .await
        .map_err(|e| format!("engine did not open: {e}"))?;
    let result = run_on(case, &broker, &engine, unchecked).await;
    engine.close().await;
    broker.shutdown().await;
    result
}

async fn run_on(
    case: &Case,
    broker: &Broker,
    engine: &Engine,
    unchecked: &mut BTreeSet<String>,
) -> Result<Verdict, String> {
    create_topics(case, broker)?;
    let session = engine.session();
    let mut properties = vec![("auto.offset.reset".to_string(), "earliest".to_string())];
    properties.extend(case.properties.iter().cloned());
    for (k, v) in &properties {
        // Properties Sluice does not know are refused by SET; the case runs without them.
        let _ = session
            .execute(&format!(
                "SET '{}'='{}';",
                k.replace('\'', "''"),
                v.replace('\'', "''")
            ))
            .await;
    }
    // ksqlDB runs a case's statements as one script, joined by newlines, so the positions in
    // its messages count from the first statement. Each statement runs on its own here (to say
    // which one failed) but keeps its place: it is preceded by the lines before it.
    let mut lines_before = 0;
    for (i, statement) in case.statements.iter().enumerate() {
        let placed = format!("{}{statement}", "\n".repeat(lines_before));
        lines_before += statement.matches('\n').count() + 1;
        if let Err(e) = session.execute(&placed).await {
            let message = e.to_string();
            return Ok(match &case.expected_exception {
                Some(expected) => match &expected.message {
                    Some(m) if !message.contains(m.as_str()) => Verdict::Failed(format!(
                        "statement {} was rejected with another message:\n      expected: {m}\n      actual:   {message}",
                        i + 1
                    )),
                    _ => Verdict::Passed,
                },
                None => Verdict::Failed(format!(
                    "statement {} failed: {message}\n      {}",
                    i + 1,
                    statement.trim()
                )),
            });
        }
    }
    let mut settler = Settler::default();
    settler.settle(broker, &session).await?;
    let shapes = describe_sources(&session).await?;
    // Topic → None, or Some(session?) when the expected records carry windows.
    let mut output_topics: BTreeMap<String, Option<bool>> = BTreeMap::new();
    for o in &case.outputs {
        if let Some(topic) = o.get("topic").map(scalar_text) {
            let window = o.get("window").map(window_is_session);
            let entry = output_topics.entry(topic).or_insert(None);
            *entry = entry.or(window);
        }
    }
    let mut actual: BTreeMap<String, Vec<OutRecord>> = BTreeMap::new();
    let mut positions: BTreeMap<(String, i32), i64> = BTreeMap::new();
    collect(broker, &shapes, &output_topics, &mut positions, &mut actual)?;
    let mut failed_queries = Vec::new();
    for (i, input) in case.inputs.iter().enumerate() {
        let (topic, record) =
            input_record(input, &shapes).map_err(|e| format!("input #{i}: {e}"))?;
        let partition = broker
            .partition_for_key(&topic, record.key.as_deref())
            .map_err(|e| format!("input #{i}: {e}"))?;
        let log = broker
            .partition(&topic, partition)
            .map_err(|e| format!("input #{i}: {e}"))?;
        log.append_records(&[record], Durability::Written)
            .await
            .map_err(|e| format!("input #{i}: {e}"))?;
        failed_queries = settler.settle(broker, &session).await?;
        collect(broker, &shapes, &output_topics, &mut positions, &mut actual)?;
    }
    if let Some(expected) = &case.expected_exception {
        return Ok(Verdict::Failed(format!(
            "expected a rejection ({}{}) but every statement succeeded",
            expected.kind,
            expected
                .message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        )));
    }
    let mut problems = Vec::new();
    for topic in output_topics.keys() {
        let expected: Vec<OutRecord> = case
            .outputs
            .iter()
            .filter(|o| o.get("topic").map(scalar_text).as_deref() == Some(topic))
            .map(expected_record)
            .collect();
        let got = actual.remove(topic).unwrap_or_default();
        if let Some(d) = diff_topic(topic, &expected, &got) {
            problems.push(d);
        }
    }
    problems.extend(check_post(case, &session, broker, unchecked).await);
    if problems.is_empty() {
        return Ok(Verdict::Passed);
    }
    for q in failed_queries {
        problems.push(format!("query {} stopped: {}", q.id, q.error));
    }
    Ok(Verdict::Failed(problems.join("\n    ")))
}

/// Creates the topics the case declares or reads from, before any statement runs.
fn create_topics(case: &Case, broker: &Broker) -> Result<(), String> {
    let mut wanted: BTreeMap<String, i32> = BTreeMap::new();
    for t in &case.topics {
        if let Some(name) = t.get("name").map(scalar_text) {
            let partitions = t.get("partitions").and_then(Value::as_i64).unwrap_or(1);
            wanted.insert(name, i32::try_from(partitions).unwrap_or(1));
        }
    }
    let topic_re = Regex::new(r"(?i)kafka_topic\s*=\s*'([^']*)'").map_err(|e| e.to_string())?;
    let parts_re = Regex::new(r"(?i)partitions\s*=\s*(\d+)").map_err(|e| e.to_string())?;
    let select_re = Regex::new(r"(?i)\bAS\s+SELECT\b").map_err(|e| e.to_string())?;
    for s in &case.statements {
        let upper = s.trim_start().to_uppercase();
        if !upper.starts_with("CREATE") || select_re.is_match(s) {
            continue;
        }
        if let Some(c) = topic_re.captures(s) {
            let partitions = parts_re
                .captures(s)
                .and_then(|p| p[1].parse().ok())
                .unwrap_or(1);
            wanted.entry(c[1].to_string()).or_insert(partitions);
        }
    }
    for input in &case.inputs {
        if let Some(topic) = input.get("topic").map(scalar_text) {
            wanted.entry(topic).or_insert(1);
        }
    }
    for (name, partitions) in wanted {
        if broker.topic(&name).is_none() {
            broker
                .create_topic(&name, partitions.max(1), &BTreeMap::new())
                .map_err(|e| format!("cannot create topic {name}: {e}"))?;
        }
    }
    Ok(())
}

/// Every stream and table by topic (the first source declared over a topic wins).
async fn describe_sources(session: &Session) -> Result<BTreeMap<String, SourceShape>, String> {
    let mut names = Vec::new();
    for list in ["SHOW STREAMS;", "SHOW TABLES;"] {
        let results = session.execute(list).await.map_err(|e| e.to_string())?;
        for r in &results {
            if let Some(rows) = r.rows() {
                names.extend(rows.rows.iter().filter_map(|row| row.first().cloned()));
            }
        }
    }
    let mut shapes = BTreeMap::new();
    for name in names {
        let Some(shape) = describe(session, &name).await else {
            continue;
        };
        shapes.entry(shape.topic.clone()).or_insert(shape);
    }
    Ok(shapes)
}

/// DESCRIBE EXTENDED of one source, as a [`SourceShape`] (None: it does not describe).
pub async fn describe(session: &Session, name: &str) -> Option<SourceShape> {
    let sql = format!("DESCRIBE `{}` EXTENDED;", name.replace('`', "``"));
    let results = session.execute(&sql).await.ok()?;
    let d = results.iter().find_map(|r| r.description())?;
    let mut shape = SourceShape {
        name: d.name.clone(),
        kind: d.kind.clone(),
        topic: d.topic.clone(),
        key_format: d.key_format.clone(),
        value_format: d.value_format.clone(),
        key: Vec::new(),
        value: Vec::new(),
    };
    for f in &d.fields {
        let column = (f.name.clone(), f.sql_type.clone());
        match f.annotation.as_deref() {
            Some(a) if a.contains("key") => shape.key.push(column),
            Some(_) => {}
            None if f.name == "ROWTIME" || f.name == "ROWPARTITION" || f.name == "ROWOFFSET" => {}
            None => shape.value.push(column),
        }
    }
    Some(shape)
}

/// The Kafka record for one test input.
fn input_record(
    input: &Value,
    shapes: &BTreeMap<String, SourceShape>,
) -> Result<(String, Record), String> {
    let topic = input
        .get("topic")
        .map(scalar_text)
        .ok_or("an input without a topic")?;
    let shape = shapes.get(&topic);
    let null = Value::Null;
    let mut key =
        encode_key(shape, input.get("key").unwrap_or(&null)).map_err(|e| e.to_string())?;
    if let Some(w) = input.get("window") {
        let mut bytes = key.unwrap_or_default();
        let start = w.get("start").and_then(Value::as_i64).unwrap_or(0);
        bytes.extend(start.to_be_bytes());
        if window_is_session(w) {
            let end = w.get("end").and_then(Value::as_i64).unwrap_or(start);
            bytes.extend(end.to_be_bytes());
        }
        key = Some(bytes);
    }
    let value =
        encode_value(shape, input.get("value").unwrap_or(&null)).map_err(|e| e.to_string())?;
    let timestamp = input.get("timestamp").and_then(Value::as_i64).unwrap_or(0);
    Ok((
        topic,
        new_record(key.as_deref(), value.as_deref(), timestamp),
    ))
}

fn window_is_session(w: &Value) -> bool {
    w.get("type")
        .map(scalar_text)
        .is_some_and(|t| t.eq_ignore_ascii_case("session"))
}

/// An expected output record from the test file.
fn expected_record(o: &Value) -> OutRecord {
    OutRecord {
        key: o.get("key").cloned().unwrap_or(Value::Null),
        value: o.get("value").cloned().unwrap_or(Value::Null),
        timestamp: o.get("timestamp").and_then(Value::as_i64),
        window: o.get("window").map(|w| {
            let start = w.get("start").and_then(Value::as_i64).unwrap_or(0);
            let end = w.get("end").and_then(Value::as_i64);
            (start, end.filter(|_| window_is_session(w)))
        }),
    }
}

/// Appends what was written to the output topics since the last call, per topic in partition
/// then offset order.
fn collect(
    broker: &Broker,
    shapes: &BTreeMap<String, SourceShape>,
    topics: &BTreeMap<String, Option<bool>>,
    positions: &mut BTreeMap<(String, i32), i64>,
    actual: &mut BTreeMap<String, Vec<OutRecord>>,
) -> Result<(), String> {
    for (topic, window) in topics {
        let Some(meta) = broker.topic(topic) else {
            continue;
        };
        let shape = shapes.get(topic);
        for p in 0..meta.partitions {
            let log = broker.partition(topic, p).map_err(|e| e.to_string())?;
            let position = positions
                .entry((topic.clone(), p))
                .or_insert_with(|| log.log_start_offset());
            let end = log.high_watermark();
            while *position < end {
                let read = log
                    .read(*position, 1024 * 1024)
                    .map_err(|e| e.to_string())?;
                let records = decode_records(&read.records).map_err(|e| e.to_string())?;
                let Some(last) = records.iter().map(|r| r.offset).max() else {
                    break;
                };
                for r in records.iter().filter(|r| r.offset >= *position) {
                    actual.entry(topic.clone()).or_default().push(match window {
                        Some(session) => windowed(shape, r, *session),
                        None => actual_record(shape, r),
                    });
                }
                *position = last + 1;
            }
        }
    }
    Ok(())
}

fn actual_record(shape: Option<&SourceShape>, r: &Record) -> OutRecord {
    let key_format = shape.map(|s| s.key_format.as_str());
    let key_columns = shape.map(|s| s.key.as_slice()).unwrap_or_default();
    let value_format = shape.map(|s| s.value_format.as_str());
    let value_columns = shape.map(|s| s.value.as_slice()).unwrap_or_default();
    OutRecord {
        key: decode(key_format, key_columns, r.key.as_deref()),
        value: decode(value_format, value_columns, r.value.as_deref()),
        timestamp: Some(r.timestamp),
        window: None,
    }
}

/// Reads a windowed key: cuts the window (start, and end for session windows) off the key
/// bytes, used when the expected records of the topic have windows.
fn windowed(shape: Option<&SourceShape>, r: &Record, session: bool) -> OutRecord {
    let mut out = actual_record(shape, r);
    if let Some((inner, start, end)) = r.key.as_deref().and_then(|k| split_window(k, session)) {
        let key_columns = shape.map(|s| s.key.as_slice()).unwrap_or_default();
        out.key = decode(
            shape.map(|s| s.key_format.as_str()),
            key_columns,
            Some(inner),
        );
        out.window = Some((start, end));
    }
    out
}
