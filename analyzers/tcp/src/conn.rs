//! One TCP connection: roles, per-direction statistics and Wireshark
//! sequence state, Zeek-style endpoint states (for `conn_state`) and
//! `history`, mcpcap's handshake check, handshake timing and how it closed.

use std::net::{IpAddr, SocketAddr};

use crate::segment::{Segment, flag};
use crate::seqanalysis::{self, ConvTiming, FlowSeq, verdict};

/// Index of the client (originator) side in [`Connection::sides`].
pub const CLIENT: usize = 0;
/// Index of the server (responder) side.
pub const SERVER: usize = 1;

/// How the client and server were told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleSource {
    /// The client sent the first SYN seen.
    Syn,
    /// The first packet was a SYN-ACK: its receiver is the client.
    SynAck,
    /// No SYN: the endpoint on the lower (usually well-known) port is the server.
    Port,
    /// No SYN and equal ports: the first packet's sender is the client.
    FirstPacket,
}

impl RoleSource {
    /// Name used in results.
    pub fn name(self) -> &'static str {
        match self {
            RoleSource::Syn => "syn",
            RoleSource::SynAck => "syn_ack",
            RoleSource::Port => "port",
            RoleSource::FirstPacket => "first_packet",
        }
    }
}

/// How far a connection's handshake got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Handshake {
    /// SYN, SYN-ACK and the ACK completing them were all captured.
    Completed,
    /// The client's SYN was captured, the handshake never completed.
    Failed,
    /// No SYN from the client was captured: the capture joined the
    /// connection mid-stream (Zeek's history without `S`), so nothing can
    /// be said about its handshake.
    NotSeen,
}

/// Counters for one direction of a connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct DirStats {
    /// Segments sent.
    pub packets: u32,
    /// Frame bytes on the wire.
    pub bytes: u64,
    /// Frame bytes captured.
    pub captured_bytes: u64,
    /// TCP payload bytes (as the IP header declares them).
    pub payload_bytes: u64,
    /// Segments with payload.
    pub data_packets: u32,
    /// Segments with SYN (SYN-ACKs included, as mcpcap counts).
    pub syn: u32,
    /// Segments with SYN and ACK.
    pub syn_ack: u32,
    /// Segments with FIN.
    pub fin: u32,
    /// Segments with RST.
    pub rst: u32,
    /// Segments with ACK.
    pub ack: u32,
    /// `tcp.analysis.retransmission` (fast and spurious included).
    pub retransmissions: u32,
    /// `tcp.analysis.fast_retransmission`.
    pub fast_retransmissions: u32,
    /// `tcp.analysis.spurious_retransmission`.
    pub spurious_retransmissions: u32,
    /// `tcp.analysis.out_of_order`.
    pub out_of_order: u32,
    /// `tcp.analysis.duplicate_ack`.
    pub duplicate_acks: u32,
    /// `tcp.analysis.zero_window`.
    pub zero_windows: u32,
    /// `tcp.analysis.zero_window_probe`.
    pub zero_window_probes: u32,
    /// `tcp.analysis.keep_alive`.
    pub keep_alives: u32,
    /// `tcp.analysis.lost_segment`.
    pub lost_segments: u32,
    /// `tcp.analysis.ack_lost_segment`.
    pub ack_lost_segments: u32,
    /// `tcp.analysis.window_update`.
    pub window_updates: u32,
}

