//! The logical schema of a stream or table: which columns come from the record's key, which
//! from its value and which from its headers, plus the pseudo columns every source has.
//!
//! This is what `CREATE STREAM s (K INT KEY, V STRING, H BYTES HEADER('h'))` declares and what
//! DESCRIBE prints. A decoded batch ([`crate::format`]) lays its columns out in the order of
//! [`LogicalSchema::arrow_schema`]: pseudo columns, key columns, value columns, header columns.

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use super::{SqlType, StructField, TypeError, write_identifier};

/// A column every source has without declaring it, filled from the Kafka record's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PseudoColumn {
    /// The record's timestamp (`TIMESTAMP`), or the column named by `TIMESTAMP='col'`.
    RowTime,
    /// The partition the record was read from (`INT`).
    RowPartition,
    /// The record's offset in its partition (`BIGINT`).
    RowOffset,
    /// Start of the window of a windowed source (`BIGINT`, epoch millis).
    WindowStart,
    /// End of the window of a windowed source (`BIGINT`, epoch millis).
    WindowEnd,
}

impl PseudoColumn {
    /// The pseudo columns of a source that is not windowed, in batch order.
    pub const ROW: [PseudoColumn; 3] = [
        PseudoColumn::RowTime,
        PseudoColumn::RowPartition,
        PseudoColumn::RowOffset,
    ];

    /// The column's name (`ROWTIME`, ...).
    pub fn name(self) -> &'static str {
        match self {
            PseudoColumn::RowTime => "ROWTIME",
            PseudoColumn::RowPartition => "ROWPARTITION",
            PseudoColumn::RowOffset => "ROWOFFSET",
            PseudoColumn::WindowStart => "WINDOWSTART",
            PseudoColumn::WindowEnd => "WINDOWEND",
        }
    }

    /// The column's SQL type.
    pub fn sql_type(self) -> SqlType {
        match self {
            PseudoColumn::RowTime => SqlType::Timestamp,
            PseudoColumn::RowPartition => SqlType::Int,
            PseudoColumn::RowOffset | PseudoColumn::WindowStart | PseudoColumn::WindowEnd => {
                SqlType::BigInt
            }
        }
    }

    /// The pseudo column called `name` (already upper-cased), if any.
    pub fn from_name(name: &str) -> Option<PseudoColumn> {
        [
            PseudoColumn::RowTime,
            PseudoColumn::RowPartition,
            PseudoColumn::RowOffset,
            PseudoColumn::WindowStart,
            PseudoColumn::WindowEnd,
        ]
        .into_iter()
        .find(|p| p.name() == name)
    }
}

/// Where a declared column's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ColumnKind {
    /// `KEY` (stream) or `PRIMARY KEY` (table): decoded from the record key.
    Key,
    /// An ordinary column, decoded from the record value.
    Value,
    /// `HEADERS`: all headers as `ARRAY<STRUCT<KEY STRING, VALUE BYTES>>`.
    Headers,
    /// `HEADER('name')`: the last header with that key, as `BYTES`.
    Header(String),
}

/// One declared column of a source.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Column {
    /// The normalized name (upper-case unless it was quoted).
    pub name: String,
    /// The column's type.
    pub sql_type: SqlType,
    /// Key, value or header.
    pub kind: ColumnKind,
}

impl Column {
    /// A key column.
    pub fn key(name: impl Into<String>, sql_type: SqlType) -> Self {
        Column {
            name: name.into(),
            sql_type,
            kind: ColumnKind::Key,
        }
    }

    /// A value column.
    pub fn value(name: impl Into<String>, sql_type: SqlType) -> Self {
        Column {
            name: name.into(),
            sql_type,
            kind: ColumnKind::Value,
        }
    }

    /// A `HEADERS` column holding every header.
    pub fn headers(name: impl Into<String>) -> Self {
        Column {
            name: name.into(),
            sql_type: headers_type(),
            kind: ColumnKind::Headers,
        }
    }

    /// A `BYTES HEADER('key')` column.
    pub fn header(name: impl Into<String>, header_key: impl Into<String>) -> Self {
        Column {
            name: name.into(),
            sql_type: SqlType::Bytes,
            kind: ColumnKind::Header(header_key.into()),
        }
    }
}

/// The type of a `HEADERS` column: `ARRAY<STRUCT<KEY STRING, VALUE BYTES>>`.
pub fn headers_type() -> SqlType {
    SqlType::array(SqlType::Struct(vec![
        StructField::new("KEY", SqlType::String),
        StructField::new("VALUE", SqlType::Bytes),
    ]))
}

/// The declared columns of a stream or table, in declaration order within each kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LogicalSchema {
    /// Key columns, in key order.
    pub key: Vec<Column>,
    /// Value columns, in value (serialization) order.
    pub value: Vec<Column>,
    /// Header columns (`HEADERS` or `HEADER('k')`).
    pub headers: Vec<Column>,
    /// `Some` for a windowed source (the output of a windowed aggregation, or a source declared
    /// with `WINDOW_TYPE`): its keys carry the window and the batch also has WINDOWSTART and
    /// WINDOWEND.
    pub window: Option<WindowKind>,
}

/// How a windowed source's keys carry their window, as Kafka Streams serializes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WindowKind {
    /// `TUMBLING`: the key is followed by the 8-byte window start; the end is start + size.
    Tumbling {
        /// Window size in milliseconds.
        size_ms: i64,
    },
    /// `HOPPING`: serialized like tumbling windows.
    Hopping {
        /// Window size in milliseconds.
        size_ms: i64,
    },
    /// `SESSION`: the key is followed by the 8-byte window end, then the 8-byte start.
    Session,
}

