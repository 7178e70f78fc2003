//! From SIP messages to the result: mcpcap's statistics and per-message
//! entries, plus dialogs (per Call-ID ladder and call outcome), registrations
//! and observations. Every table is bounded: the first (or most frequent) N
//! entries are kept and the rest counted.

use std::borrow::Cow;
use std::collections::BTreeMap;

use pcapsule_guest::fast_hash::HashMap;
use std::net::IpAddr;

use pcapsule_guest::Timestamp;
use pcapsule_guest::conventions::{Observation, OrderedMap, PageCollector, PageInfo};
use serde_json::{Value, json};

use crate::message::{Kind, SipMessage, contains_ignoring_case, tag_of, uri_of, via_transport};
use crate::result::{
    Binding, Call, CallOutcome, Calls, DialogEntry, Dialogs, Finding, LadderStep, MalformedExample, MessageEntry,
    Party, Registrations, StartLine, Statistics,
};
use crate::scan::{Found, SIP_PORTS};
use crate::sdp::Sdp;
use pcapsule_guest::bounded::{DistinctCounter, TopCounter};

/// Call-IDs listed in `statistics.call_ids` (mcpcap lists all; this is capped).
const CALL_ID_LIST: usize = 50;
/// Distinct Call-IDs counted exactly.
const DISTINCT_CALL_IDS: usize = 100_000;
/// Dialogs tracked (first seen first); later Call-IDs are counted only.
const MAX_DIALOGS: usize = 1000;
/// Dialogs shown in the result, and ladder steps kept per dialog.
const DIALOGS_SHOWN: usize = 10;
const LADDER_STEPS: usize = 12;
/// Registration bindings (address of record, client) tracked and shown.
const MAX_REGISTRATIONS: usize = 512;
const REGISTRATIONS_SHOWN: usize = 10;
/// Client addresses tracked for observations.
const MAX_SOURCES: usize = 4096;
/// Distinct destinations remembered per source (to spot OPTIONS sweeps).
const SOURCE_TARGETS: usize = 16;
/// Header values longer than this are cut in message entries.
const MAX_VALUE_CHARS: usize = 1024;
/// Malformed-message examples kept.
const MALFORMED_EXAMPLES: usize = 10;
/// Thresholds for observations.
const REGISTER_FAILURES_NOTED: u64 = 5;
const CHALLENGES_WITHOUT_SUCCESS_NOTED: u64 = 10;
const INVITE_FAILURES_NOTED: u64 = 10;
const OPTIONS_TARGETS_NOTED: usize = 10;
/// User-agent substrings of well-known SIP scanners and fraud tools.
const SCANNER_AGENTS: [&str; 8] =
    ["friendly-scanner", "sipvicious", "sipcli", "sip-scan", "sipsak", "vaxsipuseragent", "sundayddr", "iwar"];

/// `s` cut to `max` characters (marked with `…`), as an owned string.
fn cut(s: &str, max: usize) -> String {
    clipped(s, max).into_owned()
}

/// [`cut`], borrowed when `s` fits, as nearly every value does: for the
/// tables updated on every message.
fn clipped(s: &str, max: usize) -> Cow<'_, str> {
    // A string of at most `max` bytes has at most `max` characters.
    if s.len() <= max || s.chars().count() <= max {
        return Cow::Borrowed(s);
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    Cow::Owned(out)
}

/// `1xx` to `6xx`: the status line's check admits no other first digit.
fn response_class(code: u16) -> &'static str {
    match code / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        5 => "5xx",
        _ => "6xx",
    }
}

fn ms(later: Option<Timestamp>, earlier: Option<Timestamp>) -> Option<f64> {
    let (later, earlier) = (later?, earlier?);
    Some((later.seconds_since(earlier) * 1e6).round() / 1e3)
}

/// Min, average and max of a series without storing it.
#[derive(Default)]
struct Spread {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn add(&mut self, v: f64) {
        if self.count == 0 || v < self.min {
            self.min = v;
        }
        if self.count == 0 || v > self.max {
            self.max = v;
        }
        self.count += 1;
        self.sum += v;
    }

