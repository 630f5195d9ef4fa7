//! A connection to a Sluice server over the Postgres wire, and running one statement on it:
//! pull results rendered as a table, push results (`EMIT CHANGES`, `PRINT`) printed row by row
//! as they arrive, Ctrl-C cancelling the running statement (a CancelRequest through
//! tokio-postgres' cancel token; if the server does not stop it, the connection is replaced).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::error::ErrorPosition;
use tokio_postgres::{AsyncMessage, Client, NoTls, SimpleQueryMessage};

use super::render;
use crate::error::CliError;

/// Where and as whom to connect.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Server host.
    pub host: String,
    /// Postgres-wire port.
    pub port: u16,
    /// User name.
    pub user: String,
    /// Password, when the server asks for one.
    pub password: Option<String>,
}

/// How a statement ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It completed.
    Done,
    /// The user cancelled it with Ctrl-C.
    Cancelled,
    /// The server answered with an error (already printed).
    Failed,
}

/// An open session: the client plus what to reconnect with.
pub struct Session {
    options: ConnectOptions,
    client: Client,
    /// The server's NoticeResponses (ksqlDB's messages: `Created query with ID ...`), in order.
    notices: mpsc::UnboundedReceiver<String>,
    /// Print the elapsed time after each statement.
    pub timing: bool,
    /// Ctrl-C cancels the running statement (interactive use); otherwise SIGINT ends the process.
    pub interactive: bool,
}

/// How long a cancelled statement may take to end before the connection is replaced.
const CANCEL_GRACE: Duration = Duration::from_secs(3);
/// How long a statement runs before a progress line appears on stderr.
const PROGRESS_AFTER: Duration = Duration::from_millis(800);

impl Session {
    /// Connects to the server.
    pub async fn connect(options: ConnectOptions) -> Result<Session, CliError> {
        let (client, notices) = open(&options).await?;
        Ok(Session {
            options,
            client,
            notices,
            timing: true,
            interactive: false,
        })
    }

    /// The client, for catalog lookups (completion).
    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn reconnect(&mut self) -> Result<(), CliError> {
        (self.client, self.notices) = open(&self.options).await?;
        Ok(())
    }

    /// The server's messages received so far, oldest first.
    fn take_notices(&mut self) -> Vec<String> {
        let mut notices = Vec::new();
        while let Ok(notice) = self.notices.try_recv() {
            notices.push(notice);
        }
        notices
    }

