//! ApiVersions: the versions of each API this broker implements, which clients use to negotiate.
//!
//! The table below is the single place that says which versions are served; the dispatcher
//! refuses everything else with UNSUPPORTED_VERSION. An ApiVersions request of a version we do not
//! know is answered, as Kafka does, with UNSUPPORTED_VERSION and the full list encoded as v0, so
//! the client can retry with a version both sides know.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};

use super::dispatch::{Context, Header};

/// The versions served for each implemented API key (inclusive ranges).
///
/// Fetch stops at v12 and DeleteTopics at v5: later versions address topics by id only.
/// Produce stops at v11 for the same reason (v13 uses topic ids). The transaction APIs stop at
/// v3: AddPartitionsToTxn v4+ is the broker-to-broker batched form, and v4/v5 of the others
/// (KIP-890) carry the per-transaction epoch bump this coordinator does not do.
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 11),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 6),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::OffsetFetch, 1, 8),
    (ApiKey::FindCoordinator, 0, 4),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::ListGroups, 0, 4),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 5),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::AddPartitionsToTxn, 0, 3),
    (ApiKey::AddOffsetsToTxn, 0, 3),
    (ApiKey::EndTxn, 0, 3),
    (ApiKey::TxnOffsetCommit, 0, 3),
];

/// Is `version` of `key` served?
pub fn is_supported(key: ApiKey, version: i16) -> bool {
    SUPPORTED
        .iter()
        .any(|(k, min, max)| *k == key && (*min..=*max).contains(&version))
}

/// The lowest version advertised for `key`, which may be below the lowest version served.
///
/// Produce is advertised from v0 although v0-v2 are refused, exactly as Kafka 4.0 does
/// (KAFKA-18659): librdkafka up to 2.11 enables gzip, snappy and lz4 only when the broker's
/// Produce range includes v0, and would otherwise silently send those batches uncompressed.
fn advertised_min(key: ApiKey, min: i16) -> i16 {
    if key == ApiKey::Produce { 0 } else { min }
}

/// The advertised list, in api key order.
pub fn response(error_code: i16) -> ApiVersionsResponse {
    let mut resp = ApiVersionsResponse::default();
    resp.error_code = error_code;
    let mut keys: Vec<_> = SUPPORTED.to_vec();
    keys.sort_by_key(|(k, _, _)| *k as i16);
    resp.api_keys = keys
        .into_iter()
        .map(|(key, min, max)| {
            ApiVersion::default()
                .with_api_key(key as i16)
                .with_min_version(advertised_min(key, min))
                .with_max_version(max)
        })
        .collect();
    resp.finalized_features_epoch = -1;
    resp
}

/// The response to an ApiVersions request of a version we do not serve.
pub fn unsupported() -> ApiVersionsResponse {
    response(ResponseError::UnsupportedVersion.code())
}

/// Handle a supported ApiVersions request.
pub async fn handle(
    _ctx: &Context,
    _header: &Header,
    _req: ApiVersionsRequest,
) -> ApiVersionsResponse {
    response(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_within_what_the_codec_knows() {
        for (key, min, max) in SUPPORTED {
            let valid = key.valid_versions();
            assert!(
                valid.min <= *min && *max <= valid.max,
                "{key:?} {min}..={max}"
            );
        }
    }

    #[test]
    fn support_is_exactly_the_table() {
        assert!(is_supported(ApiKey::Fetch, 12));
        assert!(!is_supported(ApiKey::Fetch, 13));
        assert!(!is_supported(ApiKey::Produce, 2));
        let produce = response(0)
            .api_keys
            .into_iter()
            .find(|k| k.api_key == ApiKey::Produce as i16)
            .unwrap();
        assert_eq!((produce.min_version, produce.max_version), (0, 11));
        assert!(!is_supported(ApiKey::SaslHandshake, 0));
        assert_eq!(response(0).api_keys.len(), SUPPORTED.len());
    }
}
