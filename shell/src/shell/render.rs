//! How the shell shows results: tables that fit the terminal, command tags, elapsed times, and
//! errors with a caret under the position the server reported (as psql does).

use comfy_table::{ContentArrangement, Table, presets};

/// The terminal width, from the terminal itself, else `$COLUMNS`, else 100.
pub fn terminal_width() -> u16 {
    if let Some(width) = tty_width() {
        return width;
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|w: &u16| *w > 0)
        .unwrap_or(100)
}

#[allow(unsafe_code)]
fn tty_width() -> Option<u16> {
    // SAFETY: TIOCGWINSZ writes a `winsize` into the pointer we own; a failed call leaves it zero.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    (rc == 0 && size.ws_col > 0).then_some(size.ws_col)
}

/// A result table: column names and rows of text (`None` is SQL NULL).
pub fn render_table(columns: &[String], rows: &[Vec<Option<String>>], width: u16) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::ASCII_MARKDOWN)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width)
        .set_header(columns.iter().map(String::as_str));
    for row in rows {
        table.add_row(row.iter().map(|v| v.as_deref().unwrap_or("NULL")));
    }
    table.to_string()
}

/// The header line printed before the rows of a push query, which arrive one by one.
pub fn stream_header(columns: &[String]) -> String {
    let header = columns.join(" | ");
    let rule = "-".repeat(header.chars().count().max(3));
    format!("{header}\n{rule}")
}

/// One row of a push query, fields separated as in [`stream_header`].
pub fn stream_row(row: &[Option<String>]) -> String {
    row.iter()
        .map(|v| v.as_deref().unwrap_or("NULL"))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// `(n rows)` like psql, with the elapsed time when timing is on.
pub fn footer(rows: usize, elapsed: Option<std::time::Duration>) -> String {
    let rows = match rows {
        1 => "(1 row)".to_owned(),
        n => format!("({n} rows)"),
    };
    match elapsed {
        Some(elapsed) => format!("{rows}  {}", format_elapsed(elapsed)),
        None => rows,
    }
}

/// `Time: 12.345 ms`.
pub fn format_elapsed(elapsed: std::time::Duration) -> String {
    format!("Time: {:.3} ms", elapsed.as_secs_f64() * 1000.0)
}

/// An error as psql shows it: `ERROR:  message`, then, when the server sent a position (1-based,
/// in characters of `statement`), the line it falls on and a caret under it.
pub fn render_error(message: &str, statement: &str, position: Option<usize>) -> String {
    let mut out = format!("ERROR:  {message}");
    let Some(position) = position.filter(|p| *p > 0) else {
        return out;
    };
    let target = position - 1;
    let mut line_start = 0usize;
    for (line_no, line) in statement.split('\n').enumerate() {
        let len = line.chars().count();
        if target <= line_start + len {
            let prefix = format!("LINE {}: ", line_no + 1);
            let column = target - line_start;
            out.push('\n');
            out.push_str(&prefix);
            out.push_str(line);
            out.push('\n');
            out.push_str(&" ".repeat(prefix.len() + column));
            out.push('^');
            return out;
        }
        line_start += len + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_fit_the_width() {
        let columns = vec!["id".to_owned(), "description".to_owned()];
        let long = "word ".repeat(40);
        let rows = vec![vec![Some("1".to_owned()), Some(long)], vec![None, None]];
        let text = render_table(&columns, &rows, 40);
        assert!(text.lines().all(|l| l.chars().count() <= 40), "{text}");
        assert!(text.contains("description"));
        assert!(text.contains("NULL"));
    }

    #[test]
    fn caret_under_the_position() {
        let text = render_error("column \"nme\" not found", "SELECT nme\nFROM t", Some(8));
        assert_eq!(
            text,
            "ERROR:  column \"nme\" not found\nLINE 1: SELECT nme\n               ^"
        );
        let text = render_error("table not found", "SELECT a\nFROM nope", Some(15));
        assert_eq!(
            text,
            "ERROR:  table not found\nLINE 2: FROM nope\n             ^"
        );
    }

    #[test]
    fn no_position_no_caret() {
        assert_eq!(render_error("boom", "SELECT 1", None), "ERROR:  boom");
        assert_eq!(render_error("boom", "SELECT 1", Some(99)), "ERROR:  boom");
    }

    #[test]
    fn footer_counts_rows() {
        assert_eq!(footer(1, None), "(1 row)");
        assert_eq!(footer(3, None), "(3 rows)");
        let timed = footer(0, Some(std::time::Duration::from_micros(1500)));
        assert_eq!(timed, "(0 rows)  Time: 1.500 ms");
    }

    #[test]
    fn stream_lines_line_up() {
        let cols = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(stream_header(&cols), "a | b\n-----");
        assert_eq!(stream_row(&[Some("1".to_owned()), None]), "1 | NULL");
    }
}
