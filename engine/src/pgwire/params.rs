//! Parameters of the extended protocol (`$1`, `$2` ...) turned into SQL literals.
//!
//! The engine plans ksqlDB SQL text, so a bound statement is executed as its text with each
//! `$n` outside strings, quoted identifiers and comments replaced by the literal of the value the
//! client bound: numbers as numbers, booleans as TRUE/FALSE, text as a quoted string ('' inside),
//! NULL as NULL. A parameter whose type the client did not give is described as TEXT.

use pgwire::api::Type;
use pgwire::api::portal::Portal;
use pgwire::error::PgWireResult;

use crate::pgwire::errors::user_error;

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

/// The type parameter `index` is described and decoded with: the client's, else TEXT.
pub fn parameter_type(declared: &[Option<Type>], index: usize) -> Type {
    declared
        .get(index)
        .cloned()
        .flatten()
        .filter(|t| *t != Type::UNKNOWN)
        .unwrap_or(Type::TEXT)
}

/// The SQL literal of each parameter bound in `portal`.
pub fn literals<S: Clone>(portal: &Portal<S>) -> PgWireResult<Vec<String>> {
    (0..portal.parameters.len())
        .map(|index| {
            let ty = parameter_type(&portal.statement.parameter_types, index);
            literal(portal, index, &ty)
        })
        .collect()
}

fn literal<S: Clone>(portal: &Portal<S>, index: usize, ty: &Type) -> PgWireResult<String> {
    fn or_null<T: ToString>(value: Option<T>) -> String {
        value.map_or_else(|| "NULL".to_owned(), |v| v.to_string())
    }
    Ok(match *ty {
        Type::BOOL => or_null(
            portal
                .parameter::<bool>(index, ty)?
                .map(|b| if b { "TRUE" } else { "FALSE" }),
        ),
        Type::INT2 => or_null(portal.parameter::<i16>(index, ty)?),
        Type::INT4 => or_null(portal.parameter::<i32>(index, ty)?),
        Type::INT8 => or_null(portal.parameter::<i64>(index, ty)?),
        Type::FLOAT4 => float(portal.parameter::<f32>(index, ty)?.map(f64::from), index)?,
        Type::FLOAT8 => float(portal.parameter::<f64>(index, ty)?, index)?,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => or_null(
            portal
                .parameter::<String>(index, ty)?
                .map(|s| format!("'{}'", s.replace('\'', "''"))),
        ),
        ref other => {
            return Err(user_error(
                "0A000",
                format!(
                    "parameter ${} has type {}; Sluice takes parameters of type boolean, \
                     smallint, integer, bigint, real, double precision or text",
                    index + 1,
                    other.name()
                ),
            ));
        }
    })
}

fn float(value: Option<f64>, index: usize) -> PgWireResult<String> {
    match value {
        None => Ok("NULL".to_owned()),
        Some(v) if v.is_finite() => Ok(format!("{v:?}")),
        Some(v) => Err(user_error(
            "22003",
            format!("parameter ${} is {v}, which SQL cannot write", index + 1),
        )),
    }
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
    fn undeclared_parameters_are_text() {
        assert_eq!(parameter_type(&[], 0), Type::TEXT);
        assert_eq!(parameter_type(&[None, Some(Type::INT8)], 1), Type::INT8);
        assert_eq!(parameter_type(&[Some(Type::UNKNOWN)], 0), Type::TEXT);
    }
}
