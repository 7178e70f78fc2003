//! Wireshark's TCP sequence analysis (`tcp_analyze_sequence_number` in
//! epan/dissectors/packet-tcp.c, as in Wireshark 4.0), so that counts can be
//! compared one for one with `tcp.analysis.*` display filters.
//!
//! The state mirrors Wireshark's per-direction `tcp_flow_t`, including its
//! habit of treating 0 as "not seen yet" for `nextseq` and `lastack`: a
//! faithful copy of that quirk is what keeps the verdicts identical. The
//! list of unacknowledged segments is not kept: Wireshark uses it only for
//! the retransmission timeout and bytes in flight, not for the verdicts.

/// One verdict bit per Wireshark `TCP_A_*` flag reproduced here.
pub mod verdict {
    /// `tcp.analysis.retransmission` (also set for fast and spurious ones, as Wireshark does).
    pub const RETRANSMISSION: u32 = 1 << 0;
    /// `tcp.analysis.fast_retransmission`.
    pub const FAST_RETRANSMISSION: u32 = 1 << 1;
    /// `tcp.analysis.spurious_retransmission`.
    pub const SPURIOUS_RETRANSMISSION: u32 = 1 << 2;
    /// `tcp.analysis.out_of_order`.
    pub const OUT_OF_ORDER: u32 = 1 << 3;
    /// `tcp.analysis.duplicate_ack`.
    pub const DUPLICATE_ACK: u32 = 1 << 4;
    /// `tcp.analysis.zero_window`.
    pub const ZERO_WINDOW: u32 = 1 << 5;
    /// `tcp.analysis.zero_window_probe`.
    pub const ZERO_WINDOW_PROBE: u32 = 1 << 6;
    /// `tcp.analysis.zero_window_probe_ack`.
    pub const ZERO_WINDOW_PROBE_ACK: u32 = 1 << 7;
    /// `tcp.analysis.keep_alive`.
    pub const KEEP_ALIVE: u32 = 1 << 8;
    /// `tcp.analysis.keep_alive_ack`.
    pub const KEEP_ALIVE_ACK: u32 = 1 << 9;
    /// `tcp.analysis.window_update`.
    pub const WINDOW_UPDATE: u32 = 1 << 10;
    /// `tcp.analysis.lost_segment` ("previous segment not captured").
    pub const LOST_SEGMENT: u32 = 1 << 11;
    /// `tcp.analysis.ack_lost_segment` ("ACKed segment that wasn't captured").
    pub const ACK_LOST_SEGMENT: u32 = 1 << 12;
    /// `tcp.analysis.reused_ports`.
    pub const REUSED_PORTS: u32 = 1 << 13;
}

use crate::segment::{Segment, flag};
use verdict::*;

/// What Wireshark remembers about one direction of a conversation.
#[derive(Debug, Clone, Copy)]
pub struct FlowSeq {
    /// Initial sequence number (or seq-1 of the first segment when no SYN was seen).
    pub base_seq: Option<u32>,
    /// Highest next expected sequence number; 0 means unknown.
    nextseq: u32,
    nextseq_time: i64,
    /// Highest contiguous sequence number still to be acknowledged; 0 means unknown.
    maxseqtobeacked: u32,
    /// Last acknowledgment number sent in this direction; 0 means none.
    lastack: u32,
    lastack_time: i64,
    /// Last window sent; starts above any 16-bit value so the first segment never matches.
    window: u32,
    /// Duplicate ACKs in a row; [`DUPACKS_AFTER_UNSEEN`] after an ACK of an unseen segment.
    dupacknum: u32,
    /// Verdict of the last segment in this direction.
    last_verdict: u32,
}

impl Default for FlowSeq {
    fn default() -> Self {
        FlowSeq {
            base_seq: None,
            nextseq: 0,
            nextseq_time: 0,
            maxseqtobeacked: 0,
            lastack: 0,
            lastack_time: 0,
            window: u32::MAX,
            dupacknum: 0,
            last_verdict: 0,
        }
    }
}

/// Per-conversation timing Wireshark's analysis depends on.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConvTiming {
    /// Time of the most recent SYN (without ACK), 0 when none.
    pub mru_syn: i64,
    /// Initial round-trip time (most recent SYN to the first non-SYN ACK), 0 until known.
    pub first_rtt: i64,
}

/// Wireshark's -1 in an unsigned duplicate-ACK counter.
const DUPACKS_AFTER_UNSEEN: u32 = u32::MAX;
/// Out-of-order threshold before the initial RTT is known (3 ms).
const DEFAULT_OOO_THRESHOLD_NS: i64 = 3_000_000;
/// A retransmission this soon after duplicate ACKs is a fast retransmission (20 ms).
const FAST_RETRANSMISSION_WINDOW_NS: i64 = 20_000_000;

fn gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

fn le(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}

/// Wireshark computes elapsed times in unsigned 64-bit arithmetic, so a
/// clock that went backwards yields a huge value that fails every "within"
/// test; `within` reproduces that.
fn within(now: i64, since: i64, limit: i64) -> bool {
    let elapsed = i128::from(now) - i128::from(since);
    (0..i128::from(limit)).contains(&elapsed)
}

