//! A [`StatementResult`] written as Postgres messages.
//!
//! - a command (`CREATE STREAM`, `INSERT`, `SET` ...) is a CommandComplete whose tag names the
//!   statement (`CREATE STREAM`, `INSERT 0 1`), preceded by a NoticeResponse carrying ksqlDB's
//!   message (`Stream created`), so psql shows it;
//! - SHOW / EXPLAIN / DESCRIBE are rows of `text` columns with the tag `SELECT n`;
//! - a query (push query, stream scan, PRINT) is a RowDescription from its Arrow schema and one
//!   DataRow per row. Each batch's rows are flushed as soon as the query produces them, so a push
//!   query streams; when the client is gone the write fails, the [`crate::RowStream`] is dropped
//!   and the query stops.

use std::sync::Arc;

use futures::{Sink, SinkExt};
use pgwire::api::portal::Format;
use pgwire::api::query::send_describe_response;
use pgwire::api::results::{DescribePortalResponse, FieldInfo, Tag};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::response::NoticeResponse;
use tracing::debug;

use crate::StatementResult;
use crate::catalog::result::{Rows, SourceDescription};
use crate::pgwire::cancel::{CancelSignal, next_batch_until};
use crate::pgwire::types::{batch_rows, schema_fields, text_fields, text_row};

/// The columns `result` returns rows in; `None` for a command, which returns none.
pub fn result_fields(
    result: &StatementResult,
    format: &Format,
) -> PgWireResult<Option<Vec<FieldInfo>>> {
    Ok(match result {
        StatementResult::Status(_) => None,
        StatementResult::Rows(rows) => Some(text_fields(&rows.columns, format)),
        StatementResult::Description(_) => Some(text_fields(&description_columns(), format)),
        StatementResult::Stream(stream) => Some(schema_fields(&stream.schema(), format)?),
    })
}

/// Writes `result` of the statement `sql`: a RowDescription first if `describe` (the simple
/// protocol; the extended protocol sent it on Describe), then its rows and CommandComplete.
/// Nothing can cancel it: see [`write_result_until`].
pub async fn write_result<C>(
    client: &mut C,
    sql: &str,
    result: StatementResult,
    format: &Format,
    describe: bool,
) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: std::fmt::Debug,
    PgWireError: From<C::Error>,
{
    write_result_until(
        client,
        sql,
        result,
        format,
        describe,
        &mut CancelSignal::never(),
    )
    .await
}

/// [`write_result`], stopped by `cancel`: the query's rows stop, its stream is dropped (which
/// stops the query) and the answer is the error SQLSTATE 57014.
pub async fn write_result_until<C>(
    client: &mut C,
    sql: &str,
    result: StatementResult,
    format: &Format,
    describe: bool,
    cancel: &mut CancelSignal,
) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: std::fmt::Debug,
    PgWireError: From<C::Error>,
{
    let fields = result_fields(&result, format)?.map(Arc::new);
    if describe && let Some(fields) = &fields {
        send_describe_response(client, &DescribePortalResponse::new(fields.to_vec())).await?;
    }
    match (result, fields) {
        (StatementResult::Status(status), _) => {
            if !status.message.is_empty() {
                let notice =
                    ErrorInfo::new("NOTICE".to_owned(), "00000".to_owned(), status.message);
                client
                    .feed(PgWireBackendMessage::NoticeResponse(NoticeResponse::from(
                        notice,
                    )))
                    .await?;
            }
            complete(client, command_tag(sql)).await
        }
        (StatementResult::Rows(rows), Some(fields)) => {
            write_text_rows(client, &fields, &rows).await
        }
        (StatementResult::Description(description), Some(fields)) => {
            write_text_rows(client, &fields, &description_rows(&description)).await
        }
        (StatementResult::Stream(mut stream), Some(fields)) => {
            let mut count = 0usize;
            loop {
                // On a cancel, rows already fed go out before the error, as Postgres sends them.
                let Some(batch) = next_batch_until(&mut stream, cancel, sql, count).await? else {
                    break;
                };
                for row in batch_rows(&fields, batch) {
                    client.feed(PgWireBackendMessage::DataRow(row?)).await?;
                    count += 1;
                }
                // A push query's rows go out as they are produced, not when a buffer fills.
                client.flush().await?;
            }
            debug!(rows = count, "query ended");
            complete(client, Tag::new("SELECT").with_rows(count)).await
        }
        // result_fields gives fields for every result with rows.
        (_, None) => complete(client, Tag::new("SELECT").with_rows(0)).await,
    }
}

