//! `analyze_tcp_retransmissions`: mcpcap's rate, threshold and ranking of
//! connections by retransmission rate, counted as Wireshark counts
//! `tcp.analysis.retransmission`, with the fast/spurious split and the
//! other loss indicators.

use pcapsule_guest::conventions::{Header, Paging};
use pcapsule_guest::{RunContext, RunError};
use serde_json::Value;

use crate::conn::{CLIENT, Connection, SERVER};
use crate::result::{Breakdown, RankedConnection, RetransmissionSummary, RetransmissionsResult};
use crate::scan::Filter;
use crate::scan::{Scanned, ratio};
use crate::segment::Segment;
use crate::seqanalysis::verdict;
use crate::top::TopK;
use crate::tracker::Sink;

/// Most connections a ranking page may reach (`offset + limit`): the
/// ranking keeps that many candidates in memory.
pub const MAX_RANKED: usize = 10_000;

struct Ranked {
    rate: f64,
    retrans: u32,
    id: u64,
    entry: RankedConnection,
}

/// The sink of `analyze_tcp_retransmissions`.
pub struct Retransmissions {
    threshold: f64,
    paging: Paging,
    packets: u64,
    by_side: [u64; 2],
    counts: [u64; 6],
    connections: u64,
    with_retransmissions: u64,
    above_threshold: u64,
    worst: Option<(f64, String)>,
    ranking: TopK<Ranked>,
}

const COUNTED: [u32; 6] = [
    verdict::RETRANSMISSION,
    verdict::FAST_RETRANSMISSION,
    verdict::SPURIOUS_RETRANSMISSION,
    verdict::OUT_OF_ORDER,
    verdict::DUPLICATE_ACK,
    verdict::LOST_SEGMENT,
];

impl Retransmissions {
    /// A sink ranking connections for the page `paging`.
    pub fn new(threshold: f64, paging: Paging) -> Result<Self, RunError> {
        if paging.offset.saturating_add(paging.limit) > MAX_RANKED {
            return Err(RunError::BadParams(format!(
                "offset + limit must be at most {MAX_RANKED}: the ranking by retransmission rate keeps that many \
                 connections"
            )));
        }
        Ok(Retransmissions {
            threshold,
            paging,
            packets: 0,
            by_side: [0; 2],
            counts: [0; 6],
            connections: 0,
            with_retransmissions: 0,
            above_threshold: 0,
            worst: None,
            ranking: TopK::new(paging.offset + paging.limit, |a: &Ranked, b: &Ranked| {
                b.rate.total_cmp(&a.rate).then(b.retrans.cmp(&a.retrans)).then(a.id.cmp(&b.id))
            }),
        })
    }
}

impl Sink for Retransmissions {
    fn segment(&mut self, _: &Connection, side: usize, _: &Segment, v: u32) {
        self.packets += 1;
        for (i, bit) in COUNTED.into_iter().enumerate() {
            self.counts[i] += u64::from(v & bit != 0);
        }
        self.by_side[side] += u64::from(v & verdict::RETRANSMISSION != 0);
    }

    fn finished(&mut self, c: &Connection) {
        self.connections += 1;
        let retrans = c.total(|d| d.retransmissions);
        let packets = c.packet_count();
        let rate = ratio(u64::from(retrans), u64::from(packets));
        self.with_retransmissions += u64::from(retrans > 0);
        self.above_threshold += u64::from(rate > self.threshold);
        if rate > self.worst.as_ref().map_or(0.0, |w| w.0) {
            self.worst = Some((rate, c.name()));
        }
        let entry = RankedConnection {
            connection: c.name(),
            retrans_count: retrans,
            total_packets: packets,
            retrans_rate: rate,
            fast_retransmissions: c.total(|d| d.fast_retransmissions),
            spurious_retransmissions: c.total(|d| d.spurious_retransmissions),
            client_to_server: c.sides[CLIENT].stats.retransmissions,
            server_to_client: c.sides[SERVER].stats.retransmissions,
            conn_state: c.conn_state(),
            connection_id: c.id,
            stream: c.stream,
        };
        self.ranking.offer(Ranked { rate, retrans, id: c.id, entry });
    }
}

impl Retransmissions {
    /// The result.
    pub fn finish(self, ctx: &RunContext, filter: Filter, scanned: Scanned, budget: usize) -> Result<Value, RunError> {
        let rate = ratio(self.counts[0], self.packets);
        let ranked = self.ranking.into_sorted().into_iter().skip(self.paging.offset).map(|r| r.entry);
        let (by_connection, pagination) = self.paging.page_of(ranked, self.connections as usize);
        let (worst_rate, worst_connection) = self.worst.map_or((0.0, String::new()), |w| (w.0, w.1));
        let [retrans, fast, spurious, ooo, dup, lost] = self.counts;
        let result = RetransmissionsResult {
            header: Header::new(ctx),
            total_packets: self.packets,
            total_retransmissions: retrans,
            retransmission_rate: rate,
            threshold: self.threshold,
            exceeds_threshold: rate > self.threshold,
            by_connection,
            pagination,
            summary: RetransmissionSummary {
                worst_connection,
                worst_retrans_rate: worst_rate,
                connections_above_threshold: self.above_threshold,
                connections: self.connections,
                connections_with_retransmissions: self.with_retransmissions,
            },
            breakdown: Breakdown {
                fast_retransmissions: fast,
                spurious_retransmissions: spurious,
                other_retransmissions: retrans.saturating_sub(fast + spurious),
                client_to_server: self.by_side[CLIENT],
                server_to_client: self.by_side[SERVER],
                out_of_order: ooo,
                duplicate_acks: dup,
                lost_segments: lost,
            },
            filter: filter.echo(),
            message: (scanned.counts.tcp_packets == 0).then_some("No TCP packets found in this capture"),
            tail: scanned.tail(),
        };
        pcapsule_guest::conventions::into_paged_result(&result, "by_connection", self.paging, budget)
    }
}
