//! Transactions in the log, driven in-process through the coordinator's API
//! ([`TransactionalProducer`]): the last stable offset moves only at commit/abort, read_committed
//! reads stop there and aborted transactions are indexed, fencing, the acceptance rule for
//! transactional and control batches, timeouts, offsets inside transactions, compaction, and
//! recovery after a crash (every handle dropped without a clean shutdown) that rebuilds the last
//! stable offset from the log and finishes or aborts what the coordinator had open.

mod log_common;

use std::sync::Arc;
use std::time::Duration;

use log_common::*;
use sluice_broker::group::{GroupConfig, GroupCoordinator};
use sluice_broker::log::transactions::{ControlType, encode_marker};
use sluice_broker::txn::metadata::{TxnState, encode_key, encode_value};
use sluice_broker::txn::{TRANSACTION_STATE_TOPIC, TxnConfig, TxnCoordinator, TxnError};
use sluice_broker::{
    Broker, Durability, Isolation, PartitionLog, Record, decode_records, new_record,
};

async fn coordinators(broker: &Broker) -> (Arc<GroupCoordinator>, Arc<TxnCoordinator>) {
    let groups = GroupCoordinator::start(broker.clone(), GroupConfig::default())
        .await
        .unwrap();
    let config = TxnConfig {
        abort_check_interval: Duration::from_secs(3600),
        ..TxnConfig::default()
    };
    let txns = TxnCoordinator::start(broker.clone(), groups.clone(), config)
        .await
        .unwrap();
    (groups, txns)
}

fn keyed(pairs: &[(&str, &str)]) -> Vec<Record> {
    pairs
        .iter()
        .map(|(k, v)| new_record(Some(k.as_bytes()), Some(v.as_bytes()), now_ms()))
        .collect()
}

/// What a read_committed Kafka client ends up with: reads up to the last stable offset, drops
/// control records and the records of the aborted transactions the broker lists.
fn read_committed(log: &PartitionLog) -> Vec<String> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    loop {
        let read = log
            .read_isolated(offset, 1 << 20, Isolation::ReadCommitted)
            .unwrap();
        if read.records.is_empty() {
            return out;
        }
        let records = decode_records(&read.records).unwrap();
        let end = records.last().unwrap().offset + 1;
        let aborted = log.aborted_transactions(offset, end);
        for r in records.iter().filter(|r| r.offset >= offset) {
            let dropped = r.control
                || (r.transactional
                    && aborted.iter().any(|a| {
                        a.producer_id == r.producer_id
                            && a.first_offset <= r.offset
                            && r.offset <= a.last_offset
                    }));
            if !dropped {
                out.push(String::from_utf8_lossy(r.value.as_deref().unwrap_or(b"")).into_owned());
            }
        }
        assert!(end <= read.last_stable_offset, "read past the LSO");
        offset = end;
    }
}

/// Every record up to the high-water mark (a read stops at a segment end: read on).
fn all_records(log: &PartitionLog) -> Vec<Record> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.high_watermark() {
        let (records, _) = log.read_records(offset, 1 << 24).unwrap();
        let Some(last) = records.last() else { break };
        offset = last.offset + 1;
        out.extend(records);
    }
    out
}

fn read_uncommitted(log: &PartitionLog) -> Vec<String> {
    all_records(log)
        .iter()
        .filter(|r| !r.control)
        .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or(b"")).into_owned())
        .collect()
}