impl DirStats {
    fn count(&mut self, s: &Segment, v: u32) {
        let inc = |c: &mut u32, yes: bool| *c = c.saturating_add(u32::from(yes));
        inc(&mut self.packets, true);
        self.bytes += u64::from(s.wire_len);
        self.captured_bytes += u64::from(s.frame_len);
        self.payload_bytes += u64::from(s.seglen);
        inc(&mut self.data_packets, s.seglen > 0);
        inc(&mut self.syn, s.has(flag::SYN));
        inc(&mut self.syn_ack, s.is_syn_ack());
        inc(&mut self.fin, s.has(flag::FIN));
        inc(&mut self.rst, s.has(flag::RST));
        inc(&mut self.ack, s.has(flag::ACK));
        inc(&mut self.retransmissions, v & verdict::RETRANSMISSION != 0);
        inc(&mut self.fast_retransmissions, v & verdict::FAST_RETRANSMISSION != 0);
        inc(&mut self.spurious_retransmissions, v & verdict::SPURIOUS_RETRANSMISSION != 0);
        inc(&mut self.out_of_order, v & verdict::OUT_OF_ORDER != 0);
        inc(&mut self.duplicate_acks, v & verdict::DUPLICATE_ACK != 0);
        inc(&mut self.zero_windows, v & verdict::ZERO_WINDOW != 0);
        inc(&mut self.zero_window_probes, v & verdict::ZERO_WINDOW_PROBE != 0);
        inc(&mut self.keep_alives, v & verdict::KEEP_ALIVE != 0);
        inc(&mut self.lost_segments, v & verdict::LOST_SEGMENT != 0);
        inc(&mut self.ack_lost_segments, v & verdict::ACK_LOST_SEGMENT != 0);
        inc(&mut self.window_updates, v & verdict::WINDOW_UPDATE != 0);
    }
}

/// An endpoint's state, as Zeek's TCP analyzer keeps it, from which
/// `conn_state` is derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EndpointState {
    /// Has sent nothing.
    #[default]
    Inactive,
    /// Sent a SYN.
    SynSent,
    /// Sent a SYN-ACK.
    SynAckSent,
    /// Sent traffic without a SYN seen (joined midstream).
    Partial,
    /// Handshake completed.
    Established,
    /// Sent a FIN.
    Closed,
    /// Sent a RST.
    Reset,
}

impl EndpointState {
    fn inactive(self) -> bool {
        matches!(self, EndpointState::Inactive | EndpointState::Partial)
    }
}

/// Zeek history letters recorded once per direction.
const ONCE_ACK: u8 = 1;
const ONCE_DATA: u8 = 2;
const ONCE_FIN_RST: u8 = 4;
const ONCE_MULTI: u8 = 8;
const ONCE_SYN: u8 = 16;
const ONCE_FIN: u8 = 32;
const ONCE_RST: u8 = 64;

/// One direction: Wireshark's sequence state, counters, endpoint state and
/// what the history needs to remember.
#[derive(Debug, Clone, Copy, Default)]
pub struct Side {
    /// Wireshark's sequence state for this direction.
    pub seq: FlowSeq,
    /// Counters for this direction.
    pub stats: DirStats,
    /// The sender's state, for `conn_state`.
    pub state: EndpointState,
    once: u8,
    last_syn: u32,
    last_fin: u32,
    last_rst: u32,
    /// Lowest and highest TTL of the side's packets without RST.
    ttl_range: Option<(u8, u8)>,
    /// The side's first RST: its frame number and TTL.
    first_rst: Option<(u64, u8)>,
    /// SYN-ACKs and data segments the side sent after its first RST.
    sent_after_rst: u32,
}

/// A RST that its apparent sender is unlikely to have sent: injected by a
/// third party (the classic forged reset) or sent by a middlebox in the
/// host's name. Such a RST is no sign that the host refused or aborted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuspiciousRst {
    /// [`CLIENT`] or [`SERVER`]: whose address the RST carries.
    pub side: usize,
    /// Frame number of the side's first RST.
    pub frame: u64,
    /// That RST's TTL.
    pub ttl: u8,
    /// The TTLs of the side's other packets, if it sent any.
    pub others_ttl: Option<(u8, u8)>,
    /// The RST's TTL is outside `others_ttl` (give or take a route change).
    pub ttl_unlike: bool,
    /// SYN-ACKs and data segments the side sent after the RST.
    pub sent_after: u32,
}

/// How far a RST's TTL may stray from its sender's other packets before it
/// is called another host's: a route change moves a path by a hop or two,
/// while a forged RST carries the forger's distance or a default TTL.
const TTL_TOLERANCE: u8 = 2;

/// Longest history kept; a pathological connection (thousands of RSTs with
/// different sequence numbers) must not grow it without bound.
const HISTORY_MAX: usize = 40;

