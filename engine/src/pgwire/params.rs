//! Parameters of the extended protocol (`$1`, `$2` ...) turned into SQL literals.
//!
//! The engine plans ksqlDB SQL text, so a bound statement is executed as its text with each
//! `$n` outside strings, quoted identifiers and comments replaced by the literal of the value the
//! client bound ([`crate::pgwire::literal`]), read with the parameter's type: the type the client
//! gave in Parse, else the type planning infers (the column `$n` is compared with or inserted
//! into, see [`crate::Session::describe`]), else `text`. The same types are what Describe
//! reports, so a driver that asks (tokio-postgres, JDBC) sends its values in them.

use pgwire::api::Type;
use pgwire::api::portal::Portal;
use pgwire::error::PgWireResult;

use crate::pgwire::literal::literal;

/// A statement as the extended protocol keeps it between Parse and Execute.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// Its SQL text, `$n` included.
    pub sql: String,
    /// The type of each parameter (index n - 1): given by the client, inferred, or `text`.
    pub parameter_types: Vec<Type>,
}

/// How many parameters `sql` uses: the largest `$n` outside strings, identifiers and comments.
pub fn parameter_count(sql: &str) -> usize {
    let mut count = 0;
    scan(sql, |n| {
        count = count.max(n);
        None
    });
    count
}

/// `sql` with every `$n` replaced by `literals[n - 1]`; `None` for a `$n` with no literal.
pub fn substitute(sql: &str, literals: &[String]) -> Option<String> {
    let mut missing = false;
    let out = scan(sql, |n| {
        let literal = n.checked_sub(1).and_then(|i| literals.get(i)).cloned();
        missing |= literal.is_none();
        literal
    });
    (!missing).then_some(out)
}

/// The type of each of the `count` parameters: the client's (`declared`, from Parse) where it
/// gave one, else the one inferred by planning, else TEXT.
pub fn parameter_types(
    declared: &[Option<Type>],
    inferred: &[Option<Type>],
    count: usize,
) -> Vec<Type> {
    let given = |types: &[Option<Type>], i: usize| {
        types
            .get(i)
            .cloned()
            .flatten()
            .filter(|t| *t != Type::UNKNOWN)
    };
    (0..count)
        .map(|i| {
            given(declared, i)
                .or_else(|| given(inferred, i))
                .unwrap_or(Type::TEXT)
        })
        .collect()
}

/// The SQL literal of each parameter bound in `portal`, read with the statement's types in the
/// format (text or binary) the client bound each in.
pub fn literals(portal: &Portal<Prepared>) -> PgWireResult<Vec<String>> {
    let types = &portal.statement.statement.parameter_types;
    portal
        .parameters
        .iter()
        .enumerate()
        .map(|(index, value)| {
            let ty = types.get(index).unwrap_or(&Type::TEXT);
            let binary = portal.parameter_format.is_binary(index);
            literal(ty, binary, value.as_deref()).map_err(|e| e.into_pgwire(index))
        })
        .collect()
}

/// Copies `sql`, calling `replace` with n for each `$n` found outside strings ('...'), quoted
/// identifiers ("..." and `...`) and comments; a `Some` result replaces the `$n`.
fn scan(sql: &str, mut replace: impl FnMut(usize) -> Option<String>) -> String {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' | '"' | '`' => {
                // Copy up to the closing quote; a doubled quote stays inside.
                out.push(c);
                i += 1;
                while i < chars.len() {
                    out.push(chars[i]);
                    if chars[i] == c {
                        if chars.get(i + 1) == Some(&c) {
                            out.push(c);
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    out.push(chars[i]);
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                out.push_str("/*");
                i += 2;
                while i < chars.len() {
                    out.push(chars[i]);
                    i += 1;
                    if chars[i - 1] == '*' && chars.get(i) == Some(&'/') {
                        out.push('/');
                        i += 1;
                        break;
                    }
                }
            }
            '$' if chars.get(i + 1).is_some_and(char::is_ascii_digit) => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && chars[end].is_ascii_digit() {
                    end += 1;
                }
                let digits: String = chars[start..end].iter().collect();
                match digits.parse::<usize>().ok().and_then(&mut replace) {
                    Some(literal) => out.push_str(&literal),
                    None => out.extend(&chars[i..end]),
                }
                i = end;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_parameters_outside_strings_and_comments() {
        assert_eq!(
            parameter_count("SELECT * FROM s WHERE a > $1 AND b = $3"),
            3
        );
        assert_eq!(parameter_count("SELECT '$1', \"$2\" FROM s -- $4\n"), 0);
        assert_eq!(parameter_count("SELECT /* $9 */ 1"), 0);
    }

    #[test]
    fn substitutes_literals() {
        let literals = vec!["10".to_owned(), "'it''s'".to_owned()];
        assert_eq!(
            substitute("SELECT '$1' FROM s WHERE a > $1 AND b = $2", &literals).as_deref(),
            Some("SELECT '$1' FROM s WHERE a > 10 AND b = 'it''s'")
        );
        assert_eq!(substitute("SELECT $3", &literals), None);
        assert_eq!(
            substitute("SELECT 'a''$1' /* $1 */", &literals).as_deref(),
            Some("SELECT 'a''$1' /* $1 */")
        );
    }

    #[test]
    fn declared_types_win_then_inferred_then_text() {
        assert_eq!(parameter_types(&[], &[], 1), vec![Type::TEXT]);
        assert_eq!(
            parameter_types(&[None, Some(Type::INT8)], &[], 2),
            vec![Type::TEXT, Type::INT8]
        );
        assert_eq!(
            parameter_types(&[Some(Type::UNKNOWN)], &[Some(Type::FLOAT8)], 1),
            vec![Type::FLOAT8]
        );
        assert_eq!(
            parameter_types(&[Some(Type::INT4)], &[Some(Type::FLOAT8)], 1),
            vec![Type::INT4]
        );
    }
}
