//! Endpoints, as Wireshark's Statistics > Endpoints counts them: each
//! address (or address and port) with the packets and bytes it sent and
//! received. Derived from the conversation table of the same layer once
//! the pass ends (an endpoint's traffic is the sum of its conversations'),
//! so the pass does no more work per packet than `analyze_conversations`.

use pcapsule_guest::conventions::{Header, NoMoreFacts, PacketBudget, Paging, into_paged_result};
use pcapsule_guest::driver::Pass;
use pcapsule_guest::fast_hash::HashMap;
use pcapsule_guest::{RunContext, RunError, Timestamp};
use serde_json::Value;

use crate::conversations::{ConversationType, Conversations, Endpoint, SortBy, Volume, round_micros};
use crate::mac_vendors;
use crate::result::{EndpointEntry, EndpointsResult, NotTracked};
use pcapsule_guest::identify::{self, AppProtocol, Transport};

/// One endpoint's traffic over all its conversations.
struct Totals {
    endpoint: Endpoint,
    sent: Volume,
    received: Volume,
    peers: u64,
    conversations: u64,
    first_frame: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

impl Totals {
    fn packets(&self) -> u64 {
        self.sent.packets + self.received.packets
    }

    fn bytes(&self) -> u64 {
        self.sent.bytes + self.received.bytes
    }

    fn duration(&self) -> Option<f64> {
        Some(self.last?.seconds_since(self.first?).max(0.0))
    }
}

/// Every endpoint of `table`, in first-seen order.
fn totals(table: &Conversations) -> Vec<Totals> {
    let mut at: HashMap<Endpoint, usize> = HashMap::default();
    let mut list: Vec<Totals> = Vec::new();
    let mut pairs: HashMap<(Endpoint, Endpoint), ()> = HashMap::default();
    for c in &table.list {
        // A conversation of an endpoint with itself counts its packets as
        // both sent and received, as Wireshark does.
        for (endpoint, sent, received, peer) in [(c.a, c.a_to_b, c.b_to_a, c.b), (c.b, c.b_to_a, c.a_to_b, c.a)] {
            let i = *at.entry(endpoint).or_insert_with(|| {
                list.push(Totals {
                    endpoint,
                    sent: Volume::default(),
                    received: Volume::default(),
                    peers: 0,
                    conversations: 0,
                    first_frame: c.first_frame,
                    first: c.first,
                    last: c.last,
                });
                list.len() - 1
            });
            let t = &mut list[i];
            t.sent.packets += sent.packets;
            t.sent.bytes += sent.bytes;
            t.received.packets += received.packets;
            t.received.bytes += received.bytes;
            t.conversations += 1;
            t.first_frame = t.first_frame.min(c.first_frame);
            t.first = min_time(t.first, c.first);
            t.last = max_time(t.last, c.last);
            if pairs.insert((endpoint, peer), ()).is_none() {
                t.peers += 1;
            }
        }
    }
    list
}

fn min_time(x: Option<Timestamp>, y: Option<Timestamp>) -> Option<Timestamp> {
    match (x, y) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

fn max_time(x: Option<Timestamp>, y: Option<Timestamp>) -> Option<Timestamp> {
    x.max(y)
}

fn entry(t: &Totals, kind: ConversationType, origin: Option<Timestamp>) -> EndpointEntry {
    let transport = match kind {
        ConversationType::Tcp => Some(Transport::Tcp),
        ConversationType::Udp => Some(Transport::Udp),
        _ => None,
    };
    EndpointEntry {
        address: t.endpoint.address(),
        vendor: match t.endpoint {
            Endpoint::Mac(mac) => mac_vendors::vendor(mac),
            _ => None,
        },
        port: t.endpoint.port(),
        packets: t.packets(),
        bytes: t.bytes(),
        packets_sent: t.sent.packets,
        bytes_sent: t.sent.bytes,
        packets_received: t.received.packets,
        bytes_received: t.received.bytes,
        peers: t.peers,
        conversations: t.conversations,
        first_frame: t.first_frame,
        first_seen: t.first.map(|f| f.to_rfc3339()),
        relative_start_s: match (t.first, origin) {
            (Some(first), Some(origin)) => Some(round_micros(first.seconds_since(origin))),
            _ => None,
        },
        duration_s: t.duration().map(round_micros),
        service: transport
            .zip(t.endpoint.port())
            .and_then(|(transport, port)| identify::by_port(transport, port, port).map(AppProtocol::name)),
    }
}

/// The result of `analyze_endpoints` from a finished conversation table.
pub(crate) fn result_of(
    table: &Conversations,
    pass: &Pass,
    budget: &PacketBudget,
    ctx: &RunContext,
    sort_by: SortBy,
    paging: Paging,
    result_bytes: usize,
) -> Result<Value, RunError> {
    let kind = table.kind;
    let mut list = totals(table);
    let by_first = |x: &Totals, y: &Totals| x.first_frame.cmp(&y.first_frame);
    match sort_by {
        SortBy::Bytes => list.sort_by(|x, y| y.bytes().cmp(&x.bytes()).then(by_first(x, y))),
        SortBy::Packets => list.sort_by(|x, y| y.packets().cmp(&x.packets()).then(by_first(x, y))),
        SortBy::Start => list.sort_by(by_first),
        SortBy::Duration => list
            .sort_by(|x, y| y.duration().unwrap_or(0.0).total_cmp(&x.duration().unwrap_or(0.0)).then(by_first(x, y))),
    }
    let total = list.len();
    let (endpoints, pagination) =
        paging.page_of(list.iter().skip(paging.offset).map(|t| entry(t, kind, table.capture_first)), total);
    let result = EndpointsResult {
        header: Header::new(ctx),
        endpoint_type: kind,
        sort_by,
        total_packets: table.total.packets,
        total_bytes: table.total.bytes,
        packets_with_layer: table.counted.packets,
        endpoint_count: total,
        conversation_count: table.list.len(),
        not_tracked: (table.not_tracked.packets > 0)
            .then_some(NotTracked { packets: table.not_tracked.packets, bytes: table.not_tracked.bytes }),
        endpoints,
        pagination,
        capture: pass.path.facts(NoMoreFacts {}),
        envelope: pass.envelope(budget, table.warnings()),
    };
    into_paged_result(&result, "endpoints", paging, result_bytes)
}