/// Zeek's `history` string, bounded.
#[derive(Debug, Clone, Copy)]
pub struct History {
    letters: [u8; HISTORY_MAX],
    len: u8,
    /// Letters dropped because the history was full.
    pub dropped: bool,
}

impl Default for History {
    fn default() -> Self {
        History { letters: [0; HISTORY_MAX], len: 0, dropped: false }
    }
}

impl History {
    fn push(&mut self, letter: u8) {
        if usize::from(self.len) < HISTORY_MAX {
            self.letters[usize::from(self.len)] = letter;
            self.len += 1;
        } else {
            self.dropped = true;
        }
    }

    /// The letters, oldest first.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.letters[..usize::from(self.len)]).unwrap_or("")
    }
}

/// The first FIN or RST of a connection.
#[derive(Debug, Clone, Copy)]
pub struct FirstClose {
    /// [`CLIENT`] or [`SERVER`].
    pub side: usize,
    /// A RST (else a FIN).
    pub rst: bool,
}

/// A tracked connection.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Sequential number in order of first packet (among the analyzed connections).
    pub id: u64,
    /// Its stream number (Wireshark's `tcp.stream`); `None` past the
    /// numbering's bound. Connections the table had to split (evicted, or
    /// finished after a close and then seen again) keep one stream.
    pub stream: Option<u64>,
    /// The originator.
    pub client: SocketAddr,
    /// The responder.
    pub server: SocketAddr,
    /// How client and server were told apart.
    pub roles: RoleSource,
    /// Client-to-server ([`CLIENT`]) and server-to-client ([`SERVER`]) state.
    pub sides: [Side; 2],
    timing: ConvTiming,
    /// Frame number of the first packet.
    pub first_number: u64,
    /// Frame number of the last packet.
    pub last_number: u64,
    /// Time of the first packet (ns since the epoch, 0 if unknown).
    pub first_time_ns: i64,
    /// Time of the last packet.
    pub last_time_ns: i64,
    /// Zeek's history letters.
    pub history: History,
    /// mcpcap's check: SYN, a SYN-ACK acknowledging it, and the ACK of
    /// the SYN-ACK, in whatever order the capture holds them.
    pub handshake_completed: bool,
    /// Per side: the sequence number after its SYN.
    syn_next: [Option<u32>; 2],
    /// Per side: its SYN-ACK's acknowledgement and the sequence number after it.
    syn_ack: [Option<(u32, u32)>; 2],
    /// Per side: sequence and acknowledgement numbers of its first segment
    /// with ACK and without SYN, kept so that a handshake captured out of
    /// order (the ACK before the SYN-ACK, as merged multi-interface
    /// captures have it) is still recognised.
    first_ack: [Option<(u32, u32)>; 2],
    /// Most recent client SYN, first SYN-ACK after it, first client ACK after that.
    syn_time_ns: Option<i64>,
    synack_time_ns: Option<i64>,
    ack_time_ns: Option<i64>,
    /// The first FIN or RST, if any.
    pub first_close: Option<FirstClose>,
    /// Started by a SYN reusing the ports of an earlier connection.
    pub reused_ports: bool,
    /// Tracking ended early to bound memory (the counts stop there).
    pub evicted: bool,
}

impl Connection {
    /// A connection whose first packet is `s`.
    pub fn new(id: u64, s: &Segment) -> Self {
        let src = SocketAddr::new(s.src, s.sport);
        let dst = SocketAddr::new(s.dst, s.dport);
        let (sender_is_client, roles) = if s.is_syn() {
            (true, RoleSource::Syn)
        } else if s.is_syn_ack() {
            (false, RoleSource::SynAck)
        } else if s.sport != s.dport {
            (s.sport > s.dport, RoleSource::Port)
        } else {
            (true, RoleSource::FirstPacket)
        };
        let (client, server) = if sender_is_client { (src, dst) } else { (dst, src) };
        let mut history = History::default();
        if !sender_is_client {
            // Zeek's mark for "the originator is not who sent the first packet".
            history.push(b'^');
        }
        Connection {
            id,
            client,
            server,
            roles,
            sides: [Side::default(); 2],
            timing: ConvTiming::default(),
            first_number: s.number,
            last_number: s.number,
            first_time_ns: s.time_ns,
            last_time_ns: s.time_ns,
            history,
            handshake_completed: false,
            syn_next: [None; 2],
            syn_ack: [None; 2],
            first_ack: [None; 2],
            syn_time_ns: None,
            synack_time_ns: None,
            ack_time_ns: None,
            first_close: None,
            reused_ports: false,
            evicted: false,
            stream: None,
        }
    }

