//! The transaction APIs on the wire, at every served version: FindCoordinator(key_type=1),
//! InitProducerId with a transactional id, AddPartitionsToTxn, transactional Produce,
//! read_committed Fetch (bounded by the LSO, aborted_transactions listed) and ListOffsets,
//! EndTxn, AddOffsetsToTxn + TxnOffsetCommit (offsets visible at commit only), and fencing
//! (PRODUCER_FENCED from v2, INVALID_PRODUCER_EPOCH before). Clients may not produce markers.

mod protocol_support;

use bytes::Bytes;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use protocol_support::{Client, start, test_config};
use sluice_broker::log::records::encode_transactional_records;
use sluice_broker::log::transactions::{ControlType, encode_marker};
use sluice_broker::new_record;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn t(v: &str) -> TopicName {
    TopicName(s(v))
}

async fn produce(c: &mut Client, topic: &str, records: Bytes, txn: &str) -> i16 {
    let req = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_transactional_id(Some(TransactionalId(s(txn))))
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(t(topic))
                .with_partition_data(vec![
                    PartitionProduceData::default()
                        .with_index(0)
                        .with_records(Some(records)),
                ]),
        ]);
    c.send(9, &req).await.responses[0].partition_responses[0].error_code
}

fn txn_batch(pid: i64, epoch: i16, seq: i32, values: &[&str]) -> Bytes {
    let recs: Vec<_> = values
        .iter()
        .map(|v| new_record(Some(b"k"), Some(v.as_bytes()), 1_700_000_000_000))
        .collect();
    encode_transactional_records(&recs, pid, epoch, seq)
        .unwrap()
        .freeze()
}

async fn fetch(
    c: &mut Client,
    topic: &str,
    isolation: i8,
) -> kafka_protocol::messages::fetch_response::PartitionData {
    let req = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_bytes(1 << 20)
        .with_isolation_level(isolation)
        .with_topics(vec![
            FetchTopic::default()
                .with_topic(t(topic))
                .with_partitions(vec![
                    FetchPartition::default()
                        .with_partition(0)
                        .with_partition_max_bytes(1 << 20),
                ]),
        ]);
    c.send(11, &req).await.responses[0].partitions[0].clone()
}

async fn latest(c: &mut Client, topic: &str, isolation: i8) -> i64 {
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_isolation_level(isolation)
        .with_topics(vec![
            ListOffsetsTopic::default()
                .with_name(t(topic))
                .with_partitions(vec![
                    ListOffsetsPartition::default()
                        .with_partition_index(0)
                        .with_timestamp(-1),
                ]),
        ]);
    c.send(5, &req).await.topics[0].partitions[0].offset
}

async fn add_partition(
    c: &mut Client,
    v: i16,
    txn: &str,
    pid: i64,
    epoch: i16,
    topic: &str,
) -> i16 {
    let req = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(TransactionalId(s(txn)))
        .with_v3_and_below_producer_id(ProducerId(pid))
        .with_v3_and_below_producer_epoch(epoch)
        .with_v3_and_below_topics(vec![
            AddPartitionsToTxnTopic::default()
                .with_name(t(topic))
                .with_partitions(vec![0]),
        ]);
    c.send(v, &req).await.results_by_topic_v3_and_below[0].results_by_partition[0]
        .partition_error_code
}

async fn end_txn(c: &mut Client, v: i16, txn: &str, pid: i64, epoch: i16, commit: bool) -> i16 {
    let req = EndTxnRequest::default()
        .with_transactional_id(TransactionalId(s(txn)))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_committed(commit);
    c.send(v, &req).await.error_code
}

