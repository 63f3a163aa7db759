//! Any datagram at the media port: no panic, no connection from noise, the
//! call untouched (see `switchboard_media::fuzzing`).
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use switchboard_media::fuzzing::Demux;

thread_local! {
    static DEMUX: RefCell<Demux> = RefCell::new(Demux::new());
}

fuzz_target!(|data: &[u8]| {
    DEMUX.with(|d| d.borrow_mut().datagram(data));
});
