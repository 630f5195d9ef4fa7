//! INSERT and the administrative statements: SHOW/LIST, DESCRIBE, EXPLAIN, TERMINATE, PRINT,
//! SET/UNSET, RUN SCRIPT and ASSERT.

use datafusion::sql::sqlparser::ast::Ident;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::Token;

use super::create::parse_properties;
use super::query::{parse_query, parse_source_name};
use super::{ParserExt, fail_at, parse_statement_inner};
use crate::sql::ast::{
    AssertSchema, AssertTopic, DescribeSource, Explain, InsertInto, InsertValues, ListKind,
    PrintTopic, Properties, SourceKind, Statement, TerminateTarget,
};

/// `INSERT INTO name [WITH (...)] SELECT ...` or `INSERT INTO name [(cols)] VALUES (...)`.
pub(crate) fn parse_insert(parser: &mut Parser) -> Result<Statement, ParserError> {
    parser.expect_word("INSERT")?;
    parser.expect_word("INTO")?;
    let target = parse_source_name(parser)?;
    if parser.peek_token_ref().token == Token::LParen || parser.peek_word("VALUES") {
        let columns = if parser.consume_token(&Token::LParen) {
            let columns = parser.parse_comma_separated(|p| p.parse_ident())?;
            parser.expect_token(&Token::RParen)?;
            columns
        } else {
            Vec::new()
        };
        parser.expect_word("VALUES")?;
        parser.expect_token(&Token::LParen)?;
        let values = if parser.peek_token_ref().token == Token::RParen {
            Vec::new()
        } else {
            parser.parse_comma_separated(Parser::parse_expr)?
        };
        parser.expect_token(&Token::RParen)?;
        return Ok(Statement::InsertValues(InsertValues {
            target,
            columns,
            values,
        }));
    }
    let properties = if parser.parse_word("WITH") {
        parse_properties(parser)?
    } else {
        Properties::default()
    };
    if !parser.peek_word("SELECT") {
        return parser.fail_expected("{SELECT, VALUES, '(', WITH}");
    }
    let query = parse_query(parser)?;
    Ok(Statement::InsertInto(InsertInto {
        target,
        properties,
        query: Box::new(query),
    }))
}

/// `SHOW|LIST what [EXTENDED]`.
pub(crate) fn parse_list(parser: &mut Parser) -> Result<Statement, ParserError> {
    parser.next_token();
    let kind = if parser.parse_word("STREAMS") {
        ListKind::Streams
    } else if parser.parse_word("TABLES") {
        ListKind::Tables
    } else if parser.parse_word("TOPICS") {
        ListKind::Topics
    } else if parser.parse_words(&["ALL", "TOPICS"]) {
        ListKind::AllTopics
    } else if parser.parse_word("QUERIES") {
        ListKind::Queries
    } else if parser.parse_word("PROPERTIES") {
        ListKind::Properties
    } else if parser.parse_word("FUNCTIONS") {
        ListKind::Functions
    } else if parser.parse_word("TYPES") {
        ListKind::Types
    } else if parser.parse_word("VARIABLES") {
        ListKind::Variables
    } else if parser.parse_word("CONNECTORS")
        || parser.parse_words(&["SOURCE", "CONNECTORS"])
        || parser.parse_words(&["SINK", "CONNECTORS"])
    {
        ListKind::Connectors
    } else {
        return parser.fail_expected(
            "{STREAMS, TABLES, TOPICS, ALL TOPICS, QUERIES, PROPERTIES, FUNCTIONS, TYPES, \
             VARIABLES, CONNECTORS}",
        );
    };
    let extended = parser.parse_word("EXTENDED");
    Ok(Statement::List { kind, extended })
}

/// `DESCRIBE [EXTENDED] source [EXTENDED]`, `DESCRIBE STREAMS|TABLES [EXTENDED]`,
/// `DESCRIBE FUNCTION name`.
pub(crate) fn parse_describe(parser: &mut Parser) -> Result<Statement, ParserError> {
    parser.expect_word("DESCRIBE")?;
    if parser.parse_word("FUNCTION") {
        return Ok(Statement::DescribeFunction(parser.parse_ident()?));
    }
    for (word, kind) in [
        ("STREAMS", SourceKind::Stream),
        ("TABLES", SourceKind::Table),
    ] {
        if parser.parse_word(word) {
            let extended = parser.parse_word("EXTENDED");
            return Ok(Statement::DescribeSources { kind, extended });
        }
    }
    let extended_before = parser.peek_word("EXTENDED")
        && matches!(parser.peek_nth_token_ref(1).token, Token::Word(_))
        && parser.parse_word("EXTENDED");
    let name = parse_source_name(parser)?;
    let extended = parser.parse_word("EXTENDED") || extended_before;
    Ok(Statement::Describe(DescribeSource { name, extended }))
}

/// `EXPLAIN statement` or `EXPLAIN query_id`.
pub(crate) fn parse_explain(parser: &mut Parser) -> Result<Statement, ParserError> {
    parser.expect_word("EXPLAIN")?;
    let explains_statement = ["SELECT", "CREATE", "INSERT"]
        .iter()
        .any(|word| parser.peek_word(word));
    if explains_statement {
        let statement = parse_statement_inner(parser)?;
        return Ok(Statement::Explain(Explain::Statement(Box::new(statement))));
    }
    Ok(Statement::Explain(Explain::QueryId(parse_query_id(
        parser,
    )?)))
}