    /// Runs one statement, writing its result to stdout and any error to stderr.
    pub async fn run(&mut self, statement: &str) -> Result<Outcome, CliError> {
        if self.client.is_closed() {
            self.reconnect().await?;
        }
        let streaming = is_push(statement);
        let started = Instant::now();
        let mut stream = match self.client.simple_query_raw(statement).await {
            Ok(stream) => Box::pin(stream),
            Err(e) => return Ok(self.report(&e, statement)),
        };
        let mut columns: Vec<String> = Vec::new();
        let mut rows: Vec<Vec<Option<String>>> = Vec::new();
        let mut row_count = 0usize;
        let mut tag: Option<String> = None;
        let mut stdout = std::io::stdout();
        let show_progress = std::io::stderr().is_terminal() && !streaming;
        let mut progress = tokio::time::interval(Duration::from_millis(200));
        let mut progress_shown = false;
        let interactive = self.interactive;
        let ctrl_c = async move {
            if interactive {
                let _ = tokio::signal::ctrl_c().await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::pin!(ctrl_c);
        let outcome = loop {
            let message = tokio::select! {
                message = stream.next() => message,
                _ = &mut ctrl_c => {
                    clear_progress(&mut progress_shown);
                    break Outcome::Cancelled;
                }
                _ = progress.tick(), if show_progress => {
                    let elapsed = started.elapsed();
                    if elapsed >= PROGRESS_AFTER {
                        let spin = ['|', '/', '-', '\\'][(elapsed.as_millis() / 200 % 4) as usize];
                        eprint!("\r{spin} running… {:.1} s", elapsed.as_secs_f64());
                        let _ = std::io::stderr().flush();
                        progress_shown = true;
                    }
                    continue;
                }
            };
            match message {
                None => break Outcome::Done,
                Some(Err(e)) => {
                    clear_progress(&mut progress_shown);
                    break self.report(&e, statement);
                }
                Some(Ok(SimpleQueryMessage::RowDescription(cols))) => {
                    columns = cols.iter().map(|c| c.name().to_owned()).collect();
                    if streaming {
                        write_line(&mut stdout, &render::stream_header(&columns))?;
                    }
                }
                Some(Ok(SimpleQueryMessage::Row(row))) => {
                    let values: Vec<Option<String>> = (0..row.len())
                        .map(|i| row.get(i).map(str::to_owned))
                        .collect();
                    row_count += 1;
                    if streaming {
                        write_line(&mut stdout, &render::stream_row(&values))?;
                    } else {
                        rows.push(values);
                    }
                }
                Some(Ok(SimpleQueryMessage::CommandComplete(n))) => {
                    tag = Some(command_tag(statement, n));
                }
                Some(Ok(_)) => {}
            }
        };
        clear_progress(&mut progress_shown);
        let elapsed = self.timing.then(|| started.elapsed());
        match outcome {
            Outcome::Cancelled => {
                self.cancel(&mut stream).await?;
                eprintln!("Query cancelled after {row_count} rows.");
            }
            Outcome::Done => {
                if !columns.is_empty() {
                    if !streaming {
                        let table = render::render_table(&columns, &rows, render::terminal_width());
                        write_line(&mut stdout, &table)?;
                    }
                    write_line(&mut stdout, &render::footer(row_count, elapsed))?;
                } else {
                    // ksqlDB's message for the command (the server sends it as a notice before
                    // the command completes), else the command tag.
                    let notices = self.take_notices();
                    let mut line = if notices.is_empty() {
                        tag.unwrap_or_else(|| "OK".to_owned())
                    } else {
                        notices.join("\n")
                    };
                    if let Some(elapsed) = elapsed {
                        line = format!("{line}  {}", render::format_elapsed(elapsed));
                    }
                    write_line(&mut stdout, &line)?;
                }
            }
            Outcome::Failed => {}
        }
        Ok(outcome)
    }

    /// Asks the server to cancel, waits a little for the statement to end, and replaces the
    /// connection when it does not (a server without CancelRequest support, or a slow one).
    async fn cancel<S>(&mut self, stream: &mut std::pin::Pin<Box<S>>) -> Result<(), CliError>
    where
        S: futures::Stream<Item = Result<SimpleQueryMessage, tokio_postgres::Error>>,
    {
        if let Err(e) = self.client.cancel_token().cancel_query(NoTls).await {
            tracing::debug!(error = %e, "the cancel request failed");
        }
        let drained = tokio::time::timeout(CANCEL_GRACE, async {
            while let Some(message) = stream.next().await {
                if message.is_err() {
                    break;
                }
            }
        })
        .await;
        if drained.is_err() {
            tracing::debug!("the statement did not stop after the cancel request; reconnecting");
            self.reconnect().await?;
        }
        Ok(())
    }

    /// Prints the error (with a caret when the server sent a position).
    fn report(&self, error: &tokio_postgres::Error, statement: &str) -> Outcome {
        let text = match error.as_db_error() {
            Some(db) => {
                let position = match db.position() {
                    Some(ErrorPosition::Original(p)) => Some(*p as usize),
                    _ => None,
                };
                render::render_error(db.message(), statement, position)
            }
            None => format!("ERROR:  {error}"),
        };
        eprintln!("{text}");
        Outcome::Failed
    }
}

/// Connects; the connection's task forwards the server's notices to the returned receiver.
async fn open(
    options: &ConnectOptions,
) -> Result<(Client, mpsc::UnboundedReceiver<String>), CliError> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(&options.host)
        .port(options.port)
        .user(&options.user)
        .dbname("sluice")
        .application_name("sluice shell");
    if let Some(password) = &options.password {
        config.password(password);
    }
    let (client, mut connection) = config.connect(NoTls).await.map_err(|e| {
        CliError::Connect(format!(
            "cannot connect to {}:{}: {e}",
            options.host, options.port
        ))
    })?;
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notice(notice)) => {
                    // The session may be gone already; nothing to tell then.
                    let _ = sender.send(notice.message().to_owned());
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "the connection to the server ended");
                    break;
                }
            }
        }
    });
    Ok((client, receiver))
}

/// True for statements whose rows keep coming: push queries and PRINT.
pub fn is_push(statement: &str) -> bool {
    let upper = statement.to_ascii_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    words.first() == Some(&"PRINT") || words.windows(2).any(|w| w == ["EMIT", "CHANGES"])
}

/// The command tag to show for a statement without rows: the statement's first words and the
/// row count the server reported.
fn command_tag(statement: &str, rows: u64) -> String {
    let first = super::split::strip_comments(statement);
    let verb = first
        .split_whitespace()
        .next()
        .unwrap_or("OK")
        .to_ascii_uppercase();
    match verb.as_str() {
        "INSERT" => format!("INSERT 0 {rows}"),
        _ => verb,
    }
}

fn clear_progress(shown: &mut bool) {
    if *shown {
        eprint!("\r\x1b[2K");
        let _ = std::io::stderr().flush();
        *shown = false;
    }
}

fn write_line(out: &mut std::io::Stdout, line: &str) -> Result<(), CliError> {
    let mut lock = out.lock();
    writeln!(lock, "{line}")
        .and_then(|()| lock.flush())
        .map_err(|source| CliError::Io {
            context: "cannot write to stdout".to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_statements_are_recognised() {
        assert!(is_push("SELECT * FROM orders EMIT CHANGES"));
        assert!(is_push("select *\nfrom orders\nemit   changes limit 3"));
        assert!(is_push("PRINT demo_orders FROM BEGINNING"));
        assert!(!is_push("SELECT * FROM totals"));
    }

    #[test]
    fn command_tags() {
        assert_eq!(command_tag("insert into s values (1)", 1), "INSERT 0 1");
        assert_eq!(command_tag("-- c\ncreate stream s (a int)", 0), "CREATE");
    }
}
