//! Everything learned from the DNS messages of one capture, accumulated in
//! bounded memory and rendered once at the end.

use std::collections::{BTreeMap, VecDeque};

use pcapsule_guest::fast_hash::{HashMap, stable_hash};
use std::collections::hash_map::Entry;
use std::net::IpAddr;

use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::RecordType;
use pcapsule_guest::Timestamp;
use pcapsule_guest::conventions::{MinAvgMax, Observation, PageCollector, PageInfo};
use serde_json::Value;

use crate::digest::Digest;
use crate::records::{self, name_text, opcode_name, rcode_name, rcode_text, type_name, write_name_text};
use crate::result::{
    ClientCount, DuplicateResponse, Finding, MalformedExample, MalformedMessage, MessageBody, MessageEntry, NameCount,
    ParsedMessage, QrFlag, QuestionEntry, ResponseTimeHistogram, ServerCount, SlowQuery, Statistics,
    TransactionSummary, UnansweredQuery,
};
use crate::scan::{FoundMessage, Transport};
use pcapsule_guest::bounded::{DistinctCounter, TopCounter};

/// Rows in each top-N table of the result.
const TOP: usize = 20;
/// Names listed in `unique_domains`.
const LISTED_DOMAINS: usize = 100;
/// Examples listed per kind of problem or observation.
const EXAMPLES: usize = 10;
/// A query unanswered this long (capture time) is counted as unanswered.
const ANSWER_WINDOW_SECS: f64 = 30.0;
/// Transactions tracked at once, answered or not: queries within the answer
/// window. Past this the oldest is forgotten, so a query flood costs a fixed
/// amount of memory.
const MAX_TRACKED: usize = 100_000;

/// Who asked whom, what: identifies a transaction. Fixed-size, with the
/// question as a hash: a busy resolver has tens of thousands of these in
/// the answer window, and a name per key would double their memory and cost
/// an allocation per message.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct TransactionKey {
    client: IpAddr,
    client_port: u16,
    /// `None` when the query went to a multicast group (mDNS, LLMNR): the
    /// answer comes from whoever responds.
    server: Option<IpAddr>,
    id: u16,
    /// [`question_hash`] of the first question's name and type.
    question: u64,
}

/// The first question of a message: its name (lowercased) and type.
struct Question<'a> {
    name: &'a str,
    qtype: u16,
    /// [`stable_hash`] of `name`, computed once for every table it feeds.
    name_hash: u64,
}

impl Question<'_> {
    /// The question in a [`TransactionKey`].
    fn hash(&self) -> u64 {
        stable_hash((self.name_hash, self.qtype))
    }
}

struct Pending {
    /// The latest attempt: a response answers the query sent last.
    packet_number: u64,
    sent: Timestamp,
    /// Times the query was sent (retransmissions repeat its key).
    attempts: u64,
    server: IpAddr,
    /// Kept for the unanswered examples.
    name: String,
    qtype: u16,
}

/// A transaction in the answer window.
enum Tracked {
    /// Not answered yet.
    Pending(Pending),
    /// Answered: kept for the answer window to spot duplicate responses.
    Answered,
}

/// Query/response matching with response times.
struct Transactions {
    /// Every transaction in the answer window, answered or not: one table,
    /// so a query or a response costs one lookup (a second table of
    /// answered keys cost a cache miss per message on busy captures).
    tracked: HashMap<TransactionKey, Tracked>,
    order: VecDeque<(Timestamp, TransactionKey)>,
    matched: u64,
    /// Unicast queries sent that no response answered, retransmissions included.
    unanswered: u64,
    /// The same for queries to a multicast group (mDNS, LLMNR), where
    /// silence usually means only that nobody has the name.
    unanswered_multicast: u64,
    /// Queries repeating one still unanswered (same client, port, server, id and question).
    retransmitted: u64,
    unanswered_examples: Vec<UnansweredQuery>,
    duplicates: u64,
    duplicate_examples: Vec<DuplicateResponse>,
    unsolicited: u64,
    dropped_for_capacity: u64,
    rtt_min: f64,
    rtt_max: f64,
    rtt_sum: f64,
    /// Response-time histogram, bucket upper bounds in ms.
    histogram: [u64; 9],
    slowest: Vec<(f64, SlowQuery)>,
}

