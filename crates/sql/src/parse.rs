//! Splits a script into statements and parses each. sqlparser handles standard SQL; this file
//! adds Flink's `CREATE TABLE ... WATERMARK FOR ... WITH (...)`, `SET 'k' = 'v'`, and the
//! `TABLE t` / `PARTITION BY` arguments of window table functions (rewritten at token level,
//! keeping every token's original position so errors still point at the user's text).

use crate::error::{loc, Result, SqlError};
use darwin_common::Location;
use sqlparser::ast;
use sqlparser::dialect::GenericDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Span, Token, TokenWithSpan, Tokenizer, Word};

/// One column of a `CREATE TABLE`, as parsed (the binder converts its type).
#[derive(Debug, Clone)]
pub struct ColumnDef {
    /// The column's name as written.
    pub name: ast::Ident,
    /// The declared type as sqlparser reads it; the binder rejects types Darwin does not support.
    pub data_type: ast::DataType,
    /// Where the column's definition starts, for error messages.
    pub span: Span,
}

// A script holds a handful of statements, parsed once: boxing variants would buy nothing.
/// A statement of a script as parsed, before binding.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Statement {
    /// `CREATE [TEMPORARY] TABLE [IF NOT EXISTS] name (columns, WATERMARK ...) [WITH (options)]`.
    CreateTable {
        /// The table's name.
        name: ast::Ident,
        /// Declared columns, in order.
        columns: Vec<ColumnDef>,
        /// `WATERMARK FOR column AS expr`: the column's name and the expression; None without one.
        watermark: Option<(ast::Ident, ast::Expr)>,
        /// `WITH` options as (key, value, span of the key), in the order written; keys not yet lower-cased.
        options: Vec<(String, String, Span)>,
        /// `PARTITIONED BY (columns)`: a directory sink's partition columns.
        partitioned: Vec<ast::Ident>,
        /// Span of the `CREATE` keyword.
        span: Span,
    },
    /// `CREATE VIEW name AS query`.
    CreateView {
        /// The view's name.
        name: ast::Ident,
        /// The view's query; bound once at CREATE VIEW to report errors, and again where the view is read.
        query: Box<ast::Query>,
    },
    /// `INSERT INTO table query`.
    Insert {
        /// The sink table's name.
        table: ast::Ident,
        /// The query whose rows are written, its columns in the sink's column order.
        query: Box<ast::Query>,
    },
    /// A bare query: its rows are printed to stdout.
    Select(Box<ast::Query>),
    /// `SET 'key' = 'value'`: an execution setting for the script.
    Set {
        /// The setting's name, unquoted.
        key: String,
        /// The setting's value, unquoted and not yet checked (the planner does that).
        value: String,
        /// Span of the `SET` keyword.
        span: Span,
    },
}

/// Parses a `;`-separated script.
pub fn parse_script(sql: &str) -> Result<Vec<Statement>> {
    let dialect = GenericDialect {};
    let tokens = Tokenizer::new(&dialect, sql).tokenize_with_location().map_err(|e| SqlError::Syntax {
        message: e.message.clone(),
        location: Location { line: e.location.line, column: e.location.column },
    })?;
    let tokens = rewrite_window_table_args(tokens);
    // sqlparser stops at 50 levels of nesting by default, for callers on a small stack;
    // `darwin` parses on a large one, so nesting is limited where the binder limits it.
    let mut parser =
        Parser::new(&dialect).with_recursion_limit(crate::bind::MAX_EXPR_DEPTH).with_tokens_with_locations(tokens);
    let mut out = Vec::new();
    loop {
        while parser.consume_token(&Token::SemiColon) {}
        if parser.peek_token().token == Token::EOF {
            break;
        }
        out.push(parse_statement(&mut parser)?);
        let next = parser.peek_token();
        if next.token != Token::EOF && next.token != Token::SemiColon {
            return Err(SqlError::Syntax {
                message: format!("expected ';' or the end of the script, found {}", next.token),
                location: loc(next.span),
            });
        }
    }
    Ok(out)
}

fn syntax(e: ParserError, parser: &Parser) -> SqlError {
    let msg = match e {
        ParserError::ParserError(m) | ParserError::TokenizerError(m) => m,
        ParserError::RecursionLimitExceeded => "the statement is nested too deeply".into(),
    };
    // sqlparser appends " at Line: x, Column: y"; keep the location, drop the suffix.
    let (message, location) = match msg.rfind(" at Line: ") {
        Some(i) => {
            let tail = &msg[i + 10..];
            let mut parts = tail.split(", Column: ");
            let line = parts.next().and_then(|l| l.trim().parse().ok()).unwrap_or(0);
            let column = parts.next().and_then(|c| c.trim().parse().ok()).unwrap_or(0);
            (msg[..i].to_string(), Location { line, column })
        }
        None => (msg, loc(parser.peek_token().span)),
    };
    SqlError::Syntax { message: unsupported_syntax(&message).unwrap_or(message), location }
}

