//! CREATE, DROP and ALTER of streams, tables and types; column lists and `WITH (...)`.
//!
//! Checks that ksqlDB makes while parsing are made here too, with the position of the offending
//! part: `KEY` for streams and `PRIMARY KEY` for tables, no column list with `AS SELECT`, and the
//! window properties of a windowed source (`WINDOW_TYPE`, `WINDOW_SIZE`). Every other property is
//! kept as written and validated by the stage that uses it.

use datafusion::sql::sqlparser::ast::Ident;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::Token;

use super::query::{parse_query, parse_source_name};
use super::types::parse_type;
use super::{ParserExt, fail_at, fail_node_at};
use crate::sql::ast::{
    AlterSource, ColumnConstraint, ColumnDef, CreateSource, CreateSourceAs, CreateType, DropSource,
    DropType, Duration, Properties, Property, PropertyValue, SourceKind, Statement,
};

/// `CREATE ...` (stream, table, type).
pub(crate) fn parse_create(parser: &mut Parser) -> Result<Statement, ParserError> {
    parser.expect_word("CREATE")?;
    let or_replace = parser.parse_words(&["OR", "REPLACE"]);
    if !or_replace && parser.parse_word("TYPE") {
        return parse_create_type(parser);
    }
    let source_location = parser.peek_token_ref().span.start;
    let is_source = parser.parse_word("SOURCE");
    if parser.peek_word("CONNECTOR") || parser.peek_word("SINK") {
        return fail_at(source_location, "Connectors are not supported by Sluice");
    }
    let kind = parse_source_kind(parser)?;
    let if_not_exists = parser.parse_words(&["IF", "NOT", "EXISTS"]);
    let name = parse_source_name(parser)?;
    let columns = if parser.peek_token_ref().token == Token::LParen {
        parse_columns(parser, kind)?
    } else {
        Vec::new()
    };
    let properties = if parser.parse_word("WITH") {
        parse_properties(parser)?
    } else {
        Properties::default()
    };
    if parser.peek_word("AS") {
        if !columns.is_empty() || is_source {
            return parser.fail_expected("';' (AS SELECT takes no column list and no SOURCE)");
        }
        parser.next_token();
        let query = parse_query(parser)?;
        return Ok(Statement::CreateSourceAs(CreateSourceAs {
            kind,
            or_replace,
            if_not_exists,
            name,
            properties,
            query: Box::new(query),
        }));
    }
    check_window_properties(&properties)?;
    Ok(Statement::CreateSource(CreateSource {
        kind,
        or_replace,
        is_source,
        if_not_exists,
        name,
        columns,
        properties,
    }))
}

/// `STREAM` or `TABLE`.
fn parse_source_kind(parser: &mut Parser) -> Result<SourceKind, ParserError> {
    if parser.parse_word("STREAM") {
        Ok(SourceKind::Stream)
    } else if parser.parse_word("TABLE") {
        Ok(SourceKind::Table)
    } else {
        parser.fail_expected("{STREAM, TABLE}")
    }
}

/// After `CREATE TYPE`: `[IF NOT EXISTS] name AS type`.
fn parse_create_type(parser: &mut Parser) -> Result<Statement, ParserError> {
    let if_not_exists = parser.parse_words(&["IF", "NOT", "EXISTS"]);
    let name = parser.parse_ident()?;
    parser.expect_word("AS")?;
    let data_type = parse_type(parser)?;
    Ok(Statement::CreateType(CreateType {
        if_not_exists,
        name,
        data_type,
    }))
}

/// `(name type [KEY|PRIMARY KEY|HEADERS|HEADER('k')], ...)`.
fn parse_columns(parser: &mut Parser, kind: SourceKind) -> Result<Vec<ColumnDef>, ParserError> {
    parser.expect_token(&Token::LParen)?;
    let columns = parser.parse_comma_separated(|p| parse_column(p, Some(kind)))?;
    parser.expect_token(&Token::RParen)?;
    Ok(columns)
}

/// One column definition; `kind` (when creating a source) decides which key keyword is allowed.
fn parse_column(parser: &mut Parser, kind: Option<SourceKind>) -> Result<ColumnDef, ParserError> {
    let name = parser.parse_ident()?;
    let data_type = parse_type(parser)?;
    let constraint = if parser.parse_words(&["PRIMARY", "KEY"]) {
        if kind == Some(SourceKind::Stream) {
            return fail_node_at(
                name.span.start,
                format!(
                    "Column `{}` is a 'PRIMARY KEY' column: please use 'KEY' for streams.",
                    name.value
                ),
            );
        }
        Some(ColumnConstraint::PrimaryKey)
    } else if parser.parse_word("KEY") {
        if kind == Some(SourceKind::Table) {
            return fail_node_at(
                name.span.start,
                format!(
                    "Column `{}` is a 'KEY' column: please use 'PRIMARY KEY' for tables.",
                    name.value
                ),
            );
        }
        Some(ColumnConstraint::Key)
    } else if parser.parse_word("HEADERS") {
        Some(ColumnConstraint::Headers)
    } else if parser.parse_word("HEADER") {
        parser.expect_token(&Token::LParen)?;
        let key = parser.parse_string()?;
        parser.expect_token(&Token::RParen)?;
        Some(ColumnConstraint::Header(key))
    } else {
        None
    };
    Ok(ColumnDef {
        name,
        data_type,
        constraint,
    })
}

