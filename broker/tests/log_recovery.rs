//! Crash recovery: torn and corrupt tails are cut at the last valid batch, everything before it
//! survives, indexes are rebuilt, and appends continue at the right offset.

mod log_common;

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::PathBuf;

use log_common::*;
use sluice_broker::{Broker, Durability};

/// Writes 10 batches of 2 records, then "crashes" (drops the broker without shutdown).
async fn write_and_crash(dir: &std::path::Path) -> (PathBuf, Vec<String>) {
    let broker = open(dir).await;
    broker.create_topic("t", 1, &configs(&[])).unwrap();
    let log = broker.partition("t", 0).unwrap();
    let mut vals = Vec::new();
    for b in 0..10 {
        let recs = records(&format!("b{b}"), 2, 1_000 + b);
        log.append_records(&recs, Durability::Fsynced)
            .await
            .unwrap();
        vals.extend(values(&recs));
    }
    let seg = log
        .dir()
        .join(sluice_broker::PartitionLog::segment_file_name(0));
    drop(log);
    drop(broker);
    (seg, vals)
}

async fn read_all(broker: &Broker) -> Vec<String> {
    let log = broker.partition("t", 0).unwrap();
    read_values(&log, log.log_start_offset())
}

#[tokio::test]
async fn garbage_tail_is_cut_at_last_valid_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (seg, vals) = write_and_crash(dir.path()).await;
    let len = std::fs::metadata(&seg).unwrap().len();
    // Overwrite the middle of the last batch and append junk: the last batch fails its CRC.
    let mut f = OpenOptions::new().write(true).open(&seg).unwrap();
    f.seek(SeekFrom::Start(len - 10)).unwrap();
    f.write_all(&[0xAB; 64]).unwrap();
    drop(f);

    let broker = open(dir.path()).await;
    let log = broker.partition("t", 0).unwrap();
    assert_eq!(log.high_watermark(), 18, "the corrupt 10th batch is gone");
    assert_eq!(read_all(&broker).await, vals[..18].to_vec());
    let res = log
        .append_records(&records("new", 1, 5), Durability::Fsynced)
        .await
        .unwrap();
    assert_eq!(res.base_offset, 18);
    assert!(std::fs::metadata(&seg).unwrap().len() < len + 64);
}

#[tokio::test]
async fn torn_batch_is_cut_and_indexes_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let (seg, vals) = write_and_crash(dir.path()).await;
    let len = std::fs::metadata(&seg).unwrap().len();
    // Truncate mid-batch (a torn write) and remove the indexes.
    OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len - 7)
        .unwrap();
    std::fs::remove_file(seg.with_extension("index")).unwrap();
    std::fs::write(seg.with_extension("timeindex"), [1u8; 5]).unwrap();

    let broker = open(dir.path()).await;
    let log = broker.partition("t", 0).unwrap();
    assert_eq!(log.high_watermark(), 18);
    assert_eq!(read_all(&broker).await, vals[..18].to_vec());
    assert!(seg.with_extension("index").exists(), "offset index rebuilt");
    assert_eq!(
        log.offset_for_timestamp(1_005),
        Some((10, 1_005)),
        "time index rebuilt"
    );
    let res = log
        .append_records(&records("new", 3, 5), Durability::Written)
        .await
        .unwrap();
    assert_eq!((res.base_offset, res.last_offset), (18, 20));
    broker.shutdown().await;
    drop(log);
    drop(broker);
    let broker = open(dir.path()).await;
    assert_eq!(broker.partition("t", 0).unwrap().high_watermark(), 21);
}

#[tokio::test]
async fn corrupt_byte_in_the_middle_cuts_from_there() {
    let dir = tempfile::tempdir().unwrap();
    let (seg, vals) = write_and_crash(dir.path()).await;
    let bytes = std::fs::read(&seg).unwrap();
    let batch_len = bytes.len() / 10;
    // Flip a byte inside the 4th batch's records (covered by its CRC).
    let mut f = OpenOptions::new().write(true).open(&seg).unwrap();
    f.seek(SeekFrom::Start((3 * batch_len + batch_len - 3) as u64))
        .unwrap();
    f.write_all(&[bytes[3 * batch_len + batch_len - 3] ^ 0xff])
        .unwrap();
    drop(f);
    let broker = open(dir.path()).await;
    assert_eq!(broker.partition("t", 0).unwrap().high_watermark(), 6);
    assert_eq!(read_all(&broker).await, vals[..6].to_vec());
}

