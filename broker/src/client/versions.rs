//! API version negotiation.
//!
//! On connect the client asks the server for its ApiVersions and keeps, for every API, the highest
//! version both sides speak. The client side ranges below are the versions whose fields this
//! client fills and reads correctly; they stop before versions that identify topics only by id
//! (Produce v13, Fetch v13+), which this client does not track.

use std::collections::HashMap;

use kafka_protocol::messages::ApiKey;
use kafka_protocol::messages::api_versions_response::ApiVersionsResponse;

/// The versions this client speaks, per API: (key, min, max).
const CLIENT_VERSIONS: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 12),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 9),
    (ApiKey::Metadata, 1, 12),
    (ApiKey::OffsetCommit, 2, 9),
    (ApiKey::OffsetFetch, 1, 9),
    (ApiKey::FindCoordinator, 0, 6),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::DescribeConfigs, 1, 4),
];

/// The negotiated version of each API: the highest version in both the client's and the
/// server's range. APIs missing from the map are not usable against this server.
#[derive(Debug, Clone, Default)]
pub(crate) struct NegotiatedVersions {
    versions: HashMap<i16, i16>,
}

impl NegotiatedVersions {
    /// Intersects the server's advertised ranges with the client's.
    pub(crate) fn from_response(response: &ApiVersionsResponse) -> NegotiatedVersions {
        let mut versions = HashMap::new();
        for server in &response.api_keys {
            if let Some(&(_, min, max)) = CLIENT_VERSIONS
                .iter()
                .find(|(key, _, _)| *key as i16 == server.api_key)
            {
                let high = max.min(server.max_version);
                let low = min.max(server.min_version);
                if low <= high {
                    versions.insert(server.api_key, high);
                }
            }
        }
        NegotiatedVersions { versions }
    }

    /// The version to use for `api_key`, if both sides speak one.
    pub(crate) fn get(&self, api_key: i16) -> Option<i16> {
        self.versions.get(&api_key).copied()
    }

    /// The highest ApiVersions version this client speaks (used for the first request).
    pub(crate) fn api_versions_max() -> i16 {
        3
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::api_versions_response::ApiVersion;

    fn server(ranges: &[(ApiKey, i16, i16)]) -> ApiVersionsResponse {
        let mut response = ApiVersionsResponse::default();
        response.api_keys = ranges
            .iter()
            .map(|&(key, min, max)| {
                let mut v = ApiVersion::default();
                v.api_key = key as i16;
                v.min_version = min;
                v.max_version = max;
                v
            })
            .collect();
        response
    }

    #[test]
    fn picks_highest_common_version() {
        let negotiated = NegotiatedVersions::from_response(&server(&[
            (ApiKey::Produce, 0, 11),
            (ApiKey::Fetch, 0, 17),
            (ApiKey::Metadata, 0, 8),
        ]));
        assert_eq!(negotiated.get(ApiKey::Produce as i16), Some(11));
        assert_eq!(negotiated.get(ApiKey::Fetch as i16), Some(12));
        assert_eq!(negotiated.get(ApiKey::Metadata as i16), Some(8));
        assert_eq!(negotiated.get(ApiKey::JoinGroup as i16), None);
    }

    #[test]
    fn disjoint_ranges_are_unusable() {
        let negotiated = NegotiatedVersions::from_response(&server(&[(ApiKey::Produce, 0, 2)]));
        assert_eq!(negotiated.get(ApiKey::Produce as i16), None);
    }
}
