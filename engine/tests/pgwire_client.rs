//! The Postgres wire from the outside: a real client (tokio-postgres) against the engine's
//! listener. Statements through the simple protocol, typed rows and parameters through the
//! extended protocol, SQLSTATEs and positions of errors, push queries that stream.

use futures::{StreamExt, pin_mut};
use tokio_postgres::types::Type;
use tokio_postgres::{Client, SimpleQueryMessage};

mod pgwire_support;

use pgwire_support::{CREATE_ORDERS, Server, orders_with, text_rows};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_insert_show_and_a_push_query_with_limit() {
    let server = Server::start().await;
    let client = server.connect().await;

    let created = client.simple_query(CREATE_ORDERS).await.unwrap();
    assert!(
        matches!(created.last(), Some(SimpleQueryMessage::CommandComplete(0))),
        "{created:?}"
    );
    let streams = client.simple_query("SHOW STREAMS;").await.unwrap();
    let names: Vec<Option<String>> = text_rows(&streams)
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert!(names.contains(&Some("ORDERS".to_owned())), "{names:?}");

    for (id, amount, item) in [
        ("a", 10.5, "pen"),
        ("b", 250.0, "desk"),
        ("c", 99.0, "ink"),
        ("d", 300.0, "lamp"),
    ] {
        let inserted = client
            .execute(
                &format!(
                    "INSERT INTO orders (id, amount, item) VALUES ('{id}', {amount:?}, '{item}')"
                ),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(inserted, 1);
    }

    // The session reads from the beginning; the push query stops after 3 rows.
    client
        .simple_query("SET 'auto.offset.reset'='earliest';")
        .await
        .unwrap();
    let rows = client
        .query(
            "SELECT id, amount, item FROM orders EMIT CHANGES LIMIT 3;",
            &[],
        )
        .await
        .unwrap();
    let got: Vec<(String, f64, String)> = rows
        .iter()
        .map(|r| (r.get("ID"), r.get("AMOUNT"), r.get("ITEM")))
        .collect();
    assert_eq!(
        got,
        vec![
            ("a".to_owned(), 10.5, "pen".to_owned()),
            ("b".to_owned(), 250.0, "desk".to_owned()),
            ("c".to_owned(), 99.0, "ink".to_owned()),
        ]
    );
    assert_eq!(rows[0].columns()[1].type_(), &Type::FLOAT8);

    // The simple protocol returns the same rows as text (arrow's rendering of DOUBLE).
    let text = client
        .simple_query("SELECT id, amount FROM orders EMIT CHANGES LIMIT 3;")
        .await
        .unwrap();
    assert_eq!(
        text_rows(&text),
        vec![
            vec![Some("a".to_owned()), Some("10.5".to_owned())],
            vec![Some("b".to_owned()), Some("250.0".to_owned())],
            vec![Some("c".to_owned()), Some("99.0".to_owned())],
        ]
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_syntax_error_has_sqlstate_42601_and_a_position() {
    let server = Server::start().await;
    let client = server.connect().await;
    let sql = "SHOW STREAMS;\nSELECT id, amount\n  FORM orders EMIT CHANGES;";
    let error = client.simple_query(sql).await.unwrap_err();
    let db = error.as_db_error().expect("a server error");
    assert_eq!(db.code().code(), "42601", "{db:?}");
    let Some(tokio_postgres::error::ErrorPosition::Original(position)) = db.position() else {
        panic!("no position in {db:?}");
    };
    // `FORM` reads as an alias of `amount`, so the parser stops at `orders` (line 3, column 8),
    // as ksqlDB's does: 14 + 18 characters of the lines before, plus 8.
    assert_eq!(*position, 40, "in {sql:?}");
    assert_eq!(&sql[39..45], "orders");
    assert!(db.message().contains("expecting FROM"), "{}", db.message());

    // An unknown stream is an error too, with its own SQLSTATE, and the connection goes on.
    let error = client
        .simple_query("SELECT * FROM nowhere EMIT CHANGES;")
        .await
        .unwrap_err();
    let db = error.as_db_error().expect("a server error");
    assert_ne!(db.code().code(), "42601");
    assert!(!db.message().is_empty());
    assert!(client.simple_query("SHOW STREAMS;").await.is_ok());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_statements_take_parameters() {
    let server = Server::start().await;
    let client = server.connect().await;
    client.simple_query(CREATE_ORDERS).await.unwrap();

    let insert = client
        .prepare_typed(
            "INSERT INTO orders (id, amount, item) VALUES ($1, $2, $3)",
            &[Type::TEXT, Type::FLOAT8, Type::TEXT],
        )
        .await
        .unwrap();
    for (id, amount, item) in [
        ("a", 50.0f64, "it's"),
        ("b", 150.0, "desk"),
        ("c", 500.0, "lamp"),
    ] {
        assert_eq!(
            client
                .execute(&insert, &[&id, &amount, &item])
                .await
                .unwrap(),
            1
        );
    }
    client
        .simple_query("SET 'auto.offset.reset'='earliest';")
        .await
        .unwrap();

    let select = client
        .prepare_typed(
            "SELECT id, item FROM orders WHERE amount > $1 EMIT CHANGES LIMIT 2",
            &[Type::FLOAT8],
        )
        .await
        .unwrap();
    assert_eq!(select.columns().len(), 2);
    let rows = client.query(&select, &[&100.0f64]).await.unwrap();
    let got: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        got,
        vec![
            ("b".to_owned(), "desk".to_owned()),
            ("c".to_owned(), "lamp".to_owned())
        ]
    );
    // The same statement with another value; the quote in 'it''s' survived the literal.
    let rows = client.query(&select, &[&10.0f64]).await.unwrap();
    let items: Vec<String> = rows.iter().map(|r| r.get(1)).collect();
    assert_eq!(items, ["it's", "desk"]);

    // An untyped parameter is text.
    let rows = client
        .query(
            "SELECT id FROM orders WHERE item = $1 EMIT CHANGES LIMIT 1",
            &[&"lamp"],
        )
        .await
        .unwrap();
    assert_eq!(rows[0].get::<_, String>(0), "c");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_query_rows_arrive_as_they_are_produced_and_a_dropped_client_harms_no_other() {
    let server = Server::start().await;
    let reader = server.connect().await;
    let writer = server.connect().await;
    writer.simple_query(CREATE_ORDERS).await.unwrap();

    // From latest: only rows inserted after the query started.
    let stream = reader
        .simple_query_raw("SELECT id FROM orders EMIT CHANGES LIMIT 2;")
        .await
        .unwrap();
    pin_mut!(stream);
    // The RowDescription arrives once the query runs; then insert the first row.
    let first = stream.next().await.unwrap().unwrap();
    assert!(
        matches!(first, SimpleQueryMessage::RowDescription(_)),
        "{first:?}"
    );
    writer
        .simple_query("INSERT INTO orders (id, amount, item) VALUES ('x', 1.0, 'a');")
        .await
        .unwrap();
    // The first row comes while the query still waits for its second (it was flushed).
    match stream.next().await.unwrap().unwrap() {
        SimpleQueryMessage::Row(row) => assert_eq!(row.get(0), Some("x")),
        other => panic!("expected a row, got {other:?}"),
    }
    writer
        .simple_query("INSERT INTO orders (id, amount, item) VALUES ('y', 2.0, 'b');")
        .await
        .unwrap();
    match stream.next().await.unwrap().unwrap() {
        SimpleQueryMessage::Row(row) => assert_eq!(row.get(0), Some("y")),
        other => panic!("expected a row, got {other:?}"),
    }
    assert!(matches!(
        stream.next().await.unwrap().unwrap(),
        SimpleQueryMessage::CommandComplete(2)
    ));

    // A client that goes away in the middle of a push query: the others carry on.
    let quitter = server.connect().await;
    let pending = tokio::spawn(async move {
        let _ = quitter
            .simple_query("SELECT id FROM orders EMIT CHANGES;")
            .await;
    });
    tokio::task::yield_now().await;
    pending.abort();
    let _ = pending.await;
    writer
        .simple_query("INSERT INTO orders (id, amount, item) VALUES ('z', 3.0, 'c');")
        .await
        .unwrap();
    let streams = reader.simple_query("SHOW STREAMS;").await.unwrap();
    assert!(!text_rows(&streams).is_empty());
    server.shutdown().await;
}

/// A value written as it is in Postgres's binary format (of whatever type the statement says),
/// for values tokio-postgres has no Rust type for here (numeric, uuid) and for malformed ones.
#[derive(Debug)]
struct Raw(Vec<u8>);

impl tokio_postgres::types::ToSql for Raw {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&self.0);
        Ok(tokio_postgres::types::IsNull::No)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// Rows of KSQL_PROCESSING_LOG's LOGGER column (each names the query that logged), once
/// at least one is there.
async fn processing_loggers(client: &Client) -> Vec<String> {
    loop {
        let rows = client
            .simple_query("SELECT LOGGER FROM KSQL_PROCESSING_LOG;")
            .await
            .unwrap();
        let loggers: Vec<String> = text_rows(&rows)
            .into_iter()
            .filter_map(|r| r[0].clone())
            .collect();
        if !loggers.is_empty() {
            return loggers;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The ids of the push queries SHOW QUERIES lists as running.
async fn push_queries(client: &Client) -> Vec<String> {
    let rows = client.simple_query("SHOW QUERIES;").await.unwrap();
    text_rows(&rows)
        .into_iter()
        .filter(|r| r.iter().any(|v| v.as_deref() == Some("PUSH")))
        .filter_map(|r| r[0].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepare_describes_a_push_query_without_starting_it() {
    let server = Server::start().await;
    let client = server.connect().await;
    client.simple_query(CREATE_ORDERS).await.unwrap();
    // A record ORDERS cannot decode (AMOUNT is not a number), written through a second stream
    // over the same topic: whichever query reads it logs it under its own query id.
    client
        .simple_query(
            "CREATE STREAM orders_text (id STRING KEY, amount STRING) \
             WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON');\
             INSERT INTO orders_text (id, amount) VALUES ('x', 'lots');",
        )
        .await
        .unwrap();
    client
        .simple_query("SET 'auto.offset.reset'='earliest';")
        .await
        .unwrap();

    let push = client
        .prepare("SELECT id, amount, item FROM orders EMIT CHANGES")
        .await
        .unwrap();
    let columns: Vec<(&str, &Type)> = push
        .columns()
        .iter()
        .map(|c| (c.name(), c.type_()))
        .collect();
    assert_eq!(
        columns,
        vec![
            ("ID", &Type::TEXT),
            ("AMOUNT", &Type::FLOAT8),
            ("ITEM", &Type::TEXT)
        ]
    );
    // A parameter compared with a DOUBLE column is described as double precision.
    let filtered = client
        .prepare("SELECT id FROM orders WHERE amount > $1 EMIT CHANGES")
        .await
        .unwrap();
    assert_eq!(filtered.params(), &[Type::FLOAT8]);
    // A scan of the stream, prepared, is not run either.
    let scan = client.prepare("SELECT item FROM orders").await.unwrap();
    assert_eq!(scan.columns()[0].type_(), &Type::TEXT);
    assert_eq!(push_queries(&client).await, Vec::<String>::new());

    // The first query that does run is the first transient query of this engine: its id ends in
    // _1. Had any prepare above started its query, this one would be _2 or later.
    client.simple_query("SELECT * FROM orders;").await.unwrap();
    assert_eq!(
        processing_loggers(&client).await,
        ["processing.transient_ORDERS_1.KsqlTopic.Source.deserializer"]
    );
    server.shutdown().await;
}

const CREATE_TYPED: &str = "CREATE STREAM typed (id STRING KEY, b BOOLEAN, i INT, big BIGINT, \
     d DOUBLE, dec DECIMAL(10, 3), s STRING, dt DATE, tm TIME, ts TIMESTAMP, bs BYTES, js STRING, \
     u STRING) WITH (KAFKA_TOPIC='typed', VALUE_FORMAT='JSON', PARTITIONS=1);";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_binary_parameters_reach_the_engine_as_their_values() {
    use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

    let server = Server::start().await;
    let client = server.connect().await;
    client.simple_query(CREATE_TYPED).await.unwrap();
    let all = "INSERT INTO typed (id, b, i, big, d, dec, s, dt, tm, ts, bs, js, u) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

    // Untyped: each parameter takes the type of the column it is inserted into.
    let inferred = client.prepare(all).await.unwrap();
    assert_eq!(
        inferred.params(),
        &[
            Type::TEXT,
            Type::BOOL,
            Type::INT4,
            Type::INT8,
            Type::FLOAT8,
            Type::NUMERIC,
            Type::TEXT,
            Type::DATE,
            Type::TIME,
            Type::TIMESTAMP,
            Type::BYTEA,
            Type::TEXT,
            Type::TEXT
        ]
    );
    let date = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
    let time = NaiveTime::from_hms_milli_opt(12, 30, 0, 250).unwrap();
    let at: NaiveDateTime = date.and_time(time);
    // -12345.678 in base-10000 digits: 1 2345 6780, weight 1, negative, scale 3.
    let numeric = Raw(vec![
        0, 3, 0, 1, 0x40, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1a, 0x7c,
    ]);
    client
        .execute(
            &inferred,
            &[
                &"one",
                &true,
                &42i32,
                &-9_000_000_000i64,
                &-2.25f64,
                &numeric,
                &"it's \"quoted\" -- not a comment",
                &date,
                &time,
                &at,
                &vec![0xcau8, 0xfe, 0x00],
                &"{}",
                &"x",
            ],
        )
        .await
        .unwrap();

    // Declared: the other Postgres types, in binary too.
    let declared = client
        .prepare_typed(
            "INSERT INTO typed (id, i, d, dec, s, ts, js, u, big) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                Type::VARCHAR,
                Type::INT2,
                Type::FLOAT4,
                Type::NUMERIC,
                Type::BPCHAR,
                Type::TIMESTAMPTZ,
                Type::JSONB,
                Type::UUID,
                Type::INT8,
            ],
        )
        .await
        .unwrap();
    let uuid = Raw(vec![
        0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40,
        0x00,
    ]);
    // 0.5 in base-10000 digits: 5000, weight -1, scale 1.
    let half = Raw(vec![0, 1, 0xff, 0xff, 0, 0, 0, 1, 0x13, 0x88]);
    let noon_utc = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
    client
        .execute(
            &declared,
            &[
                &"two",
                &-7i16,
                &1.5f32,
                &half,
                &"o'clock",
                &noon_utc,
                &serde_json::json!({"a": "it's"}),
                &uuid,
                &None::<i64>,
            ],
        )
        .await
        .unwrap();

    let rows = client
        .query(
            "SELECT id, b, i, big, d, CAST(dec AS STRING) AS dec, s, dt, tm, ts, bs, js, u \
             FROM typed",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let one = &rows[0];
    assert_eq!(one.get::<_, String>("ID"), "one");
    assert!(one.get::<_, bool>("B"));
    assert_eq!(one.get::<_, i32>("I"), 42);
    assert_eq!(one.get::<_, i64>("BIG"), -9_000_000_000);
    assert_eq!(one.get::<_, f64>("D"), -2.25);
    assert_eq!(one.get::<_, String>("DEC"), "-12345.678");
    assert_eq!(
        one.get::<_, String>("S"),
        "it's \"quoted\" -- not a comment"
    );
    assert_eq!(one.get::<_, NaiveDate>("DT"), date);
    assert_eq!(one.get::<_, NaiveTime>("TM"), time);
    assert_eq!(one.get::<_, NaiveDateTime>("TS"), at);
    assert_eq!(one.get::<_, Vec<u8>>("BS"), vec![0xca, 0xfe, 0x00]);
    let two = &rows[1];
    assert_eq!(two.get::<_, String>("ID"), "two");
    assert_eq!(two.get::<_, i32>("I"), -7);
    assert_eq!(two.get::<_, f64>("D"), 1.5);
    assert_eq!(two.get::<_, String>("DEC"), "0.500");
    assert_eq!(two.get::<_, String>("S"), "o'clock");
    assert_eq!(two.get::<_, NaiveDateTime>("TS"), noon_utc.naive_utc());
    assert_eq!(two.get::<_, String>("JS"), r#"{"a":"it's"}"#);
    assert_eq!(
        two.get::<_, String>("U"),
        "123e4567-e89b-12d3-a456-426614174000"
    );
    assert_eq!(two.get::<_, Option<i64>>("BIG"), None);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_binary_parameter_fails_its_statement_only() {
    let server = Server::start().await;
    let client = server.connect().await;
    client.simple_query(CREATE_ORDERS).await.unwrap();
    let insert = client
        .prepare_typed(
            "INSERT INTO orders (id, amount) VALUES ($1, $2)",
            &[Type::TEXT, Type::FLOAT8],
        )
        .await
        .unwrap();
    // Three bytes are no double precision.
    let error = client
        .execute(&insert, &[&"a", &Raw(vec![1, 2, 3])])
        .await
        .unwrap_err();
    let db = error.as_db_error().expect("a server error");
    assert_eq!(db.code().code(), "22P03", "{db:?}");
    assert!(db.message().contains("$2"), "{}", db.message());

    // The connection goes on: the same statement with a good value, then a query.
    assert_eq!(client.execute(&insert, &[&"a", &2.5f64]).await.unwrap(), 1);
    let rows = client
        .query("SELECT id, amount FROM orders", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, f64>(1), 2.5);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_returns_a_push_query_a_few_rows_at_a_time() {
    let server = Server::start().await;
    let mut client = server.connect().await;
    let rows: Vec<(&str, f64, &str)> = ["a", "b", "c", "d", "e", "f"]
        .into_iter()
        .map(|id| (id, 1.0, "x"))
        .collect();
    orders_with(&client, &rows).await;
    let ids =
        |rows: &[tokio_postgres::Row]| -> Vec<String> { rows.iter().map(|r| r.get(0)).collect() };

    let transaction = client.transaction().await.unwrap();
    let select = transaction
        .prepare("SELECT id FROM orders EMIT CHANGES LIMIT 5")
        .await
        .unwrap();
    let portal = transaction.bind(&select, &[]).await.unwrap();
    // Each Execute sends at most 2 rows and leaves the query running for the next one.
    let first = transaction.query_portal(&portal, 2).await.unwrap();
    assert_eq!(ids(&first), ["a", "b"]);
    // Suspended, the query is still running (SHOW QUERIES from another connection).
    let watcher = server.connect().await;
    assert_eq!(push_queries(&watcher).await, ["transient_ORDERS_1"]);
    let second = transaction.query_portal(&portal, 2).await.unwrap();
    assert_eq!(ids(&second), ["c", "d"]);
    let rest = transaction.query_portal(&portal, 2).await.unwrap();
    assert_eq!(ids(&rest), ["e"]);
    // Done: executing it again returns nothing and does not run the query again.
    let after = transaction.query_portal(&portal, 2).await.unwrap();
    assert!(after.is_empty(), "{after:?}");
    assert_eq!(push_queries(&watcher).await, Vec::<String>::new());

    // A push query without LIMIT: rows inserted between two Executes come with the second.
    let follow = transaction
        .prepare("SELECT id FROM orders WHERE item = $1 EMIT CHANGES")
        .await
        .unwrap();
    let portal = transaction.bind(&follow, &[&"x"]).await.unwrap();
    let head = transaction.query_portal(&portal, 4).await.unwrap();
    assert_eq!(ids(&head), ["a", "b", "c", "d"]);
    let tail = transaction.query_portal(&portal, 2).await.unwrap();
    assert_eq!(ids(&tail), ["e", "f"]);
    watcher
        .simple_query("INSERT INTO orders (id, amount, item) VALUES ('g', 1.0, 'x');")
        .await
        .unwrap();
    let later = transaction.query_portal(&portal, 1).await.unwrap();
    assert_eq!(ids(&later), ["g"]);
    assert_eq!(push_queries(&watcher).await, ["transient_ORDERS_2"]);
    // COMMIT ends the block: the portal is closed and its query stops.
    transaction.commit().await.unwrap();
    assert_eq!(push_queries(&watcher).await, Vec::<String>::new());

    // Outside the block the connection works as before.
    let rows = client
        .query("SELECT id FROM orders EMIT CHANGES LIMIT 1", &[])
        .await
        .unwrap();
    assert_eq!(ids(&rows), ["a"]);
    server.shutdown().await;
}
