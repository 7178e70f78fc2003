//! The streaming capture reader over arbitrary bytes: every packet and every
//! field is touched, the invariants of `Packet` are checked, and a second read
//! through a reader that delivers the bytes in short pieces must see exactly
//! the same packets (the window refilling must not change what is read).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pcapsule_fuzz::{Trickle, fnv1a};
use pcapsule_guest::capture::MAX_RECORD_BYTES;
use pcapsule_guest::{CaptureError, CaptureReader};

/// One packet as read: number, timestamp (seconds, nanoseconds), original
/// length, interface, link type, captured length and a hash of the bytes.
type PacketFacts = (u64, Option<(i64, u32)>, u32, usize, u32, usize, u64);

/// What one read of the capture saw, to compare two reads.
#[derive(Debug, PartialEq)]
struct Seen {
    format: String,
    packets: Vec<PacketFacts>,
    interfaces: usize,
    sections: u32,
    cut_short: Option<(u64, String)>,
    anomalies: u64,
    consumed: u64,
}

fn read_all(source: impl std::io::Read, size: usize) -> Result<Seen, CaptureError> {
    let mut reader = CaptureReader::new(source)?;
    let format = reader.format().short_name().to_string();
    let mut packets = Vec::new();
    let mut last_consumed = reader.bytes_consumed();
    loop {
        let packet = match reader.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            Err(e) => {
                assert!(!matches!(e, CaptureError::UnsupportedFormat(_)), "format refused after the header: {e}");
                return Err(e);
            }
        };
        assert_eq!(packet.number, packets.len() as u64 + 1, "packets are numbered 1, 2, 3, ...");
        assert!(packet.data.len() <= MAX_RECORD_BYTES);
        assert!(packet.data.len() <= size, "a packet larger than the file");
        if let Some(ts) = packet.timestamp {
            assert!(ts.nanos < 1_000_000_000, "nanoseconds out of range: {ts:?}");
            std::hint::black_box(ts.to_rfc3339());
            std::hint::black_box(ts.as_secs_f64());
        }
        let record = (
            packet.number,
            packet.timestamp.map(|t| (t.secs, t.nanos)),
            packet.original_len,
            packet.interface,
            packet.link_type,
            packet.data.len(),
            fnv1a(packet.data),
        );
        let (interface, link_type) = (packet.interface, packet.link_type);
        packets.push(record);
        let iface = reader.interfaces().get(interface).expect("a packet's interface is declared");
        assert_eq!(iface.link_type, link_type);
        std::hint::black_box((
            iface.precision_digits(),
            iface.name.as_deref(),
            pcapsule_guest::linktype::names(link_type),
        ));
        let consumed = reader.bytes_consumed();
        assert!(consumed > last_consumed, "a packet was read without consuming bytes");
        assert!(consumed <= size as u64, "consumed {consumed} of a {size}-byte file");
        last_consumed = consumed;
    }
    let cut_short = reader.cut_short().map(|c| {
        assert!(c.offset <= size as u64, "cut short past the end of the file");
        std::hint::black_box(c.warning());
        (c.offset, c.reason.clone())
    });
    for iface in reader.interfaces() {
        std::hint::black_box((iface.snaplen, iface.ticks_per_second, iface.section, iface.precision_digits()));
        assert!(iface.section < reader.sections().max(1));
    }
    // Once finished, the reader stays finished.
    assert!(matches!(reader.next_packet(), Ok(None)), "a packet after the end");
    Ok(Seen {
        format,
        packets,
        interfaces: reader.interfaces().len(),
        sections: reader.sections(),
        cut_short,
        anomalies: reader.timestamp_anomalies(),
        consumed: reader.bytes_consumed(),
    })
}

fuzz_target!(|data: &[u8]| {
    let whole = read_all(data, data.len());
    if let Err(e) = &whole {
        std::hint::black_box(e.to_string());
        if let CaptureError::Malformed { offset, .. } = e {
            assert!(*offset <= data.len() as u64);
        }
        assert!(!matches!(e, CaptureError::Io(_)), "a slice cannot fail to read: {e}");
    }
    let seed = pcapsule_fuzz::fnv1a(&data[..data.len().min(16)]) as u32;
    let pieces = read_all(Trickle::new(data, seed), data.len());
    assert_eq!(whole, pieces, "reading in short pieces changed what was read");
});
