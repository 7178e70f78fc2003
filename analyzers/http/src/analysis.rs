//! From messages to transactions, objects, statistics and findings. A
//! request waits in its connection's queue for the response that answers it
//! (responses come in request order, so pipelining pairs up); a transaction
//! ends with its response's body, or unanswered when the server's direction
//! or the capture ends. Every table is bounded.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;

use base64::Engine;
use pcapsule_guest::Timestamp;
use pcapsule_guest::bounded::TopCounter;
use pcapsule_guest::conventions::{MinAvgMax, Observation, OrderedMap, PageCollector, PageInfo, hex};
use pcapsule_guest::fast_hash::HashMap;
use pcapsule_guest::reassembly::{Direction, Frame};
use serde_json::{Value, json};

use crate::body::BodySummary;
use crate::message::{Head, Line};
use crate::result::{
    Credential, FindingKind, Object, ObjectStatistics, RequestEntry, ResponseEntry, Statistics, Transaction,
};
use crate::scan::Happening;

/// Transactions awaiting their end at once; requests beyond are counted only.
const MAX_OPEN: usize = 10_000;
/// Entries in the statistics' top lists, and keys their counters keep.
const TOP: usize = 20;
const COUNTED_KEYS: usize = 2_000;
/// Examples a finding gives.
const EXAMPLES: usize = 3;
/// Request targets longer than this are a finding.
const LONG_URI: usize = 2048;
/// Error responses within this many seconds that make a burst.
const BURST_WINDOW_S: f64 = 10.0;
const BURST_ERRORS: usize = 10;
/// Words of field names that hold secrets (lower case).
const SECRET_NAMES: [&str; 8] = ["pass", "pwd", "secret", "token", "apikey", "api_key", "credential", "auth"];
/// User agents of scanners and attack tools (lower case).
const SCANNER_AGENTS: [&str; 20] = [
    "nikto",
    "sqlmap",
    "nmap",
    "masscan",
    "zgrab",
    "nuclei",
    "dirbuster",
    "gobuster",
    "wpscan",
    "acunetix",
    "nessus",
    "openvas",
    "w3af",
    "wfuzz",
    "ffuf",
    "feroxbuster",
    "hydra",
    "zmeu",
    "netsparker",
    "jaeles",
];
/// Content types of executables.
const EXECUTABLE_TYPES: [&str; 6] = [
    "application/x-msdownload",
    "application/x-dosexec",
    "application/x-msdos-program",
    "application/vnd.microsoft.portable-executable",
    "application/x-executable",
    "application/x-mach-binary",
];

/// A request (or a response whose request was not seen) awaiting its end.
struct Open {
    request: Option<Box<Head>>,
    request_body: Option<BodySummary>,
    credentials: Vec<Credential>,
    interim: Vec<u16>,
    response: Option<Box<Head>>,
}

/// Where findings gather.
#[derive(Default)]
struct Findings {
    credentials: (u64, Vec<Value>),
    executables: (u64, Vec<Value>),
    scanners: BTreeMap<String, u64>,
    scanner_examples: Vec<Value>,
    long_uris: (u64, Vec<Value>),
    raw_ip_hosts: (u64, Vec<Value>),
    /// Times of the latest error responses (within one window).
    recent_errors: VecDeque<(f64, u64)>,
    /// The densest window: errors, first frame, last frame.
    worst_burst: Option<(usize, u64, u64)>,
}

fn example(slot: &mut (u64, Vec<Value>), value: impl FnOnce() -> Value) {
    slot.0 += 1;
    if slot.1.len() < EXAMPLES {
        slot.1.push(value());
    }
}

/// Which list the call asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    Transactions,
    Objects,
}

