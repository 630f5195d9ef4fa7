//! The statements: DDL, DML, queries and the administrative commands.

use std::fmt;

use datafusion::sql::sqlparser::ast::{Expr, Ident};

use super::props::{Duration, Properties};
use super::query::{Query, comma_separated};
use super::types::TypeExpr;

/// One ksqlDB statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `CREATE [OR REPLACE] [SOURCE] STREAM|TABLE [IF NOT EXISTS] name [(columns)] [WITH (...)]`
    CreateSource(CreateSource),
    /// `CREATE [OR REPLACE] STREAM|TABLE [IF NOT EXISTS] name [WITH (...)] AS SELECT ...`
    CreateSourceAs(CreateSourceAs),
    /// A push (`EMIT CHANGES`) or pull query.
    Query(Box<Query>),
    /// `INSERT INTO name [WITH (...)] SELECT ...`
    InsertInto(InsertInto),
    /// `INSERT INTO name [(columns)] VALUES (...)`
    InsertValues(InsertValues),
    /// `SHOW|LIST STREAMS|TABLES|TOPICS|QUERIES|PROPERTIES|FUNCTIONS|TYPES|... [EXTENDED]`
    List {
        /// What is listed.
        kind: ListKind,
        /// `EXTENDED`: more detail per entry.
        extended: bool,
    },
    /// `DESCRIBE [EXTENDED] source` / `DESCRIBE source EXTENDED`
    Describe(DescribeSource),
    /// `DESCRIBE STREAMS|TABLES [EXTENDED]`
    DescribeSources {
        /// Streams or tables.
        kind: SourceKind,
        /// `EXTENDED`
        extended: bool,
    },
    /// `DESCRIBE FUNCTION name`
    DescribeFunction(Ident),
    /// `EXPLAIN statement` or `EXPLAIN query_id`
    Explain(Explain),
    /// `DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC]`
    DropSource(DropSource),
    /// `TERMINATE query_id | ALL`
    Terminate(TerminateTarget),
    /// `PRINT topic [FROM BEGINNING] [INTERVAL n] [LIMIT n]`
    Print(PrintTopic),
    /// `SET 'property' = 'value'`
    SetProperty {
        /// Property name.
        name: String,
        /// Property value.
        value: String,
    },
    /// `UNSET 'property'`
    UnsetProperty(String),
    /// `RUN SCRIPT 'path'`: a client-side command (the shell reads the file and splits it with
    /// [`crate::sql::split_statements`]); a server may refuse it.
    RunScript(String),
    /// `CREATE TYPE [IF NOT EXISTS] name AS type`
    CreateType(CreateType),
    /// `DROP TYPE [IF EXISTS] name`
    DropType(DropType),
    /// `ALTER STREAM|TABLE name ADD [COLUMN] name type, ...`
    AlterSource(AlterSource),
    /// `ASSERT [NOT EXISTS] TOPIC name [WITH (...)] [TIMEOUT n unit]`
    AssertTopic(AssertTopic),
    /// `ASSERT [NOT EXISTS] SCHEMA [SUBJECT name] [ID n] [TIMEOUT n unit]`
    AssertSchema(AssertSchema),
}

/// Stream or table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// An unbounded sequence of independent events.
    Stream,
    /// The latest value per key.
    Table,
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceKind::Stream => "STREAM",
            SourceKind::Table => "TABLE",
        })
    }
}

/// A column of `CREATE STREAM|TABLE (...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    /// Column name.
    pub name: Ident,
    /// Column type.
    pub data_type: TypeExpr,
    /// `KEY`, `PRIMARY KEY`, `HEADERS` or `HEADER('key')`.
    pub constraint: Option<ColumnConstraint>,
}

/// Where a column's value comes from, when it is not the record's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnConstraint {
    /// `KEY` (streams): part of the record key.
    Key,
    /// `PRIMARY KEY` (tables): part of the record key, which identifies the row.
    PrimaryKey,
    /// `HEADERS`: all record headers, as `ARRAY<STRUCT<KEY STRING, VALUE BYTES>>`.
    Headers,
    /// `HEADER('key')`: the last header with this key, as BYTES.
    Header(String),
}

