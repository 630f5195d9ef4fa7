//! Malformed input closes only the offending connection; the broker and other clients carry on.

mod protocol_support;

use kafka_protocol::messages::MetadataRequest;
use protocol_support::{Client, start, test_config};
use sluice_broker::protocol::ServerConfig;

/// Asserts that `client` still gets a Metadata answer (API `version`) naming the one broker.
async fn assert_serves_metadata(client: &mut Client, version: i16) {
    let brokers = client
        .send(version, &MetadataRequest::default())
        .await
        .brokers;
    assert_eq!(brokers.len(), 1);
}

#[tokio::test]
async fn garbage_closes_that_connection_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), test_config()).await;
    let mut healthy = Client::connect(server.addr).await;
    assert_serves_metadata(&mut healthy, 9).await;

    // A negative size.
    let mut bad = Client::connect(server.addr).await;
    bad.write_raw(&[0xff, 0xff, 0xff, 0xf0, 1, 2, 3]).await;
    assert!(bad.is_closed_by_server().await);

    // A known API whose body is truncated garbage.
    let mut bad = Client::connect(server.addr).await;
    bad.write_raw(&[0, 0, 0, 10, 0, 3, 0, 9, 0, 0, 0, 1, 0xff, 0x7f])
        .await;
    assert!(bad.is_closed_by_server().await);

    // A frame cut short by the client.
    let mut bad = Client::connect(server.addr).await;
    bad.write_raw(&[0, 0, 0, 100, 0, 18]).await;
    bad.stream.shutdown().await.unwrap();
    assert!(bad.is_closed_by_server().await);

    // The first connection and new ones still work.
    assert_serves_metadata(&mut healthy, 9).await;
    let mut fresh = Client::connect(server.addr).await;
    assert_serves_metadata(&mut fresh, 1).await;
    server.stop().await;
}

#[tokio::test]
async fn oversized_frame_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        max_request_bytes: 1024,
        ..test_config()
    };
    let server = start(dir.path(), config).await;
    let mut bad = Client::connect(server.addr).await;
    // Announce 1 GiB and send only the header: the server must refuse at once.
    bad.write_raw(&(1i32 << 30).to_be_bytes()).await;
    bad.write_raw(&[0, 3, 0, 9, 0, 0, 0, 1]).await;
    assert!(bad.is_closed_by_server().await);
    let mut fresh = Client::connect(server.addr).await;
    assert_serves_metadata(&mut fresh, 4).await;
    server.stop().await;
}

use tokio::io::AsyncWriteExt;