#[tokio::test]
async fn crash_with_many_segments_recovers_only_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, log) = open_with_small_segments(dir.path(), "t").await;
    let pid = broker.allocate_producer_id().unwrap();
    for b in 0..60 {
        let v = format!("v{b}");
        log.append(
            idempotent_batch(pid, 0, b, &[v.as_str()]),
            Durability::Fsynced,
        )
        .await
        .unwrap();
    }
    let bases = log.segment_base_offsets();
    assert!(bases.len() > 3, "{bases:?}");
    let last_base = *bases.last().unwrap();
    let part_dir = log.dir().to_path_buf();
    drop(log);
    drop(broker); // crash: no clean-shutdown marker

    // Every rolled segment was fsync'd, so the recovery point is the active segment's base and a
    // producer snapshot exists for it.
    let rp: i64 = std::fs::read_to_string(part_dir.join("recovery-point"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(rp, last_base);
    assert!(part_dir.join(format!("{last_base:020}.snapshot")).exists());

    // Segments below the recovery point are trusted, not re-read: a flipped record byte in the
    // first segment goes unnoticed, while the torn tail of the active segment is cut.
    let first = part_dir.join(sluice_broker::PartitionLog::segment_file_name(0));
    let mut bytes = std::fs::read(&first).unwrap();
    bytes[70] ^= 0x01;
    std::fs::write(&first, &bytes).unwrap();
    let active = part_dir.join(sluice_broker::PartitionLog::segment_file_name(last_base));
    let len = std::fs::metadata(&active).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&active)
        .unwrap()
        .set_len(len - 5)
        .unwrap();

    let broker = open(dir.path()).await;
    let log = broker.partition("t", 0).unwrap();
    assert_eq!(log.high_watermark(), 59, "only the torn last batch is lost");
    assert_eq!(log.segment_base_offsets(), bases);
    // Producer state came back from the snapshot plus the replayed tail: the batch before the
    // lost one is a duplicate, the lost one can be re-sent.
    let dup = log
        .append(idempotent_batch(pid, 0, 58, &["v58"]), Durability::Written)
        .await
        .unwrap();
    assert_eq!((dup.base_offset, dup.duplicate), (58, true));
    let resent = log
        .append(idempotent_batch(pid, 0, 59, &["v59"]), Durability::Written)
        .await
        .unwrap();
    assert_eq!((resent.base_offset, resent.duplicate), (59, false));
}

#[tokio::test]
async fn producer_state_is_rebuilt_from_headers_without_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, log) = open_with_small_segments(dir.path(), "t").await;
    for b in 0..30 {
        log.append(idempotent_batch(7, 3, b, &["x"]), Durability::Fsynced)
            .await
            .unwrap();
    }
    let part_dir = log.dir().to_path_buf();
    drop(log);
    drop(broker);
    for entry in std::fs::read_dir(&part_dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "snapshot") {
            std::fs::remove_file(p).unwrap();
        }
    }
    let broker = open(dir.path()).await;
    let log = broker.partition("t", 0).unwrap();
    let dup = log
        .append(idempotent_batch(7, 3, 29, &["x"]), Durability::Written)
        .await
        .unwrap();
    assert_eq!((dup.base_offset, dup.duplicate), (29, true));
    assert_eq!(
        log.append(idempotent_batch(7, 3, 31, &["x"]), Durability::Written)
            .await
            .unwrap_err()
            .code(),
        45
    );
    assert_eq!(
        log.append(idempotent_batch(7, 2, 0, &["x"]), Durability::Written)
            .await
            .unwrap_err()
            .code(),
        47
    );
}