const HISTOGRAM_BOUNDS_MS: [f64; 8] = [1.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0];

impl Default for Transactions {
    fn default() -> Self {
        Transactions {
            tracked: HashMap::default(),
            order: VecDeque::new(),
            matched: 0,
            unanswered: 0,
            unanswered_multicast: 0,
            retransmitted: 0,
            unanswered_examples: Vec::new(),
            duplicates: 0,
            duplicate_examples: Vec::new(),
            unsolicited: 0,
            dropped_for_capacity: 0,
            rtt_min: 0.0,
            rtt_max: 0.0,
            rtt_sum: 0.0,
            histogram: [0; 9],
            slowest: Vec::new(),
        }
    }
}

impl Transactions {
    /// Expires queries older than the answer window at `now`.
    fn expire(&mut self, now: Timestamp) {
        while let Some((sent, _)) = self.order.front() {
            if now.seconds_since(*sent) < ANSWER_WINDOW_SECS {
                break;
            }
            let (sent, key) = self.order.pop_front().expect("peeked");
            // A retransmission moved the query's time on: this entry is stale.
            if matches!(self.tracked.get(&key), Some(Tracked::Pending(p)) if p.sent > sent) {
                continue;
            }
            self.retire(key);
        }
    }

    fn retire(&mut self, key: TransactionKey) {
        if let Some(Tracked::Pending(p)) = self.tracked.remove(&key) {
            if key.server.is_none() {
                self.unanswered_multicast += p.attempts;
                return;
            }
            self.unanswered += p.attempts;
            if self.unanswered_examples.len() < EXAMPLES {
                self.unanswered_examples.push(UnansweredQuery {
                    packet_number: p.packet_number,
                    name: p.name,
                    qtype: type_name(RecordType::from(p.qtype)),
                    client: key.client.to_string(),
                    server: p.server.to_string(),
                    dns_id: key.id,
                    attempts: p.attempts,
                });
            }
        }
    }

    fn query(&mut self, key: TransactionKey, question: &Question<'_>, found: &FoundMessage<'_>, sent: Timestamp) {
        self.expire(sent);
        if self.order.len() >= MAX_TRACKED {
            // Oldest first: they are the likeliest to stay unanswered anyway.
            if let Some((queued, oldest)) = self.order.pop_front() {
                match self.tracked.get(&oldest) {
                    // The stale place of a retransmitted query: it is queued again later.
                    Some(Tracked::Pending(p)) if p.sent > queued => {}
                    Some(Tracked::Pending(_)) => {
                        self.tracked.remove(&oldest);
                        self.dropped_for_capacity += 1;
                    }
                    Some(Tracked::Answered) => {
                        self.tracked.remove(&oldest);
                    }
                    None => {}
                }
            }
        }
        self.order.push_back((sent, key));
        let new = || {
            Tracked::Pending(Pending {
                packet_number: found.packet_number,
                sent,
                server: found.dst,
                attempts: 1,
                name: question.name.to_string(),
                qtype: question.qtype,
            })
        };
        match self.tracked.entry(key) {
            Entry::Occupied(mut tracked) => match tracked.get_mut() {
                // A retransmission: the transaction stays one, its clock restarts.
                Tracked::Pending(p) => {
                    p.attempts += 1;
                    p.packet_number = found.packet_number;
                    p.sent = sent;
                    self.retransmitted += 1;
                }
                // The same question again after its answer: a new transaction.
                answered @ Tracked::Answered => *answered = new(),
            },
            Entry::Vacant(slot) => {
                slot.insert(new());
            }
        }
    }

