//! Properties the fuzz targets (in `fuzz/`) and the corpus tests check on
//! untrusted input: parsing never panics, and whatever parses round-trips.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api;
use crate::frames::ClientFrame;

/// A WebSocket text frame: parse, and if it parses, its JSON form parses back
/// to the same frame.
pub fn ws_frame(text: &str) {
    if let Ok(frame) = ClientFrame::parse(text) {
        let again = ClientFrame::parse(&frame.to_json().to_string());
        assert_eq!(
            again.as_ref(),
            Ok(&frame),
            "frame did not round-trip: {text:?}"
        );
    }
}

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(bytes: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<T>(bytes) {
        let text = serde_json::to_vec(&value).expect("request bodies serialize");
        let again: T = serde_json::from_slice(&text).expect("re-serialized body parses");
        assert_eq!(again, value, "body did not round-trip");
    }
}

/// An HTTP request body, as every body type of the API reads it.
pub fn http_body(bytes: &[u8]) {
    round_trip::<api::CreateSession>(bytes);
    round_trip::<api::Assign>(bytes);
    round_trip::<api::Transfer>(bytes);
    round_trip::<api::Rate>(bytes);
    round_trip::<api::Register>(bytes);
    round_trip::<api::Accept>(bytes);
    round_trip::<api::Join>(bytes);
    round_trip::<api::Leave>(bytes);
    round_trip::<api::Weight>(bytes);
}