#[tokio::test]
async fn a_data_directory_is_opened_by_one_broker_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let broker = open(dir.path()).await;
    let second = Broker::open(config(dir.path())).await;
    assert!(
        matches!(second, Err(sluice_broker::BrokerError::DataDirInUse(_))),
        "{second:?}"
    );
    drop(broker);
    let again = Broker::open(config(dir.path())).await.unwrap();
    // Shutdown releases the directory even while the old handle is still alive.
    again.shutdown().await;
    let third = Broker::open(config(dir.path())).await.unwrap();
    assert_eq!(
        again.run_retention_now().await.unwrap_err().to_string(),
        "the broker is shutting down"
    );
    drop(third);
}

/// Reads every record value of `log` from offset `from` to the high-water mark.
fn read_values(log: &sluice_broker::PartitionLog, from: i64) -> Vec<String> {
    let mut out = Vec::new();
    let mut next = from;
    while next < log.high_watermark() {
        let (recs, _) = log.read_records(next, 1 << 20).unwrap();
        next = recs.last().unwrap().offset + 1;
        out.extend(values(&recs));
    }
    out
}

#[tokio::test]
async fn garbage_tail_after_a_clean_shutdown_is_cut_at_last_valid_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, log) = open_with_small_segments(dir.path(), "t").await;
    let pid = broker.allocate_producer_id().unwrap();
    let total = 40;
    let mut vals = Vec::new();
    for b in 0..total {
        let v = format!("v{b:03}");
        log.append(
            idempotent_batch(pid, 0, b, &[v.as_str()]),
            Durability::Fsynced,
        )
        .await
        .unwrap();
        vals.push(v);
    }
    let bases = log.segment_base_offsets();
    assert!(bases.len() > 2, "{bases:?}");
    let last_base = *bases.last().unwrap();
    let part_dir = log.dir().to_path_buf();
    broker.shutdown().await;
    drop(log);
    drop(broker);

    // Every batch holds one record of the same length, so they all have the same size.
    let batch_len = idempotent_batch(pid, 0, 0, &["v000"]).len() as u64;
    let active = part_dir.join(sluice_broker::PartitionLog::segment_file_name(last_base));
    let len = std::fs::metadata(&active).unwrap().len();
    assert_eq!(len, (total as u64 - last_base as u64) * batch_len);
    assert!(
        len >= 3 * batch_len,
        "the active segment holds >= 3 batches"
    );
    // Garbage over the last batch and half of the one before it.
    let n = batch_len + batch_len / 2;
    let garbage: Vec<u8> = (0..n).map(|i| (i * 151 + 7) as u8).collect();
    let mut f = OpenOptions::new().write(true).open(&active).unwrap();
    f.seek(SeekFrom::Start(len - n)).unwrap();
    f.write_all(&garbage).unwrap();
    drop(f);
    // A flipped record byte in the first (closed) segment stays unnoticed: segments before the
    // active one are trusted after a clean shutdown, so start-up does not read them.
    assert!(batch_len > 71, "byte 70 is inside the first batch");
    let first = part_dir.join(sluice_broker::PartitionLog::segment_file_name(0));
    let mut bytes = std::fs::read(&first).unwrap();
    bytes[70] ^= 0x01;
    std::fs::write(&first, &bytes).unwrap();

    let broker = open(dir.path()).await;
    let log = broker.partition("t", 0).unwrap();
    let valid_end = i64::from(total) - 2;
    assert_eq!(
        log.high_watermark(),
        valid_end,
        "the two damaged batches are cut"
    );
    assert_eq!(log.segment_base_offsets(), bases);
    assert_eq!(
        std::fs::metadata(&active).unwrap().len(),
        len - 2 * batch_len
    );
    // Offset 0 (its CRC broken by the flipped byte, which start-up did not read) is skipped;
    // everything else before the damage reads back as written.
    assert!(log.read_records(0, 1 << 20).is_err());
    assert_eq!(read_values(&log, 1), vals[1..total as usize - 2]);

    // Producer state forgot the cut batches (the shutdown snapshot was past the new end): the
    // last kept batch is a duplicate, the first cut one is accepted again at the right offset.
    let dup = log
        .append(
            idempotent_batch(pid, 0, total - 3, &["v037"]),
            Durability::Fsynced,
        )
        .await
        .unwrap();
    assert_eq!((dup.base_offset, dup.duplicate), (valid_end - 1, true));
    let resent = log
        .append(
            idempotent_batch(pid, 0, total - 2, &["v038"]),
            Durability::Fsynced,
        )
        .await
        .unwrap();
    assert_eq!((resent.base_offset, resent.duplicate), (valid_end, false));
    broker.shutdown().await;
    drop(log);
    drop(broker);

    // A second clean start finds the repaired log whole and the producer where it left off.
    let broker = open(dir.path()).await;
    let log = broker.partition("t", 0).unwrap();
    assert_eq!(log.high_watermark(), valid_end + 1);
    assert_eq!(
        read_values(&log, 1).last().map(String::as_str),
        Some("v038")
    );
    let next = log
        .append(
            idempotent_batch(pid, 0, total - 1, &["v039"]),
            Durability::Fsynced,
        )
        .await
        .unwrap();
    assert_eq!((next.base_offset, next.duplicate), (valid_end + 1, false));
}

