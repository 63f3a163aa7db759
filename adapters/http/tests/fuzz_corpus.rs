//! The fuzz targets' properties on stable, over the checked-in corpus in
//! `fuzz/seeds/` and simple mutations of it (every truncation, byte flips),
//! so CI covers them without a nightly toolchain.

use std::path::Path;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds")
        .join(target);
    let mut inputs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| std::fs::read(entry.expect("entry").path()).expect("read"))
        .collect();
    assert!(inputs.len() >= 5, "corpus {target} is too small");
    inputs.sort();
    inputs
}

/// Each input, every prefix of it, and each byte flipped to a few values.
fn mutations(input: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    let prefixes = (0..=input.len()).map(move |n| input[..n].to_vec());
    let flips = (0..input.len()).flat_map(move |i| {
        [b'"', b'{', b'}', 0xff, b'0'].into_iter().map(move |b| {
            let mut v = input.to_vec();
            v[i] = b;
            v
        })
    });
    prefixes.chain(flips)
}

#[test]
fn ws_frames_never_panic_and_round_trip() {
    let mut parsed = 0;
    for input in corpus("ws_frame") {
        for m in mutations(&input) {
            if let Ok(text) = std::str::from_utf8(&m) {
                if switchboard_http::frames::ClientFrame::parse(text).is_ok() {
                    parsed += 1;
                }
                switchboard_http::fuzzing::ws_frame(text);
            }
        }
    }
    assert!(
        parsed >= 8,
        "the corpus should hold valid frames too ({parsed})"
    );
}

#[test]
fn http_bodies_never_panic_and_round_trip() {
    for input in corpus("http_body") {
        for m in mutations(&input) {
            switchboard_http::fuzzing::http_body(&m);
        }
    }
}
