//! SIP message parsing: start line, headers, body.
//!
//! Hand-written on purpose: SIP is line-oriented text like HTTP/1.1, but
//! `httparse` rejects SIP start lines (`SIP/2.0 200 OK`, `INVITE sip:... SIP/2.0`)
//! and knows nothing of compact header names or SIP's lax line endings, and no
//! maintained SIP parser crate builds for `wasm32-wasip2` without pulling in a
//! network stack. The parser borrows from the message bytes (owning only
//! folded or non-UTF-8 values and unknown header names), caps the header
//! count and line length, and never fails on bad input: it records flags.

use std::borrow::Cow;

/// Longest start line accepted; real ones are well under 1 KiB.
pub const MAX_START_LINE: usize = 4096;
/// Header lines longer than this are flagged and their value cut.
pub const MAX_HEADER_LINE: usize = 8192;
/// Headers kept per message; the rest are counted and flagged.
pub const MAX_HEADERS: usize = 100;
/// How far into the first line junk before a start line is looked for.
const MAX_JUNK_SCAN: usize = 64;

/// Methods recognised after junk bytes (any token is accepted at the start of a line).
const KNOWN_METHODS: [&str; 14] = [
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "REGISTER",
    "OPTIONS",
    "PRACK",
    "SUBSCRIBE",
    "NOTIFY",
    "PUBLISH",
    "INFO",
    "REFER",
    "MESSAGE",
    "UPDATE",
];

/// Request or response, with the start line's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind<'a> {
    Request { method: Cow<'a, str>, uri: Cow<'a, str>, version: Cow<'a, str> },
    Response { version: Cow<'a, str>, code: u16, reason: Cow<'a, str> },
}

/// One header, its name lower-case and in full form (compact forms expanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    pub name: Cow<'a, str>,
    pub value: Cow<'a, str>,
}

/// A parsed SIP message.
#[derive(Debug, Clone)]
pub struct SipMessage<'a> {
    pub kind: Kind<'a>,
    pub start_line: Cow<'a, str>,
    /// In message order; repeated headers (several Via) stay separate.
    pub headers: Vec<Header<'a>>,
    pub body: &'a [u8],
    /// The Content-Length header's value when it is a number.
    pub content_length: Option<usize>,
    /// Irregularities found, e.g. `invalid_content_length`.
    pub flags: Vec<&'static str>,
    /// Where the first header of each [`Slot`] is in `headers`.
    first: [Option<u8>; SLOTS],
    /// Slots whose header appeared more than once (bit per slot).
    repeated: u16,
}

/// The headers the analysis asks of every message, found by index instead
/// of a scan of all headers: a carrier's messages carry 15 to 25 headers,
/// and a dozen scans per message were a tenth of the analyzer's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    CallId,
    Cseq,
    From,
    To,
    ContentLength,
    Via,
    UserAgent,
    Server,
    ContentType,
    Contact,
    Expires,
}

const SLOTS: usize = Slot::Expires as usize + 1;

/// Headers that must appear once (RFC 3261 §20): a repeat is flagged.
const SINGLE_VALUE: [Slot; 5] = [Slot::CallId, Slot::Cseq, Slot::From, Slot::To, Slot::ContentLength];

impl Slot {
    /// The slot of a full lower-case header name.
    #[inline]
    fn of(name: &str) -> Option<Slot> {
        Some(match name {
            "call-id" => Slot::CallId,
            "cseq" => Slot::Cseq,
            "from" => Slot::From,
            "to" => Slot::To,
            "content-length" => Slot::ContentLength,
            "via" => Slot::Via,
            "user-agent" => Slot::UserAgent,
            "server" => Slot::Server,
            "content-type" => Slot::ContentType,
            "contact" => Slot::Contact,
            "expires" => Slot::Expires,
            _ => return None,
        })
    }
}

impl<'a> SipMessage<'a> {
    /// The first value of a header (by full lower-case name).
    #[inline]
    pub fn header(&self, name: &str) -> Option<&str> {
        let header = match Slot::of(name) {
            Some(slot) => self.headers.get(usize::from(self.first[slot as usize]?)),
            None => self.headers.iter().find(|h| h.name == name),
        };
        header.map(|h| h.value.as_ref())
    }

