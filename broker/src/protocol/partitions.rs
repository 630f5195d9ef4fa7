//! CreatePartitions: growing a topic (`kafka-topics --alter --partitions N`,
//! `AdminClient.createPartitions`).
//!
//! Each topic in the request gets its own result, as Kafka gives them: UNKNOWN_TOPIC_OR_PARTITION
//! for a missing topic, INVALID_PARTITIONS when the new count is not larger than the current one
//! (Kafka never shrinks a topic), INVALID_REPLICA_ASSIGNMENT when explicit assignments do not give
//! each new partition exactly this broker (an empty list counts as none given), INVALID_REQUEST
//! for a topic named twice, INVALID_TOPIC_EXCEPTION for an internal topic. With
//! `validate_only` every check runs and nothing changes. New partitions take produce and fetch as
//! soon as the response is sent; keyed records of existing keys may hash to another partition
//! afterwards, as in Kafka.

use std::collections::HashMap;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};

use super::dispatch::{Context, Header};
use super::{internal_topic_refusal, sb};

/// Handle a CreatePartitions request.
pub async fn handle(
    ctx: &Context,
    _header: &Header,
    req: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for t in &req.topics {
        *seen.entry(t.name.as_str()).or_default() += 1;
    }
    let results = req
        .topics
        .iter()
        .map(|t| {
            let out = CreatePartitionsTopicResult::default().with_name(t.name.clone());
            let result = if seen.get(t.name.as_str()).copied().unwrap_or(0) > 1 {
                Err((
                    ResponseError::InvalidRequest,
                    format!("topic '{}' is named more than once", t.name.as_str()),
                ))
            } else {
                grow(ctx, t, req.validate_only)
            };
            match result {
                Ok(()) => out,
                Err((error, message)) => out
                    .with_error_code(error.code())
                    .with_error_message(Some(sb(message))),
            }
        })
        .collect();
    CreatePartitionsResponse::default().with_results(results)
}

/// Checks one topic's request and, unless `validate_only`, grows it.
fn grow(
    ctx: &Context,
    t: &CreatePartitionsTopic,
    validate_only: bool,
) -> Result<(), (ResponseError, String)> {
    let name = t.name.as_str();
    let broker_err = |e: crate::BrokerError| (e.response_error(), e.to_string());
    if let Some(message) = internal_topic_refusal(name, "add partitions to") {
        return Err((ResponseError::InvalidTopicException, message));
    }
    let current = ctx
        .broker
        .validate_create_partitions(name, t.count)
        .map_err(broker_err)?;
    // No assignments (null, or an empty list as kafka-protocol encodes by default) lets the
    // broker place the new partitions, which on one broker means here.
    if let Some(assignments) = t.assignments.as_ref().filter(|a| !a.is_empty()) {
        check_assignments(ctx.node_id, current, t.count, assignments)?;
    }
    if validate_only {
        return Ok(());
    }
    ctx.broker
        .create_partitions(name, t.count)
        .map(|_| ())
        .map_err(broker_err)
}

/// Explicit assignments must name one replica, this broker, for each new partition.
fn check_assignments(
    node_id: i32,
    current: i32,
    count: i32,
    assignments: &[kafka_protocol::messages::create_partitions_request::CreatePartitionsAssignment],
) -> Result<(), (ResponseError, String)> {
    let invalid = |message: String| Err((ResponseError::InvalidReplicaAssignment, message));
    let new = i64::from(count) - i64::from(current);
    if assignments.len() as i64 != new {
        return invalid(format!(
            "{} assignments given for {new} new partitions",
            assignments.len()
        ));
    }
    for (i, a) in assignments.iter().enumerate() {
        let ids: Vec<i32> = a.broker_ids.iter().map(|b| b.0).collect();
        if ids != [node_id] {
            return invalid(format!(
                "partition {} is assigned to brokers {ids:?}, but the only broker is {node_id} \
                 (replication factor 1)",
                i64::from(current) + i as i64
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::BrokerId;
    use kafka_protocol::messages::create_partitions_request::CreatePartitionsAssignment;

    use super::*;

    fn assignment(ids: &[i32]) -> CreatePartitionsAssignment {
        CreatePartitionsAssignment::default()
            .with_broker_ids(ids.iter().copied().map(BrokerId).collect())
    }

    #[test]
    fn assignments_must_give_each_new_partition_this_broker_only() {
        assert!(check_assignments(1, 2, 4, &[assignment(&[1]), assignment(&[1])]).is_ok());
        let code = |r: Result<(), (ResponseError, String)>| r.map_err(|(e, _)| e.code());
        assert_eq!(
            code(check_assignments(1, 2, 4, &[assignment(&[1])])),
            Err(39)
        );
        assert_eq!(
            code(check_assignments(1, 2, 3, &[assignment(&[2])])),
            Err(39)
        );
        assert_eq!(
            code(check_assignments(1, 2, 3, &[assignment(&[1, 1])])),
            Err(39)
        );
        assert_eq!(
            code(check_assignments(1, 2, 3, &[assignment(&[])])),
            Err(39)
        );
    }
}