    fn summary(&self) -> Option<pcapsule_guest::conventions::Spread> {
        if self.count == 0 {
            return None;
        }
        let avg = (self.sum / self.count as f64 * 1e3).round() / 1e3;
        Some(pcapsule_guest::conventions::Spread { count: self.count, min: self.min, avg, max: self.max })
    }
}

struct Step {
    packet_number: u64,
    time: Option<Timestamp>,
    src: String,
    dst: String,
    label: String,
}

/// One Call-ID.
struct Dialog {
    call_id: String,
    first_time: Option<Timestamp>,
    last_time: Option<Timestamp>,
    first_packet: u64,
    first_method: Option<String>,
    from: Option<String>,
    to: Option<String>,
    caller: Option<(IpAddr, u16)>,
    caller_tag: Option<String>,
    messages: u64,
    ladder: Vec<Step>,
    ladder_dropped: u64,
    /// INVITE transactions (CSeq numbers) before the answer, and retransmissions.
    invites: u64,
    invite_retransmissions: u64,
    /// The current INVITE transaction: delays are measured from it, so time
    /// spent answering a 401/407 challenge does not count as post-dial delay.
    invite_cseq: Option<u32>,
    invite_sent: Option<Timestamp>,
    post_dial_delay_ms: Option<f64>,
    time_to_answer_ms: Option<f64>,
    answer_time: Option<Timestamp>,
    final_code: Option<u16>,
    cancel_seen: bool,
    bye_time: Option<Timestamp>,
    bye_packet: Option<u64>,
    hung_up_by: Option<Party>,
}

impl Dialog {
    fn outcome(&self) -> Option<CallOutcome> {
        if self.invites == 0 {
            return None;
        }
        Some(match self.final_code {
            _ if self.answer_time.is_some() => CallOutcome::Answered,
            Some(486 | 600) => CallOutcome::Busy,
            Some(487) => CallOutcome::Cancelled,
            _ if self.cancel_seen => CallOutcome::Cancelled,
            Some(_) => CallOutcome::Failed,
            None => CallOutcome::NoFinalResponse,
        })
    }

    fn entry(&self) -> DialogEntry {
        let ladder = self
            .ladder
            .iter()
            .map(|s| LadderStep {
                packet_number: s.packet_number,
                offset_ms: ms(s.time, self.first_time),
                source: s.src.clone(),
                destination: s.dst.clone(),
                message: s.label.clone(),
            })
            .collect();
        let call = self.outcome().map(|outcome| Call {
            outcome,
            final_code: self.final_code,
            invites: self.invites,
            invite_retransmissions: self.invite_retransmissions,
            post_dial_delay_ms: self.post_dial_delay_ms,
            time_to_answer_ms: self.time_to_answer_ms,
            duration_seconds: ms(self.bye_time, self.answer_time).map(|v| v.round() / 1e3),
            hung_up_by: self.hung_up_by,
            bye_packet: self.bye_packet,
        });
        DialogEntry {
            call_id: self.call_id.clone(),
            first_packet: self.first_packet,
            first_seen: self.first_time.map(|t| t.to_rfc3339()),
            last_seen: self.last_time.map(|t| t.to_rfc3339()),
            first_method: self.first_method.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            messages: self.messages,
            ladder,
            ladder_steps_not_shown: (self.ladder_dropped > 0).then_some(self.ladder_dropped),
            call,
        }
    }
}

/// One (address of record, client address) registration binding.
#[derive(Default)]
struct Registration {
    attempts: u64,
    challenges: u64,
    successes: u64,
    failures: BTreeMap<u16, u64>,
    contact: Option<String>,
    expires: Option<String>,
    user_agent: Option<String>,
    first_packet: u64,
    last_packet: u64,
}

/// Per client address, for observations.
#[derive(Default)]
struct Source {
    register_failures: u64,
    register_challenges: u64,
    register_successes: u64,
    invite_failures: u64,
    options_targets: Vec<IpAddr>,
    options_targets_more: bool,
}

