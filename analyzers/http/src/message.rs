//! A message head (request or status line and header fields), read by
//! httparse and kept as owned, bounded fields: only those the tools
//! report or the framing needs.

use pcapsule_guest::reassembly::Frame;

/// Longest text kept from one field (a URI, a user agent); longer ones are
/// cut on a character boundary, and URIs say their full length.
pub const MAX_TEXT: usize = 512;
/// Header fields one head may have (httparse needs the room up front).
const MAX_FIELDS: usize = 128;

/// The first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Request { method: String, target: String, target_length: usize },
    Response { status: u16, reason: String },
}

/// A parsed head.
#[derive(Debug, Clone)]
pub struct Head {
    pub line: Line,
    /// HTTP/1.`minor`.
    pub minor_version: u8,
    pub fields: Fields,
    /// The frame that completed it.
    pub frame: Frame,
}

/// The header fields the tools use (the first of each, except cookies).
#[derive(Debug, Clone, Default)]
pub struct Fields {
    pub host: Option<String>,
    pub user_agent: Option<String>,
    pub server: Option<String>,
    pub content_type: Option<String>,
    pub content_length: Option<u64>,
    /// Content-Length was present but not a number (or several that disagree).
    pub bad_content_length: bool,
    pub chunked: bool,
    pub content_encoding: Option<String>,
    pub content_disposition: Option<String>,
    pub location: Option<String>,
    pub referer: Option<String>,
    pub upgrade: Option<String>,
    /// `Authorization` or `Proxy-Authorization`: which, and its value.
    pub authorization: Option<(&'static str, String)>,
    /// Names of the cookies sent (values are never kept).
    pub cookie_names: Vec<String>,
    /// A proxy's trace: Via, X-Forwarded-For, Forwarded.
    pub via_proxy: bool,
}

/// What reading a head gave.
pub enum Parsed {
    Head(Box<Head>, usize),
    /// More bytes are needed.
    Partial,
    /// Not an HTTP/1 head.
    Invalid,
}

fn text(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let s = s.trim();
    if s.len() <= MAX_TEXT {
        return s.to_string();
    }
    let mut end = MAX_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// The head with the spaces inside its request target replaced, and the
/// target as sent; `None` unless the first line is a method, a target and
/// an `HTTP/1.x` version.
fn with_spaces_stood_in(bytes: &[u8]) -> Option<(Vec<u8>, String)> {
    let line_end = bytes.iter().position(|b| *b == b'\n')?;
    let line = bytes[..line_end].strip_suffix(b"\r").unwrap_or(&bytes[..line_end]);
    let first_space = line.iter().position(|b| *b == b' ')?;
    let last_space = line.iter().rposition(|b| *b == b' ')?;
    let version = &line[last_space + 1..];
    if last_space <= first_space + 1 || !(version == b"HTTP/1.0" || version == b"HTTP/1.1") {
        return None;
    }
    let target = &line[first_space + 1..last_space];
    let mut copy = bytes.to_vec();
    for b in &mut copy[first_space + 1..last_space] {
        if *b == b' ' {
            *b = b'_';
        }
    }
    Some((copy, String::from_utf8_lossy(target).into_owned()))
}

/// Reads a head at the start of `bytes` (`response`: a status line first).
pub fn parse(bytes: &[u8], response: bool, frame: Frame) -> Parsed {
    // Declared first: the parsed head borrows from it.
    let respaced: Vec<u8>;
    let mut storage = [httparse::EMPTY_HEADER; MAX_FIELDS];
    // Lenient like the servers and browsers whose traffic is captured:
    // obsolete line folding, spaces before a colon, runs of spaces.
    let mut config = httparse::ParserConfig::default();
    config
        .allow_obsolete_multiline_headers_in_responses(true)
        .allow_spaces_after_header_name_in_responses(true)
        .allow_multiple_spaces_in_request_line_delimiters(true)
        .allow_multiple_spaces_in_response_status_delimiters(true)
        .ignore_invalid_headers_in_responses(true)
        .ignore_invalid_headers_in_requests(true);
    let (line, minor_version, length, headers) = if response {
        let mut r = httparse::Response::new(&mut storage);
        let length = match config.parse_response(&mut r, bytes) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Parsed::Partial,
            Err(_) => return Parsed::Invalid,
        };
        let line = Line::Response { status: r.code.unwrap_or(0), reason: text(r.reason.unwrap_or("").as_bytes()) };
        (line, r.version.unwrap_or(1), length, r.headers)
    } else {
        let mut r = httparse::Request::new(&mut storage);
        let mut spaced_target = None;
        let length = match config.parse_request(&mut r, bytes) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Parsed::Partial,
            Err(_) => {
                // A target with spaces in it (`GET /a b HTTP/1.0`), which
                // servers and Wireshark take as the text between the first
                // and the last space: parsed with the spaces stood in for,
                // the target kept as sent.
                let Some((copy, target)) = with_spaces_stood_in(bytes) else { return Parsed::Invalid };
                respaced = copy;
                spaced_target = Some(target);
                r = httparse::Request::new(&mut storage);
                match config.parse_request(&mut r, &respaced) {
                    Ok(httparse::Status::Complete(n)) => n,
                    Ok(httparse::Status::Partial) => return Parsed::Partial,
                    Err(_) => return Parsed::Invalid,
                }
            }
        };
        let target = spaced_target.as_deref().unwrap_or(r.path.unwrap_or(""));
        let line = Line::Request {
            method: text(r.method.unwrap_or("").as_bytes()),
            target: text(target.as_bytes()),
            target_length: target.len(),
        };
        (line, r.version.unwrap_or(1), length, r.headers)
    };
    let mut fields = Fields::default();
    for header in headers.iter() {
        let value = header.value;
        let name = header.name;
        let first = |slot: &mut Option<String>| {
            if slot.is_none() {
                *slot = Some(text(value));
            }
        };
        if name.eq_ignore_ascii_case("host") {
            first(&mut fields.host);
        } else if name.eq_ignore_ascii_case("user-agent") {
            first(&mut fields.user_agent);
        } else if name.eq_ignore_ascii_case("server") {
            first(&mut fields.server);
        } else if name.eq_ignore_ascii_case("content-type") {
            first(&mut fields.content_type);
        } else if name.eq_ignore_ascii_case("content-length") {
            match std::str::from_utf8(value).ok().and_then(|v| v.trim().parse::<u64>().ok()) {
                Some(n) if fields.content_length.is_none_or(|m| m == n) => fields.content_length = Some(n),
                _ => fields.bad_content_length = true,
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Chunked is the last coding whenever it is present (RFC 9112 §6.1).
            let codings = String::from_utf8_lossy(value).to_ascii_lowercase();
            fields.chunked |= codings.split(',').next_back().is_some_and(|c| c.trim() == "chunked");
        } else if name.eq_ignore_ascii_case("content-encoding") {
            first(&mut fields.content_encoding);
        } else if name.eq_ignore_ascii_case("content-disposition") {
            first(&mut fields.content_disposition);
        } else if name.eq_ignore_ascii_case("location") {
            first(&mut fields.location);
        } else if name.eq_ignore_ascii_case("referer") {
            first(&mut fields.referer);
        } else if name.eq_ignore_ascii_case("upgrade") {
            first(&mut fields.upgrade);
        } else if name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("proxy-authorization") {
            if fields.authorization.is_none() {
                let which = if name.len() == "authorization".len() { "authorization" } else { "proxy_authorization" };
                fields.authorization = Some((which, text(value)));
            }
        } else if name.eq_ignore_ascii_case("cookie") {
            for cookie in String::from_utf8_lossy(value).split(';') {
                let cookie_name = cookie.split('=').next().unwrap_or("").trim();
                if !cookie_name.is_empty() && fields.cookie_names.len() < 16 {
                    fields.cookie_names.push(text(cookie_name.as_bytes()));
                }
            }
        } else if ["via", "x-forwarded-for", "forwarded"].iter().any(|p| name.eq_ignore_ascii_case(p)) {
            fields.via_proxy = true;
        }
    }
    Parsed::Head(Box::new(Head { line, minor_version, fields, frame }), length)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(bytes: &[u8], response: bool) -> Head {
        match parse(bytes, response, Frame::default()) {
            Parsed::Head(head, n) => {
                assert_eq!(&bytes[n - 4..n], b"\r\n\r\n");
                *head
            }
            Parsed::Partial => panic!("partial"),
            Parsed::Invalid => panic!("invalid"),
        }
    }

    #[test]
    fn heads_give_their_lines_and_the_fields_used() {
        let h = head(
            b"GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8\r\nCookie: a=1; sid=2\r\n\
              Authorization: Basic dTpw\r\nTransfer-Encoding: gzip, chunked\r\n\r\nrest",
            false,
        );
        assert_eq!(h.line, Line::Request { method: "GET".into(), target: "/a?b=c".into(), target_length: 6 });
        assert_eq!(h.fields.host.as_deref(), Some("example.com"));
        assert_eq!(h.fields.cookie_names, ["a", "sid"]);
        assert_eq!(h.fields.authorization, Some(("authorization", "Basic dTpw".into())));
        assert!(h.fields.chunked);
        let r = head(b"HTTP/1.0 404 Not Found\r\nContent-Length: 12\r\nServer: nginx\r\n\r\n", true);
        assert_eq!(r.line, Line::Response { status: 404, reason: "Not Found".into() });
        assert_eq!(
            (r.minor_version, r.fields.content_length, r.fields.server.as_deref()),
            (0, Some(12), Some("nginx"))
        );
    }

    #[test]
    fn partial_invalid_and_conflicting_heads() {
        assert!(matches!(parse(b"GET / HTTP/1.1\r\nHost: x\r\n", false, Frame::default()), Parsed::Partial));
        assert!(matches!(parse(b"\x16\x03\x01\x02\x00", false, Frame::default()), Parsed::Invalid));
        let spaced = head(b"GET /Hello Arkime HTTP/1.0\r\n\r\n", false);
        assert_eq!(
            spaced.line,
            Line::Request { method: "GET".into(), target: "/Hello Arkime".into(), target_length: 13 }
        );
        let r = head(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", true);
        assert!(r.fields.bad_content_length);
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(5000));
        let h = head(long.as_bytes(), false);
        let Line::Request { target, target_length, .. } = h.line else { panic!() };
        assert_eq!((target.len(), target_length), (MAX_TEXT, 5001));
    }
}
