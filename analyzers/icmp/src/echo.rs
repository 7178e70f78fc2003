//! Echo request/reply matching: by requester, responder, identifier and
//! sequence number, for round-trip times and loss per conversation, plus
//! mcpcap's per-identifier request/reply counts.

use std::net::IpAddr;

use pcapsule_guest::Timestamp;
use pcapsule_guest::conventions::{MinAvgMax, OrderedMap};
use pcapsule_guest::fast_hash::HashMap;

use crate::message::EchoKind;
use crate::result::{EchoConversation, EchoPair, EchoRequester, EchoSummary, PayloadBytes, PayloadRange, PayloadSize};
use crate::tables::{BoundedMap, RecentMap, Tally};

/// Conversations tracked; more are counted in the summary only.
const CONVERSATIONS_TRACKED: usize = 4096;
/// Requests remembered while awaiting their reply.
const PENDING_TRACKED: usize = 16_384;
/// Conversations listed in the result.
const CONVERSATIONS_LISTED: usize = 10;
/// Identifiers listed in `echo_pairs`.
const PAIRS_LISTED: usize = 50;
/// Requesters listed as possible sweepers.
const REQUESTERS_LISTED: usize = 20;
/// Echo data above this size is "large": common ping defaults send 32 to 64
/// bytes, so bigger payloads suggest path MTU tests or data carried in ICMP.
pub const LARGE_PAYLOAD_BYTES: usize = 128;

/// Round-trip time statistics, in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rtt {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Rtt {
    /// Adds one sample.
    pub fn add(&mut self, ms: f64) {
        if self.count == 0 {
            self.min = ms;
            self.max = ms;
        } else {
            self.min = self.min.min(ms);
            self.max = self.max.max(ms);
        }
        self.count += 1;
        self.sum += ms;
    }

    /// `{min, avg, max}`, or none without samples.
    pub fn summary(self) -> Option<MinAvgMax> {
        (self.count > 0).then(|| MinAvgMax {
            min: round3(self.min),
            avg: round3(self.sum / self.count as f64),
            max: round3(self.max),
        })
    }
}