#[tokio::test]
async fn lso_moves_only_at_commit_or_abort_and_aborted_ranges_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker.create_topic("t", 1, &configs(&[])).unwrap();
    let (_groups, txns) = coordinators(&broker).await;
    let log = broker.partition("t", 0).unwrap();
    log.append_records(&records("plain", 2, now_ms()), Durability::Fsynced)
        .await
        .unwrap();

    let mut p = txns.producer("tx", Duration::from_secs(60)).await.unwrap();
    p.begin().unwrap();
    p.append("t", 0, &keyed(&[("a", "t1-a"), ("b", "t1-b")]))
        .await
        .unwrap();
    // A plain write after the open transaction: above the LSO, so not readable committed.
    log.append_records(&records("later", 1, now_ms()), Durability::Fsynced)
        .await
        .unwrap();
    assert_eq!(log.high_watermark(), 5);
    assert_eq!(
        log.last_stable_offset(),
        2,
        "LSO = first offset of the open transaction"
    );
    assert_eq!(read_committed(&log), vec!["plain-0", "plain-1"]);
    let raw = log
        .read_isolated(2, 1 << 20, Isolation::ReadCommitted)
        .unwrap();
    assert!(
        raw.records.is_empty(),
        "read_committed at the LSO returns nothing"
    );
    assert_eq!(raw.last_stable_offset, 2);

    p.commit().await.unwrap();
    assert_eq!(log.high_watermark(), 6, "the COMMIT marker took one offset");
    assert_eq!(log.last_stable_offset(), 6);
    assert_eq!(
        read_committed(&log),
        vec!["plain-0", "plain-1", "t1-a", "t1-b", "later-0"]
    );

    p.begin().unwrap();
    p.append("t", 0, &keyed(&[("c", "t2-c")])).await.unwrap();
    assert_eq!(log.last_stable_offset(), 6);
    p.abort().await.unwrap();
    assert_eq!(log.last_stable_offset(), 8);
    let aborted = log.aborted_transactions(0, 8);
    assert_eq!(aborted.len(), 1);
    assert_eq!(
        (
            aborted[0].producer_id,
            aborted[0].first_offset,
            aborted[0].last_offset
        ),
        (p.producer_id(), 6, 7)
    );
    assert!(log.aborted_transactions(0, 6).is_empty());
    assert!(log.aborted_transactions(8, 8).is_empty());
    assert_eq!(
        read_committed(&log),
        vec!["plain-0", "plain-1", "t1-a", "t1-b", "later-0"]
    );
    assert!(read_uncommitted(&log).contains(&"t2-c".to_string()));
}

#[tokio::test]
async fn a_new_producer_fences_the_old_one_and_aborts_its_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker.create_topic("t", 2, &configs(&[])).unwrap();
    let (_groups, txns) = coordinators(&broker).await;
    let mut old = txns.producer("tx", Duration::from_secs(60)).await.unwrap();
    old.begin().unwrap();
    old.append("t", 0, &keyed(&[("k", "zombie")]))
        .await
        .unwrap();
    let mut new = txns.producer("tx", Duration::from_secs(60)).await.unwrap();
    assert_eq!(new.producer_id(), old.producer_id());
    assert!(new.epoch() > old.epoch());
    let log = broker.partition("t", 0).unwrap();
    assert_eq!(
        log.last_stable_offset(),
        log.high_watermark(),
        "aborted by the fence"
    );
    assert!(read_committed(&log).is_empty());

    // The zombie can neither write nor commit.
    assert!(matches!(
        old.append("t", 1, &keyed(&[("k", "zombie2")])).await,
        Err(TxnError::ProducerFenced { .. })
    ));
    assert!(matches!(
        old.commit().await,
        Err(TxnError::ProducerFenced { .. })
    ));
    // Its raw batches are refused by the partition: the ABORT marker carried the new epoch.
    let stale = transactional_batch(old.producer_id(), old.epoch(), 1, &["raw"]);
    assert_eq!(
        log.append(stale, Durability::Written)
            .await
            .map_err(|e| e.code()),
        Err(47),
        "INVALID_PRODUCER_EPOCH"
    );

    new.begin().unwrap();
    new.append("t", 0, &keyed(&[("k", "fresh")])).await.unwrap();
    new.commit().await.unwrap();
    assert_eq!(read_committed(&log), vec!["fresh"]);
}

/// A transactional batch encoded as a Kafka client would.
fn transactional_batch(pid: i64, epoch: i16, seq: i32, values: &[&str]) -> bytes::BytesMut {
    let recs: Vec<Record> = values
        .iter()
        .map(|v| new_record(Some(b"k"), Some(v.as_bytes()), now_ms()))
        .collect();
    sluice_broker::log::records::encode_transactional_records(&recs, pid, epoch, seq).unwrap()
}

