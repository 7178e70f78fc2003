//! The connection table: segments to connections by 4-tuple (either
//! direction), Wireshark's port-reuse rule, and eviction so memory follows
//! the number of live connections, not packets.
//!
//! Connections stay in the table after they close (late ACKs and
//! retransmitted FINs still belong to them, and a new SYN on the same ports
//! is a port reuse, as in Wireshark) for [`CLOSED_LINGER_SECS`] of capture
//! time, as long as a TCP stack keeps the tuple in TIME_WAIT; then they are
//! finished, as are connection attempts nobody answered once the client
//! would have stopped retrying. So the table holds what is live or recent,
//! however long the capture. Should it still fill up, connections are
//! evicted: closed ones first, then those idle longest. An evicted
//! connection is reported as finished; if it sends again, that traffic
//! starts a new connection.

use std::hash::BuildHasher;
use std::net::IpAddr;

use hashbrown::HashTable;
use pcapsule_guest::fast_hash::RandomState;
use pcapsule_guest::streams::{Stream, StreamNumbers};

use crate::conn::Connection;
use crate::segment::{Segment, flag};
use crate::seqanalysis::verdict;

/// Live connections kept at once. A connection takes about 600 bytes, so
/// the table stays near 30 MiB, well inside the sandbox's memory, while no
/// ordinary capture comes near it.
pub const MAX_LIVE_CONNECTIONS: usize = 50_000;

/// How long (capture time) a closed connection stays in the table: twice the
/// maximum segment lifetime of BSD-derived stacks (TIME_WAIT). Linux waits
/// 60 s, but a port reused between 30 and 60 s after a close is rare, and a
/// shorter linger keeps memory low on busy captures.
pub const CLOSED_LINGER_SECS: i64 = 30;

/// How long (capture time) a connection attempt nobody answered stays in the
/// table after its last SYN: longer than a TCP stack keeps retrying (Linux
/// gives up after about 127 s), so a retried SYN still counts as a
/// retransmission, while a scan's unanswered probes do not pile up.
pub const UNANSWERED_ATTEMPT_SECS: i64 = 130;

/// How often (capture time) the table is swept for closed connections past
/// their linger.
const SWEEP_EVERY_SECS: i64 = 5;

/// Connections are stored in fixed chunks of this many slots, so the store
/// never reallocates (and never briefly holds two copies of itself) as it
/// grows, and memory follows the most connections live at once closely.
const CHUNK: usize = 1024;

type Key = (IpAddr, u16, IpAddr, u16);

/// Receives what the tracker sees.
pub trait Sink {
    /// A segment was accounted to `conn`, sent by side `side`, with Wireshark's verdict bits.
    fn segment(&mut self, conn: &Connection, side: usize, s: &Segment, verdict: u32);
    /// `conn` will see no more packets (closed and replaced, evicted, or the capture ended).
    fn finished(&mut self, conn: &Connection);
}

/// How the table coped with its bound.
#[derive(Debug, Clone, Copy, Default)]
pub struct TrackerStats {
    /// Connections created.
    pub connections: u64,
    /// Most connections in the table at once.
    pub peak_live: usize,
    /// Closed connections finished after their linger or evicted when the
    /// table was full (nothing lost).
    pub evicted_closed: u64,
    /// Evicted while still open (their counts end there).
    pub evicted_open: u64,
    /// Connections started by a SYN reusing an earlier connection's ports.
    pub port_reuses: u64,
    /// Unanswered connection attempts finished after their retry window.
    pub expired_attempts: u64,
    /// Connections first seen once the stream numbers ran out (they have
    /// no `stream`).
    pub unnumbered: u64,
}

/// Connection storage: slots in fixed-size chunks, reused through a free list.
#[derive(Default)]
struct Slots {
    chunks: Vec<Vec<Option<Connection>>>,
    free: Vec<u32>,
}

impl Slots {
    fn insert(&mut self, conn: Connection) -> u32 {
        if let Some(i) = self.free.pop() {
            self.chunks[i as usize / CHUNK][i as usize % CHUNK] = Some(conn);
            return i;
        }
        if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        let last = self.chunks.len() - 1;
        self.chunks[last].push(Some(conn));
        (last * CHUNK + self.chunks[last].len() - 1) as u32
    }