/// Accumulates everything while streaming.
pub struct Analysis {
    page: PageCollector<MessageEntry>,
    messages: u64,
    requests: u64,
    responses: u64,
    methods: TopCounter<String>,
    response_classes: BTreeMap<&'static str, u64>,
    response_codes: BTreeMap<u16, u64>,
    call_ids_distinct: DistinctCounter,
    call_ids: Vec<String>,
    transports: BTreeMap<&'static str, u64>,
    via_transports: TopCounter<String>,
    user_agents: TopCounter<String>,
    servers: TopCounter<String>,
    codecs: TopCounter<String>,
    flags: BTreeMap<&'static str, u64>,
    malformed: u64,
    malformed_examples: Vec<MalformedExample>,
    found_on_other_ports: u64,
    with_sdp: u64,
    dialogs: HashMap<String, Dialog>,
    dialog_order: Vec<String>,
    dialogs_untracked: u64,
    registrations: HashMap<(String, IpAddr), Registration>,
    registrations_untracked: u64,
    sources: HashMap<IpAddr, Source>,
    scanner_agents: BTreeMap<String, (u64, IpAddr)>,
}

/// The parts of the result the analysis builds.
pub struct Finished {
    pub statistics: Statistics,
    pub calls: Calls,
    pub dialogs: Dialogs,
    pub registrations: Registrations,
    pub observations: Vec<Observation<Finding>>,
    pub packets: Vec<MessageEntry>,
    pub pagination: PageInfo,
}

impl Analysis {
    pub fn new(page: PageCollector<MessageEntry>) -> Self {
        Analysis {
            page,
            messages: 0,
            requests: 0,
            responses: 0,
            methods: TopCounter::new(64),
            response_classes: BTreeMap::new(),
            response_codes: BTreeMap::new(),
            call_ids_distinct: DistinctCounter::new(DISTINCT_CALL_IDS),
            call_ids: Vec::new(),
            transports: BTreeMap::new(),
            via_transports: TopCounter::new(32),
            user_agents: TopCounter::new(256),
            servers: TopCounter::new(256),
            codecs: TopCounter::new(64),
            flags: BTreeMap::new(),
            malformed: 0,
            malformed_examples: Vec::new(),
            found_on_other_ports: 0,
            with_sdp: 0,
            dialogs: HashMap::default(),
            dialog_order: Vec::new(),
            dialogs_untracked: 0,
            registrations: HashMap::default(),
            registrations_untracked: 0,
            sources: HashMap::default(),
            scanner_agents: BTreeMap::new(),
        }
    }

    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// Takes one found message (parsing it); non-SIP bytes are ignored.
    pub fn message(&mut self, found: Found<'_>) {
        let Some(mut message) = crate::message::parse(found.bytes, found.transport == crate::scan::Transport::Tcp)
        else {
            return;
        };
        for flag in found.framing_flags {
            if !message.flags.contains(flag) {
                message.flags.push(flag);
            }
        }
        if message.flags.contains(&"body_exceeds_stream_buffer") || message.flags.contains(&"stream_ended_mid_message")
        {
            // The body is cut by the analysis or the capture, not by the sender.
            message.flags.retain(|f| *f != "content_length_exceeds_data");
        }
        self.messages += 1;
        // SIP over WebSocket is announced by its handshake, whatever the port.
        let on_port = found.transport == crate::scan::Transport::Ws
            || SIP_PORTS.contains(&found.src_port)
            || SIP_PORTS.contains(&found.dst_port);
        if !on_port {
            self.found_on_other_ports += 1;
        }
        *self.transports.entry(found.transport.name()).or_default() += 1;
        if let Some(t) = message.header("via").and_then(via_transport) {
            let t = clipped(t, 16);
            if t.bytes().any(|b| b.is_ascii_lowercase()) {
                self.via_transports.add(&t.to_ascii_uppercase());
            } else {
                self.via_transports.add(&*t);
            }
        }
        match &message.kind {
            Kind::Request { method, .. } => {
                self.requests += 1;
                self.methods.add(&*clipped(method, 32));
            }
            Kind::Response { code, .. } => {
                self.responses += 1;
                *self.response_classes.entry(response_class(*code)).or_default() += 1;
                *self.response_codes.entry(*code).or_default() += 1;
            }
        }
        if let Some(call_id) = message.header("call-id")
            && self.call_ids_distinct.insert(call_id) == Some(true)
            && self.call_ids.len() < CALL_ID_LIST
        {
            self.call_ids.push(cut(call_id, 256));
        }
        if let Some(ua) = message.header("user-agent") {
            let ua = clipped(ua, 200);
            if SCANNER_AGENTS.iter().any(|s| contains_ignoring_case(ua.as_bytes(), s.as_bytes())) {
                let entry = self.scanner_agents.entry(ua.to_string()).or_insert((0, found.src));
                entry.0 += 1;
            }
            self.user_agents.add(&*ua);
        }
        if let Some(server) = message.header("server") {
            self.servers.add(&*clipped(server, 200));
        }
        for flag in &message.flags {
            *self.flags.entry(flag).or_default() += 1;
        }
        if !message.flags.is_empty() {
            self.malformed += 1;
            if self.malformed_examples.len() < MALFORMED_EXAMPLES {
                self.malformed_examples
                    .push(MalformedExample { packet_number: found.packet_number, flags: message.flags.clone() });
            }
        }
        let sdp = message
            .header("content-type")
            .is_none_or(|t| contains_ignoring_case(t.as_bytes(), b"sdp"))
            .then(|| Sdp::parse(message.body))
            .flatten();
        if let Some(sdp) = &sdp {
            self.with_sdp += 1;
            for codec in sdp.codec_names() {
                self.codecs.add(&*clipped(&codec, 64));
            }
        }
        self.track_dialog(&found, &message);
        self.track_registration(&found, &message);
        self.track_source(&found, &message);
        self.page.offer(|| entry(&found, &message, on_port, sdp.as_ref()));
    }