#[tokio::test]
async fn partitions_accept_transactional_batches_only_inside_the_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker.create_topic("t", 2, &configs(&[])).unwrap();
    let (_groups, txns) = coordinators(&broker).await;
    let log0 = broker.partition("t", 0).unwrap();
    let log1 = broker.partition("t", 1).unwrap();
    let mut p = txns.producer("tx", Duration::from_secs(60)).await.unwrap();
    // Not yet in any transaction: INVALID_TXN_STATE.
    let b = transactional_batch(p.producer_id(), p.epoch(), 0, &["x"]);
    assert_eq!(
        log0.append(b, Durability::Written)
            .await
            .map_err(|e| e.code()),
        Err(48)
    );
    p.begin().unwrap();
    p.append("t", 0, &keyed(&[("k", "in")])).await.unwrap();
    // Partition 0 was added: a client batch of the producer is accepted there, not on 1.
    let b = transactional_batch(p.producer_id(), p.epoch(), 0, &["client"]);
    log0.append(b, Durability::Written).await.unwrap();
    let b = transactional_batch(p.producer_id(), p.epoch(), 0, &["client"]);
    assert_eq!(
        log1.append(b, Durability::Written)
            .await
            .map_err(|e| e.code()),
        Err(48)
    );
    // A client may never write a marker.
    let marker =
        encode_marker(p.producer_id(), p.epoch(), ControlType::Commit, 0, now_ms()).unwrap();
    assert_eq!(
        log0.append(marker, Durability::Written)
            .await
            .map_err(|e| e.code()),
        Err(87),
        "INVALID_RECORD"
    );
    assert!(log0.last_stable_offset() < log0.high_watermark());
    p.commit().await.unwrap();
    assert_eq!(read_committed(&log0), vec!["in", "client"]);
    // After the commit the registration is gone.
    let b = transactional_batch(p.producer_id(), p.epoch(), 1, &["late"]);
    assert_eq!(
        log0.append(b, Durability::Written)
            .await
            .map_err(|e| e.code()),
        Err(48)
    );
}

#[tokio::test]
async fn an_open_transaction_past_its_timeout_is_aborted_and_its_producer_fenced() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker.create_topic("t", 1, &configs(&[])).unwrap();
    let (_groups, txns) = coordinators(&broker).await;
    let mut p = txns
        .producer("slow", Duration::from_millis(200))
        .await
        .unwrap();
    let mut quick = txns
        .producer("quick", Duration::from_secs(600))
        .await
        .unwrap();
    p.begin().unwrap();
    p.append("t", 0, &keyed(&[("k", "slow")])).await.unwrap();
    quick.begin().unwrap();
    quick
        .append("t", 0, &keyed(&[("k", "quick")]))
        .await
        .unwrap();
    let log = broker.partition("t", 0).unwrap();
    assert_eq!(log.last_stable_offset(), 0);
    // Not yet timed out.
    assert_eq!(txns.abort_timed_out(now_ms()).await, 0);
    // One second later only the 200 ms transaction is past its timeout.
    assert_eq!(txns.abort_timed_out(now_ms() + 1000).await, 1);
    let m = txns.describe("slow").await.unwrap();
    assert_eq!(m.state, TxnState::CompleteAbort);
    assert_eq!(m.epoch, p.epoch() + 1, "the abort bumped the epoch");
    assert_eq!(
        log.last_stable_offset(),
        1,
        "quick is still open at offset 1"
    );
    assert!(matches!(
        p.commit().await,
        Err(TxnError::ProducerFenced { .. })
    ));
    quick.commit().await.unwrap();
    assert_eq!(read_committed(&log), vec!["quick"]);
}

#[tokio::test]
async fn offsets_in_a_transaction_are_visible_at_commit_and_dropped_at_abort() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker.create_topic("t", 1, &configs(&[])).unwrap();
    broker.create_topic("src", 1, &configs(&[])).unwrap();
    let (groups, txns) = coordinators(&broker).await;
    let mut p = txns.producer("tx", Duration::from_secs(60)).await.unwrap();
    p.begin().unwrap();
    p.append("t", 0, &keyed(&[("k", "v")])).await.unwrap();
    p.add_offsets("g", &[("src".into(), 0, 10)]).await.unwrap();
    assert!(
        groups.offsets.fetch("g", "src", 0).is_none(),
        "pending until commit"
    );
    p.commit().await.unwrap();
    assert_eq!(
        groups.offsets.fetch("g", "src", 0).map(|o| o.offset),
        Some(10)
    );
    p.begin().unwrap();
    p.add_offsets("g", &[("src".into(), 0, 20)]).await.unwrap();
    p.abort().await.unwrap();
    assert_eq!(
        groups.offsets.fetch("g", "src", 0).map(|o| o.offset),
        Some(10)
    );
    // An open transaction's offsets at a crash are dropped when recovery aborts it; committed
    // ones are still there.
    p.begin().unwrap();
    p.add_offsets("g", &[("src".into(), 0, 30)]).await.unwrap();
    drop((p, groups, txns, broker));
    let broker = open(dir.path()).await;
    let (groups, _txns) = coordinators(&broker).await;
    assert_eq!(
        groups.offsets.fetch("g", "src", 0).map(|o| o.offset),
        Some(10)
    );
}

