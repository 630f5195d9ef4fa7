//! ksqlDB column types as Postgres types: the oid, name and typmod `pg_attribute`,
//! `information_schema.columns` and `format_type` report, matching what a query of the column
//! returns over the wire (arrow-pg's mapping of the column's Arrow type).

use pgwire::api::Type;

/// A Postgres type of a column: its oid and `atttypmod` (-1 when it has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgType {
    /// `pg_type.oid`.
    pub oid: u32,
    /// `pg_attribute.atttypmod`: DECIMAL(p, s) is `((p << 16) | s) + 4`, else -1.
    pub typmod: i32,
}

/// The Postgres type of the ksqlDB type spelled `sql_type` (`INTEGER`, `DECIMAL(10, 2)`,
/// `ARRAY<STRING>`, `STRUCT<...>`).
pub fn pg_type(sql_type: &str) -> PgType {
    let upper = sql_type.trim().to_ascii_uppercase();
    let plain = |ty: &Type| PgType {
        oid: ty.oid(),
        typmod: -1,
    };
    if let Some(inner) = upper
        .strip_prefix("ARRAY<")
        .and_then(|s| s.strip_suffix('>'))
    {
        let element = pg_type(inner);
        let array = match Type::from_oid(element.oid) {
            Some(t) if t == Type::BOOL => Type::BOOL_ARRAY,
            Some(t) if t == Type::INT4 => Type::INT4_ARRAY,
            Some(t) if t == Type::INT8 => Type::INT8_ARRAY,
            Some(t) if t == Type::FLOAT8 => Type::FLOAT8_ARRAY,
            Some(t) if t == Type::NUMERIC => Type::NUMERIC_ARRAY,
            Some(t) if t == Type::DATE => Type::DATE_ARRAY,
            Some(t) if t == Type::TIMESTAMP => Type::TIMESTAMP_ARRAY,
            Some(t) if t == Type::BYTEA => Type::BYTEA_ARRAY,
            _ => Type::TEXT_ARRAY,
        };
        return plain(&array);
    }
    if let Some(args) = upper
        .strip_prefix("DECIMAL(")
        .and_then(|s| s.strip_suffix(')'))
    {
        let mut parts = args.split(',').map(|p| p.trim().parse::<i32>().ok());
        if let (Some(Some(p)), Some(Some(s))) = (parts.next(), parts.next()) {
            return PgType {
                oid: Type::NUMERIC.oid(),
                typmod: ((p << 16) | s) + 4,
            };
        }
        return plain(&Type::NUMERIC);
    }
    let head = upper.split(['<', '(']).next().unwrap_or("");
    plain(match head {
        "BOOLEAN" => &Type::BOOL,
        "INT" | "INTEGER" => &Type::INT4,
        "BIGINT" => &Type::INT8,
        "DOUBLE" => &Type::FLOAT8,
        "DECIMAL" => &Type::NUMERIC,
        "DATE" => &Type::DATE,
        "TIME" => &Type::TIME,
        "TIMESTAMP" => &Type::TIMESTAMP,
        "BYTES" => &Type::BYTEA,
        // STRING, VARCHAR; MAP and STRUCT values are sent as their text.
        _ => &Type::TEXT,
    })
}

/// The Postgres types `pg_type` lists: the scalars and arrays Sluice's columns map to, and the
/// few catalog types (`name`, `oid`, `char`) drivers look up by oid.
pub const KNOWN_TYPES: &[Type] = &[
    Type::BOOL,
    Type::BYTEA,
    Type::CHAR,
    Type::NAME,
    Type::INT8,
    Type::INT2,
    Type::INT4,
    Type::TEXT,
    Type::OID,
    Type::JSON,
    Type::FLOAT4,
    Type::FLOAT8,
    Type::UNKNOWN,
    Type::BPCHAR,
    Type::VARCHAR,
    Type::DATE,
    Type::TIME,
    Type::TIMESTAMP,
    Type::TIMESTAMPTZ,
    Type::INTERVAL,
    Type::NUMERIC,
    Type::UUID,
    Type::JSONB,
    Type::BOOL_ARRAY,
    Type::BYTEA_ARRAY,
    Type::INT2_ARRAY,
    Type::INT4_ARRAY,
    Type::INT8_ARRAY,
    Type::TEXT_ARRAY,
    Type::VARCHAR_ARRAY,
    Type::FLOAT4_ARRAY,
    Type::FLOAT8_ARRAY,
    Type::NUMERIC_ARRAY,
    Type::DATE_ARRAY,
    Type::TIMESTAMP_ARRAY,
];

/// How `format_type(oid, typmod)` spells a type: `integer`, `numeric(10,2)`, `text[]`.
pub fn format_type(oid: i64, typmod: Option<i64>) -> Option<String> {
    let ty = Type::from_oid(u32::try_from(oid).ok()?)?;
    let name = |t: &Type| -> String {
        match *t {
            Type::INT4 => "integer".into(),
            Type::INT8 => "bigint".into(),
            Type::INT2 => "smallint".into(),
            Type::FLOAT8 => "double precision".into(),
            Type::FLOAT4 => "real".into(),
            Type::BOOL => "boolean".into(),
            Type::VARCHAR => "character varying".into(),
            Type::BPCHAR => "character".into(),
            Type::TIMESTAMP => "timestamp without time zone".into(),
            Type::TIMESTAMPTZ => "timestamp with time zone".into(),
            Type::TIME => "time without time zone".into(),
            Type::CHAR => "\"char\"".into(),
            _ => t.name().to_owned(),
        }
    };
    let element = ty
        .name()
        .strip_prefix('_')
        .and_then(|e| KNOWN_TYPES.iter().find(|t| t.name() == e));
    Some(match element {
        Some(element) => format!("{}[]", name(element)),
        None if ty == Type::NUMERIC => match typmod {
            Some(m) if m >= 4 => format!("numeric({},{})", (m - 4) >> 16, (m - 4) & 0xffff),
            _ => "numeric".to_owned(),
        },
        None => name(&ty),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ksql_types_map_to_postgres_types() {
        assert_eq!(pg_type("INTEGER").oid, Type::INT4.oid());
        assert_eq!(pg_type("STRING").oid, Type::TEXT.oid());
        assert_eq!(pg_type("ARRAY<BIGINT>").oid, Type::INT8_ARRAY.oid());
        let dec = pg_type("DECIMAL(10, 2)");
        assert_eq!(dec.oid, Type::NUMERIC.oid());
        assert_eq!(
            format_type(i64::from(dec.oid), Some(i64::from(dec.typmod))).as_deref(),
            Some("numeric(10,2)")
        );
        assert_eq!(format_type(23, Some(-1)).as_deref(), Some("integer"));
        assert_eq!(format_type(1009, None).as_deref(), Some("text[]"));
        assert_eq!(format_type(999_999, None), None);
    }
}
