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
    let mut out = Vec::new();
    let mut next = log.log_start_offset();
    while next < log.high_watermark() {
        let (recs, _) = log.read_records(next, 1 << 20).unwrap();
        next = recs.last().unwrap().offset + 1;
        out.extend(values(&recs));
    }
    out
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
