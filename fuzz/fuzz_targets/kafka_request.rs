//! Kafka request frames through the server's decode path: frame check and split, request
//! header, body at the client's version (`sluice_broker::fuzzing::kafka_request`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sluice_broker::fuzzing::kafka_request(data);
});