    /// [`CLIENT`] when `ip:port` is the client, [`SERVER`] otherwise.
    pub fn side_of(&self, ip: IpAddr, port: u16) -> usize {
        if self.client.ip() == ip && self.client.port() == port { CLIENT } else { SERVER }
    }

    /// Wireshark's port-reuse rule, for a connection the stream numbering
    /// ([`pcapsule_guest::streams`], which holds the rule) has no number
    /// for: a SYN (without ACK) whose sequence number differs from its
    /// direction's base starts a new conversation.
    pub fn is_reused_by(&self, s: &Segment) -> bool {
        let side = self.side_of(s.src, s.sport);
        s.is_syn() && self.sides[side].seq.base_seq.is_some_and(|base| base != s.seq)
    }

    /// Whether `s` may change what the stream numbering knows of this
    /// connection: a SYN (port reuse), or a segment that sets a direction's
    /// base sequence number (the numbering learns bases as this connection
    /// does). Every other segment keeps the connection's stream.
    pub fn may_change_stream(&self, side: usize, s: &Segment) -> bool {
        s.is_syn()
            || self.sides[side].seq.base_seq.is_none()
            || (s.has(flag::ACK) && self.sides[1 - side].seq.base_seq.is_none())
    }

    /// Accounts one segment sent by `side`; returns Wireshark's verdict bits.
    pub fn packet(&mut self, side: usize, s: &Segment) -> u32 {
        let [client, server] = &mut self.sides;
        let (fwd, rev) = if side == CLIENT { (client, server) } else { (server, client) };
        let v = seqanalysis::analyze(&mut fwd.seq, &mut rev.seq, &self.timing, s);
        if s.is_syn() {
            self.timing.mru_syn = s.time_ns;
        }
        if s.flags & (flag::SYN | flag::ACK) == flag::ACK && self.timing.mru_syn != 0 && self.timing.first_rtt == 0 {
            self.timing.first_rtt = s.time_ns.saturating_sub(self.timing.mru_syn);
        }
        self.sides[side].stats.count(s, v);
        self.last_number = s.number;
        self.last_time_ns = s.time_ns;
        self.update_states(side, s);
        self.update_rst_evidence(side, s);
        self.update_history(side, s, v);
        self.check_handshake(side, s);
        self.update_timing(side, s);
        if self.first_close.is_none() && s.flags & (flag::FIN | flag::RST) != 0 {
            self.first_close = Some(FirstClose { side, rst: s.has(flag::RST) });
        }
        v
    }

    fn update_states(&mut self, side: usize, s: &Segment) {
        use EndpointState as E;
        let before = self.sides[side].state;
        self.sides[side].state = if s.has(flag::RST) {
            E::Reset
        } else if s.has(flag::FIN) {
            E::Closed
        } else if s.is_syn() {
            if before == E::Inactive { E::SynSent } else { before }
        } else if s.is_syn_ack() {
            if matches!(before, E::Inactive | E::SynSent) { E::SynAckSent } else { before }
        } else if before == E::Inactive {
            E::Partial
        } else {
            before
        };
        // The first non-SYN ACK after a SYN and a SYN-ACK establishes both ends.
        let other = self.sides[1 - side].state;
        let (client, server) = if side == CLIENT { (before, other) } else { (other, before) };
        if s.flags & (flag::SYN | flag::ACK | flag::RST) == flag::ACK && client == E::SynSent && server == E::SynAckSent
        {
            for st in &mut self.sides {
                if matches!(st.state, E::SynSent | E::SynAckSent) {
                    st.state = E::Established;
                }
            }
        }
    }

