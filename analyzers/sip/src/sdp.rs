//! SDP bodies (RFC 4566): what media each side offers, where, with which
//! codecs and direction. Line-based text, parsed by hand for the same reasons
//! as SIP (see `message.rs`); media and codecs per body are capped.

use crate::result::{MediaEntry, SdpEntry};

const MAX_MEDIA: usize = 16;
const MAX_CODECS: usize = 32;
const MAX_VALUE: usize = 256;

/// Codec names of the static RTP payload types (RFC 3551), used when no
/// rtpmap names them.
fn static_codec(pt: &str) -> Option<&'static str> {
    Some(match pt {
        "0" => "PCMU/8000",
        "3" => "GSM/8000",
        "4" => "G723/8000",
        "8" => "PCMA/8000",
        "9" => "G722/8000",
        "13" => "CN/8000",
        "18" => "G729/8000",
        "34" => "H263/90000",
        _ => return None,
    })
}

#[derive(Default)]
struct Media {
    media: String,
    port: Option<u32>,
    protocol: String,
    formats: Vec<String>,
    rtpmap: Vec<(String, String)>,
    address: Option<String>,
    direction: Option<String>,
}

/// A parsed SDP body.
#[derive(Default)]
pub struct Sdp {
    origin: Option<String>,
    session_name: Option<String>,
    address: Option<String>,
    direction: Option<String>,
    media: Vec<Media>,
    media_dropped: usize,
}

fn cut(s: &str) -> String {
    // A value of at most MAX_VALUE bytes (nearly all) has at most as many
    // characters: copied whole, not char by char.
    if s.len() <= MAX_VALUE {
        return s.to_string();
    }
    s.chars().take(MAX_VALUE).collect()
}

/// The address of a `c=IN IP4 192.0.2.1` line.
fn connection_address(value: &str) -> Option<String> {
    value.split_ascii_whitespace().nth(2).map(|a| cut(a.split('/').next().unwrap_or(a)))
}

impl Sdp {
    /// Parses `body` when it looks like SDP (starts with `v=`).
    pub fn parse(body: &[u8]) -> Option<Sdp> {
        let text = String::from_utf8_lossy(body);
        if !text.trim_start().starts_with("v=") {
            return None;
        }
        let mut sdp = Sdp::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else { continue };
            let value = value.trim();
            let in_media = !sdp.media.is_empty() && sdp.media_dropped == 0;
            match key.trim() {
                "o" => sdp.origin = Some(cut(value)),
                "s" => sdp.session_name = Some(cut(value)),
                "c" if in_media => sdp.media.last_mut().expect("in media").address = connection_address(value),
                "c" if sdp.media.is_empty() => sdp.address = connection_address(value),
                "m" => {
                    if sdp.media.len() >= MAX_MEDIA {
                        sdp.media_dropped += 1;
                        continue;
                    }
                    let mut parts = value.split_ascii_whitespace();
                    let media = parts.next().map(cut).unwrap_or_default();
                    let port = parts.next().and_then(|p| p.split('/').next()?.parse().ok());
                    let protocol = parts.next().map(cut).unwrap_or_default();
                    let formats = parts.take(MAX_CODECS).map(cut).collect();
                    sdp.media.push(Media { media, port, protocol, formats, ..Default::default() });
                }
                "a" => {
                    let direction = matches!(value, "sendrecv" | "sendonly" | "recvonly" | "inactive");
                    if let Some(map) = value.strip_prefix("rtpmap:") {
                        if let (true, Some((pt, name))) = (in_media, map.split_once(' ')) {
                            let m = sdp.media.last_mut().expect("in media");
                            if m.rtpmap.len() < MAX_CODECS {
                                m.rtpmap.push((cut(pt.trim()), cut(name.trim())));
                            }
                        }
                    } else if direction && in_media {
                        sdp.media.last_mut().expect("in media").direction = Some(value.to_string());
                    } else if direction && sdp.media.is_empty() {
                        sdp.direction = Some(value.to_string());
                    }
                }
                _ => {}
            }
        }
        Some(sdp)
    }

    /// Codec names offered, for statistics.
    pub fn codec_names(&self) -> Vec<String> {
        self.media.iter().flat_map(Media::codecs).map(|c| c.to_ascii_uppercase()).collect()
    }

    /// The body as a message entry shows it.
    pub fn entry(&self) -> SdpEntry {
        let media = self
            .media
            .iter()
            .map(|m| MediaEntry {
                media: m.media.clone(),
                port: m.port,
                protocol: m.protocol.clone(),
                formats: m.formats.clone(),
                codecs: m.codecs(),
                address: m.address.as_ref().or(self.address.as_ref()).cloned(),
                direction: m.direction.as_ref().or(self.direction.as_ref()).map_or("sendrecv", |d| d.as_str()).into(),
            })
            .collect();
        SdpEntry {
            origin: self.origin.clone(),
            session_name: self.session_name.clone(),
            connection_address: self.address.clone(),
            media,
            media_dropped: (self.media_dropped > 0).then_some(self.media_dropped),
        }
    }
}

impl Media {
    /// Codec per format, in offer order: the rtpmap name, else the static name, else the number.
    fn codecs(&self) -> Vec<String> {
        self.formats
            .iter()
            .map(|f| {
                self.rtpmap
                    .iter()
                    .find(|(pt, _)| pt == f)
                    .map(|(_, name)| name.clone())
                    .or_else(|| static_codec(f).map(str::to_string))
                    .unwrap_or_else(|| f.clone())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn media_codecs_addresses_and_directions() {
        let body = b"v=0\r\no=alice 1 1 IN IP4 10.0.0.1\r\ns=call\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\na=sendonly\r\n\
m=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n\
m=video 51372 RTP/AVP 99\r\nc=IN IP4 10.0.0.9/127\r\na=rtpmap:99 H264/90000\r\na=recvonly\r\n";
        let sdp = serde_json::to_value(Sdp::parse(body).unwrap().entry()).unwrap();
        assert_eq!(sdp["connection_address"], "10.0.0.1");
        let audio = &sdp["media"][0];
        assert_eq!(audio["port"], 49170);
        assert_eq!(audio["codecs"], json!(["PCMU/8000", "PCMA/8000", "telephone-event/8000"]));
        assert_eq!(audio["direction"], "sendonly", "session-level direction applies");
        assert_eq!(audio["address"], "10.0.0.1");
        let video = &sdp["media"][1];
        assert_eq!(video["address"], "10.0.0.9");
        assert_eq!(video["direction"], "recvonly");
        assert_eq!(video["codecs"], json!(["H264/90000"]));
        assert!(Sdp::parse(b"<xml/>").is_none());
    }
}
