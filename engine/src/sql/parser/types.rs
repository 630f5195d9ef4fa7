//! Parsing ksqlDB types: `INT`, `DECIMAL(4, 2)`, `ARRAY<T>`, `MAP<K, V>`, `STRUCT<a T, ...>` and
//! names of custom types.
//!
//! `>>` closing two nested types at once is one token to the tokenizer; the parser splits it.

use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::Token;

use super::{ParserExt, fail_at, fail_no_viable_at};
use crate::sql::ast::{TypeExpr, TypeExprField};

/// Parses a ksqlDB type at the parser's position.
pub(crate) fn parse_type(parser: &mut Parser) -> Result<TypeExpr, ParserError> {
    let mut types = TypeParser { pending_gt: 0 };
    let data_type = types.parse(parser)?;
    if types.pending_gt > 0 {
        return parser.fail_expected("end of type");
    }
    Ok(data_type)
}

/// Holds the `>` left over when a `>>` token closed one type and the next must close another.
struct TypeParser {
    pending_gt: u32,
}

impl TypeParser {
    fn parse(&mut self, parser: &mut Parser) -> Result<TypeExpr, ParserError> {
        let token = parser.next_token();
        let word = match token.token {
            // NULL has no type: ksqlDB's grammar has no rule for it here at all.
            Token::Word(word)
                if word.quote_style.is_none() && word.value.eq_ignore_ascii_case("NULL") =>
            {
                return fail_no_viable_at(token.span.start, word.value.to_uppercase());
            }
            Token::Word(word) => word,
            _ => {
                parser.prev_token();
                return parser.fail_expected("a type");
            }
        };
        if word.quote_style.is_some() {
            return Ok(TypeExpr::Custom(word.into_ident(token.span)));
        }
        let data_type = match word.value.to_uppercase().as_str() {
            "BOOLEAN" => TypeExpr::Boolean,
            "INT" | "INTEGER" => TypeExpr::Int,
            "BIGINT" => TypeExpr::Bigint,
            "DOUBLE" => TypeExpr::Double,
            "STRING" | "VARCHAR" => {
                skip_string_parameters(parser)?;
                TypeExpr::String
            }
            // BYTEA is how sqlparser prints BYTES.
            "BYTES" | "BYTEA" => TypeExpr::Bytes,
            "DATE" => TypeExpr::Date,
            "TIME" => TypeExpr::Time,
            "TIMESTAMP" => TypeExpr::Timestamp,
            "DECIMAL" => {
                parser.expect_token(&Token::LParen)?;
                let precision = parse_small(parser, "precision")?;
                parser.expect_token(&Token::Comma)?;
                let scale = parse_small(parser, "scale")?;
                parser.expect_token(&Token::RParen)?;
                // The upper limit (38, Arrow's Decimal128) is the engine's, checked by
                // `TypeExpr::resolve`: ksqlDB itself accepts wider types here.
                if precision == 0 || scale > precision {
                    return fail_at(
                        token.span.start,
                        format!(
                            "DECIMAL({precision}, {scale}) is invalid: precision must be at \
                             least 1 and scale at most the precision"
                        ),
                    );
                }
                TypeExpr::Decimal { precision, scale }
            }
            "ARRAY" => {
                self.expect_lt(parser)?;
                let element = self.parse(parser)?;
                self.expect_gt(parser)?;
                TypeExpr::Array(Box::new(element))
            }
            "MAP" if self.pending_gt == 0 && parser.consume_token(&Token::LParen) => {
                // `Map(K, V)`: how sqlparser prints a map type.
                let key = parse_type(parser)?;
                parser.expect_token(&Token::Comma)?;
                let value = parse_type(parser)?;
                parser.expect_token(&Token::RParen)?;
                TypeExpr::Map(Box::new(key), Box::new(value))
            }
            "MAP" => {
                self.expect_lt(parser)?;
                let key = self.parse(parser)?;
                self.expect_comma(parser)?;
                let value = self.parse(parser)?;
                self.expect_gt(parser)?;
                TypeExpr::Map(Box::new(key), Box::new(value))
            }
            "STRUCT" if self.pending_gt == 0 && parser.consume_token(&Token::Neq) => {
                // `STRUCT<>` is one `<>` token.
                TypeExpr::Struct(Vec::new())
            }
            "STRUCT" => {
                self.expect_lt(parser)?;
                let mut fields = Vec::new();
                if !self.consume_gt(parser) {
                    loop {
                        let name = parser.parse_ident()?;
                        let data_type = self.parse(parser)?;
                        fields.push(TypeExprField { name, data_type });
                        if self.consume_gt(parser) {
                            break;
                        }
                        self.expect_comma(parser)?;
                    }
                }
                TypeExpr::Struct(fields)
            }
            "NULL" | "TRUE" | "FALSE" => {
                parser.prev_token();
                return parser.fail_expected("a type");
            }
            _ => TypeExpr::Custom(word.into_ident(token.span)),
        };
        Ok(data_type)
    }

    fn expect_lt(&mut self, parser: &mut Parser) -> Result<(), ParserError> {
        if self.pending_gt > 0 || !parser.consume_token(&Token::Lt) {
            return parser.fail_expected("'<'");
        }
        Ok(())
    }

    fn expect_comma(&mut self, parser: &mut Parser) -> Result<(), ParserError> {
        if self.pending_gt > 0 || !parser.consume_token(&Token::Comma) {
            return parser.fail_expected("','");
        }
        Ok(())
    }

    fn expect_gt(&mut self, parser: &mut Parser) -> Result<(), ParserError> {
        if self.consume_gt(parser) {
            Ok(())
        } else {
            parser.fail_expected("'>'")
        }
    }

    /// Consumes one `>`: a pending one, a `>` token, or half of a `>>` token.
    fn consume_gt(&mut self, parser: &mut Parser) -> bool {
        if self.pending_gt > 0 {
            self.pending_gt -= 1;
            return true;
        }
        if parser.consume_token(&Token::Gt) {
            return true;
        }
        if parser.consume_token(&Token::ShiftRight) {
            self.pending_gt = 1;
            return true;
        }
        false
    }
}

/// An integer 0..=255 for DECIMAL's precision or scale.
fn parse_small(parser: &mut Parser, what: &str) -> Result<u8, ParserError> {
    let location = parser.peek_token_ref().span.start;
    let value = parser.parse_unsigned()?;
    u8::try_from(value)
        .or_else(|_| fail_at(location, format!("DECIMAL {what} {value} is too large")))
}

/// `VARCHAR(n)` / `VARCHAR(STRING)`: ksqlDB accepts and ignores a length; strings are unbounded.
fn skip_string_parameters(parser: &mut Parser) -> Result<(), ParserError> {
    if !parser.consume_token(&Token::LParen) {
        return Ok(());
    }
    loop {
        let token = parser.next_token();
        let valid = match &token.token {
            Token::Number(text, _) => text.parse::<u64>().is_ok(),
            Token::Word(word) => {
                word.quote_style.is_none() && word.value.eq_ignore_ascii_case("STRING")
            }
            _ => false,
        };
        if !valid {
            parser.prev_token();
            return parser.fail_expected("{'STRING', INTEGER_VALUE}");
        }
        if parser.consume_token(&Token::RParen) {
            return Ok(());
        }
        parser.expect_token(&Token::Comma)?;
    }
}