    fn get(&self, i: u32) -> &Connection {
        self.chunks[i as usize / CHUNK][i as usize % CHUNK].as_ref().expect("a live slot")
    }

    fn get_mut(&mut self, i: u32) -> &mut Connection {
        self.chunks[i as usize / CHUNK][i as usize % CHUNK].as_mut().expect("a live slot")
    }

    fn take(&mut self, i: u32) -> Connection {
        self.free.push(i);
        self.chunks[i as usize / CHUNK][i as usize % CHUNK].take().expect("a live slot")
    }
}

/// Segments to connections.
pub struct Tracker {
    /// Slot of each live connection, found by its tuple (read back from the
    /// connection itself, so an entry is 4 bytes). Sized once for twice the
    /// live bound: it never grows, so memory does not depend on how long the
    /// capture runs, and removals never force a resize.
    table: HashTable<u32>,
    hasher: RandomState,
    slots: Slots,
    capacity: usize,
    /// Latest capture time seen (ns): time only moves forward here, so
    /// timestamps that jump back cannot keep connections alive forever.
    now_ns: Option<i64>,
    last_sweep_ns: i64,
    /// Counters for the result.
    pub stats: TrackerStats,
    /// Stream numbers (Wireshark's `tcp.stream`), for every connection of
    /// the capture: unlike the table, never evicted.
    streams: StreamNumbers,
}