/// Milliseconds rounded to the microsecond: finer digits are capture noise.
pub fn round3(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// Milliseconds from `earlier` to `later`, when both are known.
pub fn ms_between(earlier: Option<Timestamp>, later: Option<Timestamp>) -> Option<f64> {
    Some(later?.seconds_since(earlier?) * 1000.0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ConversationKey {
    kind: EchoKind,
    requester: IpAddr,
    responder: IpAddr,
    id: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct PendingKey {
    conversation: ConversationKey,
    seq: u16,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    time: Option<Timestamp>,
    frame: u64,
    ttl: u8,
    answered: bool,
    digest: Option<u64>,
}

#[derive(Debug, Clone, Default)]
struct Conversation {
    requests: u64,
    repeated: u64,
    replies: u64,
    answered: u64,
    duplicates: u64,
    unmatched: u64,
    rtt: Rtt,
    first_seen: Option<Timestamp>,
    last_seen: Option<Timestamp>,
    first_frame: u64,
    payload_min: Option<usize>,
    payload_max: usize,
}

impl Conversation {
    fn seen(&mut self, time: Option<Timestamp>, frame: u64, payload: usize) {
        if self.first_frame == 0 {
            self.first_frame = frame;
            self.first_seen = time;
        }
        if time.is_some() {
            self.last_seen = time;
        }
        self.payload_min = Some(self.payload_min.map_or(payload, |m| m.min(payload)));
        self.payload_max = self.payload_max.max(payload);
    }
}

/// One echo message as the tracker needs it.
pub struct EchoSeen {
    /// Plain or extended echo.
    pub kind: EchoKind,
    /// IP source.
    pub src: IpAddr,
    /// IP destination.
    pub dst: IpAddr,
    /// Identifier.
    pub id: u16,
    /// Sequence number.
    pub seq: u16,
    /// Capture time.
    pub time: Option<Timestamp>,
    /// Frame number.
    pub frame: u64,
    /// TTL or hop limit.
    pub ttl: u8,
    /// Echo data bytes captured.
    pub payload_len: usize,
    /// Digest of the data, when captured whole.
    pub digest: Option<u64>,
}

/// What a reply matched.
#[derive(Debug, Clone, Copy)]
pub struct ReplyMatch {
    /// Frame of the request it answers.
    pub request_frame: u64,
    /// Round-trip time, when both have timestamps.
    pub rtt_ms: Option<f64>,
    /// TTL the request was sent with (seen on the capture point).
    pub request_ttl: u8,
    /// When the request was seen.
    pub request_time: Option<Timestamp>,
    /// A second reply to the same request.
    pub duplicate: bool,
}

/// All echo state; memory bounded by the constants above.
pub struct EchoTracker {
    pairs: HashMap<u16, (u64, u64)>,
    conversations: BoundedMap<ConversationKey, Conversation>,
    pending: RecentMap<PendingKey, Pending>,
    /// Requests to a multicast or broadcast address, by (requester, kind, id, seq):
    /// their replies come from the members, not from the group address.
    group_pending: RecentMap<(IpAddr, EchoKind, u16, u16), IpAddr>,
    requests: u64,
    repeated: u64,
    replies: u64,
    answered: u64,
    duplicates: u64,
    unmatched: u64,
    rtt: Rtt,
    payload_count: u64,
    payload_sum: u64,
    payload_min: Option<usize>,
    payload_max: usize,
    large_payloads: u64,
    payload_sizes: Tally<usize>,
    payload_mismatches: u64,
}

fn is_group(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => a.is_multicast() || a.is_broadcast(),
        IpAddr::V6(a) => a.is_multicast(),
    }
}

impl Default for EchoTracker {
    fn default() -> Self {
        EchoTracker {
            pairs: HashMap::default(),
            conversations: BoundedMap::new(CONVERSATIONS_TRACKED),
            pending: RecentMap::new(PENDING_TRACKED),
            group_pending: RecentMap::new(1024),
            requests: 0,
            repeated: 0,
            replies: 0,
            answered: 0,
            duplicates: 0,
            unmatched: 0,
            rtt: Rtt::default(),
            payload_count: 0,
            payload_sum: 0,
            payload_min: None,
            payload_max: 0,
            large_payloads: 0,
            payload_sizes: Tally::new(1024),
            payload_mismatches: 0,
        }
    }
}

impl EchoTracker {
    fn payload(&mut self, e: &EchoSeen) {
        self.payload_count += 1;
        self.payload_sum += e.payload_len as u64;
        self.payload_min = Some(self.payload_min.map_or(e.payload_len, |m| m.min(e.payload_len)));
        self.payload_max = self.payload_max.max(e.payload_len);
        if e.payload_len > LARGE_PAYLOAD_BYTES {
            self.large_payloads += 1;
        }
        self.payload_sizes.add(e.payload_len);
    }

    /// Records a request.
    pub fn request(&mut self, e: &EchoSeen) {
        self.requests += 1;
        self.payload(e);
        if e.kind == EchoKind::Echo {
            self.pairs.entry(e.id).or_default().0 += 1;
        }
        let conversation = ConversationKey { kind: e.kind, requester: e.src, responder: e.dst, id: e.id };
        let key = PendingKey { conversation, seq: e.seq };
        // The same identifier and sequence again before any reply: a copy
        // (captured twice, or resent), not a new request, so it does not
        // count as one more loss. A reply is matched to the latest copy, as
        // Wireshark does.
        let repeated = match self.pending.get_mut(&key) {
            Some(p) if !p.answered => {
                p.time = e.time;
                p.frame = e.frame;
                true
            }
            _ => false,
        };
        self.repeated += u64::from(repeated);
        if let Some(c) = self.conversations.entry(conversation) {
            c.requests += 1;
            c.repeated += u64::from(repeated);
            c.seen(e.time, e.frame, e.payload_len);
        }
        if !repeated {
            let pending = Pending { time: e.time, frame: e.frame, ttl: e.ttl, answered: false, digest: e.digest };
            self.pending.insert(key, pending);
        }
        if is_group(e.dst) {
            self.group_pending.insert((e.src, e.kind, e.id, e.seq), e.dst);
        }
    }

    /// Records a reply; what it answers, if its request was seen.
    pub fn reply(&mut self, e: &EchoSeen) -> Option<ReplyMatch> {
        self.replies += 1;
        self.payload(e);
        if e.kind == EchoKind::Echo {
            self.pairs.entry(e.id).or_default().1 += 1;
        }
        let mut conversation = ConversationKey { kind: e.kind, requester: e.dst, responder: e.src, id: e.id };
        let mut via_group = false;
        if self.pending.get(&PendingKey { conversation, seq: e.seq }).is_none()
            && let Some(group) = self.group_pending.get(&(e.dst, e.kind, e.id, e.seq))
        {
            conversation.responder = *group;
            via_group = true;
        }
        let matched = match self.pending.get_mut(&PendingKey { conversation, seq: e.seq }) {
            Some(p) => {
                // Several members answering one group request are not duplicates.
                let duplicate = p.answered && !via_group;
                let first_answer = !p.answered;
                p.answered = true;
                let rtt_ms = ms_between(p.time, e.time);
                let mismatch = first_answer && matches!((p.digest, e.digest), (Some(a), Some(b)) if a != b);
                Some((
                    ReplyMatch { request_frame: p.frame, rtt_ms, request_ttl: p.ttl, request_time: p.time, duplicate },
                    first_answer,
                    mismatch,
                ))
            }
            None => None,
        };
        let c = self.conversations.entry(conversation);
        match matched {
            Some((m, first_answer, mismatch)) => {
                if mismatch {
                    self.payload_mismatches += 1;
                }
                if first_answer {
                    self.answered += 1;
                }
                if m.duplicate {
                    self.duplicates += 1;
                }
                if let Some(rtt) = m.rtt_ms.filter(|_| !m.duplicate) {
                    self.rtt.add(rtt);
                }
                if let Some(c) = c {
                    c.replies += 1;
                    c.answered += u64::from(first_answer);
                    c.duplicates += u64::from(m.duplicate);
                    if let Some(rtt) = m.rtt_ms.filter(|_| !m.duplicate) {
                        c.rtt.add(rtt);
                    }
                    c.seen(e.time, e.frame, e.payload_len);
                }
                Some(m)
            }
            None => {
                self.unmatched += 1;
                if let Some(c) = c {
                    c.replies += 1;
                    c.unmatched += 1;
                    c.seen(e.time, e.frame, e.payload_len);
                }
                None
            }
        }
    }

    /// mcpcap's `echo_sessions`: distinct echo identifiers.
    pub fn sessions(&self) -> usize {
        self.pairs.len()
    }

    /// mcpcap's `echo_pairs` (the most active identifiers) and how many were left out.
    pub fn pairs(&self) -> (OrderedMap<u16, EchoPair>, usize) {
        let mut ids: Vec<(&u16, &(u64, u64))> = self.pairs.iter().collect();
        ids.sort_by(|a, b| (b.1.0 + b.1.1).cmp(&(a.1.0 + a.1.1)).then(a.0.cmp(b.0)));
        let omitted = ids.len().saturating_sub(PAIRS_LISTED);
        let listed = ids
            .into_iter()
            .take(PAIRS_LISTED)
            .map(|(id, (requests, replies))| (*id, EchoPair { requests: *requests, replies: *replies }))
            .collect();
        (OrderedMap(listed), omitted)
    }

    /// `echo_summary`.
    pub fn summary(&self) -> EchoSummary {
        let distinct = self.requests - self.repeated;
        let unanswered = distinct.saturating_sub(self.answered);
        let sizes =
            self.payload_sizes.top(10).into_iter().map(|(bytes, messages)| PayloadSize { bytes, messages }).collect();
        EchoSummary {
            requests: self.requests,
            repeated_requests: self.repeated,
            replies: self.replies,
            answered_requests: self.answered,
            unanswered_requests: unanswered,
            duplicate_replies: self.duplicates,
            unmatched_replies: self.unmatched,
            loss_percent: loss(distinct, unanswered),
            rtt_ms: self.rtt.summary(),
            payload_bytes: (self.payload_count > 0).then(|| PayloadBytes {
                min: self.payload_min,
                avg: round3(self.payload_sum as f64 / self.payload_count as f64),
                max: self.payload_max,
            }),
            large_payloads: self.large_payloads,
            distinct_payload_sizes: self.payload_sizes.len(),
            common_payload_sizes: sizes,
            reply_payload_mismatches: self.payload_mismatches,
            conversations_tracked: self.conversations.len(),
            conversations_untracked_messages: self.conversations.untracked(),
            pending_requests_evicted: self.pending.evicted(),
        }
    }

    /// `echo_conversations`: the most active ones, and how many were left out.
    pub fn conversations(&self) -> (Vec<EchoConversation>, usize) {
        let mut all: Vec<(&ConversationKey, &Conversation)> = self.conversations.iter().collect();
        all.sort_by(|a, b| {
            (b.1.requests + b.1.replies).cmp(&(a.1.requests + a.1.replies)).then(a.1.first_frame.cmp(&b.1.first_frame))
        });
        let omitted = all.len().saturating_sub(CONVERSATIONS_LISTED);
        let listed = all
            .into_iter()
            .take(CONVERSATIONS_LISTED)
            .map(|(k, c)| {
                let distinct = c.requests - c.repeated;
                let unanswered = distinct.saturating_sub(c.answered);
                EchoConversation {
                    kind: k.kind.as_str(),
                    ip_version: if k.requester.is_ipv4() { 4 } else { 6 },
                    requester: k.requester,
                    responder: k.responder,
                    icmp_id: k.id,
                    requests: c.requests,
                    repeated_requests: c.repeated,
                    replies: c.replies,
                    answered_requests: c.answered,
                    unanswered_requests: unanswered,
                    duplicate_replies: c.duplicates,
                    unmatched_replies: c.unmatched,
                    loss_percent: loss(distinct, unanswered),
                    rtt_ms: c.rtt.summary(),
                    payload_bytes: PayloadRange { min: c.payload_min, max: c.payload_max },
                    first_seen: c.first_seen.map(|t| t.to_rfc3339()),
                    last_seen: c.last_seen.map(|t| t.to_rfc3339()),
                }
            })
            .collect();
        (listed, omitted)
    }

    /// Who sent echo requests to the most destinations: a ping sweep shows as
    /// one requester with many responders and few answers.
    pub fn requesters(&self) -> Vec<EchoRequester> {
        #[derive(Default)]
        struct Requester {
            destinations: u64,
            answered_destinations: u64,
            requests: u64,
            answered: u64,
        }
        let mut by: HashMap<IpAddr, Requester> = HashMap::default();
        for (k, c) in self.conversations.iter().filter(|(k, c)| k.kind == EchoKind::Echo && c.requests > 0) {
            let r = by.entry(k.requester).or_default();
            r.destinations += 1;
            r.answered_destinations += u64::from(c.answered > 0);
            r.requests += c.requests;
            r.answered += c.answered;
        }
        let mut all: Vec<(IpAddr, Requester)> = by.into_iter().collect();
        all.sort_by(|a, b| {
            b.1.destinations.cmp(&a.1.destinations).then(b.1.requests.cmp(&a.1.requests)).then(a.0.cmp(&b.0))
        });
        all.into_iter()
            .take(REQUESTERS_LISTED)
            .map(|(ip, r)| EchoRequester {
                source: ip,
                destinations: r.destinations,
                answering_destinations: r.answered_destinations,
                requests: r.requests,
                answered_requests: r.answered,
            })
            .collect()
    }
}

fn loss(requests: u64, unanswered: u64) -> Option<f64> {
    (requests > 0).then(|| round3(unanswered as f64 * 100.0 / requests as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(src: [u8; 4], dst: [u8; 4], seq: u16, at_ms: u32) -> EchoSeen {
        EchoSeen {
            kind: EchoKind::Echo,
            src: IpAddr::from(src),
            dst: IpAddr::from(dst),
            id: 7,
            seq,
            time: Some(Timestamp::from_ticks(100, u64::from(at_ms) * 1000, 1_000_000)),
            frame: u64::from(at_ms),
            ttl: 64,
            payload_len: 56,
            digest: Some(1),
        }
    }

    #[test]
    fn matches_replies_and_counts_loss_duplicates_and_strays() {
        let mut t = EchoTracker::default();
        let (a, b) = ([10, 0, 0, 1], [10, 0, 0, 2]);
        t.request(&seen(a, b, 1, 0));
        let m = t.reply(&seen(b, a, 1, 5)).unwrap();
        assert_eq!((m.request_frame, m.duplicate), (0, false));
        assert!((m.rtt_ms.unwrap() - 5.0).abs() < 1e-9);
        assert!(t.reply(&seen(b, a, 1, 6)).unwrap().duplicate);
        t.request(&seen(a, b, 2, 10));
        assert!(t.reply(&seen(b, a, 9, 12)).is_none(), "no such request");
        // Seq 3 captured twice, answered once: one request, no loss.
        t.request(&seen(a, b, 3, 20));
        t.request(&seen(a, b, 3, 21));
        assert_eq!(t.reply(&seen(b, a, 3, 25)).unwrap().request_frame, 21, "matched to the latest copy");
        let s = t.summary();
        assert_eq!(
            (s.requests, s.replies, s.answered_requests, s.duplicate_replies, s.unmatched_replies),
            (4, 4, 2, 1, 1)
        );
        assert_eq!((s.repeated_requests, s.loss_percent), (1, Some(33.333)));
        assert_eq!(s.rtt_ms.unwrap().max, 5.0, "duplicates do not count as round trips");
        let (conversations, omitted) = t.conversations();
        assert_eq!((conversations.len(), omitted), (1, 0));
        assert_eq!(conversations[0].unanswered_requests, 1);
    }

    #[test]
    fn group_requests_match_member_replies() {
        let mut t = EchoTracker::default();
        t.request(&seen([10, 0, 0, 1], [224, 0, 0, 1], 1, 0));
        assert!(t.reply(&seen([10, 0, 0, 5], [10, 0, 0, 1], 1, 2)).is_some());
        let second = t.reply(&seen([10, 0, 0, 6], [10, 0, 0, 1], 1, 3)).unwrap();
        assert!(!second.duplicate);
        assert_eq!(t.summary().unanswered_requests, 0);
    }

    #[test]
    fn requesters_rank_sweeps_first() {
        let mut t = EchoTracker::default();
        for host in 1..=20u8 {
            t.request(&seen([10, 0, 0, 99], [10, 0, 1, host], 1, 0));
        }
        t.request(&seen([10, 0, 0, 1], [10, 0, 0, 2], 1, 0));
        let r = t.requesters();
        assert_eq!((r[0].source, r[0].destinations), (IpAddr::from([10, 0, 0, 99]), 20));
    }
}
