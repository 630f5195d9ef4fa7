//! Version negotiation: ApiVersions at every version clients use, and UNSUPPORTED_VERSION answers
//! (not dropped connections) for versions and API keys the broker does not serve.

mod protocol_support;

use bytes::Buf;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse, MetadataRequest};
use kafka_protocol::protocol::{Decodable, StrBytes};
use protocol_support::{Client, raw_frame, start, test_config};

#[tokio::test]
async fn api_versions_at_every_version_lists_what_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), test_config()).await;
    let mut c = Client::connect(server.addr).await;
    for version in 0..=3 {
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("sluice-test"))
            .with_client_software_version(StrBytes::from_static_str("1"));
        let resp = c.send(version, &req).await;
        assert_eq!(resp.error_code, 0, "v{version}");
        let fetch = resp
            .api_keys
            .iter()
            .find(|k| k.api_key == ApiKey::Fetch as i16)
            .expect("Fetch is advertised");
        assert_eq!((fetch.min_version, fetch.max_version), (4, 12));
        let produce = resp
            .api_keys
            .iter()
            .find(|k| k.api_key == ApiKey::Produce as i16)
            .expect("Produce is advertised");
        assert_eq!(
            (produce.min_version, produce.max_version),
            (0, 11),
            "v0 advertised, as Kafka 4 does"
        );
        assert!(
            !resp
                .api_keys
                .iter()
                .any(|k| k.api_key == ApiKey::SaslHandshake as i16),
            "only implemented APIs are advertised"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn api_versions_of_an_unknown_version_answers_v0_with_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), test_config()).await;
    let mut c = Client::connect(server.addr).await;
    // A future ApiVersions v9 whose body we cannot parse: header fields then junk.
    let body = [0u8, 18, 0, 9, 0, 0, 0, 42, 0xde, 0xad, 0xbe, 0xef];
    c.write_raw(&raw_frame(&body)).await;
    let mut frame = c.read_frame().await.expect("answered, not dropped");
    assert_eq!(
        frame.get_i32(),
        42,
        "v0 response header with the correlation id"
    );
    let resp = ApiVersionsResponse::decode(&mut frame, 0).unwrap();
    assert_eq!(resp.error_code, ResponseError::UnsupportedVersion.code());
    assert!(
        resp.api_keys
            .iter()
            .any(|k| k.api_key == ApiKey::Metadata as i16)
    );
    // The connection is still usable.
    let meta = c.send(12, &MetadataRequest::default()).await;
    assert_eq!(meta.brokers.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn unsupported_versions_and_unknown_keys_get_an_error_and_the_connection_stays() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), test_config()).await;
    let mut c = Client::connect(server.addr).await;
    // Produce v2 is below what we serve (Kafka 4 dropped v0-v2 too): header, then acks etc.
    c.write_raw(&raw_frame(&[
        0, 0, 0, 2, 0, 0, 0, 31, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x75, 0x30, 0, 0, 0, 0,
    ]))
    .await;
    let mut frame = c.read_frame().await.expect("answered");
    assert_eq!(frame.get_i32(), 31);
    assert_eq!(frame.get_i16(), ResponseError::UnsupportedVersion.code());
    // An API key nobody knows.
    c.write_raw(&raw_frame(&[0x03, 0xe7, 0, 0, 0, 0, 0, 77, 0, 0]))
        .await;
    let mut frame = c.read_frame().await.expect("answered");
    assert_eq!(frame.get_i32(), 77);
    assert_eq!(frame.get_i16(), ResponseError::UnsupportedVersion.code());
    let resp = c.send(3, &ApiVersionsRequest::default()).await;
    assert_eq!(resp.error_code, 0);
    server.stop().await;
}
