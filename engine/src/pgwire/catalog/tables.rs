//! The rows of `pg_catalog` and `information_schema`, made from Sluice's streams and tables.
//!
//! Model (see docs/architecture.md, "Postgres wire: catalog views"):
//! - one database, `sluice`; schemas `public` (every stream and table), `pg_catalog`,
//!   `information_schema`; one role, `sluice`, owning everything;
//! - a **table** is a relation of kind `r` (an ordinary table); a **stream** is a relation of
//!   kind `v` (a view): an unbounded sequence one selects from, never updates, so `\dt` lists
//!   tables, `\dv` streams and `\d` both;
//! - names are shown in lower case when Sluice holds them in upper case (an unquoted ksqlDB
//!   identifier), as Postgres folds unquoted identifiers to lower case: `\d orders` finds
//!   `ORDERS`, and `SELECT * FROM orders` names the same stream; a quoted mixed-case name is
//!   shown as it is;
//! - a relation's oid is derived from its name (stable while it exists, whatever else is
//!   created), columns are numbered from 1 in DESCRIBE's order (key columns first).

use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use pgwire::api::Type;

use crate::pgwire::catalog::build::{Col, V, batch};
use crate::pgwire::catalog::types::{KNOWN_TYPES, pg_type};

/// The oid of `pg_catalog`.
pub const PG_CATALOG_OID: i64 = 11;
/// The oid of `public`.
pub const PUBLIC_OID: i64 = 2200;
/// The oid of `information_schema`.
pub const INFORMATION_SCHEMA_OID: i64 = 13_000;
/// The oid of the database.
pub const DATABASE_OID: i64 = 16_384;
/// The oid of the one role.
pub const ROLE_OID: i64 = 10;
/// The database's name.
pub const DATABASE: &str = "sluice";
/// The role every object belongs to.
pub const ROLE: &str = "sluice";

/// A stream or table as the catalog views show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// The name as Postgres clients see it (see the module doc).
    pub name: String,
    /// Whether it is a ksqlDB table (else a stream).
    pub is_table: bool,
    /// Its columns: Postgres name, ksqlDB type, whether part of the key.
    pub columns: Vec<(String, String, bool)>,
    /// The statement that created it (`pg_get_viewdef`, `obj_description`).
    pub statement: String,
}

impl Relation {
    /// The relation's oid: derived from its name, above the first user oid (16384).
    pub fn oid(&self) -> i64 {
        relation_oid(&self.name)
    }

    /// The columns of its primary key, as (attnum, name): a table's key columns. A stream has
    /// none: its key is not unique.
    pub fn primary_key(&self) -> Vec<(i64, &str)> {
        if !self.is_table {
            return Vec::new();
        }
        self.columns
            .iter()
            .enumerate()
            .filter(|(_, (_, _, key))| *key)
            .map(|(i, (name, _, _))| (i as i64 + 1, name.as_str()))
            .collect()
    }

    /// The name of its primary key's index and constraint, as Postgres names them.
    pub fn pkey_name(&self) -> String {
        format!("{}_pkey", self.name)
    }

    /// The oid of its primary key's index (a relation of kind `i`).
    pub fn pkey_index_oid(&self) -> i64 {
        relation_oid(&format!("{}\0index", self.name))
    }

    /// The oid of its primary key constraint.
    pub fn pkey_constraint_oid(&self) -> i64 {
        relation_oid(&format!("{}\0constraint", self.name))
    }

