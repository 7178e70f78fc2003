//! IPv4 and IPv6 reassembly, bounded: datagrams pending at once, bytes held
//! in all, and a timeout in capture time. Fragments that overlap, exceed
//! 64 KiB or contradict each other are counted, never trusted blindly.
//!
//! etherparse's `IpDefragBuf` holds each datagram's bytes; its pool is not
//! used because it has no bounds ("not safe against out of memory attacks",
//! its documentation says), which this table adds.

use std::collections::VecDeque;
use std::net::IpAddr;

use etherparse::IpFragOffset;
use etherparse::defrag::{IpDefragBuf, IpDefragError};

use crate::fast_hash::HashMap;

/// Datagrams being reassembled at once; the oldest is dropped beyond this.
pub const MAX_PENDING_DATAGRAMS: usize = 1024;
/// Fragment bytes held across all pending datagrams.
pub const MAX_HELD_BYTES: usize = 8 * 1024 * 1024;
/// A datagram still incomplete this long after its first fragment (capture
/// time) is dropped, as a host's stack would drop it (Linux waits 30 s).
pub const TIMEOUT_NS: i64 = 60_000_000_000;

/// What identifies one datagram's fragments (RFC 791, RFC 8200).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragmentKey {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IPv4's 16-bit or IPv6's 32-bit identification.
    pub id: u32,
    /// IPv4's protocol (part of its key); 0 for IPv6.
    pub protocol: u8,
}

/// One fragment, as the decoder found it.
pub struct Fragment<'a> {
    /// Its datagram.
    pub key: FragmentKey,
    /// The fragment's IP header: IPv4's whole header, or IPv6's fixed 40 bytes.
    pub header: &'a [u8],
    /// For IPv6, the protocol after the fragment header.
    pub next_header: u8,
    /// Where the payload goes in the datagram, in 8-byte units.
    pub offset: IpFragOffset,
    /// More fragments follow.
    pub more: bool,
    /// The fragment's share of the datagram's payload.
    pub payload: &'a [u8],
}

/// What became of a fragment.
pub enum Added<'d> {
    /// Its datagram waits for more fragments.
    Waiting,
    /// Its datagram can never be reassembled and was dropped.
    Failed,
    /// It completed its datagram: a valid IP packet, header then payload.
    Complete(&'d [u8]),
}

/// What reassembly met, for the result's warnings.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DefragCounts {
    /// Fragments seen.
    pub fragments: u64,
    /// Datagrams rebuilt whole.
    pub reassembled: u64,
    /// Fragments that overlapped bytes already received (the later bytes win).
    pub overlapping: u64,
    /// Datagrams dropped for a fragment past 64 KiB, a misaligned middle
    /// fragment, or two different ends.
    pub invalid: u64,
    /// Datagrams dropped incomplete after [`TIMEOUT_NS`].
    pub timed_out: u64,
    /// Datagrams dropped incomplete to stay within the table's bounds.
    pub evicted: u64,
    /// Datagrams still incomplete when the capture ended.
    pub incomplete_at_end: u64,
    /// Fragments of the datagrams dropped above: their bytes reached no analyzer.
    pub fragments_lost: u64,
}

struct Pending {
    /// The first fragment's header (offset 0), once it has arrived.
    header: Vec<u8>,
    next_header: u8,
    buffer: IpDefragBuf,
    generation: u64,
    fragments: u64,
}

/// The reassembly table.
#[derive(Default)]
pub struct Defragmenter {
    pending: HashMap<FragmentKey, Pending>,
    /// Keys in arrival order, for timeouts and eviction; an entry whose
    /// generation no longer matches is stale and skipped.
    order: VecDeque<(FragmentKey, u64, i64)>,
    generation: u64,
    held_bytes: usize,
    /// The last datagram rebuilt, header and payload.
    datagram: Vec<u8>,
    /// Counters.
    pub counts: DefragCounts,
}

