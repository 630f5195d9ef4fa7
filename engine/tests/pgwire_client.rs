//! The Postgres wire from the outside: a real client (tokio-postgres) against the engine's
//! listener. Statements through the simple protocol, typed rows and parameters through the
//! extended protocol, SQLSTATEs and positions of errors, push queries that stream.

use futures::{StreamExt, pin_mut};
use tokio_postgres::SimpleQueryMessage;
use tokio_postgres::types::Type;

mod pgwire_support;

use pgwire_support::{CREATE_ORDERS, Server, text_rows};

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
