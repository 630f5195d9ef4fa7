//! Routes a request frame to the handler of its API and encodes the handler's response.
//!
//! Each API lives in its own file (`produce.rs`, `fetch.rs`, `group/join.rs` ...) with a
//! `handle(ctx, header, request) -> response` function; this file only decodes the header and the
//! body at the version the client used, calls the handler and frames the response. Versions outside
//! [`api_versions::SUPPORTED`] and unknown API keys are answered with UNSUPPORTED_VERSION (see
//! [`unsupported_frame`]) so the connection stays open.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::ResponseError;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable};
use tokio::sync::watch;
use tracing::debug;

use super::frame::RequestFrame;
use super::{
    ServerConfig, alter_configs, api_versions, configs, fetch, list_offsets, metadata, partitions,
    produce, producer, records, topics,
};
use crate::Broker;
use crate::group::{self, GroupCoordinator};
use crate::txn::{self, TxnCoordinator};

/// Shared state every request handler sees.
#[derive(Debug)]
pub struct Context {
    /// The topics and partitions.
    pub broker: Broker,
    /// Consumer groups and committed offsets.
    pub groups: Arc<GroupCoordinator>,
    /// Transactions.
    pub txns: Arc<TxnCoordinator>,
    /// The listener's settings.
    pub config: ServerConfig,
    /// Host clients are told to connect to.
    pub advertised_host: String,
    /// Port clients are told to connect to.
    pub advertised_port: i32,
    /// This broker's node id.
    pub node_id: i32,
    /// Partitions of a topic created without a count (auto-created, or -1 in CreateTopics).
    pub default_partitions: i32,
    /// Becomes true when the server shuts down; long polls end early on it.
    pub shutdown: watch::Receiver<bool>,
}

/// The decoded request header of a supported request.
#[derive(Debug, Clone)]
pub struct Header {
    /// The API, when it is one we know.
    pub api_key: Option<ApiKey>,
    /// The version the client used.
    pub version: i16,
    /// Echoed back in the response.
    pub correlation_id: i32,
    /// The client's self-declared id (empty when absent).
    pub client_id: String,
    /// The client's address.
    pub peer: SocketAddr,
    /// Bytes after the header: the request body.
    body: Bytes,
}

/// A request whose body could not be decoded: the connection is closed.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// The header or body does not match the version's schema.
    #[error("cannot decode {api} v{version}: {reason}")]
    Decode {
        /// The API the client named.
        api: String,
        /// The version it used.
        version: i16,
        /// What the decoder found.
        reason: String,
    },
    /// A response could not be encoded (a value out of range for the version).
    #[error("cannot encode the response to {api} v{version}: {reason}")]
    Encode {
        /// The API.
        api: String,
        /// The version.
        version: i16,
        /// What the encoder found.
        reason: String,
    },
}

fn decode_err(api: Option<ApiKey>, version: i16, e: impl std::fmt::Display) -> DispatchError {
    DispatchError::Decode {
        api: format!("{api:?}"),
        version,
        reason: e.to_string(),
    }
}

/// Decode the request header. Unknown keys and unsupported versions get a header holding only the
/// fixed fields, so they can still be answered.
pub fn decode_header(frame: &RequestFrame, peer: SocketAddr) -> Result<Header, DispatchError> {
    let key = ApiKey::try_from(frame.api_key).ok();
    let known = key.filter(|k| api_versions::is_supported(*k, frame.api_version));
    let Some(key) = known else {
        return Ok(Header {
            api_key: key,
            version: frame.api_version,
            correlation_id: frame.correlation_id,
            client_id: String::new(),
            peer,
            body: Bytes::new(),
        });
    };
    let mut bytes = frame.bytes.clone();
    let header_version = key.request_header_version(frame.api_version);
    let header = RequestHeader::decode(&mut bytes, header_version)
        .map_err(|e| decode_err(Some(key), frame.api_version, e))?;
    Ok(Header {
        api_key: Some(key),
        version: frame.api_version,
        correlation_id: frame.correlation_id,
        client_id: header.client_id.map(|s| s.to_string()).unwrap_or_default(),
        peer,
        body: bytes,
    })
}

/// Frame a response body: size prefix, response header, body.
pub fn encode_response<R: Encodable>(
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &R,
) -> Result<BytesMut, DispatchError> {
    let encode_err = |e: anyhow::Error| DispatchError::Encode {
        api: format!("{key:?}"),
        version,
        reason: e.to_string(),
    };
    let mut buf = BytesMut::with_capacity(64);
    buf.put_i32(0);
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut buf, key.response_header_version(version))
        .map_err(encode_err)?;
    body.encode(&mut buf, version).map_err(encode_err)?;
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Ok(buf)
}

/// The answer to an unknown API key or an unsupported version of any API but ApiVersions: a v0
/// response header and a body holding just the UNSUPPORTED_VERSION error code.
pub fn unsupported_frame(correlation_id: i32) -> BytesMut {
    let mut buf = BytesMut::with_capacity(10);
    buf.put_i32(6);
    buf.put_i32(correlation_id);
    buf.put_i16(ResponseError::UnsupportedVersion.code());
    buf
}