    /// Adds a header, keeping the slot index.
    fn push_header(&mut self, header: Header<'a>) {
        if let Some(slot) = Slot::of(&header.name) {
            let first = &mut self.first[slot as usize];
            match first {
                Some(_) => self.repeated |= 1 << slot as u16,
                // At most MAX_HEADERS headers are kept, so the index fits.
                None => *first = u8::try_from(self.headers.len()).ok(),
            }
        }
        self.headers.push(header);
    }

    /// Every value of a header, in order.
    pub fn header_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.headers.iter().filter(move |h| h.name == name).map(|h| h.value.as_ref())
    }

    pub fn is_request(&self) -> bool {
        matches!(self.kind, Kind::Request { .. })
    }

    pub fn method(&self) -> Option<&str> {
        match &self.kind {
            Kind::Request { method, .. } => Some(method),
            Kind::Response { .. } => None,
        }
    }

    pub fn status_code(&self) -> Option<u16> {
        match &self.kind {
            Kind::Response { code, .. } => Some(*code),
            Kind::Request { .. } => None,
        }
    }

    /// CSeq split into number and method.
    pub fn cseq(&self) -> Option<(u32, &str)> {
        let value = self.header("cseq")?;
        let mut parts = value.split_ascii_whitespace();
        let number = parts.next()?.parse().ok()?;
        Some((number, parts.next().unwrap_or("")))
    }

    fn flag(&mut self, flag: &'static str) {
        if !self.flags.contains(&flag) {
            self.flags.push(flag);
        }
    }
}

/// Expands a compact header name (RFC 3261 §7.3.3 and later RFCs) or
/// lower-cases a full one, borrowing a static name when the header is known.
/// `raw` is a header name already checked to hold only token characters
/// (ASCII), so no UTF-8 check is needed on this path, taken by every header.
pub fn normalize_name(raw: &[u8]) -> Cow<'static, str> {
    // Lower-cased on the stack and matched at once: every header of every
    // message comes here, and a scan of the known names was 4 % of the time.
    let unknown = || {
        // Token characters are ASCII: the check cannot fail, and costs one pass.
        let lower = raw.to_ascii_lowercase();
        Cow::Owned(String::from_utf8(lower).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    };
    let mut buffer = [0u8; LONGEST_KNOWN_NAME];
    let Some(lower) = buffer.get_mut(..raw.len()) else { return unknown() };
    lower.copy_from_slice(raw);
    lower.make_ascii_lowercase();
    let known = match &*lower {
        b"i" | b"call-id" => "call-id",
        b"f" | b"from" => "from",
        b"t" | b"to" => "to",
        b"v" | b"via" => "via",
        b"m" | b"contact" => "contact",
        b"l" | b"content-length" => "content-length",
        b"c" | b"content-type" => "content-type",
        b"k" | b"supported" => "supported",
        b"s" | b"subject" => "subject",
        b"e" | b"content-encoding" => "content-encoding",
        b"o" | b"event" => "event",
        b"u" | b"allow-events" => "allow-events",
        b"r" | b"refer-to" => "refer-to",
        b"b" | b"referred-by" => "referred-by",
        b"x" | b"session-expires" => "session-expires",
        b"a" => "accept-contact",
        b"j" => "reject-contact",
        b"d" => "request-disposition",
        b"y" => "identity",
        b"n" => "identity-info",
        b"cseq" => "cseq",
        b"user-agent" => "user-agent",
        b"server" => "server",
        b"max-forwards" => "max-forwards",
        b"expires" => "expires",
        b"allow" => "allow",
        b"accept" => "accept",
        b"authorization" => "authorization",
        b"www-authenticate" => "www-authenticate",
        b"proxy-authenticate" => "proxy-authenticate",
        b"proxy-authorization" => "proxy-authorization",
        b"record-route" => "record-route",
        b"route" => "route",
        b"date" => "date",
        b"require" => "require",
        b"p-asserted-identity" => "p-asserted-identity",
        b"reason" => "reason",
        b"min-expires" => "min-expires",
        b"retry-after" => "retry-after",
        b"min-se" => "min-se",
        b"privacy" => "privacy",
        b"p-preferred-identity" => "p-preferred-identity",
        b"p-charging-vector" => "p-charging-vector",
        b"p-access-network-info" => "p-access-network-info",
        b"p-called-party-id" => "p-called-party-id",
        b"p-early-media" => "p-early-media",
        b"path" => "path",
        b"service-route" => "service-route",
        b"rseq" => "rseq",
        b"rack" => "rack",
        b"unsupported" => "unsupported",
        b"diversion" => "diversion",
        b"history-info" => "history-info",
        b"alert-info" => "alert-info",
        b"call-info" => "call-info",
        b"content-disposition" => "content-disposition",
        b"accept-encoding" => "accept-encoding",
        b"accept-language" => "accept-language",
        b"organization" => "organization",
        b"priority" => "priority",
        b"warning" => "warning",
        b"timestamp" => "timestamp",
        b"mime-version" => "mime-version",
        b"subscription-state" => "subscription-state",
        b"authentication-info" => "authentication-info",
        _ => return unknown(),
    };
    Cow::Borrowed(known)
}