    /// `pg_get_indexdef` of its primary key's index.
    pub fn pkey_index_def(&self) -> String {
        let columns: Vec<&str> = self.primary_key().into_iter().map(|(_, n)| n).collect();
        format!(
            "CREATE UNIQUE INDEX {} ON public.{} USING btree ({})",
            quote(&self.pkey_name()),
            quote(&self.name),
            columns
                .iter()
                .map(|c| quote(c))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    /// `pg_get_constraintdef` of its primary key.
    pub fn pkey_constraint_def(&self) -> String {
        let columns: Vec<String> = self
            .primary_key()
            .into_iter()
            .map(|(_, n)| quote(n))
            .collect();
        format!("PRIMARY KEY ({})", columns.join(", "))
    }
}

/// `name` as an SQL identifier: bare when Postgres would print it bare, else quoted.
pub fn quote(name: &str) -> String {
    let bare = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if bare {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// The oids the catalog relations have in PostgreSQL (`'pg_class'::regclass`).
pub const CATALOG_RELATION_OIDS: &[(&str, i64)] = &[
    ("pg_type", 1247),
    ("pg_attribute", 1249),
    ("pg_proc", 1255),
    ("pg_class", 1259),
    ("pg_database", 1262),
    ("pg_am", 2601),
    ("pg_attrdef", 2604),
    ("pg_constraint", 2606),
    ("pg_description", 2609),
    ("pg_index", 2610),
    ("pg_inherits", 2611),
    ("pg_namespace", 2615),
    ("pg_rewrite", 2618),
    ("pg_trigger", 2620),
    ("pg_collation", 3456),
    ("pg_enum", 3501),
    ("pg_range", 3541),
];

/// The oid the relation called `name` gets (FNV-1a of the name, in 2^30 oids from 20000).
pub fn relation_oid(name: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    20_000 + (hash % (1 << 30)) as i64
}

/// How Postgres clients see the Sluice identifier `name`.
pub fn pg_name(name: &str) -> String {
    if name.chars().any(|c| c.is_ascii_lowercase()) {
        name.to_owned()
    } else {
        name.to_ascii_lowercase()
    }
}

/// A table of the catalog views: where it lives, its name and its rows.
#[derive(Debug)]
pub struct CatalogTable {
    /// `pg_catalog` or `information_schema`.
    pub schema: &'static str,
    /// The table's name.
    pub name: &'static str,
    /// Its rows.
    pub batch: RecordBatch,
}

type Columns = &'static [(&'static str, Col)];

const NAMESPACE: Columns = &[
    ("oid", Col::Oid),
    ("nspname", Col::Text),
    ("nspowner", Col::Oid),
    ("nspacl", Col::TextArray),
];

const CLASS: Columns = &[
    ("oid", Col::Oid),
    ("relname", Col::Text),
    ("relnamespace", Col::Oid),
    ("reltype", Col::Oid),
    ("reloftype", Col::Oid),
    ("relowner", Col::Oid),
    ("relam", Col::Oid),
    ("relfilenode", Col::Oid),
    ("reltablespace", Col::Oid),
    ("relpages", Col::Int),
    ("reltuples", Col::Real),
    ("relallvisible", Col::Int),
    ("reltoastrelid", Col::Oid),
    ("relhasindex", Col::Bool),
    ("relisshared", Col::Bool),
    ("relpersistence", Col::Text),
    ("relkind", Col::Text),
    ("relnatts", Col::Small),
    ("relchecks", Col::Small),
    ("relhasrules", Col::Bool),
    ("relhastriggers", Col::Bool),
    ("relhassubclass", Col::Bool),
    ("relrowsecurity", Col::Bool),
    ("relforcerowsecurity", Col::Bool),
    ("relispopulated", Col::Bool),
    ("relreplident", Col::Text),
    ("relispartition", Col::Bool),
    ("relrewrite", Col::Oid),
    ("relacl", Col::TextArray),
    ("reloptions", Col::TextArray),
    ("relpartbound", Col::Text),
];

const ATTRIBUTE: Columns = &[
    ("attrelid", Col::Oid),
    ("attname", Col::Text),
    ("atttypid", Col::Oid),
    ("attstattarget", Col::Int),
    ("attlen", Col::Small),
    ("attnum", Col::Small),
    ("attndims", Col::Int),
    ("attcacheoff", Col::Int),
    ("atttypmod", Col::Int),
    ("attbyval", Col::Bool),
    ("attalign", Col::Text),
    ("attstorage", Col::Text),
    ("attcompression", Col::Text),
    ("attnotnull", Col::Bool),
    ("atthasdef", Col::Bool),
    ("atthasmissing", Col::Bool),
    ("attidentity", Col::Text),
    ("attgenerated", Col::Text),
    ("attisdropped", Col::Bool),
    ("attislocal", Col::Bool),
    ("attinhcount", Col::Int),
    ("attcollation", Col::Oid),
    ("attacl", Col::TextArray),
    ("attoptions", Col::TextArray),
    ("attfdwoptions", Col::TextArray),
];

const TYPE: Columns = &[
    ("oid", Col::Oid),
    ("typname", Col::Text),
    ("typnamespace", Col::Oid),
    ("typowner", Col::Oid),
    ("typlen", Col::Small),
    ("typbyval", Col::Bool),
    ("typtype", Col::Text),
    ("typcategory", Col::Text),
    ("typispreferred", Col::Bool),
    ("typisdefined", Col::Bool),
    ("typdelim", Col::Text),
    ("typrelid", Col::Oid),
    ("typsubscript", Col::Text),
    ("typelem", Col::Oid),
    ("typarray", Col::Oid),
    ("typinput", Col::Text),
    ("typoutput", Col::Text),
    ("typreceive", Col::Text),
    ("typsend", Col::Text),
    ("typalign", Col::Text),
    ("typstorage", Col::Text),
    ("typnotnull", Col::Bool),
    ("typbasetype", Col::Oid),
    ("typtypmod", Col::Int),
    ("typndims", Col::Int),
    ("typcollation", Col::Oid),
    ("typdefault", Col::Text),
    ("typacl", Col::TextArray),
];

const DATABASE_COLS: Columns = &[
    ("oid", Col::Oid),
    ("datname", Col::Text),
    ("datdba", Col::Oid),
    ("encoding", Col::Int),
    ("datlocprovider", Col::Text),
    ("datistemplate", Col::Bool),
    ("datallowconn", Col::Bool),
    ("datconnlimit", Col::Int),
    ("dattablespace", Col::Oid),
    ("datcollate", Col::Text),
    ("datctype", Col::Text),
    ("daticulocale", Col::Text),
    ("datcollversion", Col::Text),
    ("datacl", Col::TextArray),
];

const SETTINGS: Columns = &[
    ("name", Col::Text),
    ("setting", Col::Text),
    ("unit", Col::Text),
    ("category", Col::Text),
    ("short_desc", Col::Text),
    ("extra_desc", Col::Text),
    ("context", Col::Text),
    ("vartype", Col::Text),
    ("source", Col::Text),
    ("min_val", Col::Text),
    ("max_val", Col::Text),
    ("enumvals", Col::TextArray),
    ("boot_val", Col::Text),
    ("reset_val", Col::Text),
    ("pending_restart", Col::Bool),
];

const ROLES: Columns = &[
    ("oid", Col::Oid),
    ("rolname", Col::Text),
    ("rolsuper", Col::Bool),
    ("rolinherit", Col::Bool),
    ("rolcreaterole", Col::Bool),
    ("rolcreatedb", Col::Bool),
    ("rolcanlogin", Col::Bool),
    ("rolreplication", Col::Bool),
    ("rolconnlimit", Col::Int),
    ("rolpassword", Col::Text),
    ("rolvaliduntil", Col::Text),
    ("rolbypassrls", Col::Bool),
    ("rolconfig", Col::TextArray),
];

const TABLES_VIEW: Columns = &[
    ("schemaname", Col::Text),
    ("tablename", Col::Text),
    ("tableowner", Col::Text),
    ("tablespace", Col::Text),
    ("hasindexes", Col::Bool),
    ("hasrules", Col::Bool),
    ("hastriggers", Col::Bool),
    ("rowsecurity", Col::Bool),
];

const VIEWS_VIEW: Columns = &[
    ("schemaname", Col::Text),
    ("viewname", Col::Text),
    ("viewowner", Col::Text),
    ("definition", Col::Text),
];

const AM: Columns = &[
    ("oid", Col::Oid),
    ("amname", Col::Text),
    ("amhandler", Col::Text),
    ("amtype", Col::Text),
];

const IS_SCHEMATA: Columns = &[
    ("catalog_name", Col::Text),
    ("schema_name", Col::Text),
    ("schema_owner", Col::Text),
    ("default_character_set_catalog", Col::Text),
    ("default_character_set_schema", Col::Text),
    ("default_character_set_name", Col::Text),
    ("sql_path", Col::Text),
];

const IS_TABLES: Columns = &[
    ("table_catalog", Col::Text),
    ("table_schema", Col::Text),
    ("table_name", Col::Text),
    ("table_type", Col::Text),
    ("self_referencing_column_name", Col::Text),
    ("reference_generation", Col::Text),
    ("user_defined_type_catalog", Col::Text),
    ("user_defined_type_schema", Col::Text),
    ("user_defined_type_name", Col::Text),
    ("is_insertable_into", Col::Text),
    ("is_typed", Col::Text),
    ("commit_action", Col::Text),
];

const IS_COLUMNS: Columns = &[
    ("table_catalog", Col::Text),
    ("table_schema", Col::Text),
    ("table_name", Col::Text),
    ("column_name", Col::Text),
    ("ordinal_position", Col::Int),
    ("column_default", Col::Text),
    ("is_nullable", Col::Text),
    ("data_type", Col::Text),
    ("character_maximum_length", Col::Int),
    ("numeric_precision", Col::Int),
    ("numeric_scale", Col::Int),
    ("datetime_precision", Col::Int),
    ("udt_catalog", Col::Text),
    ("udt_schema", Col::Text),
    ("udt_name", Col::Text),
    ("is_identity", Col::Text),
    ("is_generated", Col::Text),
    ("is_updatable", Col::Text),
];

const IS_VIEWS: Columns = &[
    ("table_catalog", Col::Text),
    ("table_schema", Col::Text),
    ("table_name", Col::Text),
    ("view_definition", Col::Text),
    ("check_option", Col::Text),
    ("is_updatable", Col::Text),
    ("is_insertable_into", Col::Text),
];

const INDEX: Columns = &[
    ("indexrelid", Col::Oid),
    ("indrelid", Col::Oid),
    ("indnatts", Col::Small),
    ("indnkeyatts", Col::Small),
    ("indisunique", Col::Bool),
    ("indnullsnotdistinct", Col::Bool),
    ("indisprimary", Col::Bool),
    ("indisexclusion", Col::Bool),
    ("indimmediate", Col::Bool),
    ("indisclustered", Col::Bool),
    ("indisvalid", Col::Bool),
    ("indcheckxmin", Col::Bool),
    ("indisready", Col::Bool),
    ("indislive", Col::Bool),
    ("indisreplident", Col::Bool),
    ("indkey", Col::SmallArray),
    ("indcollation", Col::OidArray),
    ("indclass", Col::OidArray),
    ("indoption", Col::SmallArray),
    ("indexprs", Col::Text),
    ("indpred", Col::Text),
];

const CONSTRAINT: Columns = &[
    ("oid", Col::Oid),
    ("conname", Col::Text),
    ("connamespace", Col::Oid),
    ("contype", Col::Text),
    ("condeferrable", Col::Bool),
    ("condeferred", Col::Bool),
    ("convalidated", Col::Bool),
    ("conrelid", Col::Oid),
    ("contypid", Col::Oid),
    ("conindid", Col::Oid),
    ("conparentid", Col::Oid),
    ("confrelid", Col::Oid),
    ("confupdtype", Col::Text),
    ("confdeltype", Col::Text),
    ("confmatchtype", Col::Text),
    ("conislocal", Col::Bool),
    ("coninhcount", Col::Int),
    ("connoinherit", Col::Bool),
    ("conkey", Col::SmallArray),
    ("confkey", Col::SmallArray),
    ("conpfeqop", Col::OidArray),
    ("conppeqop", Col::OidArray),
    ("conffeqop", Col::OidArray),
    ("conexclop", Col::OidArray),
    ("conbin", Col::Text),
];

/// Catalogs Sluice has no objects of: empty, with the columns the queries of psql and common
/// drivers name, so their joins and subqueries plan and find nothing.
const EMPTY: &[(&str, &str, Columns)] = &[
    (
        "pg_catalog",
        "pg_opclass",
        &[
            ("oid", Col::Oid),
            ("opcmethod", Col::Oid),
            ("opcname", Col::Text),
            ("opcnamespace", Col::Oid),
            ("opcowner", Col::Oid),
            ("opcfamily", Col::Oid),
            ("opcintype", Col::Oid),
            ("opcdefault", Col::Bool),
            ("opckeytype", Col::Oid),
        ],
    ),
    (
        "pg_catalog",
        "pg_attrdef",
        &[
            ("oid", Col::Oid),
            ("adrelid", Col::Oid),
            ("adnum", Col::Small),
            ("adbin", Col::Text),
        ],
    ),
    (
        "pg_catalog",
        "pg_collation",
        &[
            ("oid", Col::Oid),
            ("collname", Col::Text),
            ("collnamespace", Col::Oid),
        ],
    ),
    (
        "pg_catalog",
        "pg_description",
        &[
            ("objoid", Col::Oid),
            ("classoid", Col::Oid),
            ("objsubid", Col::Int),
            ("description", Col::Text),
        ],
    ),
    (
        "pg_catalog",
        "pg_proc",
        &[
            ("oid", Col::Oid),
            ("proname", Col::Text),
            ("pronamespace", Col::Oid),
            ("proowner", Col::Oid),
            ("prokind", Col::Text),
            ("prorettype", Col::Oid),
            ("proargtypes", Col::Text),
        ],
    ),
    (
        "pg_catalog",
        "pg_inherits",
        &[
            ("inhrelid", Col::Oid),
            ("inhparent", Col::Oid),
            ("inhseqno", Col::Int),
            ("inhdetachpending", Col::Bool),
        ],
    ),
    (
        "pg_catalog",
        "pg_policy",
        &[
            ("oid", Col::Oid),
            ("polname", Col::Text),
            ("polrelid", Col::Oid),
            ("polcmd", Col::Text),
            ("polpermissive", Col::Bool),
            ("polroles", Col::OidArray),
            ("polqual", Col::Text),
            ("polwithcheck", Col::Text),
        ],
    ),
    (
        "pg_catalog",
        "pg_trigger",
        &[
            ("oid", Col::Oid),
            ("tgrelid", Col::Oid),
            ("tgname", Col::Text),
            ("tgenabled", Col::Text),
            ("tgisinternal", Col::Bool),
            ("tgparentid", Col::Oid),
        ],
    ),
    (
        "pg_catalog",
        "pg_rewrite",
        &[
            ("oid", Col::Oid),
            ("rulename", Col::Text),
            ("ev_class", Col::Oid),
            ("ev_type", Col::Text),
        ],
    ),
    (
        "pg_catalog",
        "pg_statistic_ext",
        &[
            ("oid", Col::Oid),
            ("stxrelid", Col::Oid),
            ("stxname", Col::Text),
            ("stxnamespace", Col::Oid),
            ("stxkeys", Col::Text),
            ("stxstattarget", Col::Int),
            ("stxkind", Col::TextArray),
        ],
    ),
    (
        "pg_catalog",
        "pg_publication",
        &[
            ("oid", Col::Oid),
            ("pubname", Col::Text),
            ("puballtables", Col::Bool),
        ],
    ),
    (
        "pg_catalog",
        "pg_publication_rel",
        &[
            ("oid", Col::Oid),
            ("prpubid", Col::Oid),
            ("prrelid", Col::Oid),
            ("prqual", Col::Text),
            ("prattrs", Col::Text),
        ],
    ),
    (
        "pg_catalog",
        "pg_publication_namespace",
        &[
            ("oid", Col::Oid),
            ("pnpubid", Col::Oid),
            ("pnnspid", Col::Oid),
        ],
    ),
    (
        "pg_catalog",
        "pg_foreign_table",
        &[("ftrelid", Col::Oid), ("ftserver", Col::Oid)],
    ),
    (
        "pg_catalog",
        "pg_tablespace",
        &[("oid", Col::Oid), ("spcname", Col::Text)],
    ),
    (
        "pg_catalog",
        "pg_extension",
        &[
            ("oid", Col::Oid),
            ("extname", Col::Text),
            ("extversion", Col::Text),
        ],
    ),
    (
        "pg_catalog",
        "pg_enum",
        &[
            ("oid", Col::Oid),
            ("enumtypid", Col::Oid),
            ("enumsortorder", Col::Real),
            ("enumlabel", Col::Text),
        ],
    ),
    (
        "pg_catalog",
        "pg_range",
        &[("rngtypid", Col::Oid), ("rngsubtype", Col::Oid)],
    ),
    (
        "pg_catalog",
        "pg_sequence",
        &[("seqrelid", Col::Oid), ("seqtypid", Col::Oid)],
    ),
];

/// Whether `name` is one of the catalog tables that are always empty here.
pub fn is_empty_table(name: &str) -> bool {
    EMPTY.iter().any(|(_, table, _)| *table == name)
}

/// Every table of the catalog views for `relations` and the current `settings` (name, value).
pub fn catalog_tables(
    relations: &[Relation],
    settings: &[(String, String)],
) -> Result<Vec<CatalogTable>, ArrowError> {
    let mut tables = vec![
        table("pg_catalog", "pg_namespace", NAMESPACE, namespace_rows())?,
        table("pg_catalog", "pg_class", CLASS, class_rows(relations))?,
        table(
            "pg_catalog",
            "pg_attribute",
            ATTRIBUTE,
            attribute_rows(relations),
        )?,
        table("pg_catalog", "pg_type", TYPE, type_rows())?,
        table("pg_catalog", "pg_index", INDEX, index_rows(relations))?,
        table(
            "pg_catalog",
            "pg_constraint",
            CONSTRAINT,
            constraint_rows(relations),
        )?,
        table("pg_catalog", "pg_database", DATABASE_COLS, database_rows())?,
        table(
            "pg_catalog",
            "pg_settings",
            SETTINGS,
            settings_rows(settings),
        )?,
        table("pg_catalog", "pg_roles", ROLES, role_rows())?,
        table("pg_catalog", "pg_authid", ROLES, role_rows())?,
        table("pg_catalog", "pg_am", AM, am_rows())?,
        table(
            "pg_catalog",
            "pg_tables",
            TABLES_VIEW,
            pg_tables_rows(relations),
        )?,
        table(
            "pg_catalog",
            "pg_views",
            VIEWS_VIEW,
            pg_views_rows(relations),
        )?,
        table(
            "information_schema",
            "schemata",
            IS_SCHEMATA,
            schemata_rows(),
        )?,
        table(
            "information_schema",
            "tables",
            IS_TABLES,
            is_tables_rows(relations),
        )?,
        table(
            "information_schema",
            "columns",
            IS_COLUMNS,
            is_columns_rows(relations),
        )?,
        table(
            "information_schema",
            "views",
            IS_VIEWS,
            is_views_rows(relations),
        )?,
    ];
    for (schema, name, columns) in EMPTY {
        tables.push(table(schema, name, columns, Vec::new())?);
    }
    Ok(tables)
}

fn table(
    schema: &'static str,
    name: &'static str,
    columns: Columns,
    rows: Vec<Vec<V>>,
) -> Result<CatalogTable, ArrowError> {
    Ok(CatalogTable {
        schema,
        name,
        batch: batch(columns, &rows)?,
    })
}

fn namespace_rows() -> Vec<Vec<V>> {
    [
        (PG_CATALOG_OID, "pg_catalog"),
        (PUBLIC_OID, "public"),
        (INFORMATION_SCHEMA_OID, "information_schema"),
    ]
    .into_iter()
    .map(|(oid, name)| vec![V::I(oid), name.into(), V::I(ROLE_OID), V::Null])
    .collect()
}

/// A table's primary key index as a relation of kind `i`.
fn index_class_row(r: &Relation) -> Vec<V> {
    let mut row = class_row(r);
    row[0] = V::I(r.pkey_index_oid());
    row[1] = r.pkey_name().into();
    row[6] = V::I(BTREE_OID);
    row[13] = V::B(false);
    row[16] = "i".into();
    row[17] = V::I(r.primary_key().len() as i64);
    row
}

fn index_rows(relations: &[Relation]) -> Vec<Vec<V>> {
    relations
        .iter()
        .filter(|r| !r.primary_key().is_empty())
        .map(|r| {
            let key: Vec<i64> = r.primary_key().iter().map(|(n, _)| *n).collect();
            let n = key.len() as i64;
            vec![
                V::I(r.pkey_index_oid()),
                V::I(r.oid()),
                V::I(n),
                V::I(n),
                V::B(true),
                V::B(false),
                V::B(true),
                V::B(false),
                V::B(true),
                V::B(false),
                V::B(true),
                V::B(false),
                V::B(true),
                V::B(true),
                V::B(false),
                V::L(key.clone()),
                V::L(vec![0; key.len()]),
                V::L(vec![0; key.len()]),
                V::L(vec![0; key.len()]),
                V::Null,
                V::Null,
            ]
        })
        .collect()
}

fn constraint_rows(relations: &[Relation]) -> Vec<Vec<V>> {
    relations
        .iter()
        .filter(|r| !r.primary_key().is_empty())
        .map(|r| {
            let key: Vec<i64> = r.primary_key().iter().map(|(n, _)| *n).collect();
            vec![
                V::I(r.pkey_constraint_oid()),
                r.pkey_name().into(),
                V::I(PUBLIC_OID),
                "p".into(),
                V::B(false),
                V::B(false),
                V::B(true),
                V::I(r.oid()),
                V::I(0),
                V::I(r.pkey_index_oid()),
                V::I(0),
                V::I(0),
                " ".into(),
                " ".into(),
                " ".into(),
                V::B(true),
                V::I(0),
                V::B(true),
                V::L(key),
                V::Null,
                V::Null,
                V::Null,
                V::Null,
                V::Null,
                V::Null,
            ]
        })
        .collect()
}

/// The oid of the btree access method (every index here is one).
pub const BTREE_OID: i64 = 403;

fn class_rows(relations: &[Relation]) -> Vec<Vec<V>> {
    let mut rows: Vec<Vec<V>> = relations.iter().map(class_row).collect();
    rows.extend(
        relations
            .iter()
            .filter(|r| !r.primary_key().is_empty())
            .map(index_class_row),
    );
    rows
}

fn class_row(r: &Relation) -> Vec<V> {
    let kind = if r.is_table { "r" } else { "v" };
    vec![
        V::I(r.oid()),
        r.name.as_str().into(),
        V::I(PUBLIC_OID),
        V::I(0),
        V::I(0),
        V::I(ROLE_OID),
        V::I(if r.is_table { 2 } else { 0 }),
        V::I(0),
        V::I(0),
        V::I(0),
        V::F(-1.0),
        V::I(0),
        V::I(0),
        V::B(!r.primary_key().is_empty()),
        V::B(false),
        "p".into(),
        kind.into(),
        V::I(r.columns.len() as i64),
        V::I(0),
        V::B(false),
        V::B(false),
        V::B(false),
        V::B(false),
        V::B(false),
        V::B(true),
        "d".into(),
        V::B(false),
        V::I(0),
        V::Null,
        V::Null,
        V::Null,
    ]
}

fn attribute_rows(relations: &[Relation]) -> Vec<Vec<V>> {
    let mut rows = Vec::new();
    for r in relations {
        for (i, (name, sql_type, key)) in r.columns.iter().enumerate() {
            let ty = pg_type(sql_type);
            rows.push(vec![
                V::I(r.oid()),
                name.as_str().into(),
                V::I(i64::from(ty.oid)),
                V::I(-1),
                V::I(-1),
                V::I(i as i64 + 1),
                V::I(0),
                V::I(-1),
                V::I(i64::from(ty.typmod)),
                V::B(false),
                "i".into(),
                "x".into(),
                "".into(),
                // A table's primary key cannot be NULL.
                V::B(r.is_table && *key),
                V::B(false),
                V::B(false),
                "".into(),
                "".into(),
                V::B(false),
                V::B(true),
                V::I(0),
                V::I(0),
                V::Null,
                V::Null,
                V::Null,
            ]);
        }
    }
    rows
}

fn type_rows() -> Vec<Vec<V>> {
    KNOWN_TYPES
        .iter()
        .map(|t| {
            let element = t
                .name()
                .strip_prefix('_')
                .and_then(|e| KNOWN_TYPES.iter().find(|k| k.name() == e));
            let array = KNOWN_TYPES
                .iter()
                .find(|a| a.name().strip_prefix('_') == Some(t.name()));
            let (category, len, byval) = type_traits(t, element.is_some());
            vec![
                V::I(i64::from(t.oid())),
                t.name().into(),
                V::I(PG_CATALOG_OID),
                V::I(ROLE_OID),
                V::I(len),
                V::B(byval),
                "b".into(),
                category.into(),
                V::B(false),
                V::B(true),
                ",".into(),
                V::I(0),
                "-".into(),
                V::I(element.map_or(0, |e| i64::from(e.oid()))),
                V::I(array.map_or(0, |a| i64::from(a.oid()))),
                // Arrays read and write through array_in / array_out, as in Postgres.
                proc_name(t, element.is_some(), "in").into(),
                proc_name(t, element.is_some(), "out").into(),
                proc_name(t, element.is_some(), "recv").into(),
                proc_name(t, element.is_some(), "send").into(),
                "i".into(),
                "p".into(),
                V::B(false),
                V::I(0),
                V::I(-1),
                V::I(0),
                V::I(0),
                V::Null,
                V::Null,
            ]
        })
        .collect()
}

/// The name of type `t`'s I/O function `suffix` (`int4in`, `array_out`).
fn proc_name(t: &Type, is_array: bool, suffix: &str) -> String {
    if is_array {
        format!("array_{suffix}")
    } else {
        format!("{}{suffix}", t.name())
    }
}

/// `typcategory`, `typlen`, `typbyval` of `t`.
fn type_traits(t: &Type, is_array: bool) -> (&'static str, i64, bool) {
    if is_array {
        return ("A", -1, false);
    }
    match *t {
        Type::BOOL => ("B", 1, true),
        Type::INT2 => ("N", 2, true),
        Type::INT4 | Type::OID => ("N", 4, true),
        Type::INT8 => ("N", 8, true),
        Type::FLOAT4 => ("N", 4, true),
        Type::FLOAT8 => ("N", 8, true),
        Type::NUMERIC => ("N", -1, false),
        Type::DATE => ("D", 4, true),
        Type::TIME | Type::TIMESTAMP | Type::TIMESTAMPTZ => ("D", 8, true),
        Type::INTERVAL => ("T", 16, false),
        Type::CHAR => ("Z", 1, true),
        Type::NAME => ("S", 64, false),
        Type::UUID => ("U", 16, false),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => ("S", -1, false),
        Type::JSON | Type::JSONB => ("U", -1, false),
        Type::UNKNOWN => ("X", -2, false),
        _ => ("U", -1, false),
    }
}

fn database_rows() -> Vec<Vec<V>> {
    vec![vec![
        V::I(DATABASE_OID),
        DATABASE.into(),
        V::I(ROLE_OID),
        V::I(6),
        "c".into(),
        V::B(false),
        V::B(true),
        V::I(-1),
        V::I(1663),
        "C.UTF-8".into(),
        "C.UTF-8".into(),
        V::Null,
        V::Null,
        V::Null,
    ]]
}

fn settings_rows(settings: &[(String, String)]) -> Vec<Vec<V>> {
    settings
        .iter()
        .map(|(name, value)| {
            vec![
                name.as_str().into(),
                value.as_str().into(),
                V::Null,
                "Client Connection Defaults".into(),
                V::Null,
                V::Null,
                "user".into(),
                "string".into(),
                "session".into(),
                V::Null,
                V::Null,
                V::Null,
                value.as_str().into(),
                value.as_str().into(),
                V::B(false),
            ]
        })
        .collect()
}

fn role_rows() -> Vec<Vec<V>> {
    vec![vec![
        V::I(ROLE_OID),
        ROLE.into(),
        V::B(true),
        V::B(true),
        V::B(true),
        V::B(true),
        V::B(true),
        V::B(false),
        V::I(-1),
        "********".into(),
        V::Null,
        V::B(true),
        V::Null,
    ]]
}

fn am_rows() -> Vec<Vec<V>> {
    vec![
        vec![
            V::I(2),
            "heap".into(),
            "heap_tableam_handler".into(),
            "t".into(),
        ],
        vec![
            V::I(BTREE_OID),
            "btree".into(),
            "bthandler".into(),
            "i".into(),
        ],
    ]
}

fn pg_tables_rows(relations: &[Relation]) -> Vec<Vec<V>> {
    relations
        .iter()
        .filter(|r| r.is_table)
        .map(|r| {
            vec![
                "public".into(),
                r.name.as_str().into(),
                ROLE.into(),
                V::Null,
                V::B(false),
                V::B(false),
                V::B(false),
                V::B(false),
            ]
        })
        .collect()
}

fn pg_views_rows(relations: &[Relation]) -> Vec<Vec<V>> {
    relations
        .iter()
        .filter(|r| !r.is_table)
        .map(|r| {
            vec![
                "public".into(),
                r.name.as_str().into(),
                ROLE.into(),
                r.statement.as_str().into(),
            ]
        })
        .collect()
}

fn schemata_rows() -> Vec<Vec<V>> {
    ["pg_catalog", "public", "information_schema"]
        .into_iter()
        .map(|name| {
            vec![
                DATABASE.into(),
                name.into(),
                ROLE.into(),
                V::Null,
                V::Null,
                V::Null,
                V::Null,
            ]
        })
        .collect()
}

fn is_tables_rows(relations: &[Relation]) -> Vec<Vec<V>> {
    relations
        .iter()
        .map(|r| {
            let kind = if r.is_table { "BASE TABLE" } else { "VIEW" };
            vec![
                DATABASE.into(),
                "public".into(),
                r.name.as_str().into(),
                kind.into(),
                V::Null,
                V::Null,
                V::Null,
                V::Null,
                V::Null,
                "YES".into(),
                "NO".into(),
                V::Null,
            ]
        })
        .collect()
}

fn is_columns_rows(relations: &[Relation]) -> Vec<Vec<V>> {
    let mut rows = Vec::new();
    for r in relations {
        for (i, (name, sql_type, key)) in r.columns.iter().enumerate() {
            let ty = pg_type(sql_type);
            let (data_type, udt) = match Type::from_oid(ty.oid) {
                Some(t) if t.name().starts_with('_') => ("ARRAY".to_owned(), t.name().to_owned()),
                Some(t) => (
                    crate::pgwire::catalog::types::format_type(i64::from(ty.oid), None)
                        .unwrap_or_else(|| t.name().to_owned()),
                    t.name().to_owned(),
                ),
                None => ("text".to_owned(), "text".to_owned()),
            };
            let (precision, scale) = if ty.typmod >= 4 {
                let m = i64::from(ty.typmod - 4);
                (V::I(m >> 16), V::I(m & 0xffff))
            } else {
                (V::Null, V::Null)
            };
            rows.push(vec![
                DATABASE.into(),
                "public".into(),
                r.name.as_str().into(),
                name.as_str().into(),
                V::I(i as i64 + 1),
                V::Null,
                if r.is_table && *key { "NO" } else { "YES" }.into(),
                data_type.into(),
                V::Null,
                precision,
                scale,
                V::Null,
                DATABASE.into(),
                "pg_catalog".into(),
                udt.into(),
                "NO".into(),
                "NEVER".into(),
                "NO".into(),
            ]);
        }
    }
    rows
}

fn is_views_rows(relations: &[Relation]) -> Vec<Vec<V>> {
    relations
        .iter()
        .filter(|r| !r.is_table)
        .map(|r| {
            vec![
                DATABASE.into(),
                "public".into(),
                r.name.as_str().into(),
                r.statement.as_str().into(),
                "NONE".into(),
                "NO".into(),
                "YES".into(),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_like_postgres_and_oids_are_stable() {
        assert_eq!(pg_name("ORDERS"), "orders");
        assert_eq!(pg_name("MixedCase"), "MixedCase");
        assert_eq!(relation_oid("orders"), relation_oid("orders"));
        assert_ne!(relation_oid("orders"), relation_oid("users"));
        assert!(relation_oid("orders") >= 20_000);
    }

    #[test]
    fn every_table_builds_with_its_columns() {
        let relations = vec![Relation {
            name: "orders".into(),
            is_table: false,
            columns: vec![
                ("id".into(), "STRING".into(), true),
                ("amount".into(), "DECIMAL(10, 2)".into(), false),
            ],
            statement: "CREATE STREAM orders ...".into(),
        }];
        let tables =
            catalog_tables(&relations, &[("search_path".into(), "public".into())]).unwrap();
        let find = |n: &str| tables.iter().find(|t| t.name == n).unwrap();
        assert_eq!(find("pg_class").batch.num_rows(), 1);
        assert_eq!(find("pg_attribute").batch.num_rows(), 2);
        assert_eq!(find("columns").batch.num_rows(), 2);
        assert_eq!(find("pg_views").batch.num_rows(), 1);
        assert_eq!(find("pg_tables").batch.num_rows(), 0);
        assert_eq!(find("pg_index").batch.num_rows(), 0);
    }
}