/// `CREATE [OR REPLACE] [SOURCE] STREAM|TABLE [IF NOT EXISTS] name [(columns)] [WITH (...)]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateSource {
    /// Stream or table.
    pub kind: SourceKind,
    /// `OR REPLACE`
    pub or_replace: bool,
    /// `SOURCE`: read-only, materialised for pull queries.
    pub is_source: bool,
    /// `IF NOT EXISTS`
    pub if_not_exists: bool,
    /// The new source's name.
    pub name: Ident,
    /// Columns; empty when the schema is to come from a schema registry.
    pub columns: Vec<ColumnDef>,
    /// `WITH (...)`
    pub properties: Properties,
}

/// `CREATE [OR REPLACE] STREAM|TABLE [IF NOT EXISTS] name [WITH (...)] AS SELECT ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateSourceAs {
    /// Stream or table.
    pub kind: SourceKind,
    /// `OR REPLACE`
    pub or_replace: bool,
    /// `IF NOT EXISTS`
    pub if_not_exists: bool,
    /// The new source's name.
    pub name: Ident,
    /// `WITH (...)`: sink topic and formats.
    pub properties: Properties,
    /// The persistent query that fills it.
    pub query: Box<Query>,
}

/// `INSERT INTO name [WITH (...)] SELECT ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct InsertInto {
    /// The existing stream written to.
    pub target: Ident,
    /// `WITH (QUERY_ID='...')`
    pub properties: Properties,
    /// The persistent query.
    pub query: Box<Query>,
}

/// `INSERT INTO name [(columns)] VALUES (...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct InsertValues {
    /// The stream or table written to.
    pub target: Ident,
    /// The columns named; empty means all columns in order.
    pub columns: Vec<Ident>,
    /// One expression per column.
    pub values: Vec<Expr>,
}

/// What `SHOW`/`LIST` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// `STREAMS`
    Streams,
    /// `TABLES`
    Tables,
    /// `TOPICS`
    Topics,
    /// `ALL TOPICS` (internal topics too)
    AllTopics,
    /// `QUERIES`
    Queries,
    /// `PROPERTIES`
    Properties,
    /// `FUNCTIONS`
    Functions,
    /// `TYPES`
    Types,
    /// `VARIABLES`
    Variables,
    /// `[SOURCE|SINK] CONNECTORS`
    Connectors,
}

/// `DESCRIBE [EXTENDED] source`.
#[derive(Debug, Clone, PartialEq)]
pub struct DescribeSource {
    /// The stream or table.
    pub name: Ident,
    /// `EXTENDED`
    pub extended: bool,
}

/// What `EXPLAIN` explains.
#[derive(Debug, Clone, PartialEq)]
pub enum Explain {
    /// `EXPLAIN <statement>`: the plan the statement would run.
    Statement(Box<Statement>),
    /// `EXPLAIN query_id`: a running query.
    QueryId(Ident),
}

/// `DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC]`.
#[derive(Debug, Clone, PartialEq)]
pub struct DropSource {
    /// Stream or table.
    pub kind: SourceKind,
    /// `IF EXISTS`
    pub if_exists: bool,
    /// The source dropped.
    pub name: Ident,
    /// `DELETE TOPIC`: delete its topic too.
    pub delete_topic: bool,
}

/// What `TERMINATE` stops.
#[derive(Debug, Clone, PartialEq)]
pub enum TerminateTarget {
    /// One query by id.
    Query(Ident),
    /// `ALL` queries.
    All,
}

/// `PRINT topic [FROM BEGINNING] [INTERVAL n] [LIMIT n]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PrintTopic {
    /// The topic, exactly as named (a quoted or string name keeps its case; an unquoted one is
    /// upper-cased like every identifier, so the catalog may have to match case-insensitively).
    pub topic: Ident,
    /// `FROM BEGINNING`: start at the earliest offset instead of the end.
    pub from_beginning: bool,
    /// `INTERVAL n`: print every n-th record.
    pub interval: Option<u64>,
    /// `LIMIT n`: stop after n records.
    pub limit: Option<u64>,
}

/// `CREATE TYPE [IF NOT EXISTS] name AS type`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateType {
    /// `IF NOT EXISTS`
    pub if_not_exists: bool,
    /// The alias.
    pub name: Ident,
    /// What it stands for.
    pub data_type: TypeExpr,
}