/// `(NAME = literal, ...)`: names are identifiers or strings, case-insensitive and unique.
pub(crate) fn parse_properties(parser: &mut Parser) -> Result<Properties, ParserError> {
    parser.expect_token(&Token::LParen)?;
    let mut properties: Vec<Property> = Vec::new();
    loop {
        let token = parser.next_token();
        let name = match token.token {
            Token::Word(word) => word.value.to_uppercase(),
            Token::SingleQuotedString(text) => text.to_uppercase(),
            _ => {
                parser.prev_token();
                return parser.fail_expected("a property name");
            }
        };
        if properties.iter().any(|p| p.name == name) {
            return fail_at(token.span.start, format!("Duplicate property: {name}"));
        }
        parser.expect_token(&Token::Eq)?;
        let value = parse_property_value(parser)?;
        properties.push(Property {
            name,
            value,
            span: token.span,
        });
        if parser.consume_token(&Token::RParen) {
            return Ok(Properties(properties));
        }
        parser.expect_token(&Token::Comma)?;
    }
}

/// A literal: string, signed number, boolean or NULL.
fn parse_property_value(parser: &mut Parser) -> Result<PropertyValue, ParserError> {
    let negative = parser.consume_token(&Token::Minus);
    let token = parser.next_token();
    let value = match token.token {
        Token::Number(text, _) if negative => PropertyValue::Number(format!("-{text}")),
        Token::Number(text, _) => PropertyValue::Number(text),
        Token::SingleQuotedString(text) if !negative => PropertyValue::String(text),
        Token::Word(word) if !negative && word.quote_style.is_none() => {
            match word.value.to_uppercase().as_str() {
                "TRUE" => PropertyValue::Boolean(true),
                "FALSE" => PropertyValue::Boolean(false),
                "NULL" => PropertyValue::Null,
                _ => {
                    parser.prev_token();
                    return parser.fail_expected("a literal");
                }
            }
        }
        _ => {
            parser.prev_token();
            return parser.fail_expected("a literal");
        }
    };
    Ok(value)
}

/// ksqlDB checks a windowed source's `WINDOW_TYPE` and `WINDOW_SIZE` when parsing.
fn check_window_properties(properties: &Properties) -> Result<(), ParserError> {
    let Some(window_type) = properties.get("WINDOW_TYPE") else {
        if let Some(size) = properties.get("WINDOW_SIZE") {
            return fail_at(
                size.span.start,
                "'WINDOW_SIZE' should not be set without 'WINDOW_TYPE'.",
            );
        }
        return Ok(());
    };
    let kind = match &window_type.value {
        PropertyValue::String(text) => text.to_uppercase(),
        other => other.to_string(),
    };
    let size = properties.get("WINDOW_SIZE");
    match (kind.as_str(), size) {
        ("SESSION", Some(size)) => fail_at(
            size.span.start,
            "'WINDOW_SIZE' should not be set for SESSION windows.",
        ),
        ("SESSION", None) => Ok(()),
        ("TUMBLING" | "HOPPING", None) => fail_at(
            window_type.span.start,
            "Tumbling and Hopping window types should set WINDOW_SIZE in the WITH clause.",
        ),
        ("TUMBLING" | "HOPPING", Some(size)) => {
            let text = match &size.value {
                PropertyValue::String(text) => text.clone(),
                other => other.to_string(),
            };
            Duration::parse_text(&text).map(|_| ()).or_else(|reason| {
                fail_at(
                    size.span.start,
                    format!("Configuration WINDOW_SIZE is invalid: {reason}"),
                )
            })
        }
        (other, _) => fail_at(
            window_type.span.start,
            format!("Invalid WINDOW_TYPE '{other}': expecting SESSION, HOPPING or TUMBLING"),
        ),
    }
}

/// `DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC]` or `DROP TYPE [IF EXISTS] name`.
pub(crate) fn parse_drop(parser: &mut Parser) -> Result<Statement, ParserError> {
    parser.expect_word("DROP")?;
    if parser.parse_word("TYPE") {
        let if_exists = parser.parse_words(&["IF", "EXISTS"]);
        let name = parser.parse_ident()?;
        return Ok(Statement::DropType(DropType { if_exists, name }));
    }
    if parser.peek_word("CONNECTOR") {
        return parser.fail_expected("{STREAM, TABLE, TYPE} (connectors are not supported)");
    }
    let kind = parse_source_kind(parser)?;
    let if_exists = parser.parse_words(&["IF", "EXISTS"]);
    let name: Ident = parse_source_name(parser)?;
    let delete_topic = parser.parse_words(&["DELETE", "TOPIC"]);
    Ok(Statement::DropSource(DropSource {
        kind,
        if_exists,
        name,
        delete_topic,
    }))
}

/// `ALTER STREAM|TABLE name ADD [COLUMN] name type [, ADD [COLUMN] name type ...]`.
pub(crate) fn parse_alter(parser: &mut Parser) -> Result<Statement, ParserError> {
    parser.expect_word("ALTER")?;
    let kind = parse_source_kind(parser)?;
    let name = parse_source_name(parser)?;
    let add_columns = parser.parse_comma_separated(|p| {
        p.expect_word("ADD")?;
        p.parse_word("COLUMN");
        let column = parse_column(p, None)?;
        if column.constraint.is_some() {
            return p.fail_expected("',' or ';' (ALTER adds value columns only)");
        }
        Ok(column)
    })?;
    Ok(Statement::AlterSource(AlterSource {
        kind,
        name,
        add_columns,
    }))
}
