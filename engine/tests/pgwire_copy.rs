//! `COPY (query) TO STDOUT` from a real client: a push query's rows as COPY data (text and
//! CSV), `COPY n`, and a pull query.

use bytes::Bytes;
use futures::{StreamExt, pin_mut};
use tokio_postgres::Client;

mod pgwire_support;

use pgwire_support::{Server, orders_with};

/// `orders` with three rows (one item needs CSV quoting), read from the beginning.
async fn orders(client: &Client) {
    orders_with(
        client,
        &[
            ("a", 10.5, "pen"),
            ("b", 250.0, "big, desk"),
            ("c", 1.0, "ink"),
        ],
    )
    .await;
}

/// Every CopyData of `sql`, as text.
async fn copy_text(client: &Client, sql: &str) -> String {
    let stream = client.copy_out(sql).await.unwrap();
    pin_mut!(stream);
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk: Bytes = chunk.unwrap();
        out.extend_from_slice(&chunk);
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_of_a_push_query_with_limit_in_text_and_csv() {
    let server = Server::start().await;
    let client = server.connect().await;
    orders(&client).await;

    let text = copy_text(
        &client,
        "COPY (SELECT id, amount, item FROM orders EMIT CHANGES LIMIT 2) TO STDOUT",
    )
    .await;
    // DOUBLE in text as ksqlDB prints it (250.0), the same as in DataRows.
    assert_eq!(text, "a\t10.5\tpen\nb\t250.0\tbig, desk\n");

    let csv = copy_text(
        &client,
        "COPY (SELECT id, item FROM orders EMIT CHANGES LIMIT 3) TO STDOUT WITH (FORMAT csv, HEADER)",
    )
    .await;
    assert_eq!(csv, "ID,ITEM\na,pen\nb,\"big, desk\"\nc,ink\n");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_of_a_pull_query_and_of_show() {
    let server = Server::start().await;
    let client = server.connect().await;
    orders(&client).await;

    let text = copy_text(&client, "COPY (SELECT id FROM orders) TO STDOUT").await;
    assert_eq!(text, "a\nb\nc\n");
    let streams = copy_text(&client, "COPY (SHOW STREAMS) TO STDOUT").await;
    assert!(streams.contains("ORDERS"), "{streams}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_copies_say_what_is_supported() {
    let server = Server::start().await;
    let client = server.connect().await;
    let error = client
        .simple_query("COPY orders FROM STDIN;")
        .await
        .unwrap_err();
    let error = error.as_db_error().expect("an ErrorResponse");
    assert_eq!(error.code().code(), "0A000", "{error}");
    assert!(
        error.message().contains("COPY (query) TO STDOUT"),
        "{error}"
    );
    server.shutdown().await;
}
