//! Postgres frontend messages through pgwire's decoder as the engine's listener uses it
//! (`PgWireMessageServerCodec` calls `PgWireFrontendMessage::decode` with the connection's
//! state): the same bytes are decoded as a connection awaiting SSL negotiation, awaiting the
//! startup message, and after startup. Mirrored by `engine/tests/pgwire_fuzz_replay.rs`.
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
        while let Ok(Some(_)) = PgWireFrontendMessage::decode(&mut buf, &ctx) {}
    }
});
