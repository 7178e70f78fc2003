//! `decode(link_type, frame)`: the first byte picks a link type (every one the
//! decoder supports, plus an unsupported one), the rest is the frame. Every
//! accessor of the result is called and their answers checked for agreement.
#![no_main]

use etherparse::{LaxNetSlice, TransportSlice};
use libfuzzer_sys::fuzz_target;
use pcapsule_guest::decode::{DecodeError, decode};
use pcapsule_guest::linktype;

const LINK_TYPES: [u32; 12] = [
    linktype::NULL,
    linktype::ETHERNET,
    linktype::RAW,
    linktype::RAW_OPENBSD,
    linktype::LOOP,
    linktype::LINUX_SLL,
    linktype::IPV4,
    linktype::IPV6,
    linktype::LINUX_SLL2,
    linktype::FDDI,
    linktype::NFLOG,
    // Not decoded: must say so.
    284,
];

/// True when `inner` lies within `outer` (the decoder only borrows the frame).
fn within(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    inner.is_empty() || (i >= o && i + inner.len() <= o + outer.len())
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else { return };
    let link_type = LINK_TYPES[usize::from(selector) % LINK_TYPES.len()];
    std::hint::black_box(linktype::names(link_type));
    let decoded = match decode(link_type, frame) {
        Ok(decoded) => decoded,
        Err(DecodeError::UnsupportedLinkType(lt)) => {
            assert_eq!(lt, link_type);
            assert_eq!(lt, 284, "a supported link type was refused");
            return;
        }
        Err(DecodeError::Malformed(problem)) => {
            assert!(!problem.layer.is_empty() && !problem.message.is_empty());
            return;
        }
    };
    assert_ne!(link_type, 284, "an unsupported link type was decoded");
    let version = decoded.ip_version();
    let addrs = decoded.ip_addrs();
    assert_eq!(version.is_some(), addrs.is_some(), "an IP version without addresses or the reverse");
    assert_eq!(version.is_some(), decoded.ttl().is_some());
    if let (Some(v), Some((src, dst))) = (version, addrs) {
        assert_eq!(v == 4, src.is_ipv4());
        assert_eq!(src.is_ipv4(), dst.is_ipv4());
    }
    let fragment = decoded.is_fragment();
    let incomplete = decoded.ip_payload_incomplete();
    if (fragment || incomplete) && version.is_none() {
        panic!("fragment/incomplete flags without an IP layer");
    }
    std::hint::black_box(decoded.encapsulations.iter().count());
    if let Some(problem) = &decoded.problem {
        assert!(!problem.layer.is_empty());
        std::hint::black_box(problem.message.len());
    }
    if let Some(net) = &decoded.layers.net {
        if let Some(payload) = net.ip_payload_ref() {
            assert!(within(frame, payload.payload), "an IP payload outside the frame");
        }
        if let LaxNetSlice::Arp(arp) = net {
            std::hint::black_box(arp.operation());
        }
    }
    match decoded.transport() {
        Some(TransportSlice::Udp(u)) => {
            assert!(within(frame, u.payload()));
            let (sp, dp, payload) = decoded.udp().expect("udp() agrees with transport()");
            assert_eq!((sp, dp), (u.source_port(), u.destination_port()));
            assert!(within(frame, payload));
        }
        Some(TransportSlice::Tcp(t)) => {
            assert!(decoded.udp().is_none());
            assert!(within(frame, t.payload()));
            std::hint::black_box((t.sequence_number(), t.acknowledgment_number(), t.options().len()));
        }
        Some(TransportSlice::Icmpv4(i)) => {
            assert!(within(frame, i.payload()));
            std::hint::black_box(i.icmp_type());
        }
        Some(TransportSlice::Icmpv6(i)) => {
            assert!(within(frame, i.payload()));
            std::hint::black_box(i.icmp_type());
        }
        Some(TransportSlice::Igmp(i)) => {
            assert!(decoded.udp().is_none());
            std::hint::black_box(i.slice().len());
        }
        None => assert!(decoded.udp().is_none()),
    }
});