pub struct Analysis {
    listing: Listing,
    reveal_secrets: bool,
    open: HashMap<Direction, VecDeque<Open>>,
    open_count: usize,
    untracked_requests: u64,
    transactions: PageCollector<Transaction>,
    objects: PageCollector<Object>,
    requests: u64,
    responses: u64,
    interim_responses: u64,
    unanswered: u64,
    without_request: u64,
    methods: TopCounter<String>,
    status_codes: BTreeMap<u16, u64>,
    hosts: TopCounter<String>,
    user_agents: TopCounter<String>,
    servers: TopCounter<String>,
    content_types: TopCounter<String>,
    response_times: (u64, f64, f64, f64),
    response_body_bytes: u64,
    redirects: u64,
    websocket_upgrades: u64,
    connect_tunnels: u64,
    with_credentials: u64,
    proxied: u64,
    object_types: TopCounter<String>,
    object_bytes: u64,
    executables: u64,
    without_hash: BTreeMap<String, u64>,
    findings: Findings,
}

/// What the analysis gives at the end.
pub struct Finished {
    pub statistics: Statistics,
    pub findings: Vec<Observation<FindingKind>>,
    pub transactions: (Vec<Transaction>, PageInfo),
    pub objects: (Vec<Object>, PageInfo),
    pub object_statistics: ObjectStatistics,
    pub untracked_requests: u64,
}

fn endpoint(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

fn time(frame: &Frame) -> Option<String> {
    frame.timestamp.map(|t| t.to_rfc3339())
}

fn seconds_between(from: Option<Timestamp>, to: Option<Timestamp>) -> Option<f64> {
    Some(to?.seconds_since(from?))
}

/// `<masked: N characters>`, or the value itself when secrets are shown.
fn secret(value: &str, reveal: bool) -> String {
    if reveal { value.to_string() } else { format!("<masked: {} characters>", value.chars().count()) }
}

fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_NAMES.iter().any(|word| name.contains(word))
}

/// `name=value` pairs of a query string or urlencoded form whose names
/// look like secrets.
fn secret_fields(pairs: &[u8], kind: &str, reveal: bool, out: &mut Vec<Credential>) {
    for pair in pairs.split(|b| *b == b'&') {
        let mut parts = pair.splitn(2, |b| *b == b'=');
        let name = String::from_utf8_lossy(parts.next().unwrap_or(b""));
        let Some(value) = parts.next() else { continue };
        if !value.is_empty() && is_secret_name(&name) && out.len() < 8 {
            let value = String::from_utf8_lossy(value);
            out.push(Credential {
                kind: kind.into(),
                field: name.chars().take(64).collect(),
                user: None,
                secret: secret(&value, reveal),
            });
        }
    }
}

/// A query string with the values of secret-named fields masked, so that
/// the URI can be shown.
fn masked_query(query: &str) -> String {
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if !value.is_empty() && is_secret_name(name) => format!("{name}=<masked>"),
            _ => pair.to_string(),
        })
        .collect();
    pairs.join("&")
}

/// The credential in an Authorization field.
fn authorization(field: &'static str, value: &str, reveal: bool) -> Credential {
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    let scheme = scheme.to_ascii_lowercase();
    let kind = match scheme.as_str() {
        "basic" | "bearer" | "digest" | "ntlm" | "negotiate" => scheme.clone(),
        _ => "other_scheme".to_string(),
    };
    let mut credential = Credential { kind, field: field.into(), user: None, secret: secret(rest, reveal) };
    if scheme == "basic"
        && let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(rest)
    {
        let decoded = String::from_utf8_lossy(&decoded);
        let (user, password) = decoded.split_once(':').unwrap_or((&decoded, ""));
        credential.user = Some(user.chars().take(128).collect());
        credential.secret = secret(password, reveal);
    }
    credential
}

fn is_executable(prefix: &[u8], content_type: Option<&str>) -> bool {
    const MAGIC: [&[u8]; 6] =
        [b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe"];
    MAGIC.iter().any(|m| prefix.starts_with(m))
        || content_type.is_some_and(|t| EXECUTABLE_TYPES.iter().any(|e| t.eq_ignore_ascii_case(e)))
}

/// The media type without its parameters, lower case.
fn media_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

fn is_ip_host(host: &str) -> bool {
    let bare = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').filter(|(_, port)| port.parse::<u16>().is_ok()).map_or(host, |(h, _)| h),
    };
    bare.parse::<IpAddr>().is_ok()
}

