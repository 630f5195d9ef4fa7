//! Describe in the extended protocol: a statement's parameter types and result columns, told
//! to the client before anything runs.
//!
//! A driver's `prepare` is Parse + Describe(statement); many drivers also send Describe(portal)
//! before each Execute. Neither starts the query: the engine plans it
//! ([`crate::Session::describe`]) and the columns are those of the plan the Execute will run.
//! Parameter types are inferred once, at Parse, where the client left them open: from the plan
//! (`amount > $1` makes `$1` a double precision) or from the column an INSERT writes `$1` into;
//! what nothing tells stays `text`.
//!
//! Catalog statements (psql's `\d`, JDBC's metadata queries) are answered by the catalog views,
//! which compute them in memory and start nothing; their columns are learned by answering them.

use arrow::datatypes::DataType;
use pgwire::api::Type;
use pgwire::api::portal::Format;
use pgwire::api::results::FieldInfo;
use pgwire::error::PgWireResult;

use crate::Session;
use crate::pgwire::catalog::{PgCatalog, is_catalog_statement};
use crate::pgwire::copy::parse_copy;
use crate::pgwire::errors::to_pgwire;
use crate::pgwire::params::{parameter_count, substitute};
use crate::pgwire::respond::result_fields;
use crate::pgwire::types::schema_fields;

/// The Postgres type a parameter of Arrow type `data_type` is described with, for the types a
/// parameter can be bound in ([`crate::pgwire::literal`]); `None` (text) for the others.
pub fn parameter_pg_type(data_type: &DataType) -> Option<Type> {
    let ty = arrow_pg::datatypes::into_pg_type(data_type).ok()?;
    [
        Type::BOOL,
        Type::INT2,
        Type::INT4,
        Type::INT8,
        Type::FLOAT4,
        Type::FLOAT8,
        Type::NUMERIC,
        Type::TEXT,
        Type::DATE,
        Type::TIME,
        Type::TIMESTAMP,
        Type::TIMESTAMPTZ,
        Type::BYTEA,
    ]
    .contains(&ty)
    .then_some(ty)
}

/// The parameter types planning infers for `sql` (index n - 1; `None` where nothing says).
/// Best effort: a statement that does not plan yet (its stream is created by a statement
/// pipelined before it) infers nothing, and its Execute reports the real error.
pub async fn inferred_parameter_types(session: &Session, sql: &str) -> Vec<Option<Type>> {
    if parameter_count(sql) == 0 || is_catalog_statement(sql) {
        return Vec::new();
    }
    match session.describe(sql).await {
        Ok(shape) => shape
            .parameters
            .iter()
            .map(|t| t.as_ref().and_then(parameter_pg_type))
            .collect(),
        Err(e) => {
            tracing::debug!(sql, error = %e, "no parameter types inferred");
            Vec::new()
        }
    }
}

/// The columns `sql` returns, each in the format `format` asks for; `None` for a command. The
/// statement is planned, never run (a catalog statement is answered in memory).
pub async fn statement_fields(
    session: &Session,
    catalog: &PgCatalog,
    sql: &str,
    format: &Format,
) -> PgWireResult<Option<Vec<FieldInfo>>> {
    let with_nulls = || {
        let nulls = vec!["NULL".to_owned(); parameter_count(sql)];
        substitute(sql, &nulls).unwrap_or_else(|| sql.to_owned())
    };
    if parse_copy(sql).is_some() {
        // COPY answers with CopyOutResponse, not rows.
        return Ok(None);
    }
    if is_catalog_statement(sql) {
        let probe = with_nulls();
        return match catalog.answer(session, &probe).await {
            Some(Ok(result)) => result_fields(&result, format),
            Some(Err(e)) => Err(to_pgwire(&e, &probe)),
            None => Ok(None),
        };
    }
    let shape = match session.describe(sql).await {
        Ok(shape) => shape,
        // A `$n` where a literal is needed (`LIMIT $1`): plan it with NULLs instead.
        Err(_) if parameter_count(sql) > 0 => {
            let probe = with_nulls();
            session
                .describe(&probe)
                .await
                .map_err(|e| to_pgwire(&e, &probe))?
        }
        Err(e) => return Err(to_pgwire(&e, sql)),
    };
    shape
        .columns
        .map(|schema| schema_fields(&schema, format))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::TimeUnit;

    #[test]
    fn parameters_are_described_in_types_they_can_be_bound_in() {
        assert_eq!(parameter_pg_type(&DataType::Float64), Some(Type::FLOAT8));
        assert_eq!(parameter_pg_type(&DataType::Int32), Some(Type::INT4));
        assert_eq!(parameter_pg_type(&DataType::Utf8), Some(Type::TEXT));
        assert_eq!(
            parameter_pg_type(&DataType::Timestamp(TimeUnit::Millisecond, None)),
            Some(Type::TIMESTAMP)
        );
        assert_eq!(
            parameter_pg_type(&DataType::Decimal128(10, 2)),
            Some(Type::NUMERIC)
        );
        // An array has no parameter literal: text.
        let list = DataType::List(std::sync::Arc::new(arrow::datatypes::Field::new(
            "item",
            DataType::Int32,
            true,
        )));
        assert_eq!(parameter_pg_type(&list), None);
    }
}
