//! Replays the saved inputs of the `pg_frontend` fuzz target (`fuzz/regressions/pg_frontend/`)
//! through pgwire's frontend decoder exactly as the target does: from each starting state
//! (awaiting SSL negotiation, awaiting startup, after startup), moving through the states as the
//! server codec does. Every input must
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
        // As the server codec does: SSL negotiation, then startup, then messages. A decode that
        // neither consumed bytes nor moved the state would loop forever: stop there.
        loop {
            let before = (
                buf.len(),
                ctx.awaiting_frontend_ssl,
                ctx.awaiting_frontend_startup,
            );
            let decoded_one = PgWireFrontendMessage::decode(&mut buf, &ctx);
            if matches!(decoded_one, Ok(Some(_))) {
                decoded += 1;
            }
            match decoded_one {
                Ok(Some(PgWireFrontendMessage::SslNegotiation(_))) => {
                    ctx.awaiting_frontend_ssl = false
                }
                Ok(Some(PgWireFrontendMessage::Startup(_)))
                | Ok(Some(PgWireFrontendMessage::CancelRequest(_))) => {
                    ctx.awaiting_frontend_startup = false
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
            if (
                buf.len(),
                ctx.awaiting_frontend_ssl,
                ctx.awaiting_frontend_startup,
            ) == before
            {
                break;
            }
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
