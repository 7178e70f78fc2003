//! A message body as it streams past: its size, its first bytes (to tell
//! an executable or read a form), and, for objects, its Content-Encoding
//! undone (gzip, deflate) and the SHA-256 of the result, all without
//! keeping the body. The transfer coding (chunked) is undone before the
//! bytes arrive here (`stream`).

use std::io::Write;

use sha2::{Digest, Sha256};

/// Decoded bytes one body may produce before decoding stops: a bound on
/// the work a decompression bomb can cause (its hash is then not given).
pub const MAX_DECODED_BYTES: u64 = 64 * 1024 * 1024;
/// Bytes of a body kept to look into: magic numbers, and the fields of a
/// form a request posts.
const KEPT_PREFIX: usize = 2048;
/// Memory an active inflater holds (its window and tables), counted
/// against the reassembler's bound on bytes held.
pub const DECODER_FOOTPRINT: usize = 48 * 1024;

/// What a body was, once it ended.
#[derive(Debug, Clone, Default)]
pub struct BodySummary {
    /// Bytes of the body as sent (after the transfer coding was undone).
    pub bytes: u64,
    /// Bytes once the Content-Encoding was undone; `None` when it was not
    /// (not asked, an encoding not decoded, corrupt, or past the bound).
    pub decoded_bytes: Option<u64>,
    /// SHA-256 of the decoded body; `None` unless the whole body was seen
    /// and decoded.
    pub sha256: Option<[u8; 32]>,
    /// Its first bytes, decoded when decoding.
    pub prefix: Vec<u8>,
    /// Every byte was seen: no gap, and the message ended as framed.
    pub complete: bool,
    /// Why the decoded size or hash is missing, when it is.
    pub not_decoded: Option<&'static str>,
}

/// Where decoded bytes go: counted, hashed, the first ones kept.
struct Sink {
    hasher: Sha256,
    decoded: u64,
    prefix: Vec<u8>,
    over_bound: bool,
}

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.decoded + bytes.len() as u64 > MAX_DECODED_BYTES {
            self.over_bound = true;
            return Err(std::io::Error::other("decoded body past the bound"));
        }
        self.decoded += bytes.len() as u64;
        self.hasher.update(bytes);
        let room = KEPT_PREFIX.saturating_sub(self.prefix.len());
        self.prefix.extend_from_slice(&bytes[..bytes.len().min(room)]);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// How the body's bytes become its content.
enum Decoder {
    Identity(Sink),
    Gzip(Box<flate2::write::GzDecoder<Sink>>),
    Zlib(Box<flate2::write::ZlibDecoder<Sink>>),
    Deflate(Box<flate2::write::DeflateDecoder<Sink>>),
    /// `deflate` whose first bytes have not arrived: zlib-wrapped (as the
    /// standard says) or raw (as some servers send it), told by its header.
    DeflatePending(Sink),
    /// Not decoded, and why.
    Stopped(&'static str),
}

/// One body in progress.
pub struct Body {
    bytes: u64,
    raw_prefix: Vec<u8>,
    decoder: Option<Decoder>,
    gap: bool,
}

fn sink() -> Sink {
    Sink { hasher: Sha256::new(), decoded: 0, prefix: Vec::new(), over_bound: false }
}

impl Body {
    /// A body with this Content-Encoding; decoded and hashed when `digest`.
    pub fn new(content_encoding: Option<&str>, digest: bool) -> Self {
        let decoder = digest.then(|| {
            let encoding = content_encoding.map(|e| e.trim().to_ascii_lowercase());
            match encoding.as_deref() {
                None | Some("" | "identity") => Decoder::Identity(sink()),
                Some("gzip" | "x-gzip") => Decoder::Gzip(Box::new(flate2::write::GzDecoder::new(sink()))),
                Some("deflate") => Decoder::DeflatePending(sink()),
                Some(_) => Decoder::Stopped("content_encoding_not_decoded"),
            }
        });
        Body { bytes: 0, raw_prefix: Vec::new(), decoder, gap: false }
    }