    /// Matches a response; returns its response time in ms when it answers a
    /// query seen in the capture.
    fn response(
        &mut self,
        keys: [TransactionKey; 2],
        question: &Question<'_>,
        found: &FoundMessage<'_>,
        at: Timestamp,
    ) -> Option<f64> {
        self.expire(at);
        for key in keys {
            let Some(tracked) = self.tracked.get_mut(&key) else { continue };
            if let Tracked::Pending(p) = tracked {
                let (sent, query_packet) = (p.sent, p.packet_number);
                *tracked = Tracked::Answered;
                let ms = at.seconds_since(sent) * 1000.0;
                self.record_rtt(ms, &key, question, found, query_packet);
                return Some(ms);
            }
            // Answered already: a duplicate response.
            self.duplicates += 1;
            if self.duplicate_examples.len() < EXAMPLES {
                self.duplicate_examples.push(DuplicateResponse {
                    packet_number: found.packet_number,
                    name: question.name.to_string(),
                    dns_id: key.id,
                    server: found.src.to_string(),
                });
            }
            return None;
        }
        self.unsolicited += 1;
        None
    }

    fn record_rtt(
        &mut self,
        ms: f64,
        key: &TransactionKey,
        question: &Question<'_>,
        found: &FoundMessage<'_>,
        query_packet: u64,
    ) {
        if self.matched == 0 || ms < self.rtt_min {
            self.rtt_min = ms;
        }
        self.rtt_max = self.rtt_max.max(ms);
        self.rtt_sum += ms;
        self.matched += 1;
        let bucket = HISTOGRAM_BOUNDS_MS.iter().position(|b| ms < *b).unwrap_or(HISTOGRAM_BOUNDS_MS.len());
        self.histogram[bucket] += 1;
        if self.slowest.len() < EXAMPLES || ms > self.slowest.last().map_or(0.0, |s| s.0) {
            let entry = SlowQuery {
                response_time_ms: round3(ms),
                name: question.name.to_string(),
                qtype: type_name(RecordType::from(question.qtype)),
                client: key.client.to_string(),
                server: found.src.to_string(),
                query_packet,
                response_packet: found.packet_number,
            };
            self.slowest.push((ms, entry));
            self.slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
            self.slowest.truncate(EXAMPLES);
        }
    }

    fn finish(&mut self) {
        let keys: Vec<TransactionKey> = self.order.drain(..).map(|(_, k)| k).collect();
        for key in keys {
            self.retire(key);
        }
    }