async fn write_text_rows<C>(
    client: &mut C,
    fields: &Arc<Vec<FieldInfo>>,
    rows: &Rows,
) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: std::fmt::Debug,
    PgWireError: From<C::Error>,
{
    for row in &rows.rows {
        client
            .feed(PgWireBackendMessage::DataRow(text_row(fields, row)?))
            .await?;
    }
    complete(client, Tag::new("SELECT").with_rows(rows.rows.len())).await
}

async fn complete<C>(client: &mut C, tag: Tag) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: std::fmt::Debug,
    PgWireError: From<C::Error>,
{
    client
        .send(PgWireBackendMessage::CommandComplete(tag.into()))
        .await?;
    Ok(())
}

fn description_columns() -> Vec<String> {
    crate::engine::DESCRIPTION_COLUMNS
        .map(str::to_owned)
        .to_vec()
}

/// DESCRIBE as rows of (Field, Type), as ksqlDB's CLI lays them out; EXTENDED details follow as
/// rows with an empty Type.
pub fn description_rows(description: &SourceDescription) -> Rows {
    let mut rows = Rows::new(&crate::engine::DESCRIPTION_COLUMNS);
    for field in &description.fields {
        let ty = match &field.annotation {
            Some(a) => format!("{}  {a}", field.sql_type),
            None => field.sql_type.clone(),
        };
        rows.rows.push(vec![field.name.clone(), ty]);
    }
    if description.extended {
        let text = description.to_string();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            rows.rows.push(vec![line.to_owned(), String::new()]);
        }
    }
    rows
}

/// The CommandComplete tag of a command: `INSERT 0 1` for INSERT, else the statement's leading
/// keywords (`CREATE STREAM`, `DROP TABLE`, `TERMINATE`, `SET`), as Postgres tags name commands.
pub fn command_tag(sql: &str) -> Tag {
    let words: Vec<String> = sql
        .split_whitespace()
        .take(6)
        .map(|w| w.trim_end_matches(';').to_ascii_uppercase())
        .collect();
    let first = words.first().map(String::as_str).unwrap_or("");
    match first {
        "INSERT" => Tag::new("INSERT").with_oid(0).with_rows(1),
        "CREATE" | "DROP" | "ALTER" | "ASSERT" => {
            // Skip OR REPLACE / IF [NOT] EXISTS style words to the object kind.
            let kind = words[1..]
                .iter()
                .find(|w| !matches!(w.as_str(), "OR" | "REPLACE" | "SOURCE" | "NOT"))
                .map(String::as_str)
                .unwrap_or("");
            Tag::new(format!("{first} {kind}").trim())
        }
        "" => Tag::new("EMPTY"),
        other => Tag::new(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_the_command() {
        assert_eq!(
            command_tag("CREATE STREAM s (id INT) WITH (...)"),
            Tag::new("CREATE STREAM")
        );
        assert_eq!(
            command_tag("create or replace table t AS SELECT 1"),
            Tag::new("CREATE TABLE")
        );
        assert_eq!(
            command_tag("CREATE SOURCE TABLE t (...)"),
            Tag::new("CREATE TABLE")
        );
        assert_eq!(command_tag("drop stream s;"), Tag::new("DROP STREAM"));
        assert_eq!(
            command_tag("INSERT INTO s VALUES (1)"),
            Tag::new("INSERT").with_oid(0).with_rows(1)
        );
        assert_eq!(command_tag("TERMINATE q1"), Tag::new("TERMINATE"));
        assert_eq!(command_tag("SET 'a'='b'"), Tag::new("SET"));
    }
}
