//! Truncating a partition back to an offset (the engine's crash recovery of sink output).

mod log_common;

use log_common::*;
use sluice_broker::Durability;

#[tokio::test]
async fn truncate_cuts_back_to_a_batch_boundary_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, log) = open_with_small_segments(dir.path(), "t").await;
    for b in 0..40 {
        log.append(
            idempotent_batch(3, 0, b * 2, &["a", "b"]),
            Durability::Fsynced,
        )
        .await
        .unwrap();
    }
    let bases = log.segment_base_offsets();
    assert!(bases.len() > 3);
    let cut = bases[1] + 4; // a batch boundary inside the second segment
    assert_eq!(
        log.truncate_to(cut + 1).await.unwrap_err().code(),
        87,
        "inside a batch"
    );
    assert_eq!(log.truncate_to(81).await.unwrap_err().code(), 1);
    assert_eq!(log.truncate_to(cut).await.unwrap(), cut);
    assert_eq!(log.high_watermark(), cut);
    assert_eq!(log.segment_base_offsets(), bases[..2].to_vec());
    assert_eq!(segment_files(log.dir()).len(), 2);
    assert_eq!(log.read(cut + 1, 100).unwrap_err().code(), 1);
    // Producer state follows the cut: the batch at `cut` is no longer a duplicate.
    let seq = (cut / 2) as i32 * 2;
    let res = log
        .append(
            idempotent_batch(3, 0, seq, &["a", "b"]),
            Durability::Fsynced,
        )
        .await
        .unwrap();
    assert_eq!((res.base_offset, res.duplicate), (cut, false));

    // A crash after the cut recovers exactly the truncated log.
    drop(log);
    drop(broker);
    let broker = open(dir.path()).await;
    let log = broker.partition("t", 0).unwrap();
    assert_eq!(log.high_watermark(), cut + 2);
    let (recs, _) = log.read_records(cut, 1 << 20).unwrap();
    assert_eq!(values(&recs), vec!["a", "b"]);
    let dup = log
        .append(
            idempotent_batch(3, 0, seq, &["a", "b"]),
            Durability::Written,
        )
        .await
        .unwrap();
    assert!(dup.duplicate);
}