/// The feature behind a parser complaint about SQL that Flink accepts and Darwin does not yet.
fn unsupported_syntax(message: &str) -> Option<String> {
    message.ends_with("found: SYSTEM_TIME").then(|| {
        "FOR SYSTEM_TIME AS OF (a temporal join) is not supported yet; a bounded table joined without it is a \
         lookup join (stream JOIN table ON ...), and two streams join on window bounds or an interval"
            .to_string()
    })
}

fn is_word(t: &Token, s: &str) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(s))
}

fn parse_statement(p: &mut Parser) -> Result<Statement> {
    let [t0, t1, t2] = p.peek_tokens();
    if is_word(&t0, "CREATE") && (is_word(&t1, "TABLE") || (is_word(&t1, "TEMPORARY") && is_word(&t2, "TABLE"))) {
        return parse_create_table(p).map_err(|e| syntax(e, p));
    }
    if is_word(&t0, "SET") && matches!(t1, Token::SingleQuotedString(_)) {
        let span = p.next_token().span;
        let key = p.parse_literal_string().map_err(|e| syntax(e, p))?;
        p.expect_token(&Token::Eq).map_err(|e| syntax(e, p))?;
        let value = p.parse_literal_string().map_err(|e| syntax(e, p))?;
        return Ok(Statement::Set { key, value, span });
    }
    let start = p.peek_token().span;
    let stmt = p.parse_statement().map_err(|e| syntax(e, p))?;
    match stmt {
        ast::Statement::CreateView(v) => {
            Ok(Statement::CreateView { name: single_ident(&v.name, start)?, query: v.query })
        }
        ast::Statement::Query(q) => Ok(Statement::Select(q)),
        ast::Statement::Insert(ins) => {
            let name = match &ins.table {
                ast::TableObject::TableName(n) => single_ident(n, start)?,
                _ => return Err(SqlError::at(loc(start), "INSERT INTO expects a table name")),
            };
            if !ins.columns.is_empty() {
                return Err(SqlError::at(
                    loc(start),
                    "INSERT with a column list is not supported yet; select the sink's columns in order",
                ));
            }
            match ins.source {
                Some(query) => Ok(Statement::Insert { table: name, query }),
                None => {
                    Err(SqlError::at(loc(start), "INSERT needs a SELECT query (INSERT ... VALUES is not supported)"))
                }
            }
        }
        other => {
            let kind = other.to_string().split_whitespace().take(2).collect::<Vec<_>>().join(" ");
            Err(SqlError::at(
                loc(start),
                format!("unsupported statement '{kind} ...': Darwin runs CREATE TABLE, CREATE VIEW, INSERT INTO ... SELECT, SELECT and SET"),
            ))
        }
    }
}

pub(crate) fn single_ident(name: &ast::ObjectName, span: Span) -> Result<ast::Ident> {
    let parts: Vec<&ast::Ident> = name.0.iter().filter_map(|p| p.as_ident()).collect();
    match parts.as_slice() {
        [one] => Ok((*one).clone()),
        _ => Err(SqlError::at(
            loc(span),
            format!("qualified names such as '{name}' are not supported; use a plain table name"),
        )),
    }
}