    fn track_dialog(&mut self, found: &Found<'_>, message: &SipMessage<'_>) {
        let Some(call_id) = message.header("call-id") else { return };
        // Stored and looked up under the same (cut) key, so a Call-ID
        // longer than the cut still finds its dialog.
        let key = clipped(call_id, 256);
        if !self.dialogs.contains_key(key.as_ref()) {
            if self.dialogs.len() >= MAX_DIALOGS {
                self.dialogs_untracked += 1;
                return;
            }
            let call_id = key.to_string();
            self.dialog_order.push(call_id.clone());
            self.dialogs.insert(
                call_id.clone(),
                Dialog {
                    call_id,
                    first_time: found.timestamp,
                    last_time: found.timestamp,
                    first_packet: found.packet_number,
                    first_method: message.method().map(|m| cut(m, 32)),
                    from: message.header("from").map(|v| cut(uri_of(v), 256)),
                    to: message.header("to").map(|v| cut(uri_of(v), 256)),
                    caller: message.is_request().then_some((found.src, found.src_port)),
                    caller_tag: message.header("from").and_then(tag_of).map(|t| cut(t, 128)),
                    messages: 0,
                    ladder: Vec::new(),
                    ladder_dropped: 0,
                    invites: 0,
                    invite_retransmissions: 0,
                    invite_cseq: None,
                    invite_sent: None,
                    post_dial_delay_ms: None,
                    time_to_answer_ms: None,
                    answer_time: None,
                    final_code: None,
                    cancel_seen: false,
                    bye_time: None,
                    bye_packet: None,
                    hung_up_by: None,
                },
            );
        }
        let Some(dialog) = self.dialogs.get_mut(key.as_ref()) else { return };
        dialog.messages += 1;
        dialog.last_time = found.timestamp.or(dialog.last_time);
        if dialog.ladder.len() < LADDER_STEPS {
            let label = match &message.kind {
                Kind::Request { method, .. } => cut(method, 32),
                Kind::Response { code, reason, .. } => {
                    let cseq_method = message.cseq().map(|(_, m)| cut(m, 32)).unwrap_or_default();
                    format!("{code} {} ({cseq_method})", cut(reason, 64))
                }
            };
            dialog.ladder.push(Step {
                packet_number: found.packet_number,
                time: found.timestamp,
                src: endpoint(found.src, found.src_port),
                dst: endpoint(found.dst, found.dst_port),
                label,
            });
        } else {
            dialog.ladder_dropped += 1;
        }
        let cseq_is_invite = message.cseq().is_some_and(|(_, m)| m.eq_ignore_ascii_case("INVITE"));
        match &message.kind {
            Kind::Request { method, .. } => match method.as_ref() {
                "INVITE" if dialog.answer_time.is_none() => {
                    let number = message.cseq().map(|(n, _)| n);
                    if dialog.invites > 0 && number == dialog.invite_cseq {
                        dialog.invite_retransmissions += 1;
                    } else {
                        dialog.invites += 1;
                        dialog.invite_cseq = number;
                        dialog.invite_sent = found.timestamp;
                        if dialog.caller.is_none() {
                            dialog.caller = Some((found.src, found.src_port));
                            dialog.caller_tag = message.header("from").and_then(tag_of).map(|t| cut(t, 128));
                        }
                    }
                }
                "CANCEL" => dialog.cancel_seen = true,
                "BYE" if dialog.bye_time.is_none() => {
                    dialog.bye_time = found.timestamp;
                    dialog.bye_packet = Some(found.packet_number);
                    let tag = message.header("from").and_then(tag_of);
                    let by_caller = match (tag, dialog.caller_tag.as_deref()) {
                        (Some(tag), Some(caller)) => tag == caller,
                        _ => dialog.caller.is_some_and(|(ip, _)| ip == found.src),
                    };
                    dialog.hung_up_by = Some(if by_caller { Party::Caller } else { Party::Callee });
                }
                _ => {}
            },
            Kind::Response { code, .. } if cseq_is_invite && dialog.answer_time.is_none() => {
                let current = message.cseq().map(|(n, _)| n) == dialog.invite_cseq;
                match code {
                    180..=189 if dialog.post_dial_delay_ms.is_none() && current => {
                        dialog.post_dial_delay_ms = ms(found.timestamp, dialog.invite_sent);
                    }
                    200..=299 => {
                        dialog.answer_time = found.timestamp.or(Some(Timestamp::default()));
                        dialog.final_code = Some(*code);
                        if current {
                            dialog.time_to_answer_ms = ms(found.timestamp, dialog.invite_sent);
                        }
                    }
                    300.. => dialog.final_code = Some(*code),
                    _ => {}
                }
            }
            Kind::Response { .. } => {}
        }
    }

