//! Resolving a source's or sink's key and value formats from its `WITH (...)` properties:
//! `FORMAT`, `KEY_FORMAT`, `VALUE_FORMAT`, `WRAP_SINGLE_VALUE`, `KEY_DELIMITER`,
//! `VALUE_DELIMITER`, with ksqlDB's defaults, inheritance rules for `CREATE ... AS SELECT` and
//! error messages.
//!
//! Properties are read through a lookup function (`name -> value text`) so this module does not
//! depend on the parser's types: the catalog passes `|name| props.get_str(name)`.

use super::{FormatError, FormatKind, FormatOptions, RecordFormat, parse_delimiter};

/// Server-wide defaults (ksqlDB's `ksql.persistence.*` settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatDefaults {
    /// `ksql.persistence.default.format.key`; ksqlDB's default is KAFKA.
    pub key: FormatKind,
    /// `ksql.persistence.default.format.value`; no default unless configured.
    pub value: Option<FormatKind>,
    /// `ksql.persistence.wrap.single.values`; applies when a statement does not say.
    pub wrap_single_values: Option<bool>,
}

impl Default for FormatDefaults {
    fn default() -> Self {
        FormatDefaults {
            key: FormatKind::Kafka,
            value: None,
            wrap_single_values: None,
        }
    }
}

fn both(side: &str) -> FormatError {
    FormatError::Unsupported(format!(
        "Cannot supply both '{side}' and 'FORMAT' properties, as 'FORMAT' sets both key and value \
         formats. Either use just 'FORMAT', or use 'KEY_FORMAT' and 'VALUE_FORMAT'."
    ))
}

fn parse_bool(name: &str, raw: &str) -> Result<bool, FormatError> {
    match raw.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(FormatError::Unsupported(format!(
            "Invalid value {raw} for property {name}: expected TRUE or FALSE"
        ))),
    }
}

