//! Plain HTTP/1.1 over TCP: a browser, a script or an updater fetching a
//! few objects on one keep-alive connection (pages, scripts, images, JSON),
//! with the odd redirect, 304 and 404, some bodies chunked, and now and then
//! a Windows executable: what `analyze_http_requests` and
//! `analyze_http_objects` read in a capture of plain web traffic.

use std::io::Write;

use crate::packet::{Script, fill};
use crate::tcp::Stream;
use crate::world::{CLIENTS, Rng, SERVERS, World};

/// What a client asks for: path, content type, typical size in bytes.
const OBJECTS: [(&str, &str, usize); 7] = [
    ("/", "text/html; charset=utf-8", 18_000),
    ("/static/app.js", "application/javascript", 60_000),
    ("/img/logo.png", "image/png", 9_000),
    ("/api/v1/items?page=2&sort=name", "application/json", 2_500),
    ("/favicon.ico", "image/x-icon", 1_150),
    ("/css/site.css", "text/css", 12_000),
    ("/news/2024/05/14/index.html", "text/html; charset=utf-8", 35_000),
];

const AGENTS: [&str; 4] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "curl/8.5.0",
    "python-requests/2.31.0",
];

/// One connection: one to six requests, each answered before the next.
pub fn session(s: &mut Script, rng: &mut Rng, w: &mut World, t0: u64) {
    let ci = rng.index(CLIENTS);
    let si = rng.skewed(SERVERS);
    let port = if rng.chance(0.85) { 80 } else { 8080 };
    let client = (World::client(ci), w.ephemeral_port(ci));
    let mut stream = Stream::open(s, rng, t0, client, (World::server(si), port));
    let agent = *rng.pick(&AGENTS);
    let mut message = Vec::with_capacity(4096);
    let mut t = 0;
    for _ in 0..1 + rng.index(6) {
        let (path, content_type, size) = if rng.chance(0.01) {
            ("/downloads/setup-2.4.1.exe", "application/x-msdownload", 250_000)
        } else {
            OBJECTS[rng.skewed(OBJECTS.len())]
        };
        message.clear();
        write!(
            message,
            "GET {path} HTTP/1.1\r\nHost: www{si}.example.net\r\nUser-Agent: {agent}\r\nAccept: */*\r\n\
             Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n"
        )
        .expect("writing to a Vec");
        t = stream.send(s, t + rng.range(1_000, 200_000), true, &message);
        message.clear();
        let roll = rng.unit();
        if roll < 0.06 {
            message
                .extend_from_slice(b"HTTP/1.1 304 Not Modified\r\nServer: nginx/1.24.0\r\nETag: \"5f2-6123\"\r\n\r\n");
        } else if roll < 0.10 {
            respond(&mut message, "404 Not Found", "text/html", 160, rng.chance(0.5));
        } else if roll < 0.13 {
            message.extend_from_slice(
                b"HTTP/1.1 301 Moved Permanently\r\nServer: nginx/1.24.0\r\nLocation: https://www.example.net/\r\n\
                  Content-Length: 0\r\n\r\n",
            );
        } else {
            let length = size / 2 + rng.index(size);
            respond(&mut message, "200 OK", content_type, length, rng.chance(0.2));
        }
        t = stream.send(s, t + rng.range(500, 50_000), false, &message);
    }
    stream.close(s, t + rng.range(1_000, 2_000_000));
}

/// A response with `length` bytes of body, chunked or with Content-Length.
fn respond(out: &mut Vec<u8>, status: &str, content_type: &str, length: usize, chunked: bool) {
    write!(out, "HTTP/1.1 {status}\r\nServer: nginx/1.24.0\r\nContent-Type: {content_type}\r\n")
        .expect("writing to a Vec");
    if chunked {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        let mut left = length;
        while left > 0 {
            let n = left.min(8192);
            write!(out, "{n:x}\r\n").expect("writing to a Vec");
            body(out, n);
            out.extend_from_slice(b"\r\n");
            left -= n;
        }
        out.extend_from_slice(b"0\r\n\r\n");
    } else {
        write!(out, "Content-Length: {length}\r\n\r\n").expect("writing to a Vec");
        body(out, length);
    }
}

/// `length` filler bytes.
fn body(out: &mut Vec<u8>, mut length: usize) {
    while length > 0 {
        let part = fill(length);
        out.extend_from_slice(part);
        length -= part.len();
    }
}