    fn track_registration(&mut self, found: &Found<'_>, message: &SipMessage<'_>) {
        let is_register = match &message.kind {
            Kind::Request { method, .. } => method == "REGISTER",
            Kind::Response { .. } => message.cseq().is_some_and(|(_, m)| m.eq_ignore_ascii_case("REGISTER")),
        };
        if !is_register {
            return;
        }
        let aor = cut(uri_of(message.header("to").unwrap_or("")), 256);
        let client = if message.is_request() { found.src } else { found.dst };
        let key = (aor, client);
        if !self.registrations.contains_key(&key) {
            if self.registrations.len() >= MAX_REGISTRATIONS {
                self.registrations_untracked += 1;
                return;
            }
            self.registrations
                .insert(key.clone(), Registration { first_packet: found.packet_number, ..Default::default() });
        }
        let r = self.registrations.get_mut(&key).expect("inserted above");
        r.last_packet = found.packet_number;
        match message.status_code() {
            None => {
                r.attempts += 1;
                if let Some(contact) = message.header("contact") {
                    r.contact = Some(cut(contact, 256));
                }
                if let Some(expires) = message.header("expires") {
                    r.expires = Some(cut(expires, 32));
                }
                if let Some(ua) = message.header("user-agent") {
                    r.user_agent = Some(cut(ua, 200));
                }
            }
            Some(401 | 407) => r.challenges += 1,
            Some(200..=299) => r.successes += 1,
            Some(code @ 300..) if r.failures.len() < 16 || r.failures.contains_key(&code) => {
                *r.failures.entry(code).or_default() += 1;
            }
            Some(_) => {}
        }
    }