#[tokio::test]
async fn recovery_after_a_crash_rebuilds_the_lso_and_finishes_or_aborts_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker
        .create_topic("t", 2, &configs(&[("segment.bytes", "1024")]))
        .unwrap();
    let (_groups, txns) = coordinators(&broker).await;
    // Committed and aborted transactions before the crash.
    let mut done = txns
        .producer("done", Duration::from_secs(60))
        .await
        .unwrap();
    for (i, commit) in [(0, true), (1, false), (2, true)] {
        done.begin().unwrap();
        for j in 0..10 {
            let v = format!("done-{i}-{j}");
            done.append("t", j % 2, &keyed(&[("k", &v)])).await.unwrap();
        }
        if commit {
            done.commit().await.unwrap();
        } else {
            done.abort().await.unwrap();
        }
    }
    // "open" is mid-transaction at the crash: it must be aborted.
    let mut open_p = txns
        .producer("open", Duration::from_secs(60))
        .await
        .unwrap();
    open_p.begin().unwrap();
    open_p
        .append("t", 0, &keyed(&[("k", "open-0")]))
        .await
        .unwrap();
    open_p
        .append("t", 1, &keyed(&[("k", "open-1")]))
        .await
        .unwrap();
    // "prepared" crashed right after PrepareCommit became durable, before any marker: it must
    // be committed. (The record the coordinator writes at that point, written here.)
    let mut prepared = txns
        .producer("prepared", Duration::from_secs(60))
        .await
        .unwrap();
    prepared.begin().unwrap();
    prepared
        .append("t", 0, &keyed(&[("k", "prep-0")]))
        .await
        .unwrap();
    prepared
        .append("t", 1, &keyed(&[("k", "prep-1")]))
        .await
        .unwrap();
    let mut m = txns.describe("prepared").await.unwrap();
    assert_eq!(m.state, TxnState::Ongoing);
    m.state = TxnState::PrepareCommit;
    let state_log = broker.partition(TRANSACTION_STATE_TOPIC, 0).unwrap();
    let rec = new_record(
        Some(&encode_key("prepared")),
        Some(&encode_value(&m)),
        now_ms(),
    );
    state_log
        .append_records(&[rec], Durability::Fsynced)
        .await
        .unwrap();
    let before: Vec<(i64, i64)> = (0..2)
        .map(|p| {
            let log = broker.partition("t", p).unwrap();
            (log.high_watermark(), log.last_stable_offset())
        })
        .collect();
    assert!(before.iter().all(|(hw, lso)| lso < hw));
    let expected_committed: Vec<Vec<String>> = (0..2)
        .map(|p| read_committed(&broker.partition("t", p).unwrap()))
        .collect();

    // Crash: every handle dropped, no clean shutdown.
    drop((done, open_p, prepared, txns, _groups, state_log, broker));

    let broker = open(dir.path()).await;
    for p in 0..2 {
        let log = broker.partition("t", p).unwrap();
        assert_eq!(
            (log.high_watermark(), log.last_stable_offset()),
            before[p as usize],
            "the LSO is rebuilt from the log before the coordinator runs"
        );
        assert_eq!(read_committed(&log), expected_committed[p as usize]);
        assert_eq!(log.aborted_transactions(0, i64::MAX).len(), 1);
    }
    let (_groups, txns) = coordinators(&broker).await;
    for p in 0..2 {
        let log = broker.partition("t", p).unwrap();
        assert_eq!(log.last_stable_offset(), log.high_watermark());
        let got = read_committed(&log);
        let mut want = expected_committed[p as usize].clone();
        want.push(format!("prep-{p}"));
        assert_eq!(got, want, "partition {p}");
        assert_eq!(
            log.aborted_transactions(0, i64::MAX).len(),
            2,
            "the crashed open transaction is aborted in partition {p}"
        );
    }
    assert_eq!(
        txns.describe("prepared").await.unwrap().state,
        TxnState::CompleteCommit
    );
    assert_eq!(
        txns.describe("open").await.unwrap().state,
        TxnState::CompleteAbort
    );
    // A clean restart keeps all of it (snapshot path).
    broker.shutdown().await;
    drop((txns, _groups, broker));
    let broker = open(dir.path()).await;
    for p in 0..2 {
        let log = broker.partition("t", p).unwrap();
        assert_eq!(log.last_stable_offset(), log.high_watermark());
        assert_eq!(log.aborted_transactions(0, i64::MAX).len(), 2);
        assert_eq!(
            read_committed(&log).len(),
            expected_committed[p as usize].len() + 1
        );
    }
}