/// Length of the longest name [`normalize_name`] knows.
const LONGEST_KNOWN_NAME: usize = "p-access-network-info".len();

/// RFC 3261's `token` characters, as a table: every byte of every header
/// name and method is checked.
const TOKEN_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric();
        b += 1;
    }
    let extra = b"-.!%*_+`'~";
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    table
};

fn is_token_char(b: u8) -> bool {
    TOKEN_CHARS[usize::from(b)]
}

/// A request line `METHOD SP URI SP SIP/2.0`: the URI must be absolute
/// (contain `:`) and the version SIP's, so HTTP and SSDP (`NOTIFY * HTTP/1.1`)
/// never pass.
fn is_request_line(line: &[u8]) -> bool {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(uri), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    !method.is_empty()
        && method.len() <= 32
        && method.iter().all(|&b| is_token_char(b))
        && uri.contains(&b':')
        && uri.iter().all(|&b| b.is_ascii_graphic() || b >= 0x80)
        && version.eq_ignore_ascii_case(b"SIP/2.0")
}

/// A status line `SIP/2.0 SP 3DIGIT SP reason`, code 100..=699.
fn is_status_line(line: &[u8]) -> bool {
    line.len() >= 11
        && line[..8].eq_ignore_ascii_case(b"SIP/2.0 ")
        && line[8..11].iter().all(u8::is_ascii_digit)
        && (b'1'..=b'6').contains(&line[8])
        && line.get(11).is_none_or(|&b| b == b' ')
}

/// Where a SIP start line begins in `line` (the first line, without its
/// terminator): 0 normally, later when junk precedes a known method or the
/// SIP version of a status line.
pub fn start_line_offset(line: &[u8]) -> Option<usize> {
    // Both kinds of start line hold the version: one pass over the bytes
    // turns away the RTP, TLS and other payloads that make up most traffic,
    // before the costlier search at every offset (over half of all the
    // time on mixed traffic, by profile).
    if line.len() > MAX_START_LINE || !contains_sip_version(line) {
        return None;
    }
    if is_request_line(line) || is_status_line(line) {
        return Some(0);
    }
    for at in 1..line.len().min(MAX_JUNK_SCAN) {
        let rest = &line[at..];
        if is_status_line(rest) {
            return Some(at);
        }
        if KNOWN_METHODS.iter().any(|m| rest.starts_with(m.as_bytes()) && rest.get(m.len()) == Some(&b' '))
            && is_request_line(rest)
        {
            return Some(at);
        }
    }
    None
}

/// Whether `line` holds `SIP/2.0` (in any case) anywhere.
fn contains_sip_version(line: &[u8]) -> bool {
    memchr::memchr_iter(b'/', line).any(|at| {
        at >= 3 && line[at - 3..at].eq_ignore_ascii_case(b"SIP") && line.get(at + 1..at + 4) == Some(b"2.0".as_slice())
    })
}