/// The name an object would be saved under.
fn filename(disposition: Option<&str>, target: Option<&str>) -> Option<String> {
    if let Some(disposition) = disposition {
        for part in disposition.split(';') {
            if let Some((key, value)) = part.split_once('=')
                && key.trim().eq_ignore_ascii_case("filename")
            {
                let name = value.trim().trim_matches('"');
                if !name.is_empty() {
                    return Some(name.to_string());
                }
            }
        }
    }
    let target = target?;
    let path = target.split(['?', '#']).next().unwrap_or("");
    let path = path.split_once("://").map_or(path, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    path.rsplit('/').next().filter(|name| !name.is_empty()).map(str::to_string)
}

impl Analysis {
    pub fn new(
        listing: Listing,
        page: PageCollector<Transaction>,
        objects: PageCollector<Object>,
        reveal: bool,
    ) -> Self {
        Analysis {
            listing,
            reveal_secrets: reveal,
            open: HashMap::default(),
            open_count: 0,
            untracked_requests: 0,
            transactions: page,
            objects,
            requests: 0,
            responses: 0,
            interim_responses: 0,
            unanswered: 0,
            without_request: 0,
            methods: TopCounter::new(COUNTED_KEYS),
            status_codes: BTreeMap::new(),
            hosts: TopCounter::new(COUNTED_KEYS),
            user_agents: TopCounter::new(COUNTED_KEYS),
            servers: TopCounter::new(COUNTED_KEYS),
            content_types: TopCounter::new(COUNTED_KEYS),
            response_times: (0, 0.0, f64::INFINITY, 0.0),
            response_body_bytes: 0,
            redirects: 0,
            websocket_upgrades: 0,
            connect_tunnels: 0,
            with_credentials: 0,
            proxied: 0,
            object_types: TopCounter::new(COUNTED_KEYS),
            object_bytes: 0,
            executables: 0,
            without_hash: BTreeMap::new(),
            findings: Findings::default(),
        }
    }

    pub fn happening(&mut self, direction: Direction, happening: Happening) {
        match happening {
            Happening::Head(head) => match head.line {
                Line::Request { .. } => self.request(direction, head),
                Line::Response { status, .. } => self.response(direction, status, head),
            },
            Happening::MessageEnd { body, response: false, .. } => {
                if let Some(open) = self.open.get_mut(&direction).and_then(|q| q.back_mut())
                    && open.request.is_some()
                    && open.request_body.is_none()
                    && let Some(body) = body
                {
                    let form = open.request.as_ref().and_then(|h| h.fields.content_type.as_deref()).map(media_type);
                    if form.as_deref() == Some("application/x-www-form-urlencoded") {
                        let had = open.credentials.len();
                        secret_fields(&body.prefix, "form_field", self.reveal_secrets, &mut open.credentials);
                        if had == 0 && !open.credentials.is_empty() {
                            self.with_credentials += 1;
                            let request = open.request.as_deref();
                            let first = &open.credentials[had];
                            example(
                                &mut self.findings.credentials,
                                || json!({"frame": request.map(|h| h.frame.number), "kind": first.kind, "field": first.field}),
                            );
                        }
                    }
                    open.request_body = Some(body);
                }
            }
            Happening::MessageEnd { body, response: true, frame } => {
                let queue = self.open.get_mut(&direction.reverse());
                let Some(open) = queue.and_then(|q| q.pop_front()) else { return };
                if open
                    .response
                    .as_ref()
                    .is_some_and(|h| matches!(h.line, Line::Response { status, .. } if status >= 200 || status == 101))
                {
                    self.close(direction.reverse(), open, body, frame);
                } else {
                    // An interim response's end: its transaction goes on.
                    if let Some(q) = self.open.get_mut(&direction.reverse()) {
                        q.push_front(open);
                    }
                }
            }
            Happening::Ended => {
                // The server's direction is over: nothing more will answer.
                if let Some(queue) = self.open.remove(&direction.reverse()) {
                    for open in queue {
                        self.close(direction.reverse(), open, None, Frame::default());
                    }
                }
            }
        }
    }

    fn request(&mut self, direction: Direction, mut head: Box<Head>) {
        self.requests += 1;
        let mut credentials = Vec::new();
        if let Line::Request { target, .. } = &mut head.line
            && let Some((path, query)) = target.split_once('?')
        {
            secret_fields(query.as_bytes(), "query_field", self.reveal_secrets, &mut credentials);
            if !credentials.is_empty() && !self.reveal_secrets {
                *target = format!("{path}?{}", masked_query(query));
            }
        }
        let Line::Request { method, target, target_length } = &head.line else { return };
        self.methods.add(method.as_str());
        let fields = &head.fields;
        if let Some(host) = &fields.host {
            self.hosts.add(host.as_str());
            if is_ip_host(host) {
                example(&mut self.findings.raw_ip_hosts, || json!({"frame": head.frame.number, "host": host}));
            }
        }
        if let Some(agent) = &fields.user_agent {
            self.user_agents.add(agent.as_str());
            let lower = agent.to_ascii_lowercase();
            if let Some(tool) = SCANNER_AGENTS.iter().find(|t| lower.contains(*t)) {
                *self.findings.scanners.entry((*tool).to_string()).or_default() += 1;
                if self.findings.scanner_examples.len() < EXAMPLES {
                    let client = endpoint(direction.src, direction.src_port);
                    self.findings
                        .scanner_examples
                        .push(json!({"frame": head.frame.number, "client": client, "user_agent": agent}));
                }
            }
        }
        if *target_length > LONG_URI {
            example(
                &mut self.findings.long_uris,
                || json!({"frame": head.frame.number, "uri_length": target_length, "host": fields.host}),
            );
        }
        if fields.via_proxy || target.contains("://") {
            self.proxied += 1;
        }
        if let Some((field, value)) = &fields.authorization {
            credentials.insert(0, authorization(field, value, self.reveal_secrets));
        }
        if let Some(first) = credentials.first() {
            self.with_credentials += 1;
            example(
                &mut self.findings.credentials,
                || json!({"frame": head.frame.number, "kind": first.kind, "field": first.field, "host": fields.host}),
            );
        }
        if self.open_count >= MAX_OPEN {
            self.untracked_requests += 1;
            return;
        }
        self.open_count += 1;
        let open = Open { request: Some(head), request_body: None, credentials, interim: Vec::new(), response: None };
        self.open.entry(direction).or_default().push_back(open);
    }

    fn response(&mut self, direction: Direction, status: u16, head: Box<Head>) {
        if (100..200).contains(&status) && status != 101 {
            self.interim_responses += 1;
            if let Some(open) = self.open.get_mut(&direction.reverse()).and_then(|q| q.front_mut()) {
                open.interim.push(status);
            }
            return;
        }
        self.responses += 1;
        *self.status_codes.entry(status).or_default() += 1;
        let fields = &head.fields;
        if let Some(server) = &fields.server {
            self.servers.add(server.as_str());
        }
        if let Some(content_type) = &fields.content_type {
            self.content_types.add(media_type(content_type).as_str());
        }
        if (300..400).contains(&status) && fields.location.is_some() {
            self.redirects += 1;
        }
        if status >= 400 {
            self.error(head.frame);
        }
        let queue = self.open.entry(direction.reverse()).or_default();
        match queue.iter_mut().find(|open| open.response.is_none()) {
            Some(open) => open.response = Some(head),
            None if self.open_count < MAX_OPEN => {
                self.without_request += 1;
                self.open_count += 1;
                let open = Open {
                    request: None,
                    request_body: None,
                    credentials: Vec::new(),
                    interim: Vec::new(),
                    response: Some(head),
                };
                queue.push_back(open);
            }
            None => self.without_request += 1,
        }
    }

    /// An error response: bursts are `BURST_ERRORS` within `BURST_WINDOW_S`.
    fn error(&mut self, frame: Frame) {
        let Some(at) = frame.timestamp.map(|t| t.as_secs_f64()) else { return };
        let recent = &mut self.findings.recent_errors;
        recent.push_back((at, frame.number));
        while recent.front().is_some_and(|(t, _)| at - t > BURST_WINDOW_S) {
            recent.pop_front();
        }
        if recent.len() >= BURST_ERRORS && self.findings.worst_burst.is_none_or(|(n, _, _)| recent.len() > n) {
            self.findings.worst_burst = Some((recent.len(), recent.front().map_or(0, |e| e.1), frame.number));
        }
    }

    fn close(&mut self, request_direction: Direction, open: Open, body: Option<BodySummary>, frame: Frame) {
        self.open_count = self.open_count.saturating_sub(1);
        let Open { request, request_body, credentials, interim, response } = open;
        if response.is_none() {
            self.unanswered += 1;
        }
        let request_time = request.as_ref().and_then(|h| h.frame.timestamp);
        let response_time =
            response.as_ref().and_then(|r| seconds_between(request_time, r.frame.timestamp)).filter(|s| *s >= 0.0);
        if let Some(s) = response_time {
            let t = &mut self.response_times;
            *t = (t.0 + 1, t.1 + s, t.2.min(s), t.3.max(s));
        }
        let (method, target) = match request.as_deref().map(|h| &h.line) {
            Some(Line::Request { method, target, .. }) => (Some(method.as_str()), Some(target.as_str())),
            _ => (None, None),
        };
        let status = match response.as_deref().map(|h| &h.line) {
            Some(Line::Response { status, .. }) => Some(*status),
            _ => None,
        };
        let upgrade = response.as_ref().and_then(|h| h.fields.upgrade.as_deref()).map(str::to_ascii_lowercase);
        let switched_to = match (status, method) {
            (Some(101), _) if upgrade.as_deref() == Some("websocket") => {
                self.websocket_upgrades += 1;
                Some("websocket")
            }
            (Some(101), _) if upgrade.as_deref() == Some("h2c") => Some("http2"),
            (Some(101), _) => Some("tunnel"),
            (Some(200..=299), Some("CONNECT")) => {
                self.connect_tunnels += 1;
                Some("tunnel")
            }
            _ => None,
        };
        let client = endpoint(request_direction.src, request_direction.src_port);
        let server = endpoint(request_direction.dst, request_direction.dst_port);
        let body_bytes = body.as_ref().map_or(0, |b| b.bytes);
        self.response_body_bytes += body_bytes;
        let response_content_type = response.as_ref().and_then(|h| h.fields.content_type.clone());
        let executable = body
            .as_ref()
            .is_some_and(|b| is_executable(&b.prefix, response_content_type.as_deref().map(media_type).as_deref()));
        if executable {
            self.executables += 1;
            example(&mut self.findings.executables, || {
                json!({
                    "frame": response.as_ref().map_or(frame.number, |h| h.frame.number),
                    "host": request.as_ref().and_then(|h| h.fields.host.clone()),
                    "uri": target,
                    "content_type": response_content_type,
                    "sha256": body.as_ref().and_then(|b| b.sha256).map(|h| hex(&h)),
                })
            });
        }
        if self.listing == Listing::Objects {
            let request_head = request.as_deref();
            let response_head = response.as_deref();
            let uploaded = request_body.as_ref().filter(|b| b.bytes > 0).zip(request_head);
            if let Some((body, head)) = uploaded {
                let media = head.fields.content_type.as_deref().map(media_type);
                let uploaded_executable = is_executable(&body.prefix, media.as_deref());
                if uploaded_executable {
                    self.executables += 1;
                }
                self.count_object(body, media.as_deref());
                let coding = (head.fields.content_type.clone(), head.fields.content_encoding.clone());
                let ends = (client.as_str(), server.as_str());
                self.objects
                    .offer(|| object("client", body, request_head, response_head, ends, coding, uploaded_executable));
            }
            if let (Some(body), Some(head)) = (body.as_ref().filter(|b| b.bytes > 0), response_head) {
                self.count_object(body, response_content_type.as_deref().map(media_type).as_deref());
                let coding = (response_content_type.clone(), head.fields.content_encoding.clone());
                let ends = (client.as_str(), server.as_str());
                self.objects.offer(|| object("server", body, request_head, response_head, ends, coding, executable));
            }
        }
        if self.listing != Listing::Transactions {
            return;
        }
        self.transactions.offer(|| Transaction {
            client,
            server,
            request: request.map(|h| {
                let Line::Request { method, target, target_length } = h.line else { unreachable!("a request's head") };
                RequestEntry {
                    frame: h.frame.number,
                    time: time(&h.frame),
                    method,
                    uri: target,
                    uri_length: (target_length > crate::message::MAX_TEXT).then_some(target_length),
                    version: format!("HTTP/1.{}", h.minor_version),
                    host: h.fields.host,
                    user_agent: h.fields.user_agent,
                    referer: h.fields.referer,
                    content_type: h.fields.content_type,
                    body_bytes: request_body.as_ref().map_or(0, |b| b.bytes),
                    credentials,
                    cookies: h.fields.cookie_names,
                }
            }),
            response: response.map(|h| {
                let Line::Response { status, reason } = h.line else { unreachable!("a response's head") };
                ResponseEntry {
                    frame: h.frame.number,
                    time: time(&h.frame),
                    status,
                    reason,
                    version: format!("HTTP/1.{}", h.minor_version),
                    server: h.fields.server,
                    content_type: h.fields.content_type,
                    content_encoding: h.fields.content_encoding,
                    body_bytes,
                    body_complete: body.as_ref().is_none_or(|b| b.complete),
                    location: h.fields.location,
                }
            }),
            interim_statuses: interim,
            response_time_s: response_time,
            switched_to: switched_to.map(str::to_string),
        });
    }

    /// Counts an object in the object statistics.
    fn count_object(&mut self, body: &BodySummary, media: Option<&str>) {
        self.object_types.add(media.unwrap_or("(none)"));
        self.object_bytes += body.decoded_bytes.unwrap_or(body.bytes);
        if body.sha256.is_none() {
            *self.without_hash.entry(no_hash_because(body).to_string()).or_default() += 1;
        }
    }

    /// Ends what is still open (the capture ended) and sums up.
    pub fn finish(mut self) -> Finished {
        let open = std::mem::take(&mut self.open);
        let mut open: Vec<_> = open.into_iter().collect();
        // Deterministic order: by the first frame of each connection's queue.
        open.sort_by_key(|(_, q)| {
            q.front().map_or(0, |o| o.request.as_ref().or(o.response.as_ref()).map_or(0, |h| h.frame.number))
        });
        for (direction, queue) in open {
            for entry in queue {
                self.close(direction, entry, None, Frame::default());
            }
        }
        let (count, sum, min, max) = self.response_times;
        let statistics = Statistics {
            requests: self.requests,
            responses: self.responses,
            interim_responses: self.interim_responses,
            unanswered_requests: self.unanswered,
            responses_without_request: self.without_request,
            methods: self.methods.top(usize::MAX).into_iter().collect(),
            status_codes: self.status_codes.iter().map(|(code, n)| (code.to_string(), *n)).collect(),
            hosts: OrderedMap(self.hosts.top(TOP)),
            user_agents: OrderedMap(self.user_agents.top(TOP)),
            servers: OrderedMap(self.servers.top(TOP)),
            content_types: OrderedMap(self.content_types.top(TOP)),
            response_time_s: (count > 0).then(|| MinAvgMax { min, avg: sum / count as f64, max }),
            response_body_bytes: self.response_body_bytes,
            redirects: self.redirects,
            websocket_upgrades: self.websocket_upgrades,
            connect_tunnels: self.connect_tunnels,
            requests_with_credentials: self.with_credentials,
            proxied_requests: self.proxied,
        };
        let findings = self.findings.observations(self.responses);
        Finished {
            statistics,
            findings,
            transactions: self.transactions.finish(),
            objects: self.objects.finish(),
            object_statistics: ObjectStatistics {
                content_types: OrderedMap(self.object_types.top(TOP)),
                bytes: self.object_bytes,
                executables: self.executables,
                without_hash: self.without_hash,
            },
            untracked_requests: self.untracked_requests,
        }
    }
}

/// Why a body has no hash.
fn no_hash_because(body: &BodySummary) -> &'static str {
    body.not_decoded.unwrap_or("body_not_captured_whole")
}

