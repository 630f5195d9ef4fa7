//! `COPY (query) TO STDOUT [WITH (FORMAT text|csv [, HEADER])]`: a query's rows as COPY data.
//!
//! psql buffers a SELECT's rows until the statement ends, which never happens for a push query;
//! COPY data it prints as it arrives. So `COPY (SELECT ... EMIT CHANGES) TO STDOUT` is how a psql
//! user watches a push query: CopyOutResponse, then one CopyData per row (flushed per batch as
//! the query produces them), CopyDone and the tag `COPY n`. Pull queries and SHOW-style
//! statements work too. Values are written in Postgres' text representation (as DataRows in text
//! format), escaped the way `COPY ... TO` escapes them, by `pgwire`'s [`CopyEncoder`] fed through
//! `arrow-pg`'s encoders.

use std::sync::Arc;

use futures::{Sink, SinkExt};
use pgwire::api::portal::Format;
use pgwire::api::results::{CopyCsvOptions, CopyEncoder, CopyTextOptions, FieldInfo, Tag};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::{CopyDone, CopyOutResponse};

use crate::StatementResult;
use crate::catalog::result::Rows;
use crate::pgwire::cancel::{CancelSignal, next_batch_until};
use crate::pgwire::errors::user_error;
use crate::pgwire::respond::result_fields;

/// The data format of a COPY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFormat {
    /// Postgres' text format: tab-separated, `\N` for NULL, backslash escapes.
    Text,
    /// CSV, with a first line of column names if `header`.
    Csv {
        /// Whether the first line names the columns.
        header: bool,
    },
}

/// A parsed `COPY (query) TO STDOUT ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOut {
    /// The query inside the parentheses.
    pub query: String,
    /// How rows are written.
    pub format: CopyFormat,
}

/// Parses `sql` as `COPY (query) TO STDOUT [[WITH] (option, ...)] | [WITH] CSV [HEADER]`.
/// `None` if it is not a COPY statement; an error (SQLSTATE 0A000 or 42601) for a COPY Sluice
/// does not support (`COPY table FROM ...`, `TO 'file'`, binary).
pub fn parse_copy(sql: &str) -> Option<PgWireResult<CopyOut>> {
    let text = sql.trim().trim_end_matches(';').trim_end();
    let rest = strip_keyword(text, "COPY")?;
    Some(parse_copy_body(rest))
}

fn parse_copy_body(rest: &str) -> PgWireResult<CopyOut> {
    let rest = rest.trim_start();
    if !rest.starts_with('(') {
        return Err(user_error(
            "0A000",
            "Sluice supports COPY (query) TO STDOUT only: put the query in parentheses, \
             e.g. COPY (SELECT * FROM s EMIT CHANGES) TO STDOUT",
        ));
    }
    let close = matching_paren(rest)
        .ok_or_else(|| user_error("42601", "COPY: the query's parenthesis is never closed"))?;
    let query = rest[1..close].trim().to_owned();
    let after = &rest[close + 1..];
    let after = strip_keyword(after, "TO")
        .ok_or_else(|| user_error("0A000", "Sluice supports COPY (query) TO STDOUT only"))?;
    let options = strip_keyword(after, "STDOUT").ok_or_else(|| {
        user_error(
            "0A000",
            "COPY can write to STDOUT only (the server writes no files)",
        )
    })?;
    let format = parse_options(options)?;
    Ok(CopyOut { query, format })
}

/// The options after `TO STDOUT`: `WITH (FORMAT csv, HEADER)`, `(FORMAT text)`, `CSV HEADER`.
fn parse_options(options: &str) -> PgWireResult<CopyFormat> {
    let options = options.trim();
    let options = strip_keyword(options, "WITH").unwrap_or(options).trim();
    let words: Vec<String> = options
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split([',', ' ', '\t', '\n'])
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_matches('\'').to_ascii_uppercase())
        .collect();
    let mut csv = false;
    let mut header = false;
    let mut words = words.iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "FORMAT" => match words.next().map(String::as_str) {
                Some("CSV") => csv = true,
                Some("TEXT") => csv = false,
                other => {
                    return Err(user_error(
                        "0A000",
                        format!(
                            "COPY format {} is not supported (text or csv)",
                            other.unwrap_or("(missing)").to_ascii_lowercase()
                        ),
                    ));
                }
            },
            "CSV" => csv = true,
            "HEADER" => {
                header = true;
                // `HEADER true` / `HEADER false`
                if let Some(value) = words.clone().next()
                    && matches!(value.as_str(), "TRUE" | "FALSE" | "ON" | "OFF" | "1" | "0")
                {
                    header = matches!(value.as_str(), "TRUE" | "ON" | "1");
                    words.next();
                }
            }
            other => {
                return Err(user_error(
                    "0A000",
                    format!("COPY option {other} is not supported (FORMAT text|csv, HEADER)"),
                ));
            }
        }
    }
    if header && !csv {
        return Err(user_error(
            "0A000",
            "COPY HEADER available only in CSV mode",
        ));
    }
    Ok(if csv {
        CopyFormat::Csv { header }
    } else {
        CopyFormat::Text
    })
}

/// `text` without its leading `keyword` (case-insensitive, a whole word), or `None`.
fn strip_keyword<'a>(text: &'a str, keyword: &str) -> Option<&'a str> {
    let text = text.trim_start();
    let head = text.get(..keyword.len())?;
    let rest = &text[keyword.len()..];
    let boundary = rest
        .chars()
        .next()
        .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
    (head.eq_ignore_ascii_case(keyword) && boundary).then_some(rest)
}

