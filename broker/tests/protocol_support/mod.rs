//! Shared by the protocol_* and group_* tests: start the Kafka server in-process on an ephemeral
//! loopback port, and a bare client that sends kafka-protocol requests and reads the responses.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, RequestHeader, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
};
use sluice_broker::group::GroupConfig;
use sluice_broker::protocol::{ServerConfig, serve};
use sluice_broker::{Broker, BrokerConfig, new_record};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server running in this process.
pub struct TestServer {
    pub addr: SocketAddr,
    pub broker: Broker,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// Server settings for tests: short group delays so tests do not sit idle.
pub fn test_config() -> ServerConfig {
    ServerConfig {
        group: GroupConfig {
            initial_rebalance_delay: Duration::from_millis(50),
            tick_interval: Duration::from_millis(20),
            ..GroupConfig::default()
        },
        ..ServerConfig::default()
    }
}

/// Open a broker on `dir` and serve it on 127.0.0.1:0.
pub async fn start(dir: &Path, config: ServerConfig) -> TestServer {
    let broker = Broker::open(BrokerConfig::new(dir)).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let b = broker.clone();
    let task = tokio::spawn(async move {
        serve(b, listener, config, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    TestServer {
        addr,
        broker,
        stop,
        task,
    }
}

impl TestServer {
    /// Shut the server down gracefully and flush the broker.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
        self.broker.shutdown().await;
    }
}

/// A raw Kafka connection.
pub struct Client {
    pub stream: TcpStream,
    correlation: i32,
    client_id: String,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        Client::connect_as(addr, "test-client").await
    }

    pub async fn connect_as(addr: SocketAddr, client_id: &str) -> Client {
        Client {
            stream: TcpStream::connect(addr).await.unwrap(),
            correlation: 0,
            client_id: client_id.to_string(),
        }
    }

    /// Encode a request frame for `req` at `version`; returns the frame and its correlation id.
    pub fn frame<R: Request>(&mut self, version: i16, req: &R) -> (Vec<u8>, i32) {
        self.correlation += 1;
        let key = ApiKey::try_from(R::KEY).unwrap();
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_string(self.client_id.clone())));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, key.request_header_version(version))
            .unwrap();
        req.encode(&mut body, version).unwrap();
        let mut frame = (body.len() as i32).to_be_bytes().to_vec();
        frame.extend_from_slice(&body);
        (frame, self.correlation)
    }

    /// Send a request without waiting for its response.
    pub async fn send_only<R: Request>(&mut self, version: i16, req: &R) -> i32 {
        let (frame, id) = self.frame(version, req);
        self.stream.write_all(&frame).await.unwrap();
        id
    }

    /// Send a request and decode its response.
    pub async fn send<R: Request>(&mut self, version: i16, req: &R) -> R::Response {
        let id = self.send_only(version, req).await;
        self.recv::<R>(version, id).await
    }

    /// Creates topic `name` with `partitions` partitions (CreateTopics v7) and asserts it worked.
    pub async fn create_topic(&mut self, name: &str, partitions: i32) {
        let req = CreateTopicsRequest::default().with_topics(vec![
            CreatableTopic::default()
                .with_name(TopicName(StrBytes::from_string(name.to_string())))
                .with_num_partitions(partitions)
                .with_replication_factor(1),
        ]);
        assert_eq!(
            self.send(7, &req).await.topics[0].error_code,
            0,
            "creating topic {name}"
        );
    }

    /// Read the response to a request sent with [`Client::send_only`].
    pub async fn recv<R: Request>(&mut self, version: i16, id: i32) -> R::Response {
        let key = ApiKey::try_from(R::KEY).unwrap();
        let mut frame = self.read_frame().await.expect("connection closed");
        let header =
            ResponseHeader::decode(&mut frame, key.response_header_version(version)).unwrap();
        assert_eq!(
            header.correlation_id, id,
            "responses arrive in request order"
        );
        R::Response::decode(&mut frame, version).unwrap()
    }

    /// Read one response frame (without its size prefix); `None` when the server closed.
    pub async fn read_frame(&mut self) -> Option<Bytes> {
        let mut size = [0u8; 4];
        if self.stream.read_exact(&mut size).await.is_err() {
            return None;
        }
        let mut buf = vec![0u8; i32::from_be_bytes(size) as usize];
        self.stream.read_exact(&mut buf).await.ok()?;
        Some(Bytes::from(buf))
    }

    /// Write raw bytes.
    pub async fn write_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Has the server closed this connection? (Reads until EOF or an error.)
    pub async fn is_closed_by_server(&mut self) -> bool {
        let mut buf = [0u8; 64];
        loop {
            match tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    }
}

/// A RecordBatch holding `values` (keys "k<i>"), compressed as asked.
pub fn batch(values: &[&str], compression: Compression) -> Bytes {
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut r = new_record(
                Some(format!("k{i}").as_bytes()),
                Some(v.as_bytes()),
                1_700_000_000_000 + i as i64,
            );
            r.offset = i as i64;
            r.sequence = i as i32;
            r
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .unwrap();
    buf.freeze()
}

/// Decode fetched batches into (offset, value) pairs.
pub fn values(mut bytes: Bytes) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    while bytes.has_remaining() {
        let set = RecordBatchDecoder::decode(&mut bytes).unwrap();
        for r in set.records {
            let v = r.value.map(|v| String::from_utf8_lossy(&v).to_string());
            out.push((r.offset, v.unwrap_or_default()));
        }
    }
    out
}

/// A frame with a size prefix and arbitrary body.
pub fn raw_frame(body: &[u8]) -> Vec<u8> {
    let mut v = BytesMut::new();
    v.put_i32(body.len() as i32);
    v.put_slice(body);
    v.to_vec()
}
