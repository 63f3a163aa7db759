//! HTTP JSON bodies of every API request type: parsing never panics; what
//! parses round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| switchboard_http::fuzzing::http_body(data));