    fn track_source(&mut self, found: &Found<'_>, message: &SipMessage<'_>) {
        let (client, code, method) = match &message.kind {
            Kind::Request { method, .. } if method == "OPTIONS" => (found.src, None, "OPTIONS"),
            Kind::Response { code, .. } if *code >= 200 => {
                let Some((_, m)) = message.cseq() else { return };
                let method = if m.eq_ignore_ascii_case("REGISTER") {
                    "REGISTER"
                } else if m.eq_ignore_ascii_case("INVITE") {
                    "INVITE"
                } else {
                    return;
                };
                (found.dst, Some(*code), method)
            }
            _ => return,
        };
        if !self.sources.contains_key(&client) && self.sources.len() >= MAX_SOURCES {
            return;
        }
        let s = self.sources.entry(client).or_default();
        match (method, code) {
            ("OPTIONS", _) if !s.options_targets.contains(&found.dst) => {
                if s.options_targets.len() < SOURCE_TARGETS {
                    s.options_targets.push(found.dst);
                } else {
                    s.options_targets_more = true;
                }
            }
            ("REGISTER", Some(401 | 407)) => s.register_challenges += 1,
            ("REGISTER", Some(200..=299)) => s.register_successes += 1,
            ("REGISTER", Some(_)) => s.register_failures += 1,
            ("INVITE", Some(401 | 407 | 200..=299)) => {}
            ("INVITE", Some(_)) => s.invite_failures += 1,
            _ => {}
        }
    }

    pub fn finish(self) -> Finished {
        let tables_exact = self.methods.is_exact()
            && self.user_agents.is_exact()
            && self.servers.is_exact()
            && self.codecs.is_exact()
            && self.call_ids_distinct.is_exact();
        let counts = |c: &TopCounter<String>, n: usize| OrderedMap(c.top(n));
        let names =
            |c: &TopCounter<String>, n: usize| -> Vec<String> { c.top(n).into_iter().map(|(k, _)| k).collect() };
        let statistics = Statistics {
            requests: self.requests,
            responses: self.responses,
            methods: counts(&self.methods, 30),
            response_classes: self.response_classes.into_iter().map(|(class, n)| (class.to_string(), n)).collect(),
            response_codes: self.response_codes,
            unique_call_ids: self.call_ids_distinct.count(),
            call_ids: self.call_ids,
            transports: self.transports,
            via_transports: counts(&self.via_transports, 10),
            user_agents: names(&self.user_agents, 50),
            top_user_agents: counts(&self.user_agents, 10),
            servers: names(&self.servers, 50),
            codecs: counts(&self.codecs, 20),
            messages_with_sdp: self.with_sdp,
            found_on_other_ports: self.found_on_other_ports,
            malformed_messages: self.malformed,
            malformed_flags: self.flags,
            malformed_examples: self.malformed_examples,
            tables_exact,
        };

        let mut outcomes: BTreeMap<CallOutcome, u64> = BTreeMap::new();
        let mut final_codes: BTreeMap<String, u64> = BTreeMap::new();
        let (mut pdd, mut answer, mut duration) = (Spread::default(), Spread::default(), Spread::default());
        let mut hung_up: BTreeMap<Party, u64> = BTreeMap::new();
        let mut calls_total = 0u64;
        for d in self.dialogs.values() {
            let Some(outcome) = d.outcome() else { continue };
            calls_total += 1;
            *outcomes.entry(outcome).or_default() += 1;
            if let Some(code) = d.final_code {
                *final_codes.entry(code.to_string()).or_default() += 1;
            }
            if let Some(v) = d.post_dial_delay_ms {
                pdd.add(v);
            }
            if let Some(v) = d.time_to_answer_ms {
                answer.add(v);
            }
            if let Some(v) = ms(d.bye_time, d.answer_time) {
                duration.add(v / 1e3);
            }
            if let Some(by) = d.hung_up_by {
                *hung_up.entry(by).or_default() += 1;
            }
        }
        let calls = Calls {
            total: calls_total,
            outcomes,
            final_codes,
            post_dial_delay_ms: pdd.summary(),
            time_to_answer_ms: answer.summary(),
            duration_seconds: duration.summary(),
            hung_up_by: hung_up,
            dialogs_tracked: self.dialogs.len(),
            dialogs_untracked: self.dialogs_untracked,
        };
        let items: Vec<DialogEntry> = self
            .dialog_order
            .iter()
            .take(DIALOGS_SHOWN)
            .filter_map(|id| self.dialogs.get(id))
            .map(Dialog::entry)
            .collect();
        let dialogs = Dialogs { total: self.dialogs.len() as u64 + self.dialogs_untracked, shown: items.len(), items };

        let mut bindings: Vec<(&(String, IpAddr), &Registration)> = self.registrations.iter().collect();
        bindings.sort_by(|a, b| b.1.attempts.cmp(&a.1.attempts).then(a.1.first_packet.cmp(&b.1.first_packet)));
        let sum = |f: fn(&Registration) -> u64| self.registrations.values().map(f).sum::<u64>();
        let registrations = Registrations {
            attempts: sum(|r| r.attempts),
            challenges: sum(|r| r.challenges),
            successes: sum(|r| r.successes),
            failures: sum(|r| r.failures.values().sum()),
            bindings_tracked: self.registrations.len(),
            bindings_untracked: self.registrations_untracked,
            bindings: bindings
                .iter()
                .take(REGISTRATIONS_SHOWN)
                .map(|((aor, client), r)| Binding {
                    address_of_record: aor.clone(),
                    client: client.to_string(),
                    attempts: r.attempts,
                    challenges: r.challenges,
                    successes: r.successes,
                    failures: r.failures.clone(),
                    contact: r.contact.clone(),
                    expires: r.expires.clone(),
                    user_agent: r.user_agent.clone(),
                    first_packet: r.first_packet,
                    last_packet: r.last_packet,
                })
                .collect(),
        };

        let observations = observations(&self.sources, &self.scanner_agents, self.malformed, self.found_on_other_ports);
        let (packets, pagination) = self.page.finish();
        Finished { statistics, calls, dialogs, registrations, observations, packets, pagination }
    }
}