#[tokio::test]
async fn every_version_runs_abort_commit_offsets_and_fencing() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), test_config()).await;
    let mut c = Client::connect(server.addr).await;
    for v in 1..=4 {
        let req = if v < 4 {
            FindCoordinatorRequest::default()
                .with_key(s("txn"))
                .with_key_type(1)
        } else {
            FindCoordinatorRequest::default()
                .with_key_type(1)
                .with_coordinator_keys(vec![s("txn")])
        };
        let resp = c.send(v, &req).await;
        let (code, port) = if v < 4 {
            (resp.error_code, resp.port)
        } else {
            (resp.coordinators[0].error_code, resp.coordinators[0].port)
        };
        assert_eq!((code, port), (0, i32::from(server.addr.port())), "v{v}");
    }
    c.create_topic("src", 1).await;
    for v in 0..=3i16 {
        let topic = format!("t{v}");
        let txn = format!("txn{v}");
        c.create_topic(&topic, 1).await;
        let init = InitProducerIdRequest::default()
            .with_transactional_id(Some(TransactionalId(s(&txn))))
            .with_transaction_timeout_ms(60_000);
        let resp = c.send(v + 1, &init).await;
        assert_eq!(resp.error_code, 0, "InitProducerId v{}", v + 1);
        let (pid, epoch) = (resp.producer_id.0, resp.producer_epoch);

        // Aborted transaction: invisible to read_committed, listed as aborted.
        assert_eq!(add_partition(&mut c, v, &txn, pid, epoch, &topic).await, 0);
        assert_eq!(
            produce(
                &mut c,
                &topic,
                txn_batch(pid, epoch, 0, &["a0", "a1"]),
                &txn
            )
            .await,
            0
        );
        let open = fetch(&mut c, &topic, 1).await;
        assert_eq!((open.high_watermark, open.last_stable_offset), (2, 0));
        assert!(
            open.records.unwrap().is_empty(),
            "v{v}: nothing below the LSO"
        );
        assert_eq!(latest(&mut c, &topic, 1).await, 0);
        assert_eq!(latest(&mut c, &topic, 0).await, 2);
        assert_eq!(end_txn(&mut c, v, &txn, pid, epoch, false).await, 0);
        let aborted = fetch(&mut c, &topic, 1).await;
        assert_eq!(aborted.last_stable_offset, 3);
        let list = aborted.aborted_transactions.unwrap();
        assert_eq!(list.len(), 1, "v{v}");
        assert_eq!((list[0].producer_id.0, list[0].first_offset), (pid, 0));
        assert!(!aborted.records.unwrap().is_empty());
        // read_uncommitted responses carry no aborted list.
        assert!(
            fetch(&mut c, &topic, 0)
                .await
                .aborted_transactions
                .is_none()
        );

        // Committed transaction with offsets.
        assert_eq!(add_partition(&mut c, v, &txn, pid, epoch, &topic).await, 0);
        assert_eq!(
            produce(&mut c, &topic, txn_batch(pid, epoch, 2, &["c0"]), &txn).await,
            0
        );
        let add = AddOffsetsToTxnRequest::default()
            .with_transactional_id(TransactionalId(s(&txn)))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_group_id(GroupId(s(&txn)));
        assert_eq!(c.send(v, &add).await.error_code, 0);
        let commit = TxnOffsetCommitRequest::default()
            .with_transactional_id(TransactionalId(s(&txn)))
            .with_group_id(GroupId(s(&txn)))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_generation_id(-1)
            .with_topics(vec![
                TxnOffsetCommitRequestTopic::default()
                    .with_name(t("src"))
                    .with_partitions(vec![
                        TxnOffsetCommitRequestPartition::default()
                            .with_partition_index(0)
                            .with_committed_offset(7)
                            .with_committed_leader_epoch(-1),
                    ]),
            ]);
        let resp = c.send(v, &commit).await;
        assert_eq!(
            resp.topics[0].partitions[0].error_code, 0,
            "TxnOffsetCommit v{v}"
        );
        let fetch_offsets = OffsetFetchRequest::default()
            .with_group_id(GroupId(s(&txn)))
            .with_topics(Some(vec![
                OffsetFetchRequestTopic::default()
                    .with_name(t("src"))
                    .with_partition_indexes(vec![0]),
            ]));
        let committed = |r: OffsetFetchResponse| r.topics[0].partitions[0].committed_offset;
        assert_eq!(
            committed(c.send(5, &fetch_offsets).await),
            -1,
            "not before the commit"
        );
        assert_eq!(end_txn(&mut c, v, &txn, pid, epoch, true).await, 0);
        assert_eq!(committed(c.send(5, &fetch_offsets).await), 7);
        let done = fetch(&mut c, &topic, 1).await;
        assert_eq!((done.high_watermark, done.last_stable_offset), (5, 5));

        // A second InitProducerId fences the first producer.
        let resp = c.send(v + 1, &init).await;
        assert_eq!(resp.error_code, 0);
        assert_eq!(resp.producer_epoch, epoch + 1);
        let fenced = if v >= 2 { 90 } else { 47 };
        assert_eq!(
            end_txn(&mut c, v, &txn, pid, epoch, true).await,
            fenced,
            "v{v}"
        );
        assert_eq!(
            add_partition(&mut c, v, &txn, pid, epoch, &topic).await,
            fenced
        );
        // Unknown transactional id and an unknown partition.
        assert_eq!(end_txn(&mut c, v, "nobody", pid, epoch, true).await, 49);
        assert_eq!(
            add_partition(&mut c, v, &txn, pid, epoch + 1, "missing").await,
            3
        );
    }
    // A client cannot produce a transaction marker.
    let marker = encode_marker(1, 0, ControlType::Commit, 0, 0)
        .unwrap()
        .freeze();
    assert_eq!(produce(&mut c, "t0", marker, "txn0").await, 87);
    // Nor a transactional batch outside any transaction.
    assert_eq!(
        produce(&mut c, "t0", txn_batch(424242, 0, 0, &["x"]), "txn0").await,
        48
    );
    // A timeout above transaction.max.timeout.ms is refused.
    let init = InitProducerIdRequest::default()
        .with_transactional_id(Some(TransactionalId(s("big"))))
        .with_transaction_timeout_ms(i32::MAX);
    assert_eq!(c.send(4, &init).await.error_code, 50);
    server.stop().await;
}