impl Tracker {
    /// A tracker keeping at most `capacity` live connections.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(2);
        Tracker {
            table: HashTable::with_capacity(2 * capacity),
            hasher: RandomState::default(),
            slots: Slots::default(),
            capacity,
            now_ns: None,
            last_sweep_ns: 0,
            stats: TrackerStats::default(),
            streams: StreamNumbers::default(),
        }
    }

    /// Accounts one segment.
    pub fn segment(&mut self, s: &Segment, sink: &mut impl Sink) {
        self.advance_clock(s.time_ns, sink);
        let key = key_of(s);
        let hash = self.hasher.hash_one(key);
        let mut reused = false;
        // The numbering's answer for this segment, when it was asked.
        let mut numbered = None;
        let slots = &self.slots;
        if let Ok(entry) = self.table.find_entry(hash, |&slot| conn_key(slots.get(slot)) == key) {
            let slot = *entry.get();
            let conn = self.slots.get_mut(slot);
            let side = conn.side_of(s.src, s.sport);
            if conn.stream.is_none() {
                reused = conn.is_reused_by(s);
                numbered = Some(None);
            } else if conn.may_change_stream(side, s) {
                let stream = stream_of(&mut self.streams, s);
                // A new stream, or none when numbers ran out at a reuse.
                reused = stream.is_none_or(|st| st.first_packet);
                numbered = Some(stream);
            }
            if !reused {
                let v = conn.packet(side, s);
                sink.segment(conn, side, s, v);
                return;
            }
            entry.remove();
            let old = self.slots.take(slot);
            sink.finished(&old);
            reused = true;
            self.stats.port_reuses += 1;
        }
        if self.table.len() >= self.capacity {
            self.evict(sink);
        }
        let stream = numbered.unwrap_or_else(|| stream_of(&mut self.streams, s));
        // Also a reuse: a SYN on the ports of a connection already finished here.
        if !reused && stream.is_some_and(|st| st.reused_ports) {
            reused = true;
            self.stats.port_reuses += 1;
        }
        let mut conn = Connection::new(self.stats.connections, s);
        conn.stream = stream.map(|st| st.number);
        self.stats.unnumbered += u64::from(stream.is_none());
        conn.reused_ports = reused;
        self.stats.connections += 1;
        let side = conn.side_of(s.src, s.sport);
        let mut v = conn.packet(side, s);
        if reused {
            v |= verdict::REUSED_PORTS;
        }
        sink.segment(&conn, side, s, v);
        let slot = self.slots.insert(conn);
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.table.insert_unique(hash, slot, |&slot| hasher.hash_one(conn_key(slots.get(slot))));
        self.stats.peak_live = self.stats.peak_live.max(self.table.len());
    }

    /// Numbers the stream of a segment the analysis leaves out (a
    /// selection's, or the tool's filter's).
    pub fn number_only(&mut self, s: &Segment) {
        stream_of(&mut self.streams, s);
    }

    /// Moves capture time forward to `time_ns` and, every few seconds of it,
    /// finishes the closed connections whose linger has passed.
    fn advance_clock(&mut self, time_ns: i64, sink: &mut impl Sink) {
        let now = match self.now_ns {
            None => {
                self.last_sweep_ns = time_ns;
                time_ns
            }
            Some(now) => now.max(time_ns),
        };
        self.now_ns = Some(now);
        if now.saturating_sub(self.last_sweep_ns) < SWEEP_EVERY_SECS * 1_000_000_000 {
            return;
        }
        self.last_sweep_ns = now;
        let closed_horizon = now.saturating_sub(CLOSED_LINGER_SECS * 1_000_000_000);
        let attempt_horizon = now.saturating_sub(UNANSWERED_ATTEMPT_SECS * 1_000_000_000);
        let slots = &self.slots;
        let mut gone = Vec::new();
        self.table.retain(|&mut slot| {
            let c = slots.get(slot);
            let expired = (c.is_closed() && c.last_time_ns < closed_horizon)
                || (c.is_unanswered_attempt() && c.last_time_ns < attempt_horizon);
            if expired {
                gone.push(slot);
            }
            !expired
        });
        gone.sort_by_key(|&slot| self.slots.get(slot).id);
        for slot in gone {
            let conn = self.slots.take(slot);
            if conn.is_closed() {
                self.stats.evicted_closed += 1;
            } else {
                self.stats.expired_attempts += 1;
            }
            sink.finished(&conn);
        }
    }

    /// Frees half the table: closed connections first, then the longest idle.
    fn evict(&mut self, sink: &mut impl Sink) {
        let mut order: Vec<(bool, u64, u32)> = self
            .table
            .iter()
            .map(|&slot| {
                let c = self.slots.get(slot);
                (!c.is_closed(), c.last_number, slot)
            })
            .collect();
        let count = self.table.len() - self.capacity / 2;
        order.select_nth_unstable(count - 1);
        let mut gone: Vec<u32> = order[..count].iter().map(|&(_, _, slot)| slot).collect();
        for &slot in &gone {
            let hash = self.hasher.hash_one(conn_key(self.slots.get(slot)));
            if let Ok(entry) = self.table.find_entry(hash, |&s| s == slot) {
                entry.remove();
            }
        }
        // Report in connection order so results do not depend on hashing.
        gone.sort_by_key(|&slot| self.slots.get(slot).id);
        for slot in gone {
            let mut conn = self.slots.take(slot);
            if conn.is_closed() {
                self.stats.evicted_closed += 1;
            } else {
                self.stats.evicted_open += 1;
            }
            conn.evicted = true;
            sink.finished(&conn);
        }
    }

    /// Ends tracking: every connection still in the table is finished, in connection order.
    pub fn finish(&mut self, sink: &mut impl Sink) {
        let mut rest: Vec<u32> = self.table.drain().collect();
        rest.sort_by_key(|&slot| self.slots.get(slot).id);
        for slot in rest {
            let conn = self.slots.take(slot);
            sink.finished(&conn);
        }
    }

    /// Connections in the table now.
    #[cfg(all(test, not(target_arch = "wasm32")))]
    pub fn live(&self) -> usize {
        self.table.len()
    }
}

/// The stream `s` belongs to, as `streams` numbers it.
fn stream_of(streams: &mut StreamNumbers, s: &Segment) -> Option<Stream> {
    streams.tcp((s.src, s.sport), (s.dst, s.dport), s.has(flag::SYN), s.seq, s.has(flag::ACK).then_some(s.ack))
}

fn key_of(s: &Segment) -> Key {
    normalized(s.src, s.sport, s.dst, s.dport)
}

/// The tuple a connection is filed under, as [`key_of`] gives it for its segments.
fn conn_key(c: &Connection) -> Key {
    normalized(c.client.ip(), c.client.port(), c.server.ip(), c.server.port())
}

/// Either direction of a tuple, the same key.
fn normalized(a: IpAddr, a_port: u16, b: IpAddr, b_port: u16) -> Key {
    if (a, a_port) <= (b, b_port) { (a, a_port, b, b_port) } else { (b, b_port, a, a_port) }
}
