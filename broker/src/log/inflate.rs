//! Decompression of record batches with a cap on the output: the only way the broker inflates.
//!
//! A compressed batch of a few KiB can inflate to gigabytes (a zip bomb); kafka-protocol's own
//! decompressors inflate whole. Every place that reads records out of a compressed batch (append
//! validation, compaction, timestamp lookups, the consumer-offsets store, the in-process client)
//! goes through [`decompress`] or [`decode_batch`], which stop with CORRUPT_MESSAGE as soon as the
//! output would pass the cap (for appends, the topic's `max.message.bytes`).
//!
//! The formats are Kafka's: gzip streams, xerial-framed snappy (or a raw snappy block), LZ4 frames
//! and zstd frames.

use std::io::Read;

use bytes::{Buf, Bytes};
use kafka_protocol::records::{Compression, RecordBatchDecoder, RecordSet};

use crate::error::{BrokerError, Result};

/// The cap used where no topic config is at hand (in-process readers, the client): a batch that
/// inflates past this is refused.
pub const DEFAULT_MAX_INFLATED_BYTES: usize = 64 * 1024 * 1024;

/// Header of xerial-framed snappy (what Kafka's Java clients write).
const XERIAL_MAGIC: &[u8; 8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER_LEN: usize = 16;
/// Largest zstd window accepted: 2^25 bytes.
const ZSTD_WINDOW_LOG_MAX: u32 = 25;

/// The compression named by a batch's attributes (bits 0-2); CORRUPT_MESSAGE for 5-7.
pub fn compression_of(attributes: i16) -> Result<Compression> {
    Ok(match attributes & 0x7 {
        0 => Compression::None,
        1 => Compression::Gzip,
        2 => Compression::Snappy,
        3 => Compression::Lz4,
        4 => Compression::Zstd,
        other => {
            return Err(BrokerError::CorruptMessage(format!(
                "unknown compression codec {other}"
            )));
        }
    })
}

fn too_large(max: usize) -> BrokerError {
    BrokerError::CorruptMessage(format!(
        "compressed records inflate to more than {max} bytes"
    ))
}

fn corrupt(codec: &str, e: impl std::fmt::Display) -> BrokerError {
    BrokerError::CorruptMessage(format!("cannot decompress {codec} records: {e}"))
}

/// Reads all of `reader` but refuses more than `max` bytes of output.
fn read_capped(reader: impl Read, max: usize, codec: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    reader
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| corrupt(codec, e))?;
    if out.len() > max {
        return Err(too_large(max));
    }
    Ok(out)
}

/// One raw snappy block, its announced length checked against what is left of the cap before
/// anything is allocated.
fn snappy_block(block: &[u8], room: usize, max: usize, out: &mut Vec<u8>) -> Result<()> {
    let len = snap::raw::decompress_len(block).map_err(|e| corrupt("snappy", e))?;
    if len > room {
        return Err(too_large(max));
    }
    let start = out.len();
    out.resize(start + len, 0);
    let n = snap::raw::Decoder::new()
        .decompress(block, &mut out[start..])
        .map_err(|e| corrupt("snappy", e))?;
    out.truncate(start + n);
    Ok(())
}

fn snappy(input: &[u8], max: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    if input.len() < XERIAL_HEADER_LEN || &input[..XERIAL_MAGIC.len()] != XERIAL_MAGIC {
        snappy_block(input, max, max, &mut out)?;
        return Ok(out);
    }
    let mut rest = &input[XERIAL_HEADER_LEN..];
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(corrupt("snappy", "a block length is cut short"));
        }
        let len = rest.get_u32() as usize;
        if len > rest.len() {
            return Err(corrupt(
                "snappy",
                format!("a block of {len} bytes is cut short"),
            ));
        }
        let (block, tail) = rest.split_at(len);
        snappy_block(block, max - out.len(), max, &mut out)?;
        rest = tail;
    }
    Ok(out)
}

