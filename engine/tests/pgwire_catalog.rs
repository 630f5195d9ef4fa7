//! The catalog views from the outside: tokio-postgres against the engine's Postgres listener
//! sends what psql and drivers send (pg_catalog and information_schema queries, start-up SET and
//! SHOW, session functions) through the simple and the extended protocol, and sees Sluice's
//! streams and tables with their columns. The queries are psql 15's own text (`psql -E`).

use tokio_postgres::{Client, SimpleQueryMessage};

mod pgwire_support;

use pgwire_support::Server;

/// The data rows of a simple-protocol answer, as text (NULL as an empty string).
async fn simple(client: &Client, sql: &str) -> Vec<Vec<String>> {
    let messages = client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).unwrap_or("").to_owned())
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

/// A server with stream `orders` and table `users`.
async fn with_relations() -> (Server, Client) {
    let server = Server::start().await;
    let client = server.connect().await;
    client
        .batch_execute(
            "CREATE STREAM orders (id INT KEY, item STRING, amount DECIMAL(10, 2)) \
             WITH (kafka_topic='orders', value_format='JSON', partitions=1); \
             CREATE TABLE users (id STRING PRIMARY KEY, age BIGINT) \
             WITH (kafka_topic='users', value_format='JSON', partitions=1);",
        )
        .await
        .unwrap();
    (server, client)
}

/// psql 15's `\d`.
const PSQL_LIST: &str = r#"SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','v','m','S','f','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;"#;

/// psql 15's `\d orders`, first step: find the relation.
const PSQL_FIND: &str = r#"SELECT c.oid,
  n.nspname,
  c.relname
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname OPERATOR(pg_catalog.~) '^(orders)$' COLLATE pg_catalog.default
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 2, 3;"#;

/// psql 15's `\d name`, the columns of the relation with oid `{oid}`.
const PSQL_COLUMNS: &str = r#"SELECT a.attname,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true)
   FROM pg_catalog.pg_attrdef d
   WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef),
  a.attnotnull,
  (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t
   WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation,
  a.attidentity,
  a.attgenerated
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = '{oid}' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;"#;

#[tokio::test]
async fn psql_lists_streams_as_views_and_tables_as_tables() {
    let (server, client) = with_relations().await;
    let rows = simple(&client, PSQL_LIST).await;
    assert!(
        rows.contains(&vec![
            "public".into(),
            "orders".into(),
            "view".into(),
            "sluice".into()
        ]),
        "{rows:?}"
    );
    assert!(
        rows.contains(&vec![
            "public".into(),
            "users".into(),
            "table".into(),
            "sluice".into()
        ]),
        "{rows:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn psql_describes_a_stream_by_name() {
    let (server, client) = with_relations().await;
    let found = simple(&client, PSQL_FIND).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0][1..], ["public".to_owned(), "orders".to_owned()]);
    let columns = simple(&client, &PSQL_COLUMNS.replace("{oid}", &found[0][0])).await;
    let shown: Vec<(&str, &str, &str)> = columns
        .iter()
        .map(|c| (c[0].as_str(), c[1].as_str(), c[3].as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            ("id", "integer", "f"),
            ("item", "text", "f"),
            ("amount", "numeric(10,2)", "f")
        ]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn information_schema_columns_through_the_extended_protocol() {
    let (server, client) = with_relations().await;
    let rows = client
        .query(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
            &[&"users"],
        )
        .await
        .unwrap();
    let columns: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        columns,
        [
            ("id".into(), "text".into(), "NO".into()),
            ("age".into(), "bigint".into(), "YES".into())
        ]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn driver_start_up_statements_answer_like_postgres() {
    let server = Server::start().await;
    let client = server.connect().await;
    client
        .batch_execute("SET extra_float_digits = 3")
        .await
        .unwrap();
    assert_eq!(simple(&client, "SHOW extra_float_digits").await, [["3"]]);
    let row = client
        .query_one(
            "SELECT current_database(), current_schema(), version()",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "sluice");
    assert_eq!(row.get::<_, String>(1), "public");
    assert!(row.get::<_, String>(2).starts_with("PostgreSQL "));
    assert_eq!(
        simple(
            &client,
            "SELECT set_config('application_name', 'app', false)"
        )
        .await,
        [["app"]]
    );
    assert_eq!(
        simple(&client, "SELECT current_setting('application_name')").await,
        [["app"]]
    );
    let error = client
        .simple_query("SHOW no_such_setting")
        .await
        .unwrap_err();
    assert!(
        error
            .as_db_error()
            .is_some_and(|e| e.message().contains("unrecognized configuration parameter")),
        "{error:?}"
    );
    client.batch_execute("BEGIN; COMMIT;").await.unwrap();
    // A Sluice statement is still Sluice's.
    let streams = simple(&client, "SHOW STREAMS;").await;
    assert!(
        streams.iter().any(|r| r[0] == "KSQL_PROCESSING_LOG"),
        "{streams:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn settings_are_per_connection() {
    let server = Server::start().await;
    let first = server.connect().await;
    let second = server.connect().await;
    first
        .batch_execute("SET search_path = other")
        .await
        .unwrap();
    assert_eq!(simple(&first, "SHOW search_path").await, [["other"]]);
    assert_eq!(
        simple(&second, "SHOW search_path").await,
        [["\"$user\", public"]]
    );
    server.shutdown().await;
}