/// One object, as listed (built only for the page shown).
fn object(
    sent_by: &'static str,
    body: &BodySummary,
    request: Option<&Head>,
    response: Option<&Head>,
    (client, server): (&str, &str),
    (content_type, content_encoding): (Option<String>, Option<String>),
    executable: bool,
) -> Object {
    let target = match request.map(|h| &h.line) {
        Some(Line::Request { target, .. }) => Some(target.as_str()),
        _ => None,
    };
    let status = match response.map(|h| &h.line) {
        Some(Line::Response { status, .. }) => Some(*status),
        _ => None,
    };
    Object {
        sent_by,
        request_frame: request.map(|h| h.frame.number),
        response_frame: response.map(|h| h.frame.number),
        client: client.to_string(),
        server: server.to_string(),
        host: request.and_then(|h| h.fields.host.clone()),
        uri: target.map(str::to_string),
        filename: filename(response.and_then(|h| h.fields.content_disposition.as_deref()), target),
        status,
        content_type,
        content_encoding,
        bytes: body.bytes,
        decoded_bytes: body.decoded_bytes,
        sha256: body.sha256.map(|h| hex(&h)),
        no_hash_because: body.sha256.is_none().then(|| no_hash_because(body)),
        executable,
    }
}

impl Findings {
    fn observations(self, responses: u64) -> Vec<Observation<FindingKind>> {
        let mut out = Vec::new();
        let (n, examples) = self.credentials;
        if n > 0 {
            out.push(
                Observation::new(
                    FindingKind::PlaintextCredentials,
                    format!(
                        "{n} requests sent credentials in the clear (Authorization fields, or fields named like \
                         passwords and tokens): anyone on the path could read them; values are masked"
                    ),
                )
                .with_examples(examples),
            );
        }
        let (n, examples) = self.executables;
        if n > 0 {
            out.push(
                Observation::new(
                    FindingKind::ExecutableDownload,
                    format!("{n} responses carried executables (Windows, ELF or Mach-O): check their hashes with analyze_http_objects"),
                )
                .with_examples(examples),
            );
        }
        if !self.scanners.is_empty() {
            let tools: Vec<String> = self.scanners.iter().map(|(t, n)| format!("{t} ({n})")).collect();
            out.push(
                Observation::new(
                    FindingKind::ScannerUserAgent,
                    format!("requests with the user agents of scanners or attack tools: {}", tools.join(", ")),
                )
                .with_examples(self.scanner_examples),
            );
        }
        if let Some((errors, first, last)) = self.worst_burst {
            out.push(
                Observation::new(
                    FindingKind::ErrorBurst,
                    format!(
                        "{errors} error responses (4xx/5xx) within {BURST_WINDOW_S} s, frames {first} to {last} \
                         ({responses} responses in all): a scan, a broken client or an outage"
                    ),
                )
                .with_examples([json!({"first_frame": first, "last_frame": last, "errors": errors})]),
            );
        }
        let (n, examples) = self.long_uris;
        if n > 0 {
            out.push(
                Observation::new(
                    FindingKind::LongUri,
                    format!("{n} requests had targets over {LONG_URI} characters (injection or overflow attempts, or heavy tracking)"),
                )
                .with_examples(examples),
            );
        }
        let (n, examples) = self.raw_ip_hosts;
        if n > 0 {
            out.push(
                Observation::new(
                    FindingKind::RawIpHost,
                    format!("{n} requests named a raw IP address as host (no DNS name: common for malware and scanners, and for devices)"),
                )
                .with_examples(examples),
            );
        }
        out
    }
}
