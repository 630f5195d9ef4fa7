//! The interactive loop: reads lines with rustyline (history, completion), gathers them until a
//! statement ends with `;`, runs it, and handles the shell's own commands (`help`, `\?`,
//! `\timing`, `exit`, `quit`).

use std::path::PathBuf;

use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{Config, Editor};

use super::complete::{Names, ShellHelper};
use super::session::Session;
use super::split::split_statements;
use crate::error::CliError;

/// The help text for `help` and `\?`.
pub const HELP: &str = "\
Sluice shell: end each SQL statement with `;` (it may span lines).
  SHOW STREAMS; SHOW TABLES; SHOW TOPICS; SHOW QUERIES;   what exists
  DESCRIBE name;                                           columns of a stream or table
  PRINT topic [FROM BEGINNING] [LIMIT n];                  raw records of a topic, live
  SELECT ... FROM stream EMIT CHANGES [LIMIT n];           push query: rows as they arrive
  CREATE STREAM ... AS SELECT ...;                         persistent query
Ctrl-C cancels a running query; at the prompt it clears the line.
Shell commands (no `;` needed):
  help, \\?       this help
  \\timing        toggle the elapsed time shown after each statement
  exit, quit, \\q leave the shell (Ctrl-D too)
";

/// A line that is a shell command rather than SQL.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Help,
    Timing,
    Quit,
}

fn shell_command(line: &str) -> Option<Command> {
    let line = line.trim().trim_end_matches(';').trim();
    match line.to_ascii_lowercase().as_str() {
        "help" | "\\?" | "\\h" => Some(Command::Help),
        "\\timing" => Some(Command::Timing),
        "exit" | "quit" | "\\q" => Some(Command::Quit),
        _ => None,
    }
}

/// Statements that change the catalog, after which completion names are refreshed.
fn is_ddl(statement: &str) -> bool {
    let first = super::split::strip_comments(statement)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    matches!(first.as_str(), "CREATE" | "DROP" | "RUN" | "ALTER")
}

/// Where history is kept: `$SLUICE_HISTORY`, else `~/.sluice_history`, else none.
fn history_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SLUICE_HISTORY") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".sluice_history"))
}

/// Runs the REPL until Ctrl-D, `exit` or `quit`.
pub async fn run(session: &mut Session) -> Result<(), CliError> {
    session.interactive = true;
    let names = Names::default();
    names.refresh(session.client()).await;
    let config = Config::builder().auto_add_history(false).build();
    let mut editor: Editor<ShellHelper, FileHistory> = Editor::with_config(config)
        .map_err(|e| CliError::Usage(format!("cannot open the terminal: {e}")))?;
    editor.set_helper(Some(ShellHelper {
        names: names.clone(),
    }));
    let history = history_path();
    if let Some(path) = &history {
        // A missing history file is normal on first use.
        let _ = editor.load_history(path);
    }
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            "sluice> "
        } else {
            "   ...> "
        };
        let line = tokio::task::block_in_place(|| editor.readline(prompt));
        let line = match line {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(CliError::Usage(format!("cannot read the terminal: {e}"))),
        };
        if buffer.is_empty() {
            match shell_command(&line) {
                Some(Command::Quit) => break,
                Some(Command::Help) => {
                    print!("{HELP}");
                    continue;
                }
                Some(Command::Timing) => {
                    session.timing = !session.timing;
                    println!("Timing is {}.", if session.timing { "on" } else { "off" });
                    continue;
                }
                None => {}
            }
        }
        if !buffer.is_empty() {
            buffer.push('\n');
        }
        buffer.push_str(&line);
        let (statements, rest) = split_statements(&buffer);
        if statements.is_empty() {
            if rest.is_empty() {
                buffer.clear();
            }
            continue;
        }
        let _ = editor.add_history_entry(buffer.trim());
        if let Some(path) = &history
            && let Err(e) = editor.save_history(path)
        {
            tracing::debug!(error = %e, "cannot save the history");
        }
        buffer = rest;
        let mut changed = false;
        for statement in statements {
            session.run(&statement).await?;
            changed |= is_ddl(&statement);
        }
        if changed {
            names.refresh(session.client()).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_commands() {
        assert_eq!(shell_command("  help "), Some(Command::Help));
        assert_eq!(shell_command("\\?"), Some(Command::Help));
        assert_eq!(shell_command("\\timing"), Some(Command::Timing));
        assert_eq!(shell_command("QUIT;"), Some(Command::Quit));
        assert_eq!(shell_command("exit"), Some(Command::Quit));
        assert_eq!(shell_command("SELECT 1;"), None);
    }

    #[test]
    fn ddl_is_recognised() {
        assert!(is_ddl("create stream s (a int)"));
        assert!(is_ddl("-- x\nDROP TABLE t"));
        assert!(!is_ddl("SELECT * FROM s"));
    }
}
