//! Postgres frontend messages through pgwire's decoder as the engine's listener uses it
//! (`PgWireMessageServerCodec` calls `PgWireFrontendMessage::decode` with the connection's
//! state): the same bytes are decoded from each starting state (awaiting SSL negotiation,
//! awaiting the startup message, after startup), moving through the states as the codec does.
//! Mirrored by `engine/tests/pgwire_fuzz_replay.rs`.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use pgwire::messages::{DecodeContext, PgWireFrontendMessage, ProtocolVersion};

fuzz_target!(|data: &[u8]| {
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
            match PgWireFrontendMessage::decode(&mut buf, &ctx) {
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
});
