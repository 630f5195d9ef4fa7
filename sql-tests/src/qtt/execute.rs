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

use base64::Engine as _;
use regex::Regex;
use serde_json::Value;
use sluice_broker::{Broker, BrokerConfig, Durability, Record, decode_records, new_record};
use sluice_engine::{Engine, EngineError, Session};

use super::case::{Case, ExpectedException, scalar_text};
use super::codec::{
    SourceShape, WindowShape, append_window, decode, encode_key, encode_value, split_window,
};
use super::compare::{Field, OutRecord, Window, diff_topic};
use super::post::check_post;
use super::settle::{FailedQuery, Settler};

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
        // A property Sluice refuses changes what the case tests: the case fails.
        let set = format!(
            "SET '{}'='{}';",
            k.replace('\'', "''"),
            v.replace('\'', "''")
        );
        if let Err(e) = session.execute(&set).await {
            return Ok(Verdict::Failed(format!("{set} was refused: {e}")));
        }
    }
    // ksqlDB runs a case's statements as one script, joined by newlines, so the positions in
    // its messages count from the first statement. Each statement runs on its own here (to say
    // which one failed) but keeps its place: it is preceded by the lines before it.
    let mut lines_before = 0;
    for (i, statement) in case.statements.iter().enumerate() {
        let placed = format!("{}{statement}", "\n".repeat(lines_before));
        lines_before += statement.matches('\n').count() + 1;
        if let Err(e) = session.execute(&placed).await {
            return Ok(match &case.expected_exception {
                Some(expected) => {
                    judge_rejection(expected, i, case.statements.len(), statement, &e)
                }
                None => Verdict::Failed(format!(
                    "statement {} failed: {e}\n      {}",
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
    let output_topics: BTreeSet<String> = case
        .outputs
        .iter()
        .filter_map(|o| o.get("topic").map(scalar_text))
        .collect();
    let mut actual: BTreeMap<String, Vec<OutRecord>> = BTreeMap::new();
    let mut positions: BTreeMap<(String, i32), i64> = BTreeMap::new();
    collect(broker, &shapes, &output_topics, &mut positions, &mut actual)?;
    let mut failed_queries: Vec<FailedQuery> = Vec::new();
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
        for q in settler.settle(broker, &session).await? {
            if !failed_queries.iter().any(|f| f.id == q.id) {
                failed_queries.push(q);
            }
        }
        collect(broker, &shapes, &output_topics, &mut positions, &mut actual)?;
    }
    if let Some(expected) = &case.expected_exception {
        return Ok(judge_stopped_queries(expected, &failed_queries));
    }
    let mut problems = Vec::new();
    for topic in &output_topics {
        let expected: Vec<OutRecord> = case
            .outputs
            .iter()
            .filter(|o| o.get("topic").map(scalar_text).as_deref() == Some(topic))
            .map(expected_record)
            .collect::<Result<_, _>>()?;
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

/// The Java exception a Sluice rejection stands for, as ksqlDB would throw it: parse errors
/// are `ParseFailedException`, every other statement rejection a `KsqlStatementException`.
pub fn exception_class(error: &EngineError) -> &'static str {
    match error {
        EngineError::Parse(_) => PARSE_FAILED,
        EngineError::Prepare(inner) => exception_class(inner),
        _ => STATEMENT_EXCEPTION,
    }
}

const PARSE_FAILED: &str = "io.confluent.ksql.parser.exception.ParseFailedException";
const STATEMENT_EXCEPTION: &str = "io.confluent.ksql.util.KsqlStatementException";
const KSQL_EXCEPTION: &str = "io.confluent.ksql.util.KsqlException";
const STREAMS_EXCEPTION: &str = "org.apache.kafka.streams.errors.StreamsException";

/// Whether an exception of class `actual` is an instance of `expected` (Java's `instanceOf`
/// over ksqlDB's hierarchy: ParseFailedException < KsqlStatementException < KsqlException).
pub fn is_instance_of(actual: &str, expected: &str) -> bool {
    let ancestors: &[&str] = match actual {
        PARSE_FAILED => &[PARSE_FAILED, STATEMENT_EXCEPTION, KSQL_EXCEPTION],
        STATEMENT_EXCEPTION => &[STATEMENT_EXCEPTION, KSQL_EXCEPTION],
        KSQL_EXCEPTION => &[KSQL_EXCEPTION],
        STREAMS_EXCEPTION => &[STREAMS_EXCEPTION],
        _ => &[],
    };
    ancestors.contains(&expected)
}

/// The verdict on a case that expects a rejection when statement `index` (of `count`) was
/// rejected with `error`. As in ksqlDB's harness, which runs the statements as one script and
/// stops at the first failure, the rejected statement must be the last one (a case lists no
/// statements after the one ksqlDB refuses); the exception must be an instance of the expected
/// type; the message must contain the expected text, or, for a statement exception, the
/// message followed by `\nStatement: ` and the statement (ksqlDB's unlogged message).
fn judge_rejection(
    expected: &ExpectedException,
    index: usize,
    count: usize,
    statement: &str,
    error: &EngineError,
) -> Verdict {
    let message = error.to_string();
    let class = exception_class(error);
    if index + 1 != count {
        return Verdict::Failed(format!(
            "statement {} of {count} was rejected, but ksqlDB rejects the last one ({}): {message}\n      {}",
            index + 1,
            expected.kind,
            statement.trim()
        ));
    }
    if !is_instance_of(class, &expected.kind) {
        return Verdict::Failed(format!(
            "statement {} was rejected as {class}, expected {}: {message}",
            index + 1,
            expected.kind
        ));
    }
    if let Some(m) = &expected.message {
        let unlogged = format!("{message}\nStatement: {}", statement.trim());
        let matches = message.contains(m.as_str())
            || (is_instance_of(class, STATEMENT_EXCEPTION) && unlogged.contains(m.as_str()));
        if !matches {
            return Verdict::Failed(format!(
                "statement {} was rejected with another message:\n      expected: {m}\n      actual:   {message}",
                index + 1
            ));
        }
    }
    Verdict::Passed
}

/// The verdict on a case that expects a rejection when every statement succeeded: only a
/// runtime error (`StreamsException`) can still come, as a query stopped by a record; its
/// error must contain the expected cause message (or message).
fn judge_stopped_queries(expected: &ExpectedException, stopped: &[FailedQuery]) -> Verdict {
    let wanted = expected
        .cause_message
        .as_deref()
        .or(expected.message.as_deref());
    if is_instance_of(STREAMS_EXCEPTION, &expected.kind) {
        if stopped
            .iter()
            .any(|q| wanted.is_none_or(|m| q.error.contains(m)))
        {
            return Verdict::Passed;
        }
        let errors: Vec<_> = stopped
            .iter()
            .map(|q| format!("{}: {}", q.id, q.error))
            .collect();
        return Verdict::Failed(format!(
            "expected a query to stop with {}{} but {}",
            expected.kind,
            wanted.map(|m| format!(": {m}")).unwrap_or_default(),
            if errors.is_empty() {
                "none stopped".to_string()
            } else {
                format!("only these stopped: {}", errors.join("; "))
            }
        ));
    }
    Verdict::Failed(format!(
        "expected a rejection ({}{}) but every statement succeeded",
        expected.kind,
        expected
            .message
            .as_deref()
            .map(|m| format!(": {m}"))
            .unwrap_or_default()
    ))
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

/// Every stream and table by topic (the first source declared over a topic wins), each with
/// the window its statement declares.
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
    let mut described = Vec::new();
    for name in names {
        if let Some(shape) = describe(session, &name).await {
            described.push(shape);
        }
    }
    let windows = declared_windows(&described);
    let mut shapes = BTreeMap::new();
    for mut shape in described {
        shape.window = windows.get(&shape.name.to_uppercase()).copied().flatten();
        shapes.entry(shape.topic.clone()).or_insert(shape);
    }
    Ok(shapes)
}

/// The window each source's statement declares, by upper-cased name: `WINDOW TUMBLING|HOPPING
/// (SIZE n UNIT ...)` or `WINDOW SESSION (...)` in its query, `WINDOW_TYPE` and `WINDOW_SIZE` in
/// its WITH clause, or, for a query without WINDOW and GROUP BY, the window of the source it
/// reads (`FROM X`). This is the window ksqlDB's metastore records for the sink and decodes
/// its keys with; the engine's keys must carry exactly it.
pub fn declared_windows(sources: &[SourceShape]) -> BTreeMap<String, Option<WindowShape>> {
    let clause = Regex::new(
        r"(?is)\bWINDOW\s+(TUMBLING|HOPPING|SESSION)\s*\(\s*(?:SIZE\s+)?(\d+)\s*([A-Z_]+)",
    )
    .expect("window clause regex");
    let with_type = Regex::new(r"(?i)\bWINDOW_TYPE\s*=\s*'([A-Z_]+)'").expect("regex");
    let with_size =
        Regex::new(r"(?i)\bWINDOW_SIZE\s*=\s*'\s*(\d+)\s*([A-Z_]+)\s*'").expect("regex");
    let group_by = Regex::new(r"(?i)\bGROUP\s+BY\b").expect("regex");
    let from = Regex::new(r#"(?i)\bFROM\s+[`"]?([A-Z0-9_]+)"#).expect("regex");
    let mut own: BTreeMap<String, Option<WindowShape>> = BTreeMap::new();
    let mut reads: BTreeMap<String, String> = BTreeMap::new();
    for s in sources {
        let name = s.name.to_uppercase();
        let shape = |kind: &str, size: Option<i64>| {
            if kind.eq_ignore_ascii_case("SESSION") {
                WindowShape::Session
            } else {
                WindowShape::Time(size)
            }
        };
        let declared = if let Some(c) = clause.captures(&s.statement) {
            Some(shape(&c[1], duration_ms(&c[2], &c[3])))
        } else if let Some(c) = with_type.captures(&s.statement) {
            let size = with_size
                .captures(&s.statement)
                .and_then(|z| duration_ms(&z[1], &z[2]));
            Some(shape(&c[1], size))
        } else {
            if !group_by.is_match(&s.statement)
                && let Some(f) = from.captures(&s.statement)
            {
                reads.insert(name.clone(), f[1].to_uppercase());
            }
            None
        };
        own.insert(name, declared);
    }
    let mut out = own.clone();
    for name in own.keys() {
        // Follow FROM until a declared window (bounded: a chain visits each source once).
        let mut at = name.clone();
        for _ in 0..own.len() {
            if let Some(w) = own.get(&at).copied().flatten() {
                out.insert(name.clone(), Some(w));
                break;
            }
            match reads.get(&at) {
                Some(next) => at = next.clone(),
                None => break,
            }
        }
    }
    out
}

/// `n UNIT` in ms (ksqlDB's time units, singular or plural).
fn duration_ms(n: &str, unit: &str) -> Option<i64> {
    let n: i64 = n.parse().ok()?;
    let unit = unit.to_uppercase();
    let per = match unit.trim_end_matches('S') {
        "MILLISECOND" => 1,
        "SECOND" => 1_000,
        "MINUTE" => 60_000,
        "HOUR" => 3_600_000,
        "DAY" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(per)
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
        statement: d.statement.clone(),
        window: None,
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
        append_window(&mut bytes, &window_of(w)?);
        key = Some(bytes);
    }
    let value =
        encode_value(shape, input.get("value").unwrap_or(&null)).map_err(|e| e.to_string())?;
    let timestamp = input.get("timestamp").and_then(Value::as_i64).unwrap_or(0);
    let mut record = new_record(key.as_deref(), value.as_deref(), timestamp);
    for (k, v) in headers_of(input)? {
        let v = v
            .map(|b64| base64::engine::general_purpose::STANDARD.decode(b64))
            .transpose()
            .map_err(|e| format!("header {k} is not base64: {e}"))?;
        record.headers.insert(k.into(), v.map(bytes::Bytes::from));
    }
    Ok((topic, record))
}

/// A test record's `headers` (`[{"KEY": k, "VALUE": base64}]`), empty when absent.
fn headers_of(record: &Value) -> Result<Vec<(String, Option<String>)>, String> {
    let Some(list) = record.get("headers") else {
        return Ok(Vec::new());
    };
    let list = list.as_array().ok_or("headers is not a list")?;
    list.iter()
        .map(|h| {
            let key = h
                .get("KEY")
                .map(scalar_text)
                .ok_or("a header without KEY")?;
            let value = h.get("VALUE").filter(|v| !v.is_null()).map(scalar_text);
            Ok((key, value))
        })
        .collect()
}

/// A test record's `window` (`{start, end, type}`; missing numbers are 0, as ksqlDB reads them).
fn window_of(w: &Value) -> Result<Window, String> {
    let kind = w
        .get("type")
        .map(scalar_text)
        .ok_or("a window without a type")?
        .to_lowercase();
    if kind != "time" && kind != "session" {
        return Err(format!("unknown window type {kind}"));
    }
    Ok(Window {
        kind,
        start: w.get("start").and_then(Value::as_i64).unwrap_or(0),
        end: Some(w.get("end").and_then(Value::as_i64).unwrap_or(0)),
    })
}

/// An expected output record from the test file.
fn expected_record(o: &Value) -> Result<OutRecord, String> {
    Ok(OutRecord {
        key: Field::Json(o.get("key").cloned().unwrap_or(Value::Null)),
        value: Field::Json(o.get("value").cloned().unwrap_or(Value::Null)),
        timestamp: o.get("timestamp").and_then(Value::as_i64),
        window: o.get("window").map(window_of).transpose()?,
        headers: headers_of(o)?,
    })
}

/// Appends what was written to the output topics since the last call, per topic in partition
/// then offset order.
fn collect(
    broker: &Broker,
    shapes: &BTreeMap<String, SourceShape>,
    topics: &BTreeSet<String>,
    positions: &mut BTreeMap<(String, i32), i64>,
    actual: &mut BTreeMap<String, Vec<OutRecord>>,
) -> Result<(), String> {
    for topic in topics {
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
                    actual
                        .entry(topic.clone())
                        .or_default()
                        .push(actual_record(shape, r));
                }
                *position = last + 1;
            }
        }
    }
    Ok(())
}

/// An output record read back in its source's formats; a windowed source's keys lose their
/// window bytes to [`OutRecord::window`] first.
fn actual_record(shape: Option<&SourceShape>, r: &Record) -> OutRecord {
    let key_format = shape.map(|s| s.key_format.as_str());
    let key_columns = shape.map(|s| s.key.as_slice()).unwrap_or_default();
    let value_format = shape.map(|s| s.value_format.as_str());
    let value_columns = shape.map(|s| s.value.as_slice()).unwrap_or_default();
    let (key, window) = match (shape.and_then(|s| s.window), r.key.as_deref()) {
        (Some(w), Some(bytes)) => match split_window(bytes, w) {
            Some((inner, window)) => (decode(key_format, key_columns, Some(inner)), Some(window)),
            None => (
                Field::undecodable("windowed key", "too short for its window", bytes),
                None,
            ),
        },
        (_, bytes) => (decode(key_format, key_columns, bytes), None),
    };
    let headers = r
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                v.as_ref()
                    .map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
            )
        })
        .collect();
    OutRecord {
        key,
        value: decode(value_format, value_columns, r.value.as_deref()),
        timestamp: Some(r.timestamp),
        window,
        headers,
    }
}