    /// Memory it holds.
    pub fn footprint(&self) -> usize {
        let decoding = matches!(self.decoder, Some(Decoder::Gzip(_) | Decoder::Zlib(_) | Decoder::Deflate(_)));
        self.raw_prefix.len() + if decoding { DECODER_FOOTPRINT } else { 0 }
    }

    /// The next bytes of the body.
    pub fn data(&mut self, bytes: &[u8]) {
        self.bytes += bytes.len() as u64;
        let room = KEPT_PREFIX.saturating_sub(self.raw_prefix.len());
        self.raw_prefix.extend_from_slice(&bytes[..bytes.len().min(room)]);
        let Some(decoder) = self.decoder.take() else { return };
        self.decoder = Some(feed(decoder, bytes));
    }

    /// Bytes of the body were not captured: its content cannot be known.
    pub fn gap(&mut self, bytes: u64) {
        self.bytes += bytes;
        self.gap = true;
        if self.decoder.is_some() {
            self.decoder = Some(Decoder::Stopped("body_not_captured_whole"));
        }
    }

    /// The body ended: as framed (`complete`), or cut by the stream's end.
    pub fn finish(self, complete: bool) -> BodySummary {
        let complete = complete && !self.gap;
        let mut summary =
            BodySummary { bytes: self.bytes, complete, prefix: self.raw_prefix, ..BodySummary::default() };
        let Some(decoder) = self.decoder else { return summary };
        // The inflater's last output may pass the bound only now.
        macro_rules! finish_decoding {
            ($d:expr) => {{
                let mut d = $d;
                let flushed = d.try_finish();
                if d.get_ref().over_bound {
                    Err("decoded_body_past_bound")
                } else {
                    flushed.and_then(|()| d.finish()).map_err(|_| "content_decoding_failed")
                }
            }};
        }
        let finished = match decoder {
            Decoder::Identity(sink) | Decoder::DeflatePending(sink) => Ok(sink),
            Decoder::Gzip(d) => finish_decoding!(d),
            Decoder::Zlib(d) => finish_decoding!(d),
            Decoder::Deflate(d) => finish_decoding!(d),
            Decoder::Stopped(why) => Err(why),
        };
        match finished {
            Ok(sink) if !complete => {
                summary.decoded_bytes = Some(sink.decoded);
                summary.prefix = sink.prefix;
                summary.not_decoded = Some("body_not_captured_whole");
            }
            Ok(sink) => {
                summary.decoded_bytes = Some(sink.decoded);
                summary.sha256 = Some(sink.hasher.finalize().into());
                summary.prefix = sink.prefix;
            }
            Err(why) => summary.not_decoded = Some(why),
        }
        summary
    }
}

fn feed(decoder: Decoder, bytes: &[u8]) -> Decoder {
    fn write<W: Write>(
        mut writer: W,
        bytes: &[u8],
        rewrap: impl FnOnce(W) -> Decoder,
        sink: impl Fn(&W) -> bool,
    ) -> Decoder {
        match writer.write_all(bytes) {
            Ok(()) => rewrap(writer),
            Err(_) if sink(&writer) => Decoder::Stopped("decoded_body_past_bound"),
            Err(_) => Decoder::Stopped("content_decoding_failed"),
        }
    }
    match decoder {
        Decoder::Identity(sink) => write(sink, bytes, Decoder::Identity, |s| s.over_bound),
        Decoder::Gzip(d) => write(*d, bytes, |d| Decoder::Gzip(Box::new(d)), |d| d.get_ref().over_bound),
        Decoder::Zlib(d) => write(*d, bytes, |d| Decoder::Zlib(Box::new(d)), |d| d.get_ref().over_bound),
        Decoder::Deflate(d) => write(*d, bytes, |d| Decoder::Deflate(Box::new(d)), |d| d.get_ref().over_bound),
        Decoder::DeflatePending(sink) if bytes.is_empty() => Decoder::DeflatePending(sink),
        Decoder::DeflatePending(sink) => {
            // A zlib header: compression method 8, and the first two bytes
            // a multiple of 31 (RFC 1950). A one-byte first piece is taken
            // as zlib when its method says so.
            let zlib = bytes[0] & 0x0f == 8
                && bytes.get(1).is_none_or(|second| (u16::from(bytes[0]) << 8 | u16::from(*second)) % 31 == 0);
            let decoder = if zlib {
                Decoder::Zlib(Box::new(flate2::write::ZlibDecoder::new(sink)))
            } else {
                Decoder::Deflate(Box::new(flate2::write::DeflateDecoder::new(sink)))
            };
            feed(decoder, bytes)
        }
        stopped @ Decoder::Stopped(_) => stopped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    fn compress(encoding: &str, bytes: &[u8]) -> Vec<u8> {
        let level = flate2::Compression::default();
        match encoding {
            "gzip" => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
                e.write_all(bytes).unwrap();
                e.finish().unwrap()
            }
            "zlib" => {
                let mut e = flate2::write::ZlibEncoder::new(Vec::new(), level);
                e.write_all(bytes).unwrap();
                e.finish().unwrap()
            }
            _ => {
                let mut e = flate2::write::DeflateEncoder::new(Vec::new(), level);
                e.write_all(bytes).unwrap();
                e.finish().unwrap()
            }
        }
    }

    #[test]
    fn encoded_bodies_hash_as_their_content_in_any_split() {
        let content: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for (header, wire) in [
            (None, content.clone()),
            (Some("gzip"), compress("gzip", &content)),
            (Some("deflate"), compress("zlib", &content)),
            (Some("deflate"), compress("raw", &content)),
        ] {
            for piece in [1, 7, 1460, usize::MAX] {
                let mut body = Body::new(header, true);
                for chunk in wire.chunks(piece.min(wire.len())) {
                    body.data(chunk);
                }
                let summary = body.finish(true);
                assert_eq!(summary.bytes, wire.len() as u64);
                assert_eq!(summary.decoded_bytes, Some(content.len() as u64), "{header:?} {piece}");
                assert_eq!(summary.sha256, Some(sha(&content)), "{header:?} {piece}");
                assert_eq!(summary.prefix[..], content[..KEPT_PREFIX]);
            }
        }
    }

    #[test]
    fn a_gap_corruption_or_bomb_gives_no_hash_and_says_why() {
        let mut cut = Body::new(None, true);
        cut.data(b"abc");
        cut.gap(10);
        let cut = cut.finish(true);
        assert_eq!(
            (cut.bytes, cut.complete, cut.sha256, cut.not_decoded),
            (13, false, None, Some("body_not_captured_whole"))
        );

        let mut corrupt = Body::new(Some("gzip"), true);
        corrupt.data(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03not deflate at all");
        assert_eq!(corrupt.finish(true).not_decoded, Some("content_decoding_failed"));

        let zeros = compress("gzip", &vec![0u8; (MAX_DECODED_BYTES + 1) as usize]);
        assert!(zeros.len() < 200_000);
        let mut bomb = Body::new(Some("gzip"), true);
        bomb.data(&zeros);
        let bomb = bomb.finish(true);
        assert_eq!((bomb.sha256, bomb.not_decoded), (None, Some("decoded_body_past_bound")));

        let mut brotli = Body::new(Some("br"), true);
        brotli.data(b"\x0b\x02\x80hello\x03");
        let brotli = brotli.finish(true);
        assert_eq!((brotli.decoded_bytes, brotli.not_decoded), (None, Some("content_encoding_not_decoded")));

        let mut counted_only = Body::new(Some("gzip"), false);
        counted_only.data(b"MZ\x90\x00");
        let counted_only = counted_only.finish(true);
        assert_eq!((counted_only.bytes, counted_only.sha256, &counted_only.prefix[..2]), (4, None, &b"MZ"[..]));
    }
}
