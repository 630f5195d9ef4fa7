//! Small hostile requests against a running server: counts that claim more than the frame holds
//! close (or error) that connection only, and seeded random frames never take the server down.

mod protocol_support;

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::MetadataRequest;
use protocol_support::{Client, raw_frame, start, test_config};
use rand::{Rng, SeedableRng};

/// Request header v1 (api key, version, correlation id, client id "h") followed by `body`.
fn request(api_key: i16, version: i16, body: &[u8]) -> Vec<u8> {
    let mut b = BytesMut::new();
    b.put_i16(api_key);
    b.put_i16(version);
    b.put_i32(7);
    b.put_i16(1);
    b.put_u8(b'h');
    b.put_slice(body);
    raw_frame(&b)
}

async fn assert_alive(addr: std::net::SocketAddr) {
    let mut c = Client::connect(addr).await;
    let brokers = c.send(4, &MetadataRequest::default()).await.brokers;
    assert_eq!(brokers.len(), 1);
}

#[tokio::test]
async fn counts_beyond_the_frame_close_only_that_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), test_config()).await;

    // Metadata v4: a topic array claiming 2^31-1 entries, 30 bytes in all.
    let mut body = BytesMut::new();
    body.put_i32(i32::MAX);
    body.put_i16(1);
    body.put_u8(b't');
    let mut bad = Client::connect(server.addr).await;
    bad.write_raw(&request(3, 4, &body)).await;
    assert!(bad.is_closed_by_server().await);
    assert_alive(server.addr).await;

    // CreateTopics v4: 2^31-1 partitions asked for, and an assignments array claiming 2^31-1.
    let mut body = BytesMut::new();
    body.put_i32(1);
    body.put_i16(1);
    body.put_u8(b'x');
    body.put_i32(i32::MAX);
    body.put_i16(1);
    body.put_i32(i32::MAX);
    let mut bad = Client::connect(server.addr).await;
    bad.write_raw(&request(19, 4, &body)).await;
    assert!(bad.is_closed_by_server().await);
    assert_alive(server.addr).await;

    // Metadata v9 (flexible): a compact array claiming 2^32-2 entries.
    let mut b = BytesMut::new();
    b.put_i16(3);
    b.put_i16(9);
    b.put_i32(7);
    b.put_i16(1);
    b.put_u8(b'h');
    b.put_u8(0); // header tagged fields
    b.put_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    let mut bad = Client::connect(server.addr).await;
    bad.write_raw(&raw_frame(&b)).await;
    assert!(bad.is_closed_by_server().await);
    assert_alive(server.addr).await;
    server.stop().await;
}

/// Seeded random frames: some with a valid header of a known API and a random body, some wholly
/// random. Each goes on its own connection; the server must answer, close, or wait, and always
/// stay up. (Before the decoders were bounded, frame 24 of seed 1 aborted the process.)
#[tokio::test]
async fn seeded_random_frames_do_not_take_the_server_down() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), test_config()).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let apis: [(i16, i16); 12] = [
        (0, 9),
        (1, 12),
        (2, 7),
        (3, 12),
        (8, 8),
        (9, 8),
        (10, 4),
        (11, 9),
        (14, 5),
        (19, 7),
        (32, 4),
        (44, 1),
    ];
    for i in 0..300 {
        let len = rng.random_range(0..200usize);
        let mut body: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        // Bias towards huge counts: sprinkle 0x7fffffff and 0xff runs.
        if rng.random_bool(0.5) && len >= 4 {
            let at = rng.random_range(0..len - 3);
            body[at..at + 4].copy_from_slice(&i32::MAX.to_be_bytes());
        }
        let frame = if rng.random_bool(0.8) {
            let (key, max_version) = apis[rng.random_range(0..apis.len())];
            request(key, rng.random_range(0..=max_version), &body)
        } else {
            let mut f = body.clone();
            f.resize(f.len().max(8), 0);
            raw_frame(&f)
        };
        let mut c = Client::connect(server.addr).await;
        c.write_raw(&frame).await;
        c.stream.shutdown().await.ok();
        // Drain whatever comes back until the server closes (it sees our EOF).
        assert!(
            c.is_closed_by_server().await,
            "frame {i} left the connection open"
        );
        if i % 50 == 0 {
            assert_alive(server.addr).await;
        }
    }
    assert_alive(server.addr).await;
    server.stop().await;
}

use tokio::io::AsyncWriteExt;