/// Judges records written straight into a sink topic, without an engine: the runner's own
/// check that its reading and comparing are strict (sql-tests/qtt-cases/bytes/). `test` has
/// `source` (the sink as DESCRIBE would show it: `name`, `topic`, `keyFormat`, `valueFormat`,
/// `key` and `value` as `[[NAME, TYPE]]`, `statement`), `written` (records: `key`/`value` as
/// text, or `keyHex`/`valueHex`, `timestamp`, optional `window` appended to the key bytes as
/// Kafka Streams does, `headers`) and ksqlDB's `outputs` for the topic. The written records go
/// through the same reading and comparison as an engine's output.
pub fn judge_written(test: &Value) -> Result<Verdict, String> {
    let source = test.get("source").ok_or("no source")?;
    let text = |k: &str| source.get(k).map(scalar_text).unwrap_or_default();
    let columns = |k: &str| -> Vec<(String, String)> {
        source
            .get(k)
            .and_then(Value::as_array)
            .map(|cols| {
                cols.iter()
                    .filter_map(|c| Some((scalar_text(c.get(0)?), scalar_text(c.get(1)?))))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut shape = SourceShape {
        name: text("name"),
        kind: "STREAM".into(),
        topic: text("topic"),
        key_format: text("keyFormat"),
        value_format: text("valueFormat"),
        key: columns("key"),
        value: columns("value"),
        statement: text("statement"),
        window: None,
    };
    shape.window = declared_windows(std::slice::from_ref(&shape))
        .get(&shape.name.to_uppercase())
        .copied()
        .flatten();
    let bytes = |r: &Value, k: &str| -> Result<Option<Vec<u8>>, String> {
        if let Some(hex) = r.get(format!("{k}Hex")) {
            let hex = scalar_text(hex);
            return (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("x"), 16))
                .collect::<Result<Vec<u8>, _>>()
                .map(Some)
                .map_err(|e| format!("{k}Hex: {e}"));
        }
        Ok(r.get(k)
            .filter(|v| !v.is_null())
            .map(|v| scalar_text(v).into_bytes()))
    };
    let mut actual = Vec::new();
    for r in test
        .get("written")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut key = bytes(r, "key")?;
        if let Some(w) = r.get("window") {
            let mut k = key.unwrap_or_default();
            append_window(&mut k, &window_of(w)?);
            key = Some(k);
        }
        let value = bytes(r, "value")?;
        let ts = r.get("timestamp").and_then(Value::as_i64).unwrap_or(0);
        let mut record = new_record(key.as_deref(), value.as_deref(), ts);
        for (k, v) in headers_of(r)? {
            let v = v
                .map(|b64| base64::engine::general_purpose::STANDARD.decode(b64))
                .transpose()
                .map_err(|e| e.to_string())?;
            record.headers.insert(k.into(), v.map(bytes::Bytes::from));
        }
        actual.push(actual_record(Some(&shape), &record));
    }
    let expected = test
        .get("outputs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(expected_record)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(match diff_topic(&shape.topic, &expected, &actual) {
        None => Verdict::Passed,
        Some(d) => Verdict::Failed(d),
    })
}
