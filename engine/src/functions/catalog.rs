//! The catalog of scalar functions for `SHOW FUNCTIONS` and `DESCRIBE FUNCTION`.
//!
//! It lists ksqlDB's functions that Sluice implements itself (from each module's `SPECS`) and
//! the DataFusion built-ins that already behave as ksqlDB's do ([`super::builtin::SPECS`]), so a
//! user sees one list in ksqlDB's spelling whichever engine computes the function.

use super::udf::{Category, FunctionSpec};

/// What `DESCRIBE FUNCTION` prints about one function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionDescription {
    /// Upper-case name.
    pub name: &'static str,
    /// Other names it answers to.
    pub aliases: &'static [&'static str],
    /// Grouping for `SHOW FUNCTIONS` (`STRING`, `MATHEMATICAL`, ...).
    pub category: Category,
    /// What it does and how it treats NULL.
    pub description: &'static str,
    /// Each overload as `NAME(PARAM, ...) -> RETURN`, in ksqlDB type spelling.
    pub signatures: Vec<String>,
    /// True if DataFusion's own implementation is used.
    pub builtin: bool,
}

impl FunctionDescription {
    fn new(spec: &'static FunctionSpec, builtin: bool) -> Self {
        FunctionDescription {
            name: spec.name,
            aliases: spec.aliases,
            category: spec.category,
            description: spec.description,
            signatures: spec
                .sigs
                .iter()
                .map(|s| format!("{}{}", spec.name, s.display()))
                .collect(),
            builtin,
        }
    }
}

fn own_specs() -> impl Iterator<Item = &'static FunctionSpec> {
    [
        super::string::SPECS,
        super::split::SPECS,
        super::chr::SPECS,
        super::encoding::SPECS,
        super::mask::SPECS,
        super::regex::SPECS,
        super::math::SPECS,
        super::trig::SPECS,
        super::json::SPECS,
        super::collections::array::SPECS,
        super::collections::map::SPECS,
        super::elt::SPECS,
        super::url::SPECS,
        super::geo::SPECS,
        super::collections::build::SPECS,
        super::collections::reduce::SPECS,
        super::collections::lambda::SPECS,
        super::value::SPECS,
    ]
    .into_iter()
    .flatten()
    .chain(super::datetime::specs())
}

/// Every scalar function, sorted by name.
pub fn list_functions() -> Vec<FunctionDescription> {
    let mut all: Vec<FunctionDescription> = own_specs()
        .map(|s| FunctionDescription::new(s, false))
        .chain(
            super::builtin::SPECS
                .iter()
                .map(|s| FunctionDescription::new(s, true)),
        )
        .collect();
    all.sort_by(|a, b| a.name.cmp(b.name));
    all
}

/// The function called `name` (case-insensitive, aliases included), if there is one.
pub fn describe_function(name: &str) -> Option<FunctionDescription> {
    list_functions().into_iter().find(|f| {
        f.name.eq_ignore_ascii_case(name) || f.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_upper_case() {
        let all = list_functions();
        for pair in all.windows(2) {
            assert_ne!(
                pair[0].name, pair[1].name,
                "{} is described twice",
                pair[0].name
            );
        }
        for f in &all {
            assert_eq!(f.name, f.name.to_ascii_uppercase());
            assert!(!f.signatures.is_empty(), "{} has no signature", f.name);
            assert!(!f.description.is_empty(), "{} has no description", f.name);
        }
    }

    #[test]
    fn describe_finds_by_any_case_and_alias() {
        let f = describe_function("substr").expect("SUBSTRING is described");
        assert_eq!(f.name, "SUBSTRING");
        assert!(
            f.signatures
                .contains(&"SUBSTRING(VARCHAR, INT) -> VARCHAR".to_string())
        );
        assert!(describe_function("no_such_function").is_none());
    }
}