/// `DROP TYPE [IF EXISTS] name`.
#[derive(Debug, Clone, PartialEq)]
pub struct DropType {
    /// `IF EXISTS`
    pub if_exists: bool,
    /// The alias dropped.
    pub name: Ident,
}

/// `ALTER STREAM|TABLE name ADD [COLUMN] name type, ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlterSource {
    /// Stream or table.
    pub kind: SourceKind,
    /// The source altered.
    pub name: Ident,
    /// Columns added (value columns).
    pub add_columns: Vec<ColumnDef>,
}

/// `ASSERT [NOT EXISTS] TOPIC name [WITH (...)] [TIMEOUT n unit]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AssertTopic {
    /// `NOT EXISTS`: assert the topic is absent.
    pub not_exists: bool,
    /// The topic.
    pub topic: Ident,
    /// Expected configuration (`PARTITIONS`, `REPLICAS`).
    pub properties: Properties,
    /// How long to wait for the condition.
    pub timeout: Option<Duration>,
}

/// `ASSERT [NOT EXISTS] SCHEMA [SUBJECT name] [ID n] [TIMEOUT n unit]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AssertSchema {
    /// `NOT EXISTS`: assert the schema is absent.
    pub not_exists: bool,
    /// Schema registry subject.
    pub subject: Option<Ident>,
    /// Schema id.
    pub id: Option<i64>,
    /// How long to wait for the condition.
    pub timeout: Option<Duration>,
}

