//! usage: bench-capture [--mix mixed|dns-heavy|sip-heavy|tls-heavy] OUT.pcap PACKETS [SEED]
//!
//! Writes a realistic capture of `pcapsule_bench::generate` (the `mixed`
//! mix unless told another) and prints one JSON line of facts (mix,
//! packets, bytes, per-kind counts, the busiest server for
//! `analyze_traffic_flow`) on stdout.

use std::io::{BufWriter, Write};

use pcapsule_bench::Mix;

const USAGE: &str = "usage: bench-capture [--mix mixed|dns-heavy|sip-heavy|tls-heavy] OUT.pcap PACKETS [SEED]";

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut mix = Mix::Mixed;
    if args.first().is_some_and(|a| a == "--mix") {
        let name = args.get(1).cloned().unwrap_or_default();
        mix = Mix::named(&name).unwrap_or_else(|| {
            eprintln!("bench-capture: no mix named '{name}'\n{USAGE}");
            std::process::exit(2);
        });
        args.drain(..2);
    }
    if args.len() < 2 || args.len() > 3 {
        eprintln!("{USAGE}");
        std::process::exit(2);
    }
    let packets: u64 = args[1].replace('_', "").parse().expect("PACKETS: a whole number");
    let seed: u64 = args.get(2).map_or(pcapsule_bench::DEFAULT_SEED, |s| s.parse().expect("SEED: a whole number"));
    let file = std::fs::File::create(&args[0]).unwrap_or_else(|e| panic!("cannot create {}: {e}", args[0]));
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let facts = pcapsule_bench::generate(&mut out, packets, seed, mix).expect("write the capture");
    out.flush().expect("write the capture");
    println!("{facts}");
}