/// The explicitly given key and value format kinds, checking `FORMAT` is not combined with the
/// others.
fn explicit_kinds(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<(Option<FormatKind>, Option<FormatKind>), FormatError> {
    let format = get("FORMAT").map(|f| f.parse::<FormatKind>()).transpose()?;
    let key = get("KEY_FORMAT")
        .map(|f| f.parse::<FormatKind>())
        .transpose()?;
    let value = get("VALUE_FORMAT")
        .map(|f| f.parse::<FormatKind>())
        .transpose()?;
    match format {
        Some(_) if value.is_some() => Err(both("VALUE_FORMAT")),
        Some(_) if key.is_some() => Err(both("KEY_FORMAT")),
        Some(f) => Ok((Some(f), Some(f))),
        None => Ok((key, value)),
    }
}

/// Applies `WRAP_SINGLE_VALUE` and the delimiters to `base`.
fn apply_options(
    get: &impl Fn(&str) -> Option<String>,
    mut format: RecordFormat,
) -> Result<RecordFormat, FormatError> {
    if let Some(raw) = get("WRAP_SINGLE_VALUE") {
        format.value.wrap_single_value = Some(parse_bool("WRAP_SINGLE_VALUE", &raw)?);
    }
    if let Some(raw) = get("KEY_DELIMITER") {
        format.key.delimiter = parse_delimiter("KEY_DELIMITER", &raw)?;
    }
    if let Some(raw) = get("VALUE_DELIMITER") {
        format.value.delimiter = parse_delimiter("VALUE_DELIMITER", &raw)?;
    }
    Ok(format)
}

impl FormatDefaults {
    /// Applies `ksql.persistence.wrap.single.values` to a value with one column whose statement
    /// did not set `WRAP_SINGLE_VALUE`. Call it after `validate_value_format`, which must only
    /// see what the statement said (the setting is ignored for other values, as in ksqlDB).
    pub fn apply_wrap_default(&self, format: &mut RecordFormat, value_columns: usize) {
        if value_columns == 1
            && format.value.wrap_single_value.is_none()
            && matches!(format.value.kind, FormatKind::Json)
        {
            format.value.wrap_single_value = self.wrap_single_values;
        }
    }
}

impl RecordFormat {
    /// The formats of `CREATE STREAM|TABLE ... WITH (...)`.
    pub fn from_properties(
        get: impl Fn(&str) -> Option<String>,
        defaults: &FormatDefaults,
    ) -> Result<RecordFormat, FormatError> {
        let (key, value) = explicit_kinds(&get)?;
        let value = value.or(defaults.value).ok_or_else(|| {
            FormatError::Unsupported(
                "Statement is missing the 'VALUE_FORMAT' property from the WITH clause. Either \
                 provide one or set a default via the 'ksql.persistence.default.format.value' \
                 config."
                    .to_string(),
            )
        })?;
        apply_options(&get, RecordFormat::new(key.unwrap_or(defaults.key), value))
    }

    /// The formats of the sink of `CREATE ... AS SELECT ... FROM <this source>`: each side keeps
    /// the source's format (and delimiter) unless the statement names another;
    /// `WRAP_SINGLE_VALUE` is not inherited.
    pub fn for_sink(
        &self,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<RecordFormat, FormatError> {
        let (key, value) = explicit_kinds(&get)?;
        let side = |inherited: &FormatOptions, chosen: Option<FormatKind>| match chosen {
            Some(kind) if kind != inherited.kind => FormatOptions::new(kind),
            _ => FormatOptions {
                wrap_single_value: None,
                ..inherited.clone()
            },
        };
        let format = RecordFormat {
            key: side(&self.key, key),
            value: side(&self.value, value),
        };
        apply_options(&get, format)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn props(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    #[test]
    fn format_sets_both_sides_and_defaults_fill_the_rest() {
        let d = FormatDefaults::default();
        let f = RecordFormat::from_properties(props(&[("FORMAT", "json")]), &d).unwrap();
        assert_eq!(
            (f.key.kind, f.value.kind),
            (FormatKind::Json, FormatKind::Json)
        );
        let f = RecordFormat::from_properties(props(&[("VALUE_FORMAT", "Delimited")]), &d).unwrap();
        assert_eq!(
            (f.key.kind, f.value.kind),
            (FormatKind::Kafka, FormatKind::Delimited)
        );
        let err = RecordFormat::from_properties(props(&[]), &d)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing the 'VALUE_FORMAT' property"));
        let with_default = FormatDefaults {
            value: Some(FormatKind::Json),
            ..d
        };
        assert!(RecordFormat::from_properties(props(&[]), &with_default).is_ok());
    }

    #[test]
    fn conflicting_and_unknown_formats_fail_like_ksqldb() {
        let d = FormatDefaults::default();
        let err = RecordFormat::from_properties(
            props(&[("VALUE_FORMAT", "JSON"), ("FORMAT", "KAFKA")]),
            &d,
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("Cannot supply both 'VALUE_FORMAT' and 'FORMAT' properties"));
        let err = RecordFormat::from_properties(
            props(&[("KEY_FORMAT", "FOO"), ("VALUE_FORMAT", "JSON")]),
            &d,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(err, "Unknown format: FOO");
    }

    #[test]
    fn wrap_default_applies_to_single_json_values_only() {
        let d = FormatDefaults {
            wrap_single_values: Some(false),
            ..FormatDefaults::default()
        };
        let mut f = RecordFormat::new(FormatKind::Kafka, FormatKind::Json);
        d.apply_wrap_default(&mut f, 2);
        assert_eq!(f.value.wrap_single_value, None);
        d.apply_wrap_default(&mut f, 1);
        assert_eq!(f.value.wrap_single_value, Some(false));
        let mut explicit = RecordFormat::new(FormatKind::Kafka, FormatKind::Json);
        explicit.value.wrap_single_value = Some(true);
        d.apply_wrap_default(&mut explicit, 1);
        assert_eq!(explicit.value.wrap_single_value, Some(true));
    }

    #[test]
    fn options_are_read() {
        let d = FormatDefaults::default();
        let f = RecordFormat::from_properties(
            props(&[
                ("FORMAT", "DELIMITED"),
                ("KEY_DELIMITER", ";"),
                ("VALUE_DELIMITER", "TAB"),
                ("WRAP_SINGLE_VALUE", "false"),
            ]),
            &d,
        )
        .unwrap();
        assert_eq!((f.key.delimiter, f.value.delimiter), (';', '\t'));
        assert_eq!(f.value.wrap_single_value, Some(false));
    }

    #[test]
    fn sinks_inherit_formats_and_delimiters_but_not_wrapping() {
        let source = RecordFormat {
            key: FormatOptions::new(FormatKind::Kafka),
            value: FormatOptions::new(FormatKind::Delimited)
                .with_delimiter('|')
                .with_wrap_single_value(false),
        };
        let sink = source.for_sink(props(&[])).unwrap();
        assert_eq!(sink.value.kind, FormatKind::Delimited);
        assert_eq!(sink.value.delimiter, '|');
        assert_eq!(sink.value.wrap_single_value, None);
        let sink = source.for_sink(props(&[("VALUE_DELIMITER", "$")])).unwrap();
        assert_eq!(sink.value.delimiter, '$');
        let sink = source.for_sink(props(&[("KEY_FORMAT", "JSON")])).unwrap();
        assert_eq!(
            (sink.key.kind, sink.value.kind),
            (FormatKind::Json, FormatKind::Delimited)
        );
        let sink = source.for_sink(props(&[("FORMAT", "JSON")])).unwrap();
        assert_eq!(
            (sink.value.kind, sink.value.delimiter),
            (FormatKind::Json, ',')
        );
    }
}
