//! WebSocket control frames: parsing never panics; what parses round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        switchboard_http::fuzzing::ws_frame(text);
    }
});