/// Analyzes one segment of a conversation: `fwd` is the sender's direction,
/// `rev` the other one. Returns the verdict bits.
pub fn analyze(fwd: &mut FlowSeq, rev: &mut FlowSeq, timing: &ConvTiming, s: &Segment) -> u32 {
    let (seq, ack, seglen, flags, now) = (s.seq, s.ack, s.seglen, s.flags, s.time_ns);
    let window = u32::from(s.window);
    let syn_fin = flags & (flag::SYN | flag::FIN) != 0;
    let syn_fin_rst = flags & (flag::SYN | flag::FIN | flag::RST) != 0;
    let mut v = 0u32;

    if fwd.base_seq.is_none() {
        fwd.base_seq = Some(if flags & flag::SYN != 0 { seq } else { seq.wrapping_sub(1) });
    }
    if rev.base_seq.is_none() && flags & flag::ACK != 0 {
        rev.base_seq = Some(ack.wrapping_sub(1));
    }

    'fwd: {
        // Zero window probe: one byte at the next expected sequence number
        // while the receiver advertises a zero window.
        if seglen == 1 && seq == fwd.nextseq && rev.window == 0 {
            v |= ZERO_WINDOW_PROBE;
            break 'fwd;
        }
        if window == 0 && !syn_fin_rst {
            v |= ZERO_WINDOW;
        }
        // A segment beyond the highest sequence seen: something in between was not captured.
        if fwd.nextseq != 0 && gt(seq, fwd.nextseq) && flags & flag::RST == 0 {
            v |= LOST_SEGMENT;
        }
        // Keep-alive: 0 or 1 byte one before the next expected sequence number.
        if seglen <= 1 && seq == fwd.nextseq.wrapping_sub(1) && !syn_fin_rst {
            v |= KEEP_ALIVE;
        }
        let repeats_ack = seglen == 0 && seq == fwd.nextseq && ack == fwd.lastack && !syn_fin_rst;
        if repeats_ack && window != 0 && window != fwd.window {
            v |= WINDOW_UPDATE;
        }
        if repeats_ack && window != 0 && window == fwd.window && rev.last_verdict & KEEP_ALIVE != 0 {
            v |= KEEP_ALIVE_ACK;
            break 'fwd;
        }
        if repeats_ack && window == 0 && window == fwd.window && rev.last_verdict & ZERO_WINDOW_PROBE != 0 {
            v |= ZERO_WINDOW_PROBE_ACK;
            break 'fwd;
        }
        // Duplicate ACK: same ack and window as the previous segment, no data.
        if repeats_ack && window != 0 && window == fwd.window {
            fwd.dupacknum = if fwd.dupacknum == DUPACKS_AFTER_UNSEEN { 1 } else { fwd.dupacknum.saturating_add(1) };
            v |= DUPLICATE_ACK;
        }
    }

    if ack != fwd.lastack {
        fwd.dupacknum = 0;
    }

    // ACK of a segment that was never seen in the other direction. Wireshark
    // 4.0 then sets the other direction's duplicate-ACK counter to -1 in an
    // unsigned field: the huge value passes the ">= 2 duplicate ACKs" test,
    // so a retransmission answering it counts as fast. Reproduced as is.
    if rev.maxseqtobeacked != 0 && gt(ack, rev.maxseqtobeacked) && flags & flag::ACK != 0 {
        v |= ACK_LOST_SEGMENT;
        rev.maxseqtobeacked = rev.nextseq;
        rev.dupacknum = DUPACKS_AFTER_UNSEEN;
    }

    // Retransmission, fast retransmission, spurious retransmission or out
    // of order: a segment with data (or SYN/FIN) that does not advance the
    // sequence number. A keep-alive is none of these.
    'rxmt: {
        if !(seglen > 0 || syn_fin) || v & KEEP_ALIVE != 0 {
            break 'rxmt;
        }
        let mut seq_not_advanced = fwd.nextseq != 0 && lt(seq, fwd.nextseq);
        // One byte less than nextseq with more than one byte of data really
        // adds data (the byte before may have been a zero window probe).
        if seglen > 1 && fwd.nextseq.wrapping_sub(1) == seq {
            seq_not_advanced = false;
        }
        if seglen > 0 && rev.lastack != 0 && le(seq.wrapping_add(seglen), rev.lastack) {
            v |= SPURIOUS_RETRANSMISSION | RETRANSMISSION;
            break 'rxmt;
        }
        if seq_not_advanced
            && rev.dupacknum >= 2
            && rev.lastack == seq
            && within(now, rev.lastack_time, FAST_RETRANSMISSION_WINDOW_NS)
        {
            v |= FAST_RETRANSMISSION | RETRANSMISSION;
            break 'rxmt;
        }
        let ooo_threshold = if timing.first_rtt == 0 { DEFAULT_OOO_THRESHOLD_NS } else { timing.first_rtt };
        let consumed = seglen.wrapping_add(u32::from(syn_fin));
        if seq_not_advanced && within(now, fwd.nextseq_time, ooo_threshold) && fwd.nextseq != seq.wrapping_add(consumed)
        {
            v |= OUT_OF_ORDER;
            break 'rxmt;
        }
        if seq_not_advanced {
            v |= RETRANSMISSION;
        }
    }

    let mut nextseq = seq.wrapping_add(seglen);
    if syn_fin {
        nextseq = nextseq.wrapping_add(1);
    }
    if (gt(nextseq, fwd.nextseq) || fwd.nextseq == 0) && v & ZERO_WINDOW_PROBE == 0 {
        fwd.nextseq = nextseq;
        fwd.nextseq_time = now;
    }
    if (seq == fwd.maxseqtobeacked || fwd.maxseqtobeacked == 0) && v & ZERO_WINDOW_PROBE == 0 {
        fwd.maxseqtobeacked = fwd.nextseq;
    }
    fwd.window = window;
    fwd.lastack = ack;
    fwd.lastack_time = now;
    fwd.last_verdict = v;
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn seg(t_ms: i64, seq: u32, ack: u32, flags: u16, window: u16, seglen: u32) -> Segment {
        Segment {
            number: 0,
            time_ns: t_ms * 1_000_000,
            frame_len: 60,
            wire_len: 60,
            src: IpAddr::V4(Ipv4Addr::LOCALHOST),
            dst: IpAddr::V4(Ipv4Addr::LOCALHOST),
            sport: 1,
            dport: 2,
            seq,
            ack,
            flags,
            window,
            seglen,
            ttl: 64,
        }
    }

    const A: u16 = flag::ACK;

    #[test]
    fn retransmission_duplicate_acks_and_fast_retransmission() {
        let (mut c, mut s) = (FlowSeq::default(), FlowSeq::default());
        let t = ConvTiming::default();
        assert_eq!(analyze(&mut c, &mut s, &t, &seg(0, 100, 0, flag::SYN, 1000, 0)), 0);
        assert_eq!(analyze(&mut s, &mut c, &t, &seg(1, 500, 101, flag::SYN | A, 1000, 0)), 0);
        assert_eq!(analyze(&mut c, &mut s, &t, &seg(2, 101, 501, A, 1000, 100)), 0);
        assert_eq!(analyze(&mut c, &mut s, &t, &seg(3, 201, 501, A, 1000, 100)), 0);
        // The server acknowledges the first segment only, three times.
        assert_eq!(analyze(&mut s, &mut c, &t, &seg(4, 501, 201, A, 1000, 0)), 0);
        assert_eq!(analyze(&mut s, &mut c, &t, &seg(5, 501, 201, A, 1000, 0)), DUPLICATE_ACK);
        assert_eq!(analyze(&mut s, &mut c, &t, &seg(6, 501, 201, A, 1000, 0)), DUPLICATE_ACK);
        // Resent within 20 ms of the last duplicate ACK: fast.
        assert_eq!(analyze(&mut c, &mut s, &t, &seg(10, 201, 501, A, 1000, 100)), FAST_RETRANSMISSION | RETRANSMISSION);
        // Resent again much later: an ordinary retransmission.
        assert_eq!(analyze(&mut c, &mut s, &t, &seg(900, 201, 501, A, 1000, 100)), RETRANSMISSION);
        // Data the receiver already acknowledged: spurious.
        assert_eq!(
            analyze(&mut c, &mut s, &t, &seg(950, 101, 501, A, 1000, 100)),
            SPURIOUS_RETRANSMISSION | RETRANSMISSION
        );
    }

    #[test]
    fn out_of_order_keep_alive_zero_window_and_lost_segment() {
        let (mut c, mut s) = (FlowSeq::default(), FlowSeq::default());
        let t = ConvTiming::default();
        analyze(&mut c, &mut s, &t, &seg(0, 1000, 1, A, 1000, 100));
        // A gap: 1100..1200 was not seen.
        assert_eq!(analyze(&mut c, &mut s, &t, &seg(1, 1200, 1, A, 1000, 100)), LOST_SEGMENT);
        // The missing segment 1 ms later: out of order (within 3 ms).
        assert_eq!(analyze(&mut c, &mut s, &t, &seg(2, 1100, 1, A, 1000, 100)), OUT_OF_ORDER);
        // Keep-alive: one byte before nextseq, no data.
        assert_eq!(analyze(&mut c, &mut s, &t, &seg(5000, 1299, 1, A, 1000, 0)), KEEP_ALIVE);
        // Receiver advertises a zero window.
        assert_eq!(analyze(&mut s, &mut c, &t, &seg(5001, 1, 1300, A, 0, 0)), ZERO_WINDOW);
        // A one-byte probe while the window is zero.
        assert_eq!(analyze(&mut c, &mut s, &t, &seg(5002, 1300, 1, A, 1000, 1)), ZERO_WINDOW_PROBE);
        assert_eq!(analyze(&mut s, &mut c, &t, &seg(5003, 1, 1300, A, 0, 0)), ZERO_WINDOW_PROBE_ACK | ZERO_WINDOW);
        // Window opens again with the same ack: a window update.
        assert_eq!(analyze(&mut s, &mut c, &t, &seg(5004, 1, 1300, A, 500, 0)), WINDOW_UPDATE);
    }
}