fn parse_create_table(p: &mut Parser) -> std::result::Result<Statement, ParserError> {
    let span = p.next_token().span; // CREATE
    let _ = p.parse_keyword(Keyword::TEMPORARY);
    p.expect_keyword(Keyword::TABLE)?;
    let _ = p.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
    let name = p.parse_identifier()?;
    p.expect_token(&Token::LParen)?;
    let mut columns = Vec::new();
    let mut watermark = None;
    loop {
        let tok = p.peek_token();
        if is_word(&tok.token, "WATERMARK") {
            p.next_token();
            p.expect_keyword(Keyword::FOR)?;
            let col = p.parse_identifier()?;
            p.expect_keyword(Keyword::AS)?;
            let expr = p.parse_expr()?;
            watermark = Some((col, expr));
        } else if is_word(&tok.token, "PRIMARY") {
            return Err(ParserError::ParserError(format!(
                "PRIMARY KEY is not supported yet (Darwin has no upsert tables) at Line: {}, Column: {}",
                tok.span.start.line, tok.span.start.column
            )));
        } else {
            let name = p.parse_identifier()?;
            if p.peek_keyword(Keyword::AS) {
                return Err(ParserError::ParserError(format!(
                    "computed columns ('{} AS ...') are not supported yet; compute the value in a view at Line: {}, Column: {}",
                    name.value, tok.span.start.line, tok.span.start.column
                )));
            }
            let data_type = p.parse_data_type()?;
            // NOT NULL / NULL are accepted; Darwin treats every column as nullable.
            if !p.parse_keywords(&[Keyword::NOT, Keyword::NULL]) {
                let _ = p.parse_keyword(Keyword::NULL);
            }
            columns.push(ColumnDef { name, data_type, span: tok.span });
        }
        if !p.consume_token(&Token::Comma) {
            break;
        }
    }
    p.expect_token(&Token::RParen)?;
    let mut partitioned = Vec::new();
    if is_word(&p.peek_token().token, "PARTITIONED") {
        p.next_token();
        p.expect_keyword(Keyword::BY)?;
        p.expect_token(&Token::LParen)?;
        loop {
            partitioned.push(p.parse_identifier()?);
            if !p.consume_token(&Token::Comma) {
                break;
            }
        }
        p.expect_token(&Token::RParen)?;
    }
    let mut options = Vec::new();
    if p.parse_keyword(Keyword::WITH) {
        p.expect_token(&Token::LParen)?;
        loop {
            let kspan = p.peek_token().span;
            let key = p.parse_literal_string()?;
            p.expect_token(&Token::Eq)?;
            let value = p.parse_literal_string()?;
            options.push((key, value, kspan));
            if !p.consume_token(&Token::Comma) {
                break;
            }
        }
        p.expect_token(&Token::RParen)?;
    }
    Ok(Statement::CreateTable { name, columns, watermark, options, partitioned, span })
}

/// `TUMBLE(TABLE t, ...)` → `TUMBLE(t, ...)`; `SESSION(TABLE t PARTITION BY k, ...)` →
/// `SESSION(t, PARTITION_BY(k), ...)`. Only token kinds change; spans stay the user's.
fn rewrite_window_table_args(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let significant = |t: &TokenWithSpan| !matches!(t.token, Token::Whitespace(_));
    let toks: Vec<TokenWithSpan> = tokens.into_iter().filter(significant).collect();
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        let after_open = matches!(out.last().map(|t| &t.token), Some(Token::LParen) | Some(Token::Comma));
        let next_is_name = matches!(toks.get(i + 1).map(|t| &t.token), Some(Token::Word(_)));
        let next_is_paren = matches!(toks.get(i + 1).map(|t| &t.token), Some(Token::LParen));
        if after_open && is_word(&t.token, "TABLE") && next_is_name && !next_is_paren {
            out.push(toks[i + 1].clone());
            i += 2;
            if toks.get(i).is_some_and(|t| is_word(&t.token, "PARTITION"))
                && toks.get(i + 1).is_some_and(|t| is_word(&t.token, "BY"))
            {
                let span = toks[i].span;
                let word = |v: &str| TokenWithSpan {
                    token: Token::Word(Word { value: v.into(), quote_style: None, keyword: Keyword::NoKeyword }),
                    span,
                };
                out.push(TokenWithSpan { token: Token::Comma, span });
                out.push(word("PARTITION_BY"));
                i += 2;
                if toks.get(i).is_some_and(|t| t.token == Token::LParen) {
                    continue; // PARTITION BY (a, b): the parenthesised list becomes the call's arguments
                }
                out.push(TokenWithSpan { token: Token::LParen, span });
                if let Some(k) = toks.get(i) {
                    out.push(k.clone());
                    i += 1;
                }
                out.push(TokenWithSpan { token: Token::RParen, span });
            }
            continue;
        }
        out.push(t.clone());
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flink_create_table() {
        let s = parse_script(
            "CREATE TABLE bid (auction BIGINT, price BIGINT NOT NULL, ts TIMESTAMP(3),\n WATERMARK FOR ts AS ts - INTERVAL '4' SECOND)\n WITH ('connector' = 'nexmark', 'table' = 'bid');",
        )
        .unwrap();
        match &s[0] {
            Statement::CreateTable { columns, watermark, options, .. } => {
                assert_eq!(columns.len(), 3);
                assert_eq!(watermark.as_ref().unwrap().0.value, "ts");
                assert_eq!(options[1].0, "table");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn parses_window_tvfs() {
        let s = parse_script(
            "SELECT * FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(ts), INTERVAL '10' SECOND));\
             SELECT * FROM TABLE(SESSION(TABLE bid PARTITION BY bidder, DESCRIPTOR(ts), INTERVAL '10' SECOND))",
        )
        .unwrap();
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn syntax_errors_point_at_line_and_column() {
        let e = parse_script("SELECT a\nFROM t WHERE AND b").unwrap_err();
        assert_eq!(e.location().unwrap().line, 2);
    }
}
