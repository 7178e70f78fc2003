//! Every tool of the `http` analyzer over the input as a capture, with
//! parameters chosen by the input's last bytes (see `pcapsule_fuzz`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| pcapsule_fuzz::fuzz_analyzer::<http::Http>(data));