fn observations(
    sources: &HashMap<IpAddr, Source>,
    scanner_agents: &BTreeMap<String, (u64, IpAddr)>,
    malformed: u64,
    other_ports: u64,
) -> Vec<Observation<Finding>> {
    let mut out = Vec::new();
    let mut sorted: Vec<(&IpAddr, &Source)> = sources.iter().collect();
    sorted.sort_by_key(|(ip, _)| **ip);
    let register: Vec<Value> = sorted
        .iter()
        .filter(|(_, s)| {
            s.register_failures >= REGISTER_FAILURES_NOTED
                || (s.register_challenges >= CHALLENGES_WITHOUT_SUCCESS_NOTED && s.register_successes == 0)
        })
        .take(10)
        .map(|(ip, s)| {
            json!({"source_ip": ip.to_string(), "failures": s.register_failures,
                   "challenges": s.register_challenges, "successes": s.register_successes})
        })
        .collect();
    if !register.is_empty() {
        out.push(Observation::new(Finding::RepeatedRegistrationFailures, "A client's REGISTERs were refused repeatedly (403/404/...) or challenged many times without ever succeeding: password guessing, account enumeration, or a misconfigured phone.").with_examples(register));
    }
    let invites: Vec<Value> = sorted
        .iter()
        .filter(|(_, s)| s.invite_failures >= INVITE_FAILURES_NOTED)
        .take(10)
        .map(|(ip, s)| json!({"source_ip": ip.to_string(), "failed_invites": s.invite_failures}))
        .collect();
    if !invites.is_empty() {
        out.push(Observation::new(Finding::RepeatedCallFailures, "Many INVITEs from one client ended in failure responses: dialing-plan probing (toll fraud) or a broken trunk.").with_examples(invites));
    }
    let sweeps: Vec<Value> = sorted
        .iter()
        .filter(|(_, s)| s.options_targets.len() >= OPTIONS_TARGETS_NOTED)
        .take(10)
        .map(|(ip, s)| {
            json!({"source_ip": ip.to_string(), "targets": s.options_targets.len(), "more_targets": s.options_targets_more})
        })
        .collect();
    if !sweeps.is_empty() {
        out.push(
            Observation::new(
                Finding::OptionsSweep,
                "One source sent OPTIONS to many addresses: SIP service discovery (e.g. SIPVicious svmap).",
            )
            .with_examples(sweeps),
        );
    }
    if !scanner_agents.is_empty() {
        let examples: Vec<Value> = scanner_agents
            .iter()
            .take(10)
            .map(|(ua, (n, ip))| json!({"user_agent": ua, "messages": n, "first_source_ip": ip.to_string()}))
            .collect();
        out.push(
            Observation::new(Finding::ScannerUserAgent, "User-Agent of a known SIP scanning or attack tool.")
                .with_examples(examples),
        );
    }
    if malformed > 0 {
        out.push(Observation::new(Finding::MalformedMessages, format!("{malformed} SIP messages had irregularities (see statistics.malformed_flags): fuzzing, evasion attempts, or broken implementations.")));
    }
    if other_ports > 0 {
        out.push(Observation::new(Finding::SipOnOtherPorts, format!("{other_ports} SIP messages used ports other than 5060/5061/5080/6060: a non-standard deployment or traffic avoiding port-based filtering.")));
    }
    out
}

