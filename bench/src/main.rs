//! usage: bench-capture OUT.pcap PACKETS [SEED]
//!
//! Writes the realistic mixed capture of `pcapsule_bench::generate` and
//! prints one JSON line of facts (packets, bytes, per-kind counts, the
//! busiest server for `analyze_traffic_flow`) on stdout.

use std::io::{BufWriter, Write};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 || args.len() > 3 {
        eprintln!("usage: bench-capture OUT.pcap PACKETS [SEED]");
        std::process::exit(2);
    }
    let packets: u64 = args[1].replace('_', "").parse().expect("PACKETS: a whole number");
    let seed: u64 = args.get(2).map_or(pcapsule_bench::DEFAULT_SEED, |s| s.parse().expect("SEED: a whole number"));
    let file = std::fs::File::create(&args[0]).unwrap_or_else(|e| panic!("cannot create {}: {e}", args[0]));
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let facts = pcapsule_bench::generate(&mut out, packets, seed).expect("write the capture");
    out.flush().expect("write the capture");
    println!("{facts}");
}