    fn summary(self) -> TransactionSummary {
        TransactionSummary {
            matched: self.matched,
            unanswered_queries: self.unanswered,
            unanswered_multicast_queries: self.unanswered_multicast,
            retransmitted_queries: self.retransmitted,
            duplicate_responses: self.duplicates,
            unsolicited_responses: self.unsolicited,
            response_time_ms: (self.matched > 0).then(|| MinAvgMax {
                min: round3(self.rtt_min),
                avg: round3(self.rtt_sum / self.matched as f64),
                max: round3(self.rtt_max),
            }),
            response_time_histogram: ResponseTimeHistogram::of(self.histogram),
            slowest: self.slowest.into_iter().map(|(_, s)| s).collect(),
            unanswered_examples: self.unanswered_examples,
            duplicate_examples: self.duplicate_examples,
            untracked_for_capacity: self.dropped_for_capacity,
            answer_window_seconds: ANSWER_WINDOW_SECS,
        }
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Signals worth an analyst's look, gathered from query names.
#[derive(Default)]
struct Indicators {
    long_labels: u64,
    long_label_examples: Vec<String>,
    high_entropy: u64,
    high_entropy_examples: Vec<String>,
    subdomains: HashMap<String, DistinctCounter>,
    parents_untracked: u64,
    parent_scratch: String,
}

/// Longest label length considered ordinary.
const LONG_LABEL: usize = 40;
/// Shortest leftmost label whose entropy is judged, and the bits/char above
/// which it looks encoded or random rather than chosen by a person.
const ENTROPY_MIN_LEN: usize = 16;
const ENTROPY_BITS: f64 = 3.8;
/// Parents tracked for the "many subdomains" signal, and subdomains per parent.
const MAX_PARENTS: usize = 2000;
/// Subdomains per parent counted exactly; beyond, an estimate (plenty to
/// tell a handful from a tunnel's thousands).
const EXACT_SUBDOMAINS: usize = 128;
/// Distinct subdomains under one parent worth reporting.
const MANY_SUBDOMAINS: u64 = 50;

impl Indicators {
    /// `name` as queried, `lower` the same lowercased, `lower_hash` its
    /// [`stable_hash`].
    fn query_name(&mut self, name: &str, lower: &str, lower_hash: u64) {
        // One walk over the labels for all three signals.
        let (mut first, mut count, mut long) = (None, 0usize, false);
        for label in name.split('.').filter(|l| !l.is_empty()) {
            first.get_or_insert(label);
            count += 1;
            long |= label.len() >= LONG_LABEL;
        }
        if long {
            self.long_labels += 1;
            push_example(&mut self.long_label_examples, name);
        }
        if let Some(first) = first
            && first.len() >= ENTROPY_MIN_LEN
            && entropy(first) >= ENTROPY_BITS
        {
            self.high_entropy += 1;
            push_example(&mut self.high_entropy_examples, name);
        }
        if count < 3 {
            return;
        }
        let mut last_two = lower.rsplit('.').filter(|l| !l.is_empty());
        let (Some(tld), Some(second)) = (last_two.next(), last_two.next()) else { return };
        // Built in a reused buffer: most queries hit a parent already tracked.
        let parent = &mut self.parent_scratch;
        parent.clear();
        parent.push_str(second);
        parent.push('.');
        parent.push_str(tld);
        let tracked = self.subdomains.len();
        match self.subdomains.get_mut(parent.as_str()) {
            Some(set) => {
                set.insert_hash(lower_hash);
            }
            None if tracked < MAX_PARENTS => {
                let mut set = DistinctCounter::new(EXACT_SUBDOMAINS);
                set.insert_hash(lower_hash);
                self.subdomains.insert(parent.clone(), set);
            }
            None => self.parents_untracked += 1,
        }
    }
}

fn push_example(examples: &mut Vec<String>, name: &str) {
    if examples.len() < EXAMPLES && !examples.iter().any(|e| e == name) {
        examples.push(name.to_string());
    }
}

/// Shannon entropy in bits per character.
fn entropy(text: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in text.bytes() {
        counts[usize::from(b.to_ascii_lowercase())] += 1;
    }
    let n = text.len() as f64;
    counts.iter().filter(|c| **c > 0).map(|c| f64::from(*c) / n).map(|p| -p * p.log2()).sum()
}

/// The accumulated analysis.
pub struct Analysis {
    page: PageCollector<MessageEntry>,
    messages: u64,
    queries: u64,
    responses: u64,
    on_other_ports: u64,
    malformed: u64,
    malformed_examples: Vec<MalformedExample>,
    transports: BTreeMap<&'static str, u64>,
    // Keyed by number, named when rendered: no string per message.
    opcodes: BTreeMap<u8, u64>,
    rcodes: BTreeMap<u16, u64>,
    query_types: TopCounter<u16>,
    queried_names: TopCounter<String>,
    question_names: TopCounter<String>,
    distinct_names: DistinctCounter,
    clients: TopCounter<IpAddr>,
    servers: TopCounter<IpAddr>,
    truncated_responses: u64,
    authoritative_responses: u64,
    edns_messages: u64,
    dnssec_ok_messages: u64,
    mdns_messages: u64,
    txt_queries: u64,
    transactions: Transactions,
    indicators: Indicators,
    digest: Digest,
    names: NameBuffers,
}

/// A question's name as text, lowercased, and the first question's
/// (lowercased), kept from message to message so that rendering a name
/// allocates nothing.
#[derive(Default)]
struct NameBuffers {
    text: String,
    lower: String,
    first: String,
}

impl Analysis {
    /// Starts an analysis whose per-message list is collected into `page`.
    pub fn new(page: PageCollector<MessageEntry>) -> Self {
        Analysis {
            page,
            messages: 0,
            queries: 0,
            responses: 0,
            on_other_ports: 0,
            malformed: 0,
            malformed_examples: Vec::new(),
            transports: BTreeMap::new(),
            opcodes: BTreeMap::new(),
            rcodes: BTreeMap::new(),
            query_types: TopCounter::new(1000),
            queried_names: TopCounter::new(20_000),
            question_names: TopCounter::new(20_000),
            distinct_names: DistinctCounter::default(),
            clients: TopCounter::new(10_000),
            servers: TopCounter::new(10_000),
            truncated_responses: 0,
            authoritative_responses: 0,
            edns_messages: 0,
            dnssec_ok_messages: 0,
            mdns_messages: 0,
            txt_queries: 0,
            transactions: Transactions::default(),
            indicators: Indicators::default(),
            digest: Digest::default(),
            names: NameBuffers::default(),
        }
    }

    /// DNS messages seen (parsed or not).
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// Takes one message found in the capture.
    pub fn message(&mut self, found: FoundMessage<'_>) {
        self.messages += 1;
        *self.transports.entry(found.transport.name()).or_default() += 1;
        if !found.on_dns_port {
            self.on_other_ports += 1;
        }
        if found.src_port == 5353 || found.dst_port == 5353 {
            self.mdns_messages += 1;
        }
        if let Err(too_costly) = crate::compression::check(found.bytes) {
            self.malformed(&found, &too_costly.describe());
            return;
        }
        // The digest's storage is reused from message to message.
        let mut digest = std::mem::take(&mut self.digest);
        match digest.read(found.bytes) {
            Ok(()) => self.parsed(&found, &digest),
            Err(error) => self.malformed(&found, &error.to_string()),
        }
        self.digest = digest;
    }

    fn parsed(&mut self, found: &FoundMessage<'_>, message: &Digest) {
        let is_response = message.metadata.message_type == MessageType::Response;
        let opcode = u8::from(message.metadata.op_code);
        *self.opcodes.entry(opcode).or_default() += 1;
        if message.edns.is_some() {
            self.edns_messages += 1;
        }
        if message.edns.is_some_and(|e| e.dnssec_ok) {
            self.dnssec_ok_messages += 1;
        }
        // Each question's name is rendered and hashed once, into buffers
        // reused from message to message: it feeds several tables.
        let names = &mut self.names;
        let mut first = None;
        for (index, query) in message.queries.iter().enumerate() {
            write_name_text(&query.name, &mut names.text);
            names.lower.clear();
            names.lower.push_str(&names.text);
            names.lower.make_ascii_lowercase();
            let name_hash = stable_hash(names.lower.as_str());
            self.distinct_names.insert_hash(name_hash);
            self.question_names.add(names.lower.as_str());
            if !is_response {
                self.query_types.add(&u16::from(query.query_type));
                self.queried_names.add(names.lower.as_str());
                if query.query_type == RecordType::TXT {
                    self.txt_queries += 1;
                }
                self.indicators.query_name(&names.text, &names.lower, name_hash);
            }
            if index == 0 {
                names.first.clear();
                names.first.push_str(&names.lower);
                first = Some((u16::from(query.query_type), name_hash));
            }
        }
        let question = first.map(|(qtype, name_hash)| Question { name: &names.first, qtype, name_hash });
        let (client, client_port, server) =
            if is_response { (found.dst, found.dst_port, found.src) } else { (found.src, found.src_port, found.dst) };
        let mut response_time = None;
        if is_response {
            self.responses += 1;
            *self.rcodes.entry(u16::from(message.metadata.response_code)).or_default() += 1;
            self.servers.add(&server);
            if message.metadata.truncation {
                self.truncated_responses += 1;
            }
            if message.metadata.authoritative {
                self.authoritative_responses += 1;
            }
            if let (Some(at), Some(question)) = (found.timestamp, question) {
                let hash = question.hash();
                let key =
                    |server| TransactionKey { client, client_port, server, id: message.metadata.id, question: hash };
                response_time = self.transactions.response([key(Some(server)), key(None)], &question, found, at);
            }
        } else {
            self.queries += 1;
            self.clients.add(&client);
            if let (Some(sent), Some(question)) = (found.timestamp, question)
                && opcode == 0
            {
                let server = (!is_multicast(server)).then_some(server);
                let key =
                    TransactionKey { client, client_port, server, id: message.metadata.id, question: question.hash() };
                self.transactions.query(key, &question, found, sent);
            }
        }
        // The few messages shown are decoded in full; the digest read them
        // by the same rules, so this cannot fail but is not trusted to.
        self.page.offer(|| match Message::from_vec(found.bytes) {
            Ok(message) => packet_entry(found, &message, response_time),
            Err(error) => malformed_entry(found, &error.to_string()),
        });
    }

    fn malformed(&mut self, found: &FoundMessage<'_>, error: &str) {
        self.malformed += 1;
        // hickory refuses the whole message; the fixed 12-byte header is
        // still worth reading so the message counts as query or response, as
        // Wireshark counts it.
        let header = found.bytes.get(..12);
        let is_response = header.map(|h| h[2] & 0x80 != 0);
        match is_response {
            Some(true) => self.responses += 1,
            Some(false) => self.queries += 1,
            None => {}
        }
        if self.malformed_examples.len() < EXAMPLES {
            self.malformed_examples.push(MalformedExample { packet_number: found.packet_number, error: error.into() });
        }
        self.page.offer(|| malformed_entry(found, error));
    }

    /// Renders statistics, transactions, observations and the page.
    pub fn finish(
        mut self,
    ) -> (Statistics, TransactionSummary, Vec<Observation<Finding>>, Vec<MessageEntry>, PageInfo) {
        self.transactions.finish();
        let unique_domains: Vec<String> = self.question_names.top(LISTED_DOMAINS).into_iter().map(|(n, _)| n).collect();
        let names = |c: &TopCounter<String>| c.top(TOP);
        // Ties broken by the address's text, as when the tables held text.
        let addresses = |c: &TopCounter<IpAddr>| c.top_by_text(TOP, IpAddr::to_string);
        let opcodes: BTreeMap<String, u64> = self.opcodes.iter().map(|(code, n)| (opcode_name(*code), *n)).collect();
        let rcodes: BTreeMap<String, u64> = self.rcodes.iter().map(|(code, n)| (rcode_text(*code), *n)).collect();
        let query_types = self.query_types.top_by_text(50, |t| type_name(RecordType::from(*t)));
        let observations = self.observations();
        let statistics = Statistics {
            queries: self.queries,
            responses: self.responses,
            unique_domains_queried: self.distinct_names.count(),
            unique_domains,
            unique_domains_exact: self.distinct_names.is_exact(),
            messages: self.messages,
            malformed_messages: self.malformed,
            malformed_examples: self.malformed_examples,
            found_on_other_ports: self.on_other_ports,
            mdns_messages: self.mdns_messages,
            transports: self.transports,
            opcodes,
            rcodes,
            query_types: query_types.into_iter().collect(),
            top_queried_names: names(&self.queried_names)
                .into_iter()
                .map(|(name, count)| NameCount { name, count })
                .collect(),
            top_clients: addresses(&self.clients)
                .into_iter()
                .map(|(client, count)| ClientCount { client, count })
                .collect(),
            top_resolvers: addresses(&self.servers)
                .into_iter()
                .map(|(server, count)| ServerCount { server, count })
                .collect(),
            truncated_responses: self.truncated_responses,
            authoritative_responses: self.authoritative_responses,
            edns_messages: self.edns_messages,
            dnssec_ok_messages: self.dnssec_ok_messages,
            tables_exact: self.queried_names.is_exact() && self.clients.is_exact() && self.servers.is_exact(),
        };
        let (packets, info) = self.page.finish();
        (statistics, self.transactions.summary(), observations, packets, info)
    }

    fn observations(&self) -> Vec<Observation<Finding>> {
        let mut out = Vec::new();
        let mut note = |kind: Finding, detail: String, examples: Vec<Value>| {
            out.push(Observation { examples, ..Observation::new(kind, detail) });
        };
        if self.indicators.long_labels > 0 {
            note(
                Finding::LongLabels,
                format!(
                    "{} queries have a label of {LONG_LABEL}+ characters (data encoded in names?)",
                    self.indicators.long_labels
                ),
                values(&self.indicators.long_label_examples),
            );
        }
        if self.indicators.high_entropy > 0 {
            note(
                Finding::HighEntropyLabels,
                format!(
                    "{} queries start with a {ENTROPY_MIN_LEN}+ character label of random-looking text (DGA or tunneling?)",
                    self.indicators.high_entropy
                ),
                values(&self.indicators.high_entropy_examples),
            );
        }
        let mut parents: Vec<(&String, u64)> = self
            .indicators
            .subdomains
            .iter()
            .map(|(p, s)| (p, s.count()))
            .filter(|(_, n)| *n >= MANY_SUBDOMAINS)
            .collect();
        parents.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        if !parents.is_empty() {
            let rows: Vec<Value> = parents
                .iter()
                .take(EXAMPLES)
                .map(|(p, n)| serde_json::json!({"parent": p, "unique_subdomains": n}))
                .collect();
            note(
                Finding::ManySubdomains,
                format!(
                    "{} parent domains have {MANY_SUBDOMAINS}+ distinct subdomains queried (tunneling, DGA or a CDN)",
                    parents.len()
                ),
                rows,
            );
        }
        if self.txt_queries >= 20 && self.txt_queries * 4 >= self.queries {
            note(
                Finding::TxtHeavy,
                format!(
                    "{} of {} queries ask for TXT records (TXT is a common tunneling carrier)",
                    self.txt_queries, self.queries
                ),
                Vec::new(),
            );
        }
        let nxdomain = self.rcodes.get(&3).copied().unwrap_or(0);
        if nxdomain >= 10 && nxdomain * 10 >= self.responses * 3 {
            note(
                Finding::NxdomainHeavy,
                format!(
                    "{nxdomain} of {} responses are NXDOMAIN (typos, stale config, or DGA lookups)",
                    self.responses
                ),
                Vec::new(),
            );
        }
        for (code, rcode) in [(2, "SERVFAIL"), (5, "REFUSED")] {
            if let Some(n) = self.rcodes.get(&code).filter(|n| **n > 0) {
                note(
                    Finding::ServerErrors,
                    format!("{n} responses are {rcode}: a resolver failing or refusing clients"),
                    Vec::new(),
                );
            }
        }
        if self.truncated_responses > 0 {
            note(
                Finding::TruncatedResponses,
                format!("{} responses have the TC flag: clients should retry over TCP", self.truncated_responses),
                Vec::new(),
            );
        }
        let t = &self.transactions;
        if t.unanswered >= 5 && t.unanswered * 10 >= t.unanswered + t.matched {
            note(
                Finding::UnansweredQueries,
                format!(
                    "{} queries got no response within {ANSWER_WINDOW_SECS} s (resolver unreachable or filtered?)",
                    t.unanswered
                ),
                values(&t.unanswered_examples),
            );
        }
        out
    }
}

fn is_multicast(ip: IpAddr) -> bool {
    ip.is_multicast() || matches!(ip, IpAddr::V4(v4) if v4.is_broadcast())
}

/// Examples of an observation, as JSON.
fn values<T: serde::Serialize>(items: &[T]) -> Vec<Value> {
    items.iter().map(|item| serde_json::to_value(item).unwrap_or(Value::Null)).collect()
}

/// A message's entry: where it was found, then `body`.
fn entry(found: &FoundMessage<'_>, body: MessageBody) -> MessageEntry {
    MessageEntry {
        packet_number: found.packet_number,
        timestamp: found.timestamp.map(|t| t.to_rfc3339()),
        source_ip: found.src.to_string(),
        destination_ip: found.dst.to_string(),
        source_port: found.src_port,
        destination_port: found.dst_port,
        protocol: found.transport.name(),
        body,
    }
}

/// The entry of a message hickory refused, with what its fixed header says.
fn malformed_entry(found: &FoundMessage<'_>, error: &str) -> MessageEntry {
    let header = found.bytes.get(..12);
    let body = MalformedMessage {
        malformed: error.into(),
        dns_id: header.map(|h| u16::from_be_bytes([h[0], h[1]])),
        flags: header.map(|h| QrFlag { is_response: h[2] & 0x80 != 0 }),
        summary: format!("Malformed DNS message: {error}"),
    };
    entry(found, MessageBody::Malformed(body))
}

fn packet_entry(found: &FoundMessage<'_>, message: &Message, response_time: Option<f64>) -> MessageEntry {
    let questions = message
        .queries
        .iter()
        .map(|q| QuestionEntry {
            name: name_text(&q.name),
            qtype: u16::from(q.query_type),
            type_name: type_name(q.query_type),
            class: u16::from(q.query_class),
        })
        .collect();
    let section = |records: &[hickory_proto::rr::Record]| records.iter().map(records::record_entry).collect();
    let is_response = message.metadata.message_type == MessageType::Response;
    let parsed = ParsedMessage {
        dns_id: message.metadata.id,
        flags: records::flags(message),
        opcode: opcode_name(records::opcode_number(message)),
        rcode: is_response.then(|| rcode_name(message)),
        questions,
        answers: section(&message.answers),
        authorities: section(&message.authorities),
        additionals: section(&message.additionals),
        edns: records::edns(message),
        response_time_ms: response_time.map(round3),
        summary: records::summary(message),
        detected_by: (found.transport == Transport::Udp && !found.on_dns_port).then_some("content"),
    };
    entry(found, MessageBody::Parsed(Box::new(parsed)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query_from(client_port: u16, at: Timestamp) -> (TransactionKey, Question<'static>, FoundMessage<'static>) {
        let client: IpAddr = "10.0.0.1".parse().unwrap();
        let server: IpAddr = "10.0.0.53".parse().unwrap();
        let question = Question { name: "example.com", qtype: 1, name_hash: stable_hash("example.com") };
        let key = TransactionKey { client, client_port, server: Some(server), id: 7, question: question.hash() };
        let found = FoundMessage {
            packet_number: u64::from(client_port),
            timestamp: Some(at),
            src: client,
            dst: server,
            src_port: client_port,
            dst_port: 53,
            transport: Transport::Udp,
            bytes: &[],
            on_dns_port: true,
        };
        (key, question, found)
    }

    #[test]
    fn a_query_flood_is_tracked_in_bounded_memory_and_answers_still_match() {
        let mut t = Transactions::default();
        let at = Timestamp { secs: 1_700_000_000, nanos: 0 };
        let flood = MAX_TRACKED + 25;
        for i in 0..flood {
            let (key, question, found) = query_from((i % 60_000) as u16 + 1024, at);
            let key = TransactionKey { id: (i / 60_000) as u16, ..key };
            t.query(key, &question, &found, at);
        }
        assert_eq!(t.order.len(), MAX_TRACKED, "the window holds at most MAX_TRACKED transactions");
        assert_eq!(t.dropped_for_capacity, 25, "the oldest unanswered queries were let go");
        assert_eq!(t.tracked.len(), MAX_TRACKED);
        // The newest query is still matched, and answered keys are kept for
        // duplicate detection.
        let (key, question, found) = query_from(((flood - 1) % 60_000) as u16 + 1024, at);
        let key = TransactionKey { id: ((flood - 1) / 60_000) as u16, ..key };
        let later = Timestamp { secs: at.secs, nanos: 5_000_000 };
        assert!(t.response([key, TransactionKey { server: None, ..key }], &question, &found, later).is_some());
        assert_eq!(t.response([key, key], &question, &found, later), None);
        assert_eq!(t.duplicates, 1);
        assert_eq!(t.tracked.len(), MAX_TRACKED, "answered keys stay in the window, counted once");
    }

    #[test]
    fn entropy_separates_words_from_encodings() {
        assert!(entropy("mailserverbackup") < ENTROPY_BITS);
        assert!(entropy("x7k2q9v8m3n4b5z1w6") >= ENTROPY_BITS);
        assert_eq!(entropy("aaaa"), 0.0);
    }
}