/// Decodes the body of a supported request exactly as [`dispatch`] does (the same message type
/// at the version the client named) without running a handler; `None` for requests that
/// [`dispatch`] answers without decoding (unknown keys, unsupported versions). The fuzz target
/// `kafka_request` drives the whole decode path through this.
pub fn decode_request(h: &Header) -> Result<Option<RequestKind>, DispatchError> {
    let Some(key) = h
        .api_key
        .filter(|k| api_versions::is_supported(*k, h.version))
    else {
        return Ok(None);
    };
    let mut body = h.body.clone();
    RequestKind::decode(key, &mut body, h.version)
        .map(Some)
        .map_err(|e| decode_err(Some(key), h.version, e))
}

macro_rules! route {
    ($ctx:expr, $h:expr, $key:expr, $req:ty, $handler:path) => {{
        let mut body = $h.body.clone();
        let req = <$req>::decode(&mut body, $h.version)
            .map_err(|e| decode_err(Some($key), $h.version, e))?;
        let resp = $handler($ctx, &$h, req).await;
        Some(encode_response($key, $h.version, $h.correlation_id, &resp)?)
    }};
}

/// Handle one request; `None` when no response is due (a produce with acks=0).
pub async fn dispatch(ctx: &Context, h: Header) -> Result<Option<BytesMut>, DispatchError> {
    let Some(key) = h
        .api_key
        .filter(|k| api_versions::is_supported(*k, h.version))
    else {
        debug!(api_key = ?h.api_key, version = h.version, "unsupported request");
        if h.api_key == Some(ApiKey::ApiVersions) {
            let resp = api_versions::unsupported();
            return Ok(Some(encode_response(
                ApiKey::ApiVersions,
                0,
                h.correlation_id,
                &resp,
            )?));
        }
        return Ok(Some(unsupported_frame(h.correlation_id)));
    };
    debug!(api = ?key, version = h.version, correlation_id = h.correlation_id, "request");
    let response = match key {
        ApiKey::ApiVersions => route!(ctx, h, key, ApiVersionsRequest, api_versions::handle),
        ApiKey::Metadata => route!(ctx, h, key, MetadataRequest, metadata::handle),
        ApiKey::Produce => {
            let mut body = h.body.clone();
            let req = ProduceRequest::decode(&mut body, h.version)
                .map_err(|e| decode_err(Some(key), h.version, e))?;
            match produce::handle(ctx, &h, req).await {
                Some(resp) => Some(encode_response(key, h.version, h.correlation_id, &resp)?),
                None => None,
            }
        }
        ApiKey::Fetch => route!(ctx, h, key, FetchRequest, fetch::handle),
        ApiKey::ListOffsets => route!(ctx, h, key, ListOffsetsRequest, list_offsets::handle),
        ApiKey::CreateTopics => route!(ctx, h, key, CreateTopicsRequest, topics::create),
        ApiKey::DeleteTopics => route!(ctx, h, key, DeleteTopicsRequest, topics::delete),
        ApiKey::DeleteRecords => route!(ctx, h, key, DeleteRecordsRequest, records::delete),
        ApiKey::DescribeConfigs => route!(ctx, h, key, DescribeConfigsRequest, configs::describe),
        ApiKey::CreatePartitions => {
            route!(ctx, h, key, CreatePartitionsRequest, partitions::handle)
        }
        ApiKey::AlterConfigs => route!(ctx, h, key, AlterConfigsRequest, alter_configs::alter),
        ApiKey::IncrementalAlterConfigs => {
            route!(
                ctx,
                h,
                key,
                IncrementalAlterConfigsRequest,
                alter_configs::incremental
            )
        }
        ApiKey::InitProducerId => route!(ctx, h, key, InitProducerIdRequest, producer::init),
        ApiKey::FindCoordinator => {
            route!(
                ctx,
                h,
                key,
                FindCoordinatorRequest,
                group::find_coordinator::handle
            )
        }
        ApiKey::JoinGroup => route!(ctx, h, key, JoinGroupRequest, group::join::handle),
        ApiKey::SyncGroup => route!(ctx, h, key, SyncGroupRequest, group::sync::handle),
        ApiKey::Heartbeat => route!(ctx, h, key, HeartbeatRequest, group::heartbeat::handle),
        ApiKey::LeaveGroup => route!(ctx, h, key, LeaveGroupRequest, group::leave::handle),
        ApiKey::OffsetCommit => {
            route!(
                ctx,
                h,
                key,
                OffsetCommitRequest,
                group::offset_commit::handle
            )
        }
        ApiKey::OffsetFetch => route!(ctx, h, key, OffsetFetchRequest, group::offset_fetch::handle),
        ApiKey::DescribeGroups => {
            route!(
                ctx,
                h,
                key,
                DescribeGroupsRequest,
                group::describe::describe
            )
        }
        ApiKey::ListGroups => route!(ctx, h, key, ListGroupsRequest, group::describe::list),
        ApiKey::DeleteGroups => route!(ctx, h, key, DeleteGroupsRequest, group::delete::handle),
        ApiKey::AddPartitionsToTxn => {
            route!(
                ctx,
                h,
                key,
                AddPartitionsToTxnRequest,
                txn::add_partitions::handle
            )
        }
        ApiKey::AddOffsetsToTxn => {
            route!(
                ctx,
                h,
                key,
                AddOffsetsToTxnRequest,
                txn::add_offsets::handle
            )
        }
        ApiKey::EndTxn => route!(ctx, h, key, EndTxnRequest, txn::end_txn::handle),
        ApiKey::TxnOffsetCommit => {
            route!(
                ctx,
                h,
                key,
                TxnOffsetCommitRequest,
                txn::txn_offset_commit::handle
            )
        }
        _ => Some(unsupported_frame(h.correlation_id)),
    };
    Ok(response)
}
