//! Record batches through the append path's checks with every codec: frame checks, the log
//! validator, capped decompression and record decoding (`sluice_broker::fuzzing::record_batch`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sluice_broker::fuzzing::record_batch(data);
});