impl Defragmenter {
    /// Adds a fragment seen at `time_ns`.
    pub fn add(&mut self, fragment: Fragment<'_>, time_ns: i64) -> Added<'_> {
        self.counts.fragments += 1;
        self.expire(time_ns);
        let key = fragment.key;
        if !self.pending.contains_key(&key) {
            while self.pending.len() >= MAX_PENDING_DATAGRAMS {
                self.drop_oldest();
            }
            self.generation += 1;
            self.pending.insert(
                key,
                Pending {
                    header: Vec::new(),
                    next_header: 0,
                    buffer: IpDefragBuf::new(etherparse::IpNumber(0), Vec::new(), Vec::new()),
                    generation: self.generation,
                    fragments: 0,
                },
            );
            self.order.push_back((key, self.generation, time_ns));
        }
        let pending = self.pending.get_mut(&key).expect("inserted above");
        pending.fragments += 1;
        let start = fragment.offset.byte_offset();
        let end = usize::from(start) + fragment.payload.len();
        if pending.buffer.sections().iter().any(|s| usize::from(s.start) < end && start < s.end) {
            self.counts.overlapping += 1;
        }
        let before = pending.buffer.data().len() + pending.header.len();
        match pending.buffer.add(fragment.offset, fragment.more, fragment.payload) {
            Ok(()) => {}
            Err(
                IpDefragError::SegmentTooBig { .. }
                | IpDefragError::UnalignedFragmentPayloadLen { .. }
                | IpDefragError::ConflictingEnd { .. }
                | IpDefragError::AllocationFailure { .. },
            ) => {
                self.counts.invalid += 1;
                self.remove(&key);
                return Added::Failed;
            }
        }
        if start == 0 {
            pending.header.clear();
            pending.header.extend_from_slice(fragment.header);
            pending.next_header = fragment.next_header;
        }
        // Exact, so that a long capture never drifts towards the bound: a
        // repeated first fragment replaces the header it brought before.
        let after = pending.buffer.data().len() + pending.header.len();
        self.held_bytes = (self.held_bytes + after).saturating_sub(before);
        if !pending.buffer.is_complete() || pending.header.is_empty() {
            while self.held_bytes > MAX_HELD_BYTES && !self.pending.is_empty() {
                self.drop_oldest();
            }
            return Added::Waiting;
        }
        let pending = self.pending.remove(&key).expect("present");
        self.held_bytes = self.held_bytes.saturating_sub(pending.header.len() + pending.buffer.data().len());
        if !rebuild(&mut self.datagram, &pending.header, pending.next_header, pending.buffer.data()) {
            self.counts.invalid += 1;
            self.counts.fragments_lost += pending.fragments;
            return Added::Failed;
        }
        self.counts.reassembled += 1;
        Added::Complete(&self.datagram)
    }

    /// Bytes held for pending datagrams (headers and payload).
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Call at the end of the capture: what is left is incomplete.
    pub fn finish(&mut self) {
        self.counts.incomplete_at_end += self.pending.len() as u64;
        self.counts.fragments_lost += self.pending.values().map(|p| p.fragments).sum::<u64>();
        self.pending.clear();
        self.order.clear();
        self.held_bytes = 0;
    }

    fn expire(&mut self, now_ns: i64) {
        while let Some(&(key, generation, started)) = self.order.front() {
            if !self.is_live(&key, generation) {
                self.order.pop_front();
            } else if now_ns.saturating_sub(started) > TIMEOUT_NS {
                self.order.pop_front();
                self.remove(&key);
                self.counts.timed_out += 1;
            } else {
                break;
            }
        }
    }

    fn drop_oldest(&mut self) {
        while let Some((key, generation, _)) = self.order.pop_front() {
            if self.is_live(&key, generation) {
                self.remove(&key);
                self.counts.evicted += 1;
                return;
            }
        }
    }

    fn is_live(&self, key: &FragmentKey, generation: u64) -> bool {
        self.pending.get(key).is_some_and(|p| p.generation == generation)
    }

    fn remove(&mut self, key: &FragmentKey) {
        if let Some(p) = self.pending.remove(key) {
            self.held_bytes = self.held_bytes.saturating_sub(p.header.len() + p.buffer.data().len());
            self.counts.fragments_lost += p.fragments;
        }
    }
}

/// Writes `header` + `payload` into `out` as one unfragmented IP packet:
/// lengths set, fragmentation fields cleared. IPv6 keeps its fixed header
/// only (extension headers before the fragment header describe hops, not
/// the datagram), with the fragment header's next protocol. False when the
/// datagram would exceed 64 KiB.
fn rebuild(out: &mut Vec<u8>, header: &[u8], next_header: u8, payload: &[u8]) -> bool {
    out.clear();
    out.extend_from_slice(header);
    out.extend_from_slice(payload);
    match header.first().map(|b| b >> 4) {
        Some(4) => {
            let Ok(total) = u16::try_from(out.len()) else { return false };
            out[2..4].copy_from_slice(&total.to_be_bytes());
            // Keep DF, clear MF and the offset.
            out[6] &= 0x40;
            out[7] = 0;
            true
        }
        Some(6) if header.len() == 40 => {
            let Ok(len) = u16::try_from(payload.len()) else { return false };
            out[4..6].copy_from_slice(&len.to_be_bytes());
            out[6] = next_header;
            true
        }
        _ => false,
    }
}
