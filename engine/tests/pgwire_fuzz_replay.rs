//! Replays the saved inputs of the `pg_frontend` fuzz target (`fuzz/regressions/pg_frontend/`)
//! through pgwire's frontend decoder exactly as the target does: the bytes decoded as a
//! connection awaiting SSL negotiation, awaiting startup, and after startup. Every input must
//! decode or fail with an error, never panic.

use std::path::PathBuf;

use bytes::BytesMut;
use pgwire::messages::{DecodeContext, PgWireFrontendMessage, ProtocolVersion};

/// The `pg_frontend` fuzz target's body; returns how many messages decoded.
fn decode_all(data: &[u8]) -> usize {
    let mut decoded = 0;
    for (ssl, startup) in [(true, true), (false, true), (false, false)] {
        let mut ctx = DecodeContext::new(ProtocolVersion::PROTOCOL3_0);
        ctx.awaiting_frontend_ssl = ssl;
        ctx.awaiting_frontend_startup = startup;
        let mut buf = BytesMut::from(data);
        while let Ok(Some(_)) = PgWireFrontendMessage::decode(&mut buf, &ctx) {
            decoded += 1;
        }
    }
    decoded
}

#[test]
fn pg_frontend_inputs_decode_or_fail_cleanly() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/pg_frontend");
    let mut decoded = 0;
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        eprintln!("{}", path.display());
        decoded += decode_all(&std::fs::read(&path).unwrap());
        files += 1;
    }
    assert!(files > 0, "no saved inputs in {}", dir.display());
    // The seeds include a startup message and a simple query: the harness really decodes.
    assert!(decoded > 0);
}