/// The byte index of the parenthesis closing the one `text` starts with, skipping quoted text.
fn matching_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Writes `result` of `copy` as COPY data until it ends or `cancel` fires.
pub async fn write_copy<C>(
    client: &mut C,
    copy: &CopyOut,
    result: StatementResult,
    cancel: &mut CancelSignal,
) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: std::fmt::Debug,
    PgWireError: From<C::Error>,
{
    let Some(fields) = result_fields(&result, &Format::UnifiedText)? else {
        return Err(user_error(
            "0A000",
            "COPY needs a statement that returns rows (SELECT, SHOW, DESCRIBE ...)",
        ));
    };
    let fields = Arc::new(fields);
    let mut encoder = encoder_for(copy.format, fields.clone());
    client
        .send(PgWireBackendMessage::CopyOutResponse(CopyOutResponse::new(
            0,
            fields.len() as i16,
            vec![0; fields.len()],
        )))
        .await?;
    if copy.format == (CopyFormat::Csv { header: true }) {
        let names: Vec<String> = fields.iter().map(|f| f.name().to_owned()).collect();
        let header_fields = Arc::new(crate::pgwire::types::text_fields(
            &names,
            &Format::UnifiedText,
        ));
        let mut header = encoder_for(copy.format, header_fields);
        for name in &names {
            header.encode_field(&Some(name.as_str()))?;
        }
        client
            .feed(PgWireBackendMessage::CopyData(header.take_copy()))
            .await?;
    }
    let mut count = 0usize;
    match result {
        StatementResult::Stream(mut stream) => loop {
            let Some(batch) = next_batch_until(&mut stream, cancel, &copy.query, count).await?
            else {
                break;
            };
            let schema = batch.schema();
            for row in 0..batch.num_rows() {
                for (col, field) in fields.iter().enumerate() {
                    arrow_pg::encoder::encode_value(
                        &mut encoder,
                        batch.column(col),
                        row,
                        schema.field(col),
                        field,
                    )?;
                }
                client
                    .feed(PgWireBackendMessage::CopyData(encoder.take_copy()))
                    .await?;
                count += 1;
            }
            // Rows go out as the query produces them: psql prints them at once.
            client.flush().await?;
        },
        StatementResult::Rows(rows) => count = write_text(client, &mut encoder, &rows).await?,
        StatementResult::Description(_) | StatementResult::Status(_) => {
            // result_fields made these text rows; render them through the simple path.
            return Err(user_error(
                "0A000",
                "COPY of DESCRIBE is not supported; run DESCRIBE directly",
            ));
        }
    }
    client
        .feed(PgWireBackendMessage::CopyDone(CopyDone::new()))
        .await?;
    client
        .send(PgWireBackendMessage::CommandComplete(
            Tag::new("COPY").with_rows(count).into(),
        ))
        .await?;
    Ok(())
}

async fn write_text<C>(
    client: &mut C,
    encoder: &mut CopyEncoder,
    rows: &Rows,
) -> PgWireResult<usize>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: std::fmt::Debug,
    PgWireError: From<C::Error>,
{
    for row in &rows.rows {
        for value in row {
            encoder.encode_field(&Some(value.as_str()))?;
        }
        client
            .feed(PgWireBackendMessage::CopyData(encoder.take_copy()))
            .await?;
    }
    Ok(rows.rows.len())
}

fn encoder_for(format: CopyFormat, fields: Arc<Vec<FieldInfo>>) -> CopyEncoder {
    match format {
        CopyFormat::Text => CopyEncoder::new_text(fields, CopyTextOptions::default()),
        CopyFormat::Csv { .. } => CopyEncoder::new_csv(fields, CopyCsvOptions::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(sql: &str) -> CopyOut {
        match parse_copy(sql) {
            Some(Ok(copy)) => copy,
            Some(Err(e)) => panic!("{sql}: {e:?}"),
            None => panic!("{sql}: not a COPY"),
        }
    }

    #[test]
    fn copy_of_a_query_to_stdout_parses() {
        let copy = parsed("COPY (SELECT * FROM s EMIT CHANGES LIMIT 5) TO STDOUT;");
        assert_eq!(copy.query, "SELECT * FROM s EMIT CHANGES LIMIT 5");
        assert_eq!(copy.format, CopyFormat::Text);
        let copy = parsed("copy (select f(a, ')') from s) to stdout with (format csv, header)");
        assert_eq!(copy.query, "select f(a, ')') from s");
        assert_eq!(copy.format, CopyFormat::Csv { header: true });
        assert_eq!(
            parsed("COPY (SELECT 1) TO STDOUT CSV").format,
            CopyFormat::Csv { header: false }
        );
        assert_eq!(
            parsed("COPY (SELECT 1) TO STDOUT (FORMAT text)").format,
            CopyFormat::Text
        );
    }

    #[test]
    fn other_statements_are_not_copy() {
        assert!(parse_copy("SELECT * FROM copy_source").is_none());
        assert!(parse_copy("COPYRIGHT").is_none());
    }

    #[test]
    fn unsupported_copies_are_errors() {
        for sql in [
            "COPY s TO STDOUT",
            "COPY (SELECT 1) TO '/tmp/x'",
            "COPY (SELECT 1) FROM STDIN",
            "COPY (SELECT 1) TO STDOUT (FORMAT binary)",
            "COPY (SELECT 1) TO STDOUT (HEADER)",
            "COPY (SELECT 1 TO STDOUT",
        ] {
            assert!(matches!(parse_copy(sql), Some(Err(_))), "{sql}");
        }
    }
}
