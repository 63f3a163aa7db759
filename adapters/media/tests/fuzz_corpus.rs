//! The demultiplexer fuzz target's property on stable, over the checked-in
//! seeds in `fuzz/seeds/media_datagram` and their mutations (every prefix,
//! bytes flipped): no panic, no connection from noise, the call untouched.

use std::path::Path;

use switchboard_media::fuzzing::Demux;

#[test]
fn garbage_datagrams_are_dropped_without_harm() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/media_datagram");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| std::fs::read(e.expect("entry").path()).expect("read"))
        .collect();
    assert!(seeds.len() >= 5, "corpus too small");
    seeds.sort();
    let mut demux = Demux::new();
    let mut fed = 0;
    for seed in &seeds {
        for n in 0..=seed.len() {
            demux.datagram(&seed[..n]);
            fed += 1;
        }
        for i in 0..seed.len() {
            for b in [0x00, 0x80, 0xff, 0x16, 0x01] {
                let mut m = seed.clone();
                m[i] = b;
                demux.datagram(&m);
                fed += 1;
            }
        }
    }
    assert!(fed > 1_000, "fed {fed}");
}
