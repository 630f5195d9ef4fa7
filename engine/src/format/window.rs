//! Windowed keys: the inner key bytes followed by the window bounds, the way Kafka Streams'
//! `TimeWindowedSerializer` (8-byte start) and `SessionWindowedSerializer` (8-byte end, then
//! 8-byte start) write them, so ksqlDB clients read Sluice's windowed tables and vice versa.

use crate::types::WindowKind;

/// A key split into its inner bytes and window bounds.
pub(super) struct WindowedKey<'a> {
    /// The key without the window suffix.
    pub inner: &'a [u8],
    /// Window start, epoch millis.
    pub start: i64,
    /// Window end, epoch millis.
    pub end: i64,
}

fn read_i64(bytes: &[u8]) -> i64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(&bytes[..8]);
    i64::from_be_bytes(buf)
}

/// Splits a windowed key; a null or too short key is an error.
pub(super) fn split(kind: WindowKind, key: Option<&[u8]>) -> Result<WindowedKey<'_>, String> {
    let key = key.ok_or_else(|| "a windowed key cannot be null".to_string())?;
    let suffix = match kind {
        WindowKind::Session => 16,
        WindowKind::Tumbling { .. } | WindowKind::Hopping { .. } => 8,
    };
    if key.len() < suffix {
        return Err(format!(
            "a windowed key needs at least {suffix} bytes of window bounds, got {} bytes",
            key.len()
        ));
    }
    let (inner, bounds) = key.split_at(key.len() - suffix);
    Ok(match kind {
        WindowKind::Session => WindowedKey {
            inner,
            end: read_i64(bounds),
            start: read_i64(&bounds[8..]),
        },
        WindowKind::Tumbling { size_ms } | WindowKind::Hopping { size_ms } => {
            let start = read_i64(bounds);
            WindowedKey {
                inner,
                start,
                end: start.saturating_add(size_ms),
            }
        }
    })
}

/// Appends the window bounds to encoded key bytes.
pub(super) fn join(kind: WindowKind, inner: Option<&[u8]>, start: i64, end: i64) -> Vec<u8> {
    let mut out = inner.unwrap_or_default().to_vec();
    if kind == WindowKind::Session {
        out.extend_from_slice(&end.to_be_bytes());
    }
    out.extend_from_slice(&start.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_keys_hold_end_then_start() {
        let bytes = join(WindowKind::Session, Some(b"k"), 12, 465);
        assert_eq!(bytes.len(), 17);
        let key = split(WindowKind::Session, Some(&bytes)).unwrap();
        assert_eq!((key.inner, key.start, key.end), (&b"k"[..], 12, 465));
    }

    #[test]
    fn time_window_end_is_start_plus_size() {
        let kind = WindowKind::Tumbling { size_ms: 30_000 };
        let bytes = join(kind, Some(b"ab"), 60_000, 90_000);
        assert_eq!(bytes.len(), 10);
        let key = split(kind, Some(&bytes)).unwrap();
        assert_eq!(
            (key.inner, key.start, key.end),
            (&b"ab"[..], 60_000, 90_000)
        );
        assert!(split(kind, Some(b"short")).is_err());
        assert!(split(kind, None).is_err());
    }
}