    fn update_history(&mut self, side: usize, s: &Segment, v: u32) {
        let st = &mut self.sides[side];
        let mut once = |bit: u8| {
            let first = st.once & bit == 0;
            st.once |= bit;
            first
        };
        let mut letters = [0u8; 4];
        let mut n = 0;
        let mut add = |c: u8| {
            letters[n] = c;
            n += 1;
        };
        let bits = u8::from(s.has(flag::SYN)) + u8::from(s.has(flag::FIN)) + u8::from(s.has(flag::RST));
        if bits > 1 {
            if s.has(flag::FIN | flag::RST) {
                if once(ONCE_FIN_RST) {
                    add(b'i');
                }
            } else if once(ONCE_MULTI) {
                add(b'q');
            }
        } else if s.has(flag::SYN) {
            // SYN, FIN and RST letters repeat when their sequence number changes.
            if once(ONCE_SYN) || s.seq != st.last_syn {
                add(if s.has(flag::ACK) { b'h' } else { b's' });
            }
            st.last_syn = s.seq;
        } else if s.has(flag::FIN) {
            // A FIN's sequence number sits after the data it carries.
            let end = s.seq.wrapping_add(s.seglen);
            if once(ONCE_FIN) || end != st.last_fin {
                add(b'f');
            }
            st.last_fin = end;
        } else if s.has(flag::RST) {
            if once(ONCE_RST) || s.seq != st.last_rst {
                add(b'r');
            }
            st.last_rst = s.seq;
        } else if s.seglen > 0 {
            if once(ONCE_DATA) {
                add(b'd');
            }
        } else if s.has(flag::ACK) && once(ONCE_ACK) {
            add(b'a');
        }
        // Repeated trouble is recorded on a log scale: at 1, 10, 100, ...
        let stats = &st.stats;
        if v & verdict::RETRANSMISSION != 0 && s.seglen > 0 && power_of_ten(stats.retransmissions) {
            add(b't');
        }
        if v & verdict::LOST_SEGMENT != 0 && power_of_ten(stats.lost_segments) {
            add(b'g');
        }
        if v & verdict::ZERO_WINDOW != 0 && power_of_ten(stats.zero_windows) {
            add(b'w');
        }
        for &c in &letters[..n] {
            self.history.push(if side == CLIENT { c.to_ascii_uppercase() } else { c });
        }
    }

    fn update_rst_evidence(&mut self, side: usize, s: &Segment) {
        let st = &mut self.sides[side];
        if s.has(flag::RST) {
            st.first_rst.get_or_insert((s.number, s.ttl));
            return;
        }
        st.ttl_range = Some(st.ttl_range.map_or((s.ttl, s.ttl), |(lo, hi)| (lo.min(s.ttl), hi.max(s.ttl))));
        if st.first_rst.is_some() && (s.is_syn_ack() || s.seglen > 0) {
            st.sent_after_rst = st.sent_after_rst.saturating_add(1);
        }
    }

    /// The first RST of a side that the side is unlikely to have sent: its
    /// TTL is unlike that of the side's other packets, or the side went on
    /// to answer the handshake or send data as if no RST had been sent.
    pub fn suspicious_rst(&self, side: usize) -> Option<SuspiciousRst> {
        let st = &self.sides[side];
        let (frame, ttl) = st.first_rst?;
        let ttl_unlike = st
            .ttl_range
            .is_some_and(|(lo, hi)| ttl < lo.saturating_sub(TTL_TOLERANCE) || ttl > hi.saturating_add(TTL_TOLERANCE));
        (ttl_unlike || st.sent_after_rst > 0).then_some(SuspiciousRst {
            side,
            frame,
            ttl,
            others_ttl: st.ttl_range,
            ttl_unlike,
            sent_after: st.sent_after_rst,
        })
    }

    /// Whether either side has a [`Connection::suspicious_rst`].
    pub fn has_suspicious_rst(&self) -> bool {
        self.suspicious_rst(SERVER).is_some() || self.suspicious_rst(CLIENT).is_some()
    }

