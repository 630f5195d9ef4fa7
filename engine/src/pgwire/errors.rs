//! Engine errors as Postgres ErrorResponses: a SQLSTATE a driver can branch on, ksqlDB's message,
//! and for a syntax error the position of the offending token (psql draws its caret there).

use pgwire::error::{ErrorInfo, PgWireError};

use crate::EngineError;

/// SQLSTATE of `error` (see the Postgres "Error Codes" appendix).
pub fn sqlstate(error: &EngineError) -> &'static str {
    match error {
        EngineError::Parse(_) => "42601", // syntax_error
        EngineError::Invalid(_) | EngineError::At { .. } => "42000", // syntax_error_or_access_rule_violation
        EngineError::Plan(_) => "42000", // the SELECT does not plan (unknown column ...)
        EngineError::Unsupported(_) => "0A000", // feature_not_supported
        EngineError::Format(_) | EngineError::Type(_) | EngineError::Prepare(_) => "42804", // datatype_mismatch (a bad WITH value)
        EngineError::Query(_) => "XX000", // internal_error: the query failed while running
        EngineError::Broker(_) => "58000", // system_error: the log refused
        EngineError::CorruptCommand { .. } => "XX001", // data_corrupted
        EngineError::Script { .. } => "58030", // io_error
    }
}

/// 1-based character position in `sql` of the 1-based `line` and `column`, as Postgres reports
/// error positions.
pub fn char_position(sql: &str, line: u64, column: u64) -> u64 {
    let mut position = 0u64;
    for (index, text) in sql.split('\n').enumerate() {
        if index as u64 + 1 == line {
            return position + column;
        }
        // The line's characters plus its newline.
        position += text.chars().count() as u64 + 1;
    }
    position.max(1)
}

/// `error` as an ErrorResponse; `sql` is the text the position counts in.
pub fn error_info(error: &EngineError, sql: &str) -> ErrorInfo {
    let mut info = ErrorInfo::new(
        "ERROR".to_owned(),
        sqlstate(error).to_owned(),
        error.to_string(),
    );
    if let Some((line, column)) = error.position() {
        info.position = Some(char_position(sql, line, column).to_string());
    }
    info
}

/// `error` as the pgwire error the handlers return.
pub fn to_pgwire(error: &EngineError, sql: &str) -> PgWireError {
    PgWireError::UserError(Box::new(error_info(error, sql)))
}

/// A protocol-level refusal (a parameter of an unsupported type ...) with `code`.
pub fn user_error(code: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_owned(),
        code.to_owned(),
        message.into(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_across_lines() {
        assert_eq!(char_position("SELEC 1", 1, 1), 1);
        assert_eq!(char_position("SELECT 1;\nSELEC 2", 2, 1), 11);
        assert_eq!(char_position("SELECT 'é';\nX", 2, 1), 13);
        assert_eq!(char_position("ab\ncd", 2, 2), 5);
    }

    #[test]
    fn syntax_errors_carry_42601_and_a_position() {
        let script = "SELECT * FROM";
        let error = crate::sql::parse_script(script)
            .into_iter()
            .find_map(|s| s.result.err())
            .map(EngineError::from)
            .expect("an incomplete SELECT must not parse");
        let info = error_info(&error, script);
        assert_eq!(info.code, "42601");
        assert!(info.position.is_some(), "{info:?}");
    }
}