impl LogicalSchema {
    /// Builds a schema from columns in declaration order, sorting them by kind.
    pub fn from_columns(columns: impl IntoIterator<Item = Column>) -> Self {
        let mut schema = LogicalSchema::default();
        for column in columns {
            match column.kind {
                ColumnKind::Key => schema.key.push(column),
                ColumnKind::Value => schema.value.push(column),
                ColumnKind::Headers | ColumnKind::Header(_) => schema.headers.push(column),
            }
        }
        schema
    }

    /// The pseudo columns this source has, in batch order.
    pub fn pseudo_columns(&self) -> Vec<PseudoColumn> {
        let mut pseudo = PseudoColumn::ROW.to_vec();
        if self.window.is_some() {
            pseudo.extend([PseudoColumn::WindowStart, PseudoColumn::WindowEnd]);
        }
        pseudo
    }

    /// Every declared column: key, value, then header columns.
    pub fn columns(&self) -> impl Iterator<Item = &Column> {
        self.key.iter().chain(&self.value).chain(&self.headers)
    }

    /// The declared column called `name` (exact match on the normalized name).
    pub fn find(&self, name: &str) -> Option<&Column> {
        self.columns().find(|c| c.name == name)
    }

    /// The schema of a query's output, for its sink: every column of `arrow` except pseudo
    /// columns and internal (`__`) ones, the columns named in `key` as key columns (in the
    /// order of `key`), the rest as value columns in their batch order.
    pub fn from_arrow(arrow: &Schema, key: &[&str]) -> Result<LogicalSchema, TypeError> {
        let mut schema = LogicalSchema::default();
        for name in key {
            let field = arrow
                .field_with_name(name)
                .map_err(|_| TypeError::MissingColumn((*name).to_string()))?;
            schema
                .key
                .push(Column::key(*name, SqlType::from_arrow(field.data_type())?));
        }
        for field in arrow.fields() {
            let name = field.name().as_str();
            if key.contains(&name)
                || name.starts_with("__")
                || PseudoColumn::from_name(name).is_some()
            {
                continue;
            }
            schema
                .value
                .push(Column::value(name, SqlType::from_arrow(field.data_type())?));
        }
        Ok(schema)
    }

    /// The Arrow schema of a decoded batch: pseudo columns, key, value, header columns, then
    /// the internal tombstone marker ([`TOMBSTONE_COLUMN`]). Declared columns are nullable;
    /// pseudo columns are not.
    pub fn arrow_schema(&self) -> SchemaRef {
        let mut fields: Vec<Field> = self
            .pseudo_columns()
            .into_iter()
            .map(|p| Field::new(p.name(), p.sql_type().to_arrow(), false))
            .collect();
        fields.extend(
            self.columns()
                .map(|c| Field::new(&c.name, c.sql_type.to_arrow(), true)),
        );
        fields.push(Field::new(TOMBSTONE_COLUMN, DataType::Boolean, false));
        Arc::new(Schema::new(fields))
    }
}

/// Name of the internal boolean column that marks records whose value was null (a tombstone
/// for a table, a null row for a stream). It lets the sink write a null value again and lets
/// table operators delete the key. `SELECT *` must not expand it: every column whose name
/// starts with `__` is internal.
pub const TOMBSTONE_COLUMN: &str = "__TOMBSTONE";

/// The Arrow type of ROWTIME, for code that builds batches by hand.
pub fn rowtime_arrow_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, None)
}

impl fmt::Display for LogicalSchema {
    /// DESCRIBE's one-line form: `K STRING KEY, V INTEGER, H BYTES HEADER('h')`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, column) in self.columns().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write_identifier(f, &column.name)?;
            write!(f, " {}", column.sql_type)?;
            match &column.kind {
                ColumnKind::Key => f.write_str(" KEY")?,
                ColumnKind::Value => {}
                ColumnKind::Headers => f.write_str(" HEADERS")?,
                ColumnKind::Header(key) => write!(f, " HEADER('{}')", key.replace('\'', "''"))?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> LogicalSchema {
        LogicalSchema::from_columns([
            Column::value("V", SqlType::Int),
            Column::key("K", SqlType::String),
            Column::header("H", "trace-id"),
        ])
    }

    #[test]
    fn display_lists_key_value_header_columns() {
        assert_eq!(
            schema().to_string(),
            "K STRING KEY, V INTEGER, H BYTES HEADER('trace-id')"
        );
    }

    #[test]
    fn arrow_schema_puts_pseudo_columns_first() {
        let arrow = schema().arrow_schema();
        let names: Vec<_> = arrow.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            [
                "ROWTIME",
                "ROWPARTITION",
                "ROWOFFSET",
                "K",
                "V",
                "H",
                TOMBSTONE_COLUMN
            ]
        );
        assert_eq!(arrow.field(0).data_type(), &rowtime_arrow_type());
    }

    #[test]
    fn sink_schema_from_query_output() {
        let output = schema().arrow_schema();
        let sink = LogicalSchema::from_arrow(&output, &["V"]).unwrap();
        assert_eq!(sink.to_string(), "V INTEGER KEY, K STRING, H BYTES");
        assert!(LogicalSchema::from_arrow(&output, &["NOPE"]).is_err());
    }

    #[test]
    fn windowed_sources_have_window_bounds() {
        let mut s = schema();
        s.window = Some(WindowKind::Session);
        assert_eq!(s.pseudo_columns().len(), 5);
        assert_eq!(
            PseudoColumn::from_name("WINDOWEND"),
            Some(PseudoColumn::WindowEnd)
        );
    }
}
