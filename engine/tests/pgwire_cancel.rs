//! CancelRequest from a real client (tokio-postgres' cancel token, as psql's Ctrl-C): the push
//! query of that backend stops with SQLSTATE 57014, and the connection stays usable.

use futures::{StreamExt, pin_mut};
use tokio::net::TcpStream;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

mod pgwire_support;

use pgwire_support::{Server, orders_with, text_rows};

/// A stream `orders` with two rows, read from the beginning by `client`'s session.
async fn orders_with_rows(client: &Client) {
    orders_with(client, &[("a", 1.0, "pen"), ("b", 1.0, "pen")]).await;
}

/// Sends a CancelRequest for `client`'s backend on a new connection to `server`.
async fn cancel(server: &Server, client: &Client) {
    let socket = TcpStream::connect(server.addr).await.unwrap();
    client
        .cancel_token()
        .cancel_query_raw(socket, NoTls)
        .await
        .unwrap();
}

/// The connection still answers a statement after the cancel.
async fn assert_usable(client: &Client) {
    let streams = client.simple_query("SHOW STREAMS;").await.unwrap();
    let names: Vec<Option<String>> = text_rows(&streams)
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert!(names.contains(&Some("ORDERS".to_owned())), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_push_query_of_the_extended_protocol() {
    let server = Server::start().await;
    let client = server.connect().await;
    orders_with_rows(&client).await;

    let rows = client
        .query_raw("SELECT id FROM orders EMIT CHANGES;", Vec::<i32>::new())
        .await
        .unwrap();
    pin_mut!(rows);
    let first = rows.next().await.unwrap().unwrap();
    assert_eq!(first.get::<_, String>("ID"), "a");
    let second = rows.next().await.unwrap().unwrap();
    assert_eq!(second.get::<_, String>("ID"), "b");

    // No more rows will come: without the cancel the query runs forever.
    cancel(&server, &client).await;
    let error = match rows.next().await {
        Some(Ok(row)) => panic!("a row after the cancel: {row:?}"),
        Some(Err(e)) => e,
        None => panic!("the push query ended without an error"),
    };
    assert_eq!(error.code(), Some(&SqlState::QUERY_CANCELED), "{error}");
    assert!(
        error
            .as_db_error()
            .map_or(String::new(), |db| db.message().to_owned())
            .contains("canceling statement due to user request"),
        "{error}"
    );
    assert_usable(&client).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_push_query_of_the_simple_protocol() {
    let server = Server::start().await;
    let client = server.connect().await;
    orders_with_rows(&client).await;

    let messages = client
        .simple_query_raw("SELECT id FROM orders EMIT CHANGES;")
        .await
        .unwrap();
    pin_mut!(messages);
    let mut ids = Vec::new();
    while ids.len() < 2 {
        match messages.next().await.unwrap().unwrap() {
            SimpleQueryMessage::Row(row) => ids.push(row.get(0).map(str::to_owned)),
            SimpleQueryMessage::RowDescription(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ids, vec![Some("a".to_owned()), Some("b".to_owned())]);

    cancel(&server, &client).await;
    let error = loop {
        match messages.next().await {
            Some(Ok(SimpleQueryMessage::Row(row))) => panic!("a row after the cancel: {row:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => break e,
            None => panic!("the push query ended without an error"),
        }
    };
    assert_eq!(error.code(), Some(&SqlState::QUERY_CANCELED), "{error}");
    assert_usable(&client).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_reaches_only_its_own_backend() {
    let server = Server::start().await;
    let watcher = server.connect().await;
    orders_with_rows(&watcher).await;
    let other = server.connect().await;

    let rows = watcher
        .query_raw("SELECT id FROM orders EMIT CHANGES;", Vec::<i32>::new())
        .await
        .unwrap();
    pin_mut!(rows);
    assert_eq!(
        rows.next().await.unwrap().unwrap().get::<_, String>("ID"),
        "a"
    );

    // Cancelling the idle connection does nothing to the push query of the other one. (The
    // row comes from a third connection: the cancel of `other` may reach the server only once
    // a statement of `other` has started, and would then cancel that statement.)
    cancel(&server, &other).await;
    let writer = server.connect().await;
    writer
        .simple_query("INSERT INTO orders (id, amount, item) VALUES ('c', 2.0, 'ink');")
        .await
        .unwrap();
    let mut ids = Vec::new();
    while ids.len() < 2 {
        ids.push(rows.next().await.unwrap().unwrap().get::<_, String>("ID"));
    }
    assert_eq!(ids, vec!["b".to_owned(), "c".to_owned()]);

    cancel(&server, &watcher).await;
    let error = loop {
        match rows.next().await {
            Some(Ok(_)) => {}
            Some(Err(e)) => break e,
            None => panic!("the push query ended without an error"),
        }
    };
    assert_eq!(error.code(), Some(&SqlState::QUERY_CANCELED), "{error}");
    assert_usable(&other).await;
    server.shutdown().await;
}