    fn check_handshake(&mut self, side: usize, s: &Segment) {
        // A RST does not end the handshake in progress: a forged one arrives
        // before the real SYN-ACK, and the handshake still completes (a new
        // attempt after a real reset is a new SYN, checked on its own).
        if s.has(flag::RST) {
            return;
        }
        if s.has(flag::SYN) {
            let next = s.seq.wrapping_add(1).wrapping_add(s.seglen);
            if s.has(flag::ACK) {
                self.syn_ack[side] = Some((s.ack, next));
            } else {
                self.syn_next[side] = Some(next);
            }
            // The ACK may have been captured before this SYN or SYN-ACK.
            if !self.handshake_completed {
                self.handshake_completed = (0..2).any(|opener| {
                    self.first_ack[opener].is_some_and(|numbers| self.completes_handshake(opener, numbers))
                });
            }
        } else if s.has(flag::ACK) {
            let numbers = (s.seq, s.ack);
            self.first_ack[side].get_or_insert(numbers);
            if !self.handshake_completed && self.completes_handshake(side, numbers) {
                self.handshake_completed = true;
            }
        }
    }

    /// Whether an ACK from `opener` with these sequence and acknowledgement
    /// numbers completes its handshake: it follows `opener`'s SYN and
    /// acknowledges the SYN-ACK that acknowledged that SYN.
    fn completes_handshake(&self, opener: usize, (seq, ack): (u32, u32)) -> bool {
        match (self.syn_next[opener], self.syn_ack[1 - opener]) {
            (Some(syn_next), Some((acked, after_syn_ack))) => {
                acked == syn_next && seq == syn_next && ack == after_syn_ack
            }
            _ => false,
        }
    }

    /// How far the handshake got: completed, attempted (a SYN from the
    /// client was captured) without completing, or not captured at all
    /// (the capture joined the connection mid-stream).
    pub fn handshake(&self) -> Handshake {
        if self.handshake_completed {
            Handshake::Completed
        } else if self.attempted() {
            Handshake::Failed
        } else {
            Handshake::NotSeen
        }
    }

    fn update_timing(&mut self, side: usize, s: &Segment) {
        // The most recent SYN before the answer, as Wireshark times the
        // initial RTT; a SYN retransmitted after the handshake changes nothing.
        if side == CLIENT && s.is_syn() && self.synack_time_ns.is_none() {
            self.syn_time_ns = Some(s.time_ns);
        } else if side == SERVER && s.is_syn_ack() && self.synack_time_ns.is_none() {
            self.synack_time_ns = Some(s.time_ns);
        } else if side == CLIENT
            && s.flags & (flag::SYN | flag::ACK | flag::RST) == flag::ACK
            && self.synack_time_ns.is_some()
            && self.ack_time_ns.is_none()
        {
            self.ack_time_ns = Some(s.time_ns);
        }
    }

