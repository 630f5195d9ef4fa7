//! Looking up the source a statement names, with ksqlDB's messages and hints when it does not
//! exist: `Did you mean "input"?` when only the case differs, since unquoted names are upper-cased
//! and a quoted one keeps its case (the most common surprise for users coming from Postgres).

use datafusion::sql::sqlparser::ast::Ident;

use crate::catalog::error::{EngineError, Result};
use crate::catalog::{Catalog, SourceInfo};
use crate::sql::SourceKind;

/// ksqlDB's `MetaStore.checkAlternatives`: a hint naming the sources whose name differs from
/// `name` only by case (of `kind`, if given), or "" when there are none.
pub fn alternatives(catalog: &Catalog, name: &str, kind: Option<SourceKind>) -> String {
    let matched: Vec<&SourceInfo> = catalog
        .sources
        .values()
        .filter(|s| s.name.eq_ignore_ascii_case(name) && kind.is_none_or(|k| s.kind == k))
        .collect();
    match matched.as_slice() {
        [] => String::new(),
        [one] if one.name.chars().any(char::is_lowercase) => format!(
            "\nDid you mean \"{}\"? Hint: wrap the source name in double quotes to make it \
             case-sensitive.",
            one.name
        ),
        [one] => format!(
            "\nDid you mean {}? Hint: try removing double quotes from the source name.",
            one.name
        ),
        many => {
            let n = many.len();
            let mut hint = String::from("\nDid you mean ");
            for (i, s) in many.iter().enumerate() {
                let punctuation = if i + 2 < n {
                    ", "
                } else if i + 2 == n {
                    if i == 0 { " or " } else { ", or " }
                } else {
                    "? "
                };
                hint.push_str(&format!(
                    "\"{}\" ({}){punctuation}",
                    s.name,
                    s.kind.to_string().to_uppercase()
                ));
            }
            hint.push_str("Hint: wrap the source name in double quotes to make it case-sensitive.");
            hint
        }
    }
}

/// The source of `INSERT INTO name VALUES`, or ksqlDB's error for an unknown one.
pub fn insert_values_target<'a>(catalog: &'a Catalog, name: &Ident) -> Result<&'a SourceInfo> {
    catalog.sources.get(&name.value).ok_or_else(|| {
        EngineError::invalid(format!(
            "Cannot insert values into an unknown stream/table: `{}`{}",
            name.value,
            alternatives(catalog, &name.value, None)
        ))
    })
}

/// The sink of `INSERT INTO name SELECT`, or ksqlDB's error (positioned at the name) for an
/// unknown one.
pub fn insert_into_target<'a>(catalog: &'a Catalog, name: &Ident) -> Result<&'a SourceInfo> {
    catalog.sources.get(&name.value).ok_or_else(|| {
        EngineError::at(
            name.span,
            format!("Source `{}` does not exist.", name.value),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Column, SqlType};

    fn with(names: &[&str]) -> Catalog {
        let mut catalog = Catalog::default();
        for name in names {
            catalog.sources.insert(
                name.to_string(),
                SourceInfo::test_stream(name, [Column::key("ID", SqlType::Int)]),
            );
        }
        catalog
    }

    #[test]
    fn hints_name_the_other_case() {
        let err = insert_values_target(&with(&["input"]), &Ident::new("INPUT")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cannot insert values into an unknown stream/table: `INPUT`\nDid you mean \"input\"? \
             Hint: wrap the source name in double quotes to make it case-sensitive."
        );
        let err = insert_values_target(&with(&["INPUT"]), &Ident::new("input")).unwrap_err();
        assert!(
            err.to_string().ends_with(
                "Did you mean INPUT? Hint: try removing double quotes from the source name."
            ),
            "{err}"
        );
        assert_eq!(alternatives(&with(&["A"]), "B", None), "");
    }

    #[test]
    fn unknown_sink_is_placed_in_the_script() {
        let ident = Ident::with_span(
            datafusion::sql::sqlparser::tokenizer::Span::new((1, 13).into(), (1, 20).into()),
            "UNKNOWN",
        );
        let err = insert_into_target(&with(&[]), &ident)
            .unwrap_err()
            .placed(2, 1);
        assert_eq!(
            err.to_string(),
            "Line: 2, Col: 13: Source `UNKNOWN` does not exist."
        );
    }
}