/// The first line of `data` (without CR/LF) and whether it ended in a LF.
pub fn first_line(data: &[u8]) -> (&[u8], bool) {
    match memchr::memchr(b'\n', data) {
        Some(end) => (trim_cr(&data[..end]), true),
        None => (data, false),
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Leading CR/LF bytes (keep-alives, RFC 5626) to skip before a message.
pub fn leading_crlf(data: &[u8]) -> usize {
    data.iter().take_while(|&&b| b == b'\r' || b == b'\n').count()
}

/// Whether a payload starts (after keep-alive CRLFs and a little junk) with a SIP start line.
pub fn looks_like_sip(data: &[u8]) -> bool {
    let data = &data[leading_crlf(data)..];
    let (line, _) = first_line(&data[..data.len().min(MAX_START_LINE + 2)]);
    start_line_offset(line).is_some()
}

/// Whether `text` holds `needle` in any ASCII case, without lower-casing a
/// copy of `text`.
pub fn contains_ignoring_case(text: &[u8], needle: &[u8]) -> bool {
    text.windows(needle.len()).any(|window| window.eq_ignore_ascii_case(needle))
}

/// Where the header block ends: the index just past the empty line.
pub fn header_end(data: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(nl) = memchr::memchr(b'\n', &data[at..]) {
        let next = at + nl + 1;
        match data.get(next) {
            Some(b'\n') => return Some(next + 1),
            Some(b'\r') if data.get(next + 1) == Some(&b'\n') => return Some(next + 2),
            _ => at = next,
        }
    }
    None
}

/// The Content-Length in a header block without parsing it fully (stream
/// framing): `Some(Ok(n))`, `Some(Err(()))` when present but not a number.
pub fn scan_content_length(headers: &[u8]) -> Option<Result<usize, ()>> {
    // The first line is the start line.
    for range in line_ranges(headers).skip(1) {
        let line = trim_cr(&headers[range]);
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let name = line[..colon].trim_ascii();
        if name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l") {
            let value = line[colon + 1..].trim_ascii();
            return Some(std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()).ok_or(()));
        }
    }
    None
}

/// The pieces of `bytes` between line feeds, as ranges without the LF; the
/// last runs to the end, so a range ending before `bytes.len()` had a LF.
/// Found with memchr: a byte-by-byte split was a twentieth of the time on
/// SIP over TCP.
fn line_ranges(bytes: &[u8]) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let mut start = 0;
    memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len())).map(move |end| {
        let range = start..end;
        start = end + 1;
        range
    })
}