/// `TERMINATE query_id` or `TERMINATE ALL`.
pub(crate) fn parse_terminate(parser: &mut Parser) -> Result<Statement, ParserError> {
    parser.expect_word("TERMINATE")?;
    if parser.peek_word("ALL") && is_end(parser, 1) {
        parser.next_token();
        return Ok(Statement::Terminate(TerminateTarget::All));
    }
    Ok(Statement::Terminate(TerminateTarget::Query(
        parse_query_id(parser)?,
    )))
}

/// A query id (`CSAS_OUTPUT_0`): an identifier.
fn parse_query_id(parser: &mut Parser) -> Result<Ident, ParserError> {
    match &parser.peek_token_ref().token {
        Token::Word(_) => parser.parse_ident(),
        _ => parser.fail_expected("a query id"),
    }
}

/// Whether the token `n` ahead ends the statement.
fn is_end(parser: &Parser, n: usize) -> bool {
    matches!(
        parser.peek_nth_token_ref(n).token,
        Token::SemiColon | Token::EOF
    )
}

/// `PRINT topic [FROM BEGINNING] [INTERVAL|SAMPLE n] [LIMIT n]`; the topic is an identifier or a
/// string (for names with `-` or `.`).
pub(crate) fn parse_print(parser: &mut Parser) -> Result<Statement, ParserError> {
    parser.expect_word("PRINT")?;
    let token = parser.next_token();
    let topic = match token.token {
        Token::Word(word) => word.into_ident(token.span),
        Token::SingleQuotedString(name) => Ident::with_quote_and_span('\'', token.span, name),
        _ => {
            parser.prev_token();
            return parser.fail_expected("a topic name");
        }
    };
    let from_beginning = parser.parse_words(&["FROM", "BEGINNING"]);
    let interval = if parser.parse_word("INTERVAL") || parser.parse_word("SAMPLE") {
        Some(parser.parse_unsigned()?)
    } else {
        None
    };
    let limit = if parser.parse_word("LIMIT") {
        Some(parser.parse_unsigned()?)
    } else {
        None
    };
    Ok(Statement::Print(PrintTopic {
        topic,
        from_beginning,
        interval,
        limit,
    }))
}

/// `SET 'name' = 'value'`.
pub(crate) fn parse_set(parser: &mut Parser) -> Result<Statement, ParserError> {
    parser.expect_word("SET")?;
    let name = parser.parse_string()?;
    parser.expect_token(&Token::Eq)?;
    let value = parser.parse_string()?;
    Ok(Statement::SetProperty { name, value })
}

/// `UNSET 'name'`.
pub(crate) fn parse_unset(parser: &mut Parser) -> Result<Statement, ParserError> {
    parser.expect_word("UNSET")?;
    Ok(Statement::UnsetProperty(parser.parse_string()?))
}

/// `RUN SCRIPT 'path'`.
pub(crate) fn parse_run_script(parser: &mut Parser) -> Result<Statement, ParserError> {
    parser.expect_word("RUN")?;
    parser.expect_word("SCRIPT")?;
    Ok(Statement::RunScript(parser.parse_string()?))
}

/// `ASSERT [NOT EXISTS] TOPIC name [WITH (...)] [TIMEOUT n unit]` or
/// `ASSERT [NOT EXISTS] SCHEMA [SUBJECT name] [ID n] [TIMEOUT n unit]`.
pub(crate) fn parse_assert(parser: &mut Parser) -> Result<Statement, ParserError> {
    parser.expect_word("ASSERT")?;
    let not_exists = parser.parse_words(&["NOT", "EXISTS"]);
    if parser.parse_word("TOPIC") {
        let topic = parser.parse_ident()?;
        let properties = if parser.parse_word("WITH") {
            parse_properties(parser)?
        } else {
            Properties::default()
        };
        let timeout = parse_timeout(parser)?;
        return Ok(Statement::AssertTopic(AssertTopic {
            not_exists,
            topic,
            properties,
            timeout,
        }));
    }
    if parser.parse_word("SCHEMA") {
        let subject = if parser.parse_word("SUBJECT") {
            Some(parser.parse_ident()?)
        } else {
            None
        };
        let id = if parser.parse_word("ID") {
            let location = parser.peek_token_ref().span.start;
            let id = parser.parse_unsigned()?;
            Some(i64::try_from(id).or_else(|_| fail_at(location, "schema id out of range"))?)
        } else {
            None
        };
        if subject.is_none() && id.is_none() {
            return parser.fail_expected("{SUBJECT, ID}");
        }
        let timeout = parse_timeout(parser)?;
        return Ok(Statement::AssertSchema(AssertSchema {
            not_exists,
            subject,
            id,
            timeout,
        }));
    }
    if not_exists {
        parser.fail_expected("{TOPIC, SCHEMA}")
    } else {
        parser.fail_expected("{NOT EXISTS, TOPIC, SCHEMA}")
    }
}

/// `[TIMEOUT n unit]`.
fn parse_timeout(parser: &mut Parser) -> Result<Option<crate::sql::ast::Duration>, ParserError> {
    if parser.parse_word("TIMEOUT") {
        Ok(Some(parser.parse_duration()?))
    } else {
        Ok(None)
    }
}