    /// Zeek's `conn_state` from the two endpoint states.
    pub fn conn_state(&self) -> &'static str {
        use EndpointState as E;
        let (os, rs) = (self.sides[CLIENT].state, self.sides[SERVER].state);
        let no_data = self.sides[CLIENT].stats.payload_bytes == 0 && self.sides[SERVER].stats.payload_bytes == 0;
        if rs == E::Reset {
            if matches!(os, E::SynSent | E::SynAckSent) || (os == E::Reset && no_data) {
                "REJ"
            } else if os.inactive() {
                "RSTRH"
            } else {
                "RSTR"
            }
        } else if os == E::Reset {
            if rs.inactive() {
                // Zeek: RSTOS0 when the history is a SYN followed by a RST and nothing answered.
                let h = self.history.as_str().trim_start_matches('^');
                if h.starts_with('S') && !h.contains(['H', 'A', 'F', 'D', 'h', 'a', 'f', 'd']) {
                    "RSTOS0"
                } else {
                    "OTH"
                }
            } else {
                "RSTO"
            }
        } else if rs == E::Closed && os == E::Closed {
            "SF"
        } else if os == E::Closed {
            if rs.inactive() { "SH" } else { "S2" }
        } else if rs == E::Closed {
            if os.inactive() { "SHR" } else { "S3" }
        } else if os == E::SynSent && rs == E::Inactive {
            "S0"
        } else if os == E::Established && rs == E::Established {
            "S1"
        } else {
            "OTH"
        }
    }

    /// mcpcap's `close_reason`: `reset`, `normal` (two or more FINs), `active`
    /// (more than three packets) or `unknown`.
    pub fn close_reason(&self) -> &'static str {
        let (c, s) = (&self.sides[CLIENT].stats, &self.sides[SERVER].stats);
        if c.rst + s.rst > 0 {
            "reset"
        } else if c.fin + s.fin >= 2 {
            "normal"
        } else if self.packet_count() > 3 {
            "active"
        } else {
            "unknown"
        }
    }

    /// mcpcap's `state`: `closed` after a reset or normal close, else `active`.
    pub fn mcpcap_state(&self) -> &'static str {
        if matches!(self.close_reason(), "reset" | "normal") { "closed" } else { "active" }
    }

    /// How the connection ended: `graceful` (FIN both ways), `half_closed`
    /// (FIN one way), `reset`, `fin_then_reset`, or `open`.
    pub fn close_method(&self) -> &'static str {
        let (c, s) = (&self.sides[CLIENT].stats, &self.sides[SERVER].stats);
        match self.first_close {
            None => "open",
            Some(first) if c.rst + s.rst > 0 => {
                if first.rst {
                    "reset"
                } else {
                    "fin_then_reset"
                }
            }
            Some(_) if c.fin > 0 && s.fin > 0 => "graceful",
            Some(_) => "half_closed",
        }
    }

    /// Closed by FINs both ways or by a RST: nothing more is expected.
    pub fn is_closed(&self) -> bool {
        let (c, s) = (&self.sides[CLIENT].stats, &self.sides[SERVER].stats);
        c.rst + s.rst > 0 || (c.fin > 0 && s.fin > 0)
    }

    /// Only SYNs from the client, nothing from the server: an attempt that
    /// is still waiting for an answer.
    pub fn is_unanswered_attempt(&self) -> bool {
        let (c, s) = (&self.sides[CLIENT].stats, &self.sides[SERVER].stats);
        s.packets == 0 && c.syn > 0 && c.syn == c.packets
    }

    /// Whether the client sent a SYN (a connection attempt was seen).
    pub fn attempted(&self) -> bool {
        self.sides[CLIENT].stats.syn > self.sides[CLIENT].stats.syn_ack
    }

    /// Packets in both directions.
    pub fn packet_count(&self) -> u32 {
        self.sides[CLIENT].stats.packets.saturating_add(self.sides[SERVER].stats.packets)
    }

    /// Both directions added.
    pub fn total(&self, get: impl Fn(&DirStats) -> u32) -> u32 {
        get(&self.sides[CLIENT].stats).saturating_add(get(&self.sides[SERVER].stats))
    }

    /// Seconds from first to last packet.
    pub fn duration_s(&self) -> f64 {
        (i128::from(self.last_time_ns) - i128::from(self.first_time_ns)) as f64 / 1e9
    }

    /// SYN to the client's ACK of the SYN-ACK, in ms (Wireshark's iRTT).
    pub fn handshake_rtt_ms(&self) -> Option<f64> {
        Some(ms(self.ack_time_ns?.saturating_sub(self.syn_time_ns?))).filter(|v| *v >= 0.0)
    }

    /// SYN to SYN-ACK, in ms (the server side of the handshake as seen from the capture point).
    pub fn syn_to_synack_ms(&self) -> Option<f64> {
        Some(ms(self.synack_time_ns?.saturating_sub(self.syn_time_ns?))).filter(|v| *v >= 0.0)
    }

    /// SYN-ACK to the client's ACK, in ms (the client side).
    pub fn synack_to_ack_ms(&self) -> Option<f64> {
        Some(ms(self.ack_time_ns?.saturating_sub(self.synack_time_ns?))).filter(|v| *v >= 0.0)
    }

    /// `client <-> server`, the connection's name in results.
    pub fn name(&self) -> String {
        format!("{} <-> {}", self.client, self.server)
    }
}

/// 1, 10, 100, ...
fn power_of_ten(mut n: u32) -> bool {
    while n >= 10 && n.is_multiple_of(10) {
        n /= 10;
    }
    n == 1
}

fn ms(ns: i64) -> f64 {
    (ns as f64 / 1e6 * 1000.0).round() / 1000.0
}