impl fmt::Display for Statement {
    /// ksqlDB syntax for messages and EXPLAIN. It parses back to the same statement except for
    /// lambdas and `->` field access, which sqlparser prints as `x -> ...` and `a.'B'`: store
    /// the original text, not this.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statement::CreateSource(create) => {
                f.write_str("CREATE ")?;
                if create.or_replace {
                    f.write_str("OR REPLACE ")?;
                }
                if create.is_source {
                    f.write_str("SOURCE ")?;
                }
                write!(f, "{} ", create.kind)?;
                if create.if_not_exists {
                    f.write_str("IF NOT EXISTS ")?;
                }
                write!(f, "{}", create.name)?;
                if !create.columns.is_empty() {
                    f.write_str(" (")?;
                    comma_separated(f, &create.columns)?;
                    f.write_str(")")?;
                }
                if !create.properties.is_empty() {
                    write!(f, " WITH {}", create.properties)?;
                }
                Ok(())
            }
            Statement::CreateSourceAs(create) => {
                f.write_str("CREATE ")?;
                if create.or_replace {
                    f.write_str("OR REPLACE ")?;
                }
                write!(f, "{} ", create.kind)?;
                if create.if_not_exists {
                    f.write_str("IF NOT EXISTS ")?;
                }
                write!(f, "{}", create.name)?;
                if !create.properties.is_empty() {
                    write!(f, " WITH {}", create.properties)?;
                }
                write!(f, " AS {}", create.query)
            }
            Statement::Query(query) => write!(f, "{query}"),
            Statement::InsertInto(insert) => {
                write!(f, "INSERT INTO {}", insert.target)?;
                if !insert.properties.is_empty() {
                    write!(f, " WITH {}", insert.properties)?;
                }
                write!(f, " {}", insert.query)
            }
            Statement::InsertValues(insert) => {
                write!(f, "INSERT INTO {}", insert.target)?;
                if !insert.columns.is_empty() {
                    f.write_str(" (")?;
                    comma_separated(f, &insert.columns)?;
                    f.write_str(")")?;
                }
                f.write_str(" VALUES (")?;
                comma_separated(f, &insert.values)?;
                f.write_str(")")
            }
            Statement::List { kind, extended } => {
                let what = match kind {
                    ListKind::Streams => "STREAMS",
                    ListKind::Tables => "TABLES",
                    ListKind::Topics => "TOPICS",
                    ListKind::AllTopics => "ALL TOPICS",
                    ListKind::Queries => "QUERIES",
                    ListKind::Properties => "PROPERTIES",
                    ListKind::Functions => "FUNCTIONS",
                    ListKind::Types => "TYPES",
                    ListKind::Variables => "VARIABLES",
                    ListKind::Connectors => "CONNECTORS",
                };
                write!(f, "SHOW {what}{}", if *extended { " EXTENDED" } else { "" })
            }
            Statement::Describe(describe) => write!(
                f,
                "DESCRIBE {}{}",
                describe.name,
                if describe.extended { " EXTENDED" } else { "" }
            ),
            Statement::DescribeSources { kind, extended } => write!(
                f,
                "DESCRIBE {kind}S{}",
                if *extended { " EXTENDED" } else { "" }
            ),
            Statement::DescribeFunction(name) => write!(f, "DESCRIBE FUNCTION {name}"),
            Statement::Explain(Explain::Statement(statement)) => write!(f, "EXPLAIN {statement}"),
            Statement::Explain(Explain::QueryId(id)) => write!(f, "EXPLAIN {id}"),
            Statement::DropSource(drop) => write!(
                f,
                "DROP {} {}{}{}",
                drop.kind,
                if drop.if_exists { "IF EXISTS " } else { "" },
                drop.name,
                if drop.delete_topic {
                    " DELETE TOPIC"
                } else {
                    ""
                }
            ),
            Statement::Terminate(TerminateTarget::All) => f.write_str("TERMINATE ALL"),
            Statement::Terminate(TerminateTarget::Query(id)) => write!(f, "TERMINATE {id}"),
            Statement::Print(print) => {
                write!(f, "PRINT {}", print.topic)?;
                if print.from_beginning {
                    f.write_str(" FROM BEGINNING")?;
                }
                if let Some(interval) = print.interval {
                    write!(f, " INTERVAL {interval}")?;
                }
                if let Some(limit) = print.limit {
                    write!(f, " LIMIT {limit}")?;
                }
                Ok(())
            }
            Statement::SetProperty { name, value } => {
                write!(f, "SET {} = {}", quote(name), quote(value))
            }
            Statement::UnsetProperty(name) => write!(f, "UNSET {}", quote(name)),
            Statement::RunScript(path) => write!(f, "RUN SCRIPT {}", quote(path)),
            Statement::CreateType(create) => write!(
                f,
                "CREATE TYPE {}{} AS {}",
                if create.if_not_exists {
                    "IF NOT EXISTS "
                } else {
                    ""
                },
                create.name,
                create.data_type
            ),
            Statement::DropType(drop) => write!(
                f,
                "DROP TYPE {}{}",
                if drop.if_exists { "IF EXISTS " } else { "" },
                drop.name
            ),
            Statement::AlterSource(alter) => {
                write!(f, "ALTER {} {} ", alter.kind, alter.name)?;
                for (i, column) in alter.add_columns.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "ADD COLUMN {column}")?;
                }
                Ok(())
            }
            Statement::AssertTopic(assert) => {
                write!(
                    f,
                    "ASSERT {}TOPIC {}",
                    if assert.not_exists { "NOT EXISTS " } else { "" },
                    assert.topic
                )?;
                if !assert.properties.is_empty() {
                    write!(f, " WITH {}", assert.properties)?;
                }
                if let Some(timeout) = assert.timeout {
                    write!(f, " TIMEOUT {timeout}")?;
                }
                Ok(())
            }
            Statement::AssertSchema(assert) => {
                write!(
                    f,
                    "ASSERT {}SCHEMA",
                    if assert.not_exists { "NOT EXISTS " } else { "" }
                )?;
                if let Some(subject) = &assert.subject {
                    write!(f, " SUBJECT {subject}")?;
                }
                if let Some(id) = assert.id {
                    write!(f, " ID {id}")?;
                }
                if let Some(timeout) = assert.timeout {
                    write!(f, " TIMEOUT {timeout}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for ColumnDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.data_type)?;
        match &self.constraint {
            Some(ColumnConstraint::Key) => f.write_str(" KEY"),
            Some(ColumnConstraint::PrimaryKey) => f.write_str(" PRIMARY KEY"),
            Some(ColumnConstraint::Headers) => f.write_str(" HEADERS"),
            Some(ColumnConstraint::Header(key)) => write!(f, " HEADER({})", quote(key)),
            None => Ok(()),
        }
    }
}

/// A SQL string literal: `'it''s'`.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