/// The three ways the interop crash suite damages a tail after a clean shutdown, on batches
/// large enough (100 records) that the offset index has entries inside the active segment.
#[tokio::test]
async fn every_kind_of_damaged_tail_after_a_clean_shutdown_recovers() {
    for how in [
        "garbage-over-last-bytes",
        "garbage-into-previous-batch",
        "truncated-mid-batch",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let broker = open(dir.path()).await;
        broker.create_topic("t", 1, &configs(&[])).unwrap();
        let log = broker.partition("t", 0).unwrap();
        let mut vals = Vec::new();
        let mut ends = Vec::new();
        for b in 0..10 {
            let recs = records(&format!("b{b}"), 100, 1_000 + b);
            log.append_records(&recs, Durability::Fsynced)
                .await
                .unwrap();
            vals.extend(values(&recs));
            ends.push(
                std::fs::metadata(
                    log.dir()
                        .join(sluice_broker::PartitionLog::segment_file_name(0)),
                )
                .unwrap()
                .len(),
            );
        }
        let seg = log
            .dir()
            .join(sluice_broker::PartitionLog::segment_file_name(0));
        broker.shutdown().await;
        drop(log);
        drop(broker);

        let size = ends[9];
        let last = ends[9] - ends[8];
        let previous = ends[8] - ends[7];
        let f = OpenOptions::new().write(true).open(&seg).unwrap();
        let lost = match how {
            "garbage-over-last-bytes" => {
                std::os::unix::fs::FileExt::write_all_at(&f, &[0xAB; 16], size - 16).unwrap();
                1
            }
            "garbage-into-previous-batch" => {
                let n = last + previous / 2;
                let garbage: Vec<u8> = (0..n).map(|i| (i * 151 + 7) as u8).collect();
                std::os::unix::fs::FileExt::write_all_at(&f, &garbage, size - n).unwrap();
                2
            }
            _ => {
                f.set_len(ends[8] + last / 2).unwrap();
                1
            }
        };
        drop(f);

        let broker = open(dir.path()).await;
        let log = broker.partition("t", 0).unwrap();
        let valid_end = (10 - lost) * 100;
        assert_eq!(log.high_watermark(), valid_end, "{how}");
        assert_eq!(
            std::fs::metadata(&seg).unwrap().len(),
            ends[9 - lost as usize],
            "{how}: cut at the end of the last valid batch"
        );
        assert_eq!(
            read_all(&broker).await,
            vals[..valid_end as usize].to_vec(),
            "{how}"
        );
        let res = log
            .append_records(&records("new", 100, 5_000), Durability::Fsynced)
            .await
            .unwrap();
        assert_eq!(res.base_offset, valid_end, "{how}");
        let (recs, _) = log.read_records(valid_end, 1 << 20).unwrap();
        assert_eq!(values(&recs), values(&records("new", 100, 5_000)), "{how}");
    }
}