/// Inflates the records part of a batch compressed with `compression`, refusing an output over
/// `max` bytes (CORRUPT_MESSAGE, as for any batch that does not decode).
pub fn decompress(compression: Compression, input: &[u8], max: usize) -> Result<Bytes> {
    let out = match compression {
        Compression::None => {
            if input.len() > max {
                return Err(too_large(max));
            }
            return Ok(Bytes::copy_from_slice(input));
        }
        Compression::Gzip => read_capped(flate2::read::GzDecoder::new(input), max, "gzip")?,
        Compression::Snappy => snappy(input, max)?,
        Compression::Lz4 => {
            let decoder = lz4::Decoder::new(input).map_err(|e| corrupt("lz4", e))?;
            read_capped(decoder, max, "lz4")?
        }
        Compression::Zstd => {
            let mut decoder =
                zstd::stream::read::Decoder::new(input).map_err(|e| corrupt("zstd", e))?;
            // The frame header names the window the decoder allocates; refuse windows over
            // 32 MiB (producers at any level use less) instead of reserving what a peer asks.
            decoder
                .window_log_max(ZSTD_WINDOW_LOG_MAX)
                .map_err(|e| corrupt("zstd", e))?;
            read_capped(decoder, max, "zstd")?
        }
    };
    Ok(Bytes::from(out))
}

/// Decodes one whole v2 batch into records, inflating with [`decompress`] under the cap `max`.
pub fn decode_batch(batch: &[u8], max: usize) -> Result<RecordSet> {
    let mut buf = Bytes::copy_from_slice(batch);
    RecordBatchDecoder::decode_with_custom_compression(
        &mut buf,
        Some(|records: &mut Bytes, compression| {
            decompress(compression, records, max).map_err(anyhow::Error::from)
        }),
    )
    .map_err(|e| match e.downcast::<BrokerError>() {
        Ok(e) => e,
        Err(e) => BrokerError::CorruptMessage(format!("{e:#}")),
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn lz4(data: &[u8]) -> Vec<u8> {
        let mut e = lz4::EncoderBuilder::new().build(Vec::new()).unwrap();
        e.write_all(data).unwrap();
        let (out, r) = e.finish();
        r.unwrap();
        out
    }

    fn zstd(data: &[u8]) -> Vec<u8> {
        zstd::stream::encode_all(data, 3).unwrap()
    }

    fn snappy_raw(data: &[u8]) -> Vec<u8> {
        snap::raw::Encoder::new().compress_vec(data).unwrap()
    }

    fn snappy_xerial(data: &[u8]) -> Vec<u8> {
        let mut out = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01".to_vec();
        for chunk in data.chunks(32 * 1024) {
            let block = snappy_raw(chunk);
            out.extend_from_slice(&(block.len() as u32).to_be_bytes());
            out.extend_from_slice(&block);
        }
        out
    }

    type Codec = (Compression, fn(&[u8]) -> Vec<u8>);
    const CODECS: &[Codec] = &[
        (Compression::Gzip, gzip),
        (Compression::Lz4, lz4),
        (Compression::Zstd, zstd),
        (Compression::Snappy, snappy_raw),
        (Compression::Snappy, snappy_xerial),
    ];

    #[test]
    fn every_codec_round_trips_under_the_cap() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        for (c, compress) in CODECS {
            let out = decompress(*c, &compress(&data), data.len()).unwrap();
            assert_eq!(&out[..], &data[..], "{c:?}");
        }
    }

    #[test]
    fn a_bomb_stops_at_the_cap() {
        // 64 MiB of zeros compresses to a few KiB with every codec; the cap is 1 MiB.
        let zeros = vec![0u8; 64 << 20];
        for (c, compress) in CODECS {
            let bomb = compress(&zeros);
            assert!(bomb.len() < 4 << 20, "{c:?} {}", bomb.len());
            let e = decompress(*c, &bomb, 1 << 20).unwrap_err();
            assert_eq!(e.code(), 2, "{c:?}: {e}");
            assert!(e.to_string().contains("inflate to more than"), "{c:?}: {e}");
        }
    }

    #[test]
    fn snappy_length_lies_are_refused_before_allocating() {
        // A raw snappy block whose preamble claims 4 GiB - 1.
        let e = decompress(
            Compression::Snappy,
            &[0xff, 0xff, 0xff, 0xff, 0x0f, 0],
            1 << 20,
        )
        .unwrap_err();
        assert_eq!(e.code(), 2, "{e}");
        // A xerial block whose length runs past the input.
        let mut framed = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01".to_vec();
        framed.extend_from_slice(&1000u32.to_be_bytes());
        framed.extend_from_slice(&[1, 2, 3]);
        assert_eq!(
            decompress(Compression::Snappy, &framed, 1 << 20)
                .unwrap_err()
                .code(),
            2
        );
    }

    #[test]
    fn garbage_is_corrupt_for_every_codec() {
        let junk = [0x13u8, 0x37, 0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4, 5, 6, 7];
        for c in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            assert_eq!(
                decompress(c, &junk, 1 << 20).unwrap_err().code(),
                2,
                "{c:?}"
            );
        }
    }
}