/// `bytes` as text, borrowed when it is UTF-8 (nearly always: std's
/// `from_utf8` checks ASCII a word at a time, `from_utf8_lossy` walks it in
/// chunks and was a tenth of the analyzer's time on long headers).
fn text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Parses one message from `data`, which starts at (or a little before) its
/// start line. `stream`: the message came from TCP, where Content-Length is
/// mandatory and frames the body (the caller cut `data` to the frame).
/// `None` when `data` has no SIP start line.
pub fn parse(data: &[u8], stream: bool) -> Option<SipMessage<'_>> {
    let data = &data[leading_crlf(data)..];
    let (line, terminated) = first_line(data);
    let junk = start_line_offset(line)?;
    let line = &line[junk..];
    let kind = if is_status_line(line) {
        let code = std::str::from_utf8(&line[8..11]).ok()?.parse().ok()?;
        Kind::Response { version: text(&line[..7]), code, reason: text(line.get(12..).unwrap_or(&[])) }
    } else {
        let mut parts = line.splitn(3, |&b| b == b' ');
        let (method, uri, version) = (parts.next()?, parts.next()?, parts.next()?);
        Kind::Request { method: text(method), uri: text(uri), version: text(version) }
    };
    let mut message = SipMessage {
        kind,
        start_line: text(line),
        // Room for a carrier's long header lists without regrowing.
        headers: Vec::with_capacity(24),
        body: &[],
        content_length: None,
        flags: Vec::new(),
        first: [None; SLOTS],
        repeated: 0,
    };
    if junk > 0 {
        message.flag("junk_before_start_line");
    }
    if !terminated {
        message.flag("no_line_terminator");
        return Some(message);
    }
    let first_end = memchr::memchr(b'\n', data).expect("terminated") + 1;
    if first_end < 2 || data[first_end - 2] != b'\r' {
        message.flag("bare_lf_line_endings");
    }
    // One walk over the header lines finds where the block ends and where
    // each name and value is; the values are then sliced from one UTF-8
    // check of the block. (A separate search for the block's end, then a
    // split of it, walked every byte twice; a UTF-8 check per value was a
    // tenth of the analyzer's time on long headers.)
    let flags_before_block = message.flags.len();
    let (mut header_count, mut skipped_headers) = (0usize, 0usize);
    let mut found: Vec<(Option<Cow<'static, str>>, std::ops::Range<usize>)> = Vec::with_capacity(24);
    let mut block_end = None;
    for piece in line_ranges(&data[first_end..]) {
        let raw = first_end + piece.start..first_end + piece.end;
        // Whether a LF ended this piece (the last piece may have none).
        let ended = raw.end < data.len();
        let mut line = raw.clone();
        if data[line.clone()].last() == Some(&b'\r') {
            line.end -= 1;
        }
        if line.is_empty() {
            if ended {
                // The empty line: the header block ends after it.
                block_end = Some(raw.end + 1);
                break;
            }
            continue;
        }
        // The last piece of an unterminated block has no line end at all.
        if line.end == raw.end && ended {
            message.flag("bare_lf_line_endings");
        }
        if line.len() > MAX_HEADER_LINE {
            message.flag("long_header_line");
            line.end = line.start + MAX_HEADER_LINE;
        }
        let bytes = &data[line.clone()];
        if bytes[0] == b' ' || bytes[0] == b'\t' {
            // Folded continuation (RFC 3261 §7.3.1): part of the previous value.
            if !found.is_empty() {
                message.flag("folded_header");
                found.push((None, line));
            }
            continue;
        }
        let Some(colon) = memchr::memchr(b':', bytes) else {
            message.flag("header_without_colon");
            continue;
        };
        let name = bytes[..colon].trim_ascii();
        if name.is_empty() || !name.iter().all(|&b| is_token_char(b)) {
            message.flag("invalid_header_name");
            continue;
        }
        if header_count >= MAX_HEADERS {
            skipped_headers += 1;
            continue;
        }
        let name = normalize_name(name);
        header_count += 1;
        let after_colon = &bytes[colon + 1..];
        let value_start = line.start + colon + 1 + (after_colon.len() - after_colon.trim_ascii_start().len());
        found.push((Some(name), value_start..value_start + after_colon.trim_ascii().len()));
    }
    if block_end.is_none() {
        message.flags.insert(flags_before_block, "headers_not_terminated");
    }
    let block_end = block_end.unwrap_or(data.len());
    let block_text = std::str::from_utf8(&data[first_end..block_end]).ok();
    let slice_text = |range: std::ops::Range<usize>| match block_text
        .and_then(|t| t.get(range.start - first_end..range.end - first_end))
    {
        Some(t) => Cow::Borrowed(t),
        None => text(&data[range]),
    };
    for (name, range) in found {
        match name {
            Some(name) => message.push_header(Header { name, value: slice_text(range) }),
            None => {
                let last = message.headers.last_mut().expect("a fold follows a header");
                let mut joined = last.value.clone().into_owned();
                joined.push(' ');
                joined.push_str(&text(data[range].trim_ascii()));
                last.value = Cow::Owned(joined);
            }
        }
    }
    if skipped_headers > 0 {
        message.flag("too_many_headers");
    }
    if SINGLE_VALUE.iter().any(|slot| message.repeated & (1 << *slot as u16) != 0) {
        message.flag("repeated_single_value_header");
    }
    let rest = &data[block_end..];
    match message.header("content-length").map(|v| v.parse::<usize>()) {
        Some(Ok(n)) => {
            message.content_length = Some(n);
            if n > rest.len() {
                message.flag("content_length_exceeds_data");
                message.body = rest;
            } else {
                message.body = &rest[..n];
                if !stream && rest[n..].iter().any(|b| !b.is_ascii_whitespace()) {
                    message.flag("data_after_body");
                }
            }
        }
        Some(Err(_)) => {
            message.flag("invalid_content_length");
            message.body = if stream { &[] } else { rest };
        }
        None => {
            if stream {
                message.flag("missing_content_length");
            }
            message.body = if stream { &[] } else { rest };
        }
    }
    if message.header("call-id").is_none() {
        message.flag("missing_call_id");
    }
    if message.header("cseq").is_none() {
        message.flag("missing_cseq");
    }
    Some(message)
}

/// The URI inside a From/To/Contact value: `"Name" <sip:a@b>;tag=x` gives `sip:a@b`.
pub fn uri_of(value: &str) -> &str {
    if let Some(open) = value.find('<') {
        let rest = &value[open + 1..];
        return rest.split('>').next().unwrap_or(rest).trim();
    }
    value.split(';').next().unwrap_or(value).trim()
}

/// The `tag` parameter of a From/To value.
pub fn tag_of(value: &str) -> Option<&str> {
    let params = match value.rfind('>') {
        Some(close) => &value[close + 1..],
        None => value,
    };
    params.split(';').skip(1).find_map(|p| {
        let (name, v) = p.split_once('=')?;
        name.trim().eq_ignore_ascii_case("tag").then(|| v.trim())
    })
}

