//! Checking a case's `post` conditions against what the engine can tell about itself.
//!
//! Checked: each `post.sources` entry exists with its type (stream/table), its schema (compared
//! with DESCRIBE after normalizing spelling: `INTEGER` = `INT`, `VARCHAR` = `STRING`, quotes and
//! spaces ignored) and its key/value format names; `post.topics.blacklist` (no topic's name
//! matches the regex); `post.topics.topics` entries exist, with their partition count when
//! given. Not checked (reported once per run as unchecked kinds): serde features, registered
//! schemas and formats of post topics.

use std::collections::BTreeSet;

use regex::Regex;
use serde_json::Value;
use sluice_broker::Broker;
use sluice_engine::Session;

use super::case::{Case, scalar_text};
use super::execute::describe;

/// The problems found in `case.post` (empty: all checked conditions hold). Kinds that cannot
/// be checked are added to `unchecked`.
pub async fn check_post(
    case: &Case,
    session: &Session,
    broker: &Broker,
    unchecked: &mut BTreeSet<String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(post) = &case.post else {
        return problems;
    };
    for source in post
        .get("sources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        problems.extend(check_source(source, session, unchecked).await);
    }
    if let Some(topics) = post.get("topics") {
        problems.extend(check_topics(topics, broker, unchecked));
    }
    problems
}

async fn check_source(
    source: &Value,
    session: &Session,
    unchecked: &mut BTreeSet<String>,
) -> Option<String> {
    let name = source.get("name").map(scalar_text)?;
    let Some(shape) = describe(session, &name).await else {
        return Some(format!("post: source {name} does not exist"));
    };
    if let Some(kind) = source.get("type").map(scalar_text)
        && !kind.eq_ignore_ascii_case(&shape.kind)
    {
        return Some(format!(
            "post: {name} is a {}, expected a {kind}",
            shape.kind
        ));
    }
    if let Some(schema) = source.get("schema").map(scalar_text) {
        let actual = described_schema(session, &name).await.unwrap_or_default();
        if normalize(&schema) != normalize(&actual) {
            return Some(format!(
                "post: schema of {name}:\n      expected {schema}\n      actual   {actual}"
            ));
        }
    }
    for (key, actual) in [
        ("keyFormat", &shape.key_format),
        ("valueFormat", &shape.value_format),
    ] {
        let Some(expected) = source.get(key) else {
            continue;
        };
        let format = scalar_text(expected.get("format").unwrap_or(expected));
        if !format.eq_ignore_ascii_case(actual) {
            return Some(format!(
                "post: {key} of {name} is {actual}, expected {format}"
            ));
        }
        if expected.get("features").is_some() || expected.get("properties").is_some() {
            unchecked.insert(format!("post.sources.{key} features/properties"));
        }
    }
    for key in ["keyFeatures", "valueFeatures"] {
        if source.get(key).is_some() {
            unchecked.insert(format!("post.sources.{key}"));
        }
    }
    None
}

/// The schema as ksqlDB's post conditions write it: `ID INT KEY, NAME STRING`.
async fn described_schema(session: &Session, name: &str) -> Option<String> {
    let sql = format!("DESCRIBE `{}`;", name.replace('`', "``"));
    let results = session.execute(&sql).await.ok()?;
    let d = results.iter().find_map(|r| r.description())?;
    let columns: Vec<String> = d
        .fields
        .iter()
        .filter(|f| !matches!(f.name.as_str(), "ROWTIME" | "ROWPARTITION" | "ROWOFFSET"))
        .map(|f| {
            let suffix = match f.annotation.as_deref() {
                Some("(key)") => " KEY".to_string(),
                Some("(primary key)") => " PRIMARY KEY".to_string(),
                Some(other) => format!(" {}", other.trim_matches(['(', ')']).to_uppercase()),
                None => String::new(),
            };
            format!("{} {}{suffix}", f.name, f.sql_type)
        })
        .collect();
    Some(columns.join(", "))
}

/// Spelling-insensitive form of a schema string.
fn normalize(schema: &str) -> String {
    let upper = schema.to_uppercase().replace('`', "");
    let words = [("INTEGER", "INT"), ("VARCHAR", "STRING")];
    let mut out = upper;
    for (from, to) in words {
        if let Ok(re) = Regex::new(&format!(r"\b{from}\b")) {
            out = re.replace_all(&out, to).into_owned();
        }
    }
    let collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut s = collapsed;
    for sep in [",", "<", ">", "(", ")"] {
        s = s
            .replace(&format!(" {sep}"), sep)
            .replace(&format!("{sep} "), sep);
    }
    s
}

fn check_topics(topics: &Value, broker: &Broker, unchecked: &mut BTreeSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(pattern) = topics.get("blacklist").map(scalar_text) {
        match Regex::new(&format!("^(?:{pattern})$")) {
            Ok(re) => {
                for t in broker.topics() {
                    if re.is_match(&t.name) {
                        problems.push(format!(
                            "post: topic {} matches blacklist {pattern}",
                            t.name
                        ));
                    }
                }
            }
            Err(e) => problems.push(format!("post: blacklist {pattern} is not a regex: {e}")),
        }
    }
    for t in topics
        .get("topics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = t.get("name").map(scalar_text) else {
            continue;
        };
        let Some(meta) = broker.topic(&name) else {
            problems.push(format!("post: topic {name} does not exist"));
            continue;
        };
        if let Some(p) = t.get("partitions").and_then(Value::as_i64)
            && i64::from(meta.partitions) != p
        {
            problems.push(format!(
                "post: topic {name} has {} partitions, expected {p}",
                meta.partitions
            ));
        }
        for key in ["keyFormat", "valueFormat", "keySchema", "valueSchema"] {
            if t.get(key).is_some() {
                unchecked.insert(format!("post.topics.{key}"));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn schema_spelling_differences_are_ignored() {
        assert_eq!(
            normalize("`ID` INTEGER KEY, NAME VARCHAR, S STRUCT<A INTEGER, B ARRAY<STRING>>"),
            normalize("ID INT KEY,NAME STRING, S STRUCT< A INT,B ARRAY<STRING> >")
        );
        assert_ne!(normalize("ID INT KEY"), normalize("ID INT"));
    }
}