fn endpoint(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// One message entry: mcpcap's fields plus flags, SDP and every Via.
fn entry(found: &Found<'_>, message: &SipMessage<'_>, on_port: bool, sdp: Option<&Sdp>) -> MessageEntry {
    let h = |name: &str| message.header(name).map(|v| cut(v, MAX_VALUE_CHARS));
    let mut headers: Vec<(String, String)> = Vec::new();
    for header in &message.headers {
        let value = cut(&header.value, MAX_VALUE_CHARS);
        match headers.iter_mut().find(|(name, _)| name == header.name.as_ref()) {
            // Repeated headers are one comma-separated list (RFC 3261 §7.3.1), in order.
            Some((_, existing)) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            None => headers.push((header.name.to_string(), value)),
        }
    }
    let summary = match &message.kind {
        Kind::Request { method, uri, .. } => format!("{} {}", cut(method, 32), cut(uri, 200)),
        Kind::Response { code, reason, .. } => {
            let cseq = message.cseq().map(|(_, m)| format!(" ({})", cut(m, 32))).unwrap_or_default();
            format!("{code} {}{cseq}", cut(reason, 100))
        }
    };
    let start = match &message.kind {
        Kind::Request { method, uri, version } => StartLine::Request {
            method: cut(method, 32),
            request_uri: cut(uri, MAX_VALUE_CHARS),
            sip_version: cut(version, 16),
        },
        Kind::Response { version, code, reason } => {
            StartLine::Response { status_code: *code, reason: cut(reason, 200), sip_version: cut(version, 16) }
        }
    };
    let vias: Vec<String> = message.header_all("via").map(|v| cut(v, MAX_VALUE_CHARS)).collect();
    // A header the entry shows as a field of its own is not sent twice;
    // one that appeared more than once stays, as the field holds the first.
    headers.retain(|(name, value)| match name.as_str() {
        // Every Via is in `via` (one) or `via_all` (several).
        "via" => vias.is_empty(),
        "content-length" => message.content_length.map(|n| n.to_string()).as_ref() != Some(value),
        "call-id" | "cseq" | "from" | "to" | "contact" | "user-agent" | "server" | "content-type" => {
            h(name).as_ref() != Some(value)
        }
        _ => true,
    });
    MessageEntry {
        packet_number: found.packet_number,
        timestamp: found.timestamp.map(|t| t.to_rfc3339()),
        source_ip: found.src.to_string(),
        destination_ip: found.dst.to_string(),
        source_port: found.src_port,
        destination_port: found.dst_port,
        transport: found.transport.name(),
        message_type: if message.is_request() { "request" } else { "response" },
        start_line: cut(&message.start_line, MAX_VALUE_CHARS),
        call_id: h("call-id"),
        cseq: h("cseq"),
        from: h("from"),
        to: h("to"),
        contact: h("contact"),
        user_agent: h("user-agent"),
        server: h("server"),
        via: h("via"),
        content_type: h("content-type"),
        content_length: message.content_length,
        body_length: message.body.len(),
        known_sip_port: on_port,
        headers: OrderedMap(headers),
        summary,
        start,
        via_all: (vias.len() > 1).then_some(vias),
        sdp: sdp.map(Sdp::entry),
        flags: message.flags.clone(),
    }
}