/// The transport in a Via value, e.g. `SIP/2.0/UDP host` gives `UDP`.
pub fn via_transport(value: &str) -> Option<&str> {
    let protocol = value.split_ascii_whitespace().next()?;
    protocol.rsplit('/').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_lines_are_told_from_http_and_ssdp() {
        assert_eq!(start_line_offset(b"INVITE sip:bob@example.com SIP/2.0"), Some(0));
        assert_eq!(start_line_offset(b"SIP/2.0 180 Ringing"), Some(0));
        assert_eq!(start_line_offset(b"FOO sips:x@y SIP/2.0"), Some(0), "extension methods");
        assert_eq!(start_line_offset(b"NOTIFY * HTTP/1.1"), None);
        assert_eq!(start_line_offset(b"M-SEARCH * HTTP/1.1"), None);
        assert_eq!(start_line_offset(b"GET / HTTP/1.1"), None);
        assert_eq!(start_line_offset(b"HTTP/1.1 200 OK"), None);
        assert_eq!(start_line_offset(b"SIP/2.0 999 Nope"), None);
        assert_eq!(start_line_offset(b"\x00\x01REGISTER sip:1.1.1.1:5060 SIP/2.0"), Some(2));
        assert_eq!(start_line_offset(b"XREGISTER sip:a SIP/2.0"), Some(0), "a token is a method");
        assert_eq!(start_line_offset(b"\x00\x00GARBAGE sip:a SIP/2.0"), None, "unknown methods only at the start");
    }

    #[test]
    fn compact_names_expand_and_case_is_ignored() {
        let m = parse(
            b"INVITE sip:b@h SIP/2.0\r\nv: SIP/2.0/UDP a\r\nVIA: SIP/2.0/TCP b\r\ni: abc\r\nF: <sip:a@h>;tag=1\r\nl: 0\r\nX-Custom: 1\r\n\r\n",
            false,
        )
        .unwrap();
        assert_eq!(m.header_all("via").collect::<Vec<_>>(), ["SIP/2.0/UDP a", "SIP/2.0/TCP b"]);
        assert_eq!(m.header("call-id"), Some("abc"));
        assert_eq!(m.header("from"), Some("<sip:a@h>;tag=1"));
        assert_eq!(m.header("x-custom"), Some("1"));
        assert_eq!(m.content_length, Some(0));
        assert!(m.flags.contains(&"missing_cseq"));
    }

    #[test]
    fn indexed_headers_are_the_first_of_their_name_and_repeats_are_flagged() {
        let m = parse(
            b"INVITE sip:b@h SIP/2.0\r\nv: SIP/2.0/UDP a\r\nVia: SIP/2.0/TCP b\r\nX-A: 1\r\ni: first\r\n\
              CSeq: 1 INVITE\r\nf: <sip:a@h>\r\nTo: <sip:b@h>\r\nCall-ID: second\r\nUser-Agent: ua\r\n\
              Server: s\r\nc: application/sdp\r\nm: <sip:a@1.2.3.4>\r\nExpires: 60\r\nl: 0\r\n\r\n",
            false,
        )
        .unwrap();
        for name in [
            "call-id",
            "cseq",
            "from",
            "to",
            "content-length",
            "via",
            "user-agent",
            "server",
            "content-type",
            "contact",
            "expires",
            "x-a",
            "absent",
        ] {
            let scanned = m.headers.iter().find(|h| h.name == name).map(|h| h.value.as_ref());
            assert_eq!(m.header(name), scanned, "{name}");
        }
        assert_eq!(m.header("call-id"), Some("first"));
        assert_eq!(m.header("via"), Some("SIP/2.0/UDP a"));
        assert!(m.flags.contains(&"repeated_single_value_header"), "two Call-IDs: {:?}", m.flags);
        let twice_via = parse(b"OPTIONS sip:b@h SIP/2.0\r\nVia: a\r\nVia: b\r\nCall-ID: 1\r\n\r\n", false).unwrap();
        assert!(!twice_via.flags.contains(&"repeated_single_value_header"), "Via may repeat");
    }

    #[test]
    fn names_are_normalized_borrowed_when_known_and_lowered_otherwise() {
        let known = |name: &str| matches!(normalize_name(name.as_bytes()), Cow::Borrowed(_));
        assert_eq!(normalize_name(b"P-Asserted-Identity"), "p-asserted-identity");
        assert!(known("P-Asserted-Identity") && known("WWW-Authenticate") && known("x"));
        // The longest known name still fits the stack buffer.
        assert!(known("P-Access-Network-Info") && known("Min-SE"));
        assert_eq!(normalize_name(b"X"), "session-expires");
        assert_eq!(normalize_name(b"Identity"), "identity");
        assert_eq!(normalize_name(b"X-Trace-Id"), "x-trace-id");
        let long = "X-A-Header-Name-Longer-Than-Any-Known-One";
        assert_eq!(normalize_name(long.as_bytes()), long.to_ascii_lowercase());
        assert!(!known(long) && !known("X-Trace-Id"));
    }

    #[test]
    fn malformed_inputs_give_flags() {
        let m = parse(b"OPTIONS sip:x@y SIP/2.0", false).unwrap();
        assert_eq!(m.flags, ["no_line_terminator"]);
        let m = parse(b"SIP/2.0 200 OK\nCall-ID: a\nCSeq: 1 X\nContent-Length: 50\n\nshort", false).unwrap();
        assert!(m.flags.contains(&"bare_lf_line_endings"));
        assert!(m.flags.contains(&"content_length_exceeds_data"));
        assert_eq!(m.body, b"short");
        let long =
            format!("BYE sip:a@b SIP/2.0\r\nSubject: {}\r\nCall-ID: c\r\nCSeq: 2 BYE\r\n\r\n", "z".repeat(20_000));
        let m = parse(long.as_bytes(), false).unwrap();
        assert_eq!(m.flags, ["long_header_line"]);
        assert_eq!(m.header("subject").unwrap().len(), MAX_HEADER_LINE - "Subject: ".len());
        let m = parse(b"INVITE sip:a@b SIP/2.0\r\nContent-Length: bad\r\n\r\nbody", false).unwrap();
        assert!(m.flags.contains(&"invalid_content_length"));
        assert_eq!(m.body, b"body");
    }

    /// Values are sliced from the block's one UTF-8 check; a block that is
    /// not UTF-8, or a line cut inside a character, still gives each value
    /// as text (invalid bytes replaced), the rest untouched.
    #[test]
    fn values_of_non_utf8_blocks_and_lines_cut_inside_a_character() {
        let m = parse(
            b"OPTIONS sip:x@y SIP/2.0\r\nSubject: caf\xe9\r\nCall-ID:  \xc3\xa9t\xc3\xa9 \r\nCSeq: 1 OPTIONS\r\n\r\n",
            false,
        )
        .unwrap();
        assert_eq!(m.header("subject"), Some("caf\u{fffd}"));
        assert_eq!(m.header("call-id"), Some("\u{e9}t\u{e9}"));
        assert_eq!(m.header("cseq"), Some("1 OPTIONS"));
        // "é" is two bytes: the cut at MAX_HEADER_LINE falls inside one.
        let prefix = "Subject: ";
        let value = "x".repeat(MAX_HEADER_LINE - prefix.len() - 1) + &"\u{e9}".repeat(10);
        let text = format!("BYE sip:a@b SIP/2.0\r\n{prefix}{value}\r\nCall-ID: \u{e9}\r\nCSeq: 2 BYE\r\n\r\n");
        let m = parse(text.as_bytes(), false).unwrap();
        let subject = m.header("subject").unwrap();
        assert!(subject.ends_with('\u{fffd}') && subject.starts_with("xxx"), "{}", &subject[subject.len() - 8..]);
        assert_eq!(m.header("call-id"), Some("\u{e9}"), "the rest of the block is sliced as before");
        assert!(matches!(m.headers.iter().find(|h| h.name == "call-id").unwrap().value, Cow::Borrowed(_)));
    }

    #[test]
    fn uri_and_tag_helpers() {
        assert_eq!(uri_of("\"Al\" <sip:al@h>;tag=9"), "sip:al@h");
        assert_eq!(uri_of("sip:al@h;tag=9"), "sip:al@h");
        assert_eq!(tag_of("\"Al\" <sip:al@h;lr>;tag=9"), Some("9"));
        assert_eq!(tag_of("<sip:al@h>"), None);
        assert_eq!(via_transport("SIP/2.0/TCP 1.2.3.4;branch=z"), Some("TCP"));
        assert_eq!(scan_content_length(b"X\r\nl: 12\r\n"), Some(Ok(12)));
        assert_eq!(header_end(b"A\r\nB: c\r\n\r\nbody"), Some(11));
        assert_eq!(header_end(b"A\nB: c\n\nbody"), Some(8));
    }
}