#[tokio::test]
async fn compaction_keeps_open_transactions_and_committed_records_superseded_only_by_aborted_ones()
{
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker
        .create_topic(
            "c",
            1,
            &configs(&[("cleanup.policy", "compact"), ("segment.bytes", "1024")]),
        )
        .unwrap();
    let (_groups, txns) = coordinators(&broker).await;
    let log = broker.partition("c", 0).unwrap();
    let filler = |tag: &str| {
        (0..20)
            .map(|i| new_record(Some(format!("{tag}{i}").as_bytes()), Some(b"f"), now_ms()))
            .collect::<Vec<_>>()
    };
    log.append_records(&keyed(&[("k1", "committed")]), Durability::Written)
        .await
        .unwrap();
    for r in filler("a") {
        log.append_records(&[r], Durability::Written).await.unwrap();
    }
    let mut p = txns.producer("tx", Duration::from_secs(60)).await.unwrap();
    p.begin().unwrap();
    p.append("c", 0, &keyed(&[("k1", "aborted")]))
        .await
        .unwrap();
    p.abort().await.unwrap();
    for r in filler("b") {
        log.append_records(&[r], Durability::Written).await.unwrap();
    }
    p.begin().unwrap();
    p.append("c", 0, &keyed(&[("k1", "open")])).await.unwrap();
    for r in filler("c") {
        log.append_records(&[r], Durability::Written).await.unwrap();
    }
    assert!(log.segment_base_offsets().len() >= 3);
    let stats = log.compact(now_ms() + 10).unwrap();
    assert!(stats.records_removed >= 1, "{stats:?}");
    let all = read_uncommitted(&log);
    assert!(
        all.contains(&"committed".to_string()),
        "superseded only by aborted/open"
    );
    assert!(
        !all.contains(&"aborted".to_string()),
        "aborted records are removable"
    );
    assert!(
        all.contains(&"open".to_string()),
        "open transactions are never removed"
    );
    let records = all_records(&log);
    assert_eq!(
        records.iter().filter(|r| r.control).count(),
        1,
        "the ABORT marker is kept"
    );
    assert_eq!(
        read_committed(&log)
            .iter()
            .filter(|v| v.as_str() == "committed")
            .count(),
        1
    );
    // Once committed, the new value supersedes the old one.
    p.commit().await.unwrap();
    for r in filler("d") {
        log.append_records(&[r], Durability::Written).await.unwrap();
    }
    log.compact(now_ms() + 10).unwrap();
    let all = read_uncommitted(&log);
    assert!(!all.contains(&"committed".to_string()));
    assert!(all.contains(&"open".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_transactional_and_plain_writers_read_committed_sees_exactly_the_committed_records()
 {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    broker.create_topic("t", 2, &configs(&[])).unwrap();
    let (_groups, txns) = coordinators(&broker).await;
    let mut tasks = Vec::new();
    for w in 0..4 {
        let txns = txns.clone();
        tasks.push(tokio::spawn(async move {
            let mut p = txns
                .producer(&format!("w{w}"), Duration::from_secs(60))
                .await
                .unwrap();
            let mut committed = Vec::new();
            for n in 0..30 {
                p.begin().unwrap();
                let mut mine = Vec::new();
                for i in 0..3 {
                    let v = format!("w{w}-{n}-{i}");
                    p.append("t", (n + i) % 2, &keyed(&[("k", &v)]))
                        .await
                        .unwrap();
                    mine.push(v);
                }
                // Every third transaction aborts.
                if n % 3 == 2 {
                    p.abort().await.unwrap();
                } else {
                    p.commit().await.unwrap();
                    committed.extend(mine);
                }
            }
            committed
        }));
    }
    let plain = {
        let broker = broker.clone();
        tokio::spawn(async move {
            let mut written = Vec::new();
            for n in 0..60 {
                let v = format!("plain-{n}");
                broker
                    .partition("t", n % 2)
                    .unwrap()
                    .append_records(&keyed(&[("k", &v)]), Durability::Written)
                    .await
                    .unwrap();
                written.push(v);
                tokio::task::yield_now().await;
            }
            written
        })
    };
    let mut expected: Vec<String> = plain.await.unwrap();
    for t in tasks {
        expected.extend(t.await.unwrap());
    }
    let mut got = Vec::new();
    for p in 0..2 {
        let log = broker.partition("t", p).unwrap();
        assert_eq!(log.last_stable_offset(), log.high_watermark());
        got.extend(read_committed(&log));
    }
    let mut sorted_got = got.clone();
    sorted_got.sort();
    sorted_got.dedup();
    assert_eq!(sorted_got.len(), got.len(), "a record was read twice");
    expected.sort();
    assert_eq!(sorted_got, expected);
}
