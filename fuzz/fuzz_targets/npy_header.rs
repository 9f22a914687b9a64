//! Fuzzes the `.npy` header parser: any bytes must give a header or an error, never a panic,
//! and an accepted header must survive a write/parse round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outcore_engine::npy::{header_bytes, parse_header, MAX_HEADER_SIZE};

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = parse_header(data, MAX_HEADER_SIZE) {
        let again = parse_header(&header_bytes(&h.layout), usize::MAX).expect("our own header parses");
        assert_eq!(again.layout, h.layout);
    }
});
