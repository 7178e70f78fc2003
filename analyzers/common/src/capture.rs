//! Streaming capture reader: classic pcap (both byte orders, micro- and
//! nanosecond, the "modified" pcap of old Red Hat tcpdump) and pcapng (several
//! sections and interfaces, EPB, SPB, the obsolete packet block; other blocks
//! skipped), over any [`Read`], in constant memory.
//!
//! Record framing is done by `pcap-file`'s slice parsers over a window that this
//! reader refills, so memory stays at the window size (grown only as far as the
//! largest record, and never past [`MAX_RECORD_BYTES`]) whatever the file size.
//!
//! A file cut off mid-record is not an error: [`CaptureReader::next_packet`]
//! returns `Ok(None)` and [`CaptureReader::cut_short`] says where it stopped.
//!
//! A gzip-compressed capture (`.pcap.gz`, `.pcapng.gz`, which Wireshark reads
//! transparently) is decompressed as it streams, inside the sandbox like
//! every other byte of the capture ([`Input`]).

use std::io::{Chain, Cursor, Read};

use flate2::read::MultiGzDecoder;

use pcap_file::pcap::{PcapParser, RawPcapPacket};
use pcap_file::pcapng::PcapNgParser;
use pcap_file::pcapng::blocks::{Block, RawBlock};

use crate::Timestamp;

/// Largest record (pcap packet record or pcapng block) the reader accepts.
/// Wireshark's own limit is 256 KiB for most link types; 16 MiB leaves room for
/// odd but honest files while a hostile length cannot make the guest allocate
/// without bound.
pub const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// Interfaces kept, across all pcapng sections. Real captures declare a
/// handful; past this, interface blocks are counted and ignored (and so are
/// the packets captured on them), so a flood of them costs no memory.
pub const MAX_INTERFACES: usize = 4096;

/// Options read in one pcapng section header or interface block; the rest
/// are skipped and the block is reported.
pub const MAX_BLOCK_OPTIONS: usize = 1024;

/// Longest interface name (`if_name`) kept, in bytes.
const MAX_INTERFACE_NAME: usize = 256;

/// pcapng sections whose metadata ([`Section`]) is kept; a file may hold
/// any number of sections, a result needs the first few.
pub const MAX_SECTIONS_DESCRIBED: usize = 16;
/// Longest section text (hardware, OS, application, comment) kept, in bytes.
const MAX_SECTION_TEXT: usize = 512;
/// Comments kept per section.
const MAX_SECTION_COMMENTS: usize = 4;

/// Bytes read from the source per refill.
const READ_CHUNK: usize = 256 * 1024;

/// Most bytes a gzip-compressed capture may decompress to. Deflate itself
/// bounds the ratio (about 1,032 to 1), and fuel and the wall clock bound
/// the work, but a small file must not make a tool read terabytes until a
/// limit ends it: past this the capture is read as cut short, and says so.
pub const MAX_DECOMPRESSED_BYTES: u64 = 64 * 1024 * 1024 * 1024;

/// The two bytes every gzip member starts with (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The capture's bytes as the framing reads them: as stored, or decompressed
/// when they are gzip (several members, as `cat a.gz b.gz` makes, read as
/// one stream, as gzip does). A damaged gzip stream, or one past
/// [`MAX_DECOMPRESSED_BYTES`], ends the input where it went wrong, so the
/// capture reads as cut short there, and [`Input::problem`] says why.
enum Input<R: Read> {
    Stored(Chain<Cursor<Vec<u8>>, R>),
    Gzip { decoder: Box<MultiGzDecoder<Chain<Cursor<Vec<u8>>, R>>>, produced: u64, problem: Option<String> },
}

impl<R: Read> Input<R> {
    /// Looks at the first bytes of `source` to tell gzip from a stored capture.
    fn sniff(mut source: R) -> Result<Self, CaptureError> {
        let mut head = Vec::with_capacity(GZIP_MAGIC.len());
        let mut byte = [0u8; 1];
        while head.len() < GZIP_MAGIC.len() {
            match source.read(&mut byte) {
                Ok(0) => break,
                Ok(_) => head.push(byte[0]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(CaptureError::Io(e.to_string())),
            }
        }
        let gzip = head == GZIP_MAGIC;
        let bytes = Cursor::new(head).chain(source);
        Ok(if gzip {
            Input::Gzip { decoder: Box::new(MultiGzDecoder::new(bytes)), produced: 0, problem: None }
        } else {
            Input::Stored(bytes)
        })
    }

    fn is_gzip(&self) -> bool {
        matches!(self, Input::Gzip { .. })
    }

    /// Why the decompressed data ended early, if it did.
    fn problem(&self) -> Option<&str> {
        match self {
            Input::Gzip { problem, .. } => problem.as_deref(),
            Input::Stored(_) => None,
        }
    }
}

impl<R: Read> Read for Input<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Input::Stored(source) => source.read(buf),
            Input::Gzip { decoder, produced, problem } => {
                if problem.is_some() {
                    return Ok(0);
                }
                let room = MAX_DECOMPRESSED_BYTES - *produced;
                if room == 0 {
                    *problem = Some(format!(
                        "the gzip-compressed capture decompresses to more than {} GiB, the most read",
                        MAX_DECOMPRESSED_BYTES >> 30
                    ));
                    return Ok(0);
                }
                let wanted = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
                match decoder.read(&mut buf[..wanted]) {
                    Ok(n) => {
                        *produced += n as u64;
                        Ok(n)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Err(e),
                    // The compressed bytes are damaged or end mid-stream:
                    // what was decompressed before stays readable.
                    Err(e) => {
                        *problem = Some(format!(
                            "the gzip data is damaged or cut off after {produced} decompressed bytes ({e})"
                        ));
                        Ok(0)
                    }
                }
            }
        }
    }
}

const PCAP_MAGIC_MICRO: u32 = 0xa1b2_c3d4;
const PCAP_MAGIC_NANO: u32 = 0xa1b2_3c4d;
/// Alexey Kuznetzov's patched libpcap ("modified pcap"): 24-byte record headers.
const PCAP_MAGIC_MODIFIED: u32 = 0xa1b2_cd34;
const PCAPNG_SHB_TYPE: u32 = 0x0a0d_0d0a;

const PCAPNG_IDB: u32 = 0x0000_0001;
const PCAPNG_OBSOLETE_PACKET: u32 = 0x0000_0002;
const PCAPNG_SPB: u32 = 0x0000_0003;
const PCAPNG_EPB: u32 = 0x0000_0006;
/// Blocks that are no packets but that Wireshark lists as frames (a
/// systemd journal entry, a custom block of either copy rule), so they
/// take a frame number: frame numbers stay Wireshark's.
const PCAPNG_FRAMES_NOT_PACKETS: [u32; 3] = [0x0000_0009, 0x0000_0bad, 0x4000_0bad];

/// The container format of a capture file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Classic libpcap.
    Pcap {
        /// Nanosecond timestamps (magic `a1b23c4d`).
        nanosecond: bool,
        /// Modified pcap (magic `a1b2cd34`, 24-byte record headers).
        modified: bool,
        /// Big-endian file.
        big_endian: bool,
    },
    /// pcapng.
    PcapNg,
}

impl CaptureFormat {
    /// Short name as Wireshark's `capinfos -t` prints it (`pcap`, `nsecpcap`,
    /// `modpcap`, `pcapng`).
    pub fn short_name(&self) -> &'static str {
        match self {
            CaptureFormat::Pcap { modified: true, .. } => "modpcap",
            CaptureFormat::Pcap { nanosecond: true, .. } => "nsecpcap",
            CaptureFormat::Pcap { .. } => "pcap",
            CaptureFormat::PcapNg => "pcapng",
        }
    }
}

/// One capture interface (a pcap file has exactly one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// LINKTYPE_* value.
    pub link_type: u32,
    /// Snapshot length; 0 means "not set" in pcapng.
    pub snaplen: u32,
    /// Timestamp ticks per second (1e6 for microseconds, 1e9 for nanoseconds).
    pub ticks_per_second: u64,
    /// `if_name` option, when present.
    pub name: Option<String>,
    /// Which pcapng section (0-based) declared it.
    pub section: u32,
}

/// What a pcapng section header says about where the capture comes from
/// (its `shb_hardware`, `shb_os`, `shb_userappl` and `opt_comment`
/// options), as `capinfos` shows them. Texts are cut at 512 bytes, comments
/// at 4 per section.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Section {
    /// The capture hardware (`shb_hardware`).
    pub hardware: Option<String>,
    /// The operating system the capture was made on (`shb_os`).
    pub os: Option<String>,
    /// The application that wrote the file (`shb_userappl`).
    pub application: Option<String>,
    /// The section's comments.
    pub comments: Vec<String>,
}

impl Interface {
    /// Decimal digits of timestamp precision (6 for µs, 9 for ns), as capinfos reports.
    pub fn precision_digits(&self) -> u32 {
        let mut digits = 0;
        let mut t = self.ticks_per_second;
        while t >= 10 {
            t /= 10;
            digits += 1;
        }
        digits
    }
}

/// A packet record borrowed from the reader's window.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// Wireshark's frame number: the 1-based position among the file's
    /// records (a pcapng custom or systemd journal block, which Wireshark
    /// lists as a frame, takes a number too).
    pub number: u64,
    /// Capture time; `None` for pcapng simple packet blocks, which have none.
    pub timestamp: Option<Timestamp>,
    /// Bytes on the wire.
    pub original_len: u32,
    /// Index into [`CaptureReader::interfaces`].
    pub interface: usize,
    /// LINKTYPE_* of the interface.
    pub link_type: u32,
    /// Captured bytes (`data.len()` is the captured length).
    pub data: &'a [u8],
}

/// Why a capture could not be read at all (as opposed to being cut short).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureError {
    /// Not a pcap or pcapng file.
    UnsupportedFormat(String),
    /// Structurally broken in a way that stops reading, at a byte offset.
    Malformed { offset: u64, message: String },
    /// The source failed to deliver bytes.
    Io(String),
}

impl std::fmt::Display for CaptureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CaptureError::UnsupportedFormat(m) => write!(f, "unsupported capture format: {m}"),
            CaptureError::Malformed { offset, message } => {
                write!(f, "malformed capture at byte {offset}: {message}")
            }
            CaptureError::Io(m) => write!(f, "reading the capture failed: {m}"),
        }
    }
}

/// Where and why reading stopped early: the packets before it are still valid.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct CutShort {
    /// Byte offset of the record that could not be read.
    pub offset: u64,
    /// What was wrong with it.
    pub reason: String,
}

impl CutShort {
    /// The warning every analyzer reports when reading stopped early.
    pub fn warning(&self) -> String {
        format!(
            "the capture is cut short at byte {}: {}; the results cover the packets before it",
            self.offset, self.reason
        )
    }
}

/// Checks an enhanced or obsolete packet block's captured length against its
/// body before pcap-file parses it: pcap-file adds the padding to the length
/// in `usize`, which on wasm32 wraps for lengths near 4 GiB and makes it slice
/// out of bounds (a panic, found by the host-level mutation stress test).
fn captured_length_fits(raw: &RawBlock<'_>, big_endian: bool) -> Result<(), String> {
    if raw.type_ == PCAPNG_SPB {
        return Ok(());
    }
    // Both blocks: 12 bytes of interface and timestamp, then captured length,
    // then original length, then the data.
    let body = &raw.body[..];
    let Some(field) = body.get(12..16) else {
        return Err(format!("damaged pcapng packet block: its body is only {} bytes", body.len()));
    };
    let field: [u8; 4] = field.try_into().expect("four bytes");
    let captured = u64::from(if big_endian { u32::from_be_bytes(field) } else { u32::from_le_bytes(field) });
    let room = body.len() as u64 - 20.min(body.len() as u64);
    if captured + (4 - captured % 4) % 4 > room {
        return Err(format!(
            "damaged pcapng packet block: it claims {captured} captured bytes but holds at most {room}"
        ));
    }
    Ok(())
}

enum Framing {
    Pcap { parser: PcapParser, modified: bool, big_endian: bool },
    PcapNg { parser: PcapNgParser },
}

/// Pulls packets out of a pcap or pcapng byte stream.
pub struct CaptureReader<R: Read> {
    source: Input<R>,
    window: Vec<u8>,
    /// Unconsumed bytes are `window[start..end]`.
    start: usize,
    end: usize,
    /// File offset of `window[start]`.
    offset: u64,
    source_done: bool,
    format: CaptureFormat,
    framing: Framing,
    interfaces: Vec<Interface>,
    /// Index in `interfaces` of the current pcapng section's interface 0.
    section_base: usize,
    sections: u32,
    /// The metadata of the first [`MAX_SECTIONS_DESCRIBED`] pcapng sections.
    section_metadata: Vec<Section>,
    /// Interface blocks declared in the current pcapng section, kept or not.
    section_interfaces_declared: usize,
    packets_read: u64,
    /// Blocks read that Wireshark numbers as frames but that hold no packet.
    frames_not_packets: u64,
    cut_short: Option<CutShort>,
    timestamp_anomalies: u64,
    bounds: ReaderBounds,
}

/// What the reader's bounds left out (see [`CaptureReader::warnings`]).
#[derive(Debug, Default, Clone, Copy)]
struct ReaderBounds {
    interfaces_ignored: u64,
    packets_on_ignored_interfaces: u64,
    blocks_with_too_many_options: u64,
}

impl<R: Read> CaptureReader<R> {
    /// Reads the file header and prepares to stream packets.
    pub fn new(source: R) -> Result<Self, CaptureError> {
        let mut reader = CaptureReader {
            source: Input::sniff(source)?,
            window: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            offset: 0,
            source_done: false,
            format: CaptureFormat::PcapNg,
            // Replaced below once the header is known.
            framing: Framing::PcapNg { parser: placeholder_parser() },
            interfaces: Vec::new(),
            section_base: 0,
            sections: 0,
            section_metadata: Vec::new(),
            section_interfaces_declared: 0,
            packets_read: 0,
            frames_not_packets: 0,
            cut_short: None,
            timestamp_anomalies: 0,
            bounds: ReaderBounds::default(),
        };
        reader.fill(4)?;
        if reader.available() < 4 {
            if let Some(problem) = reader.source.problem() {
                return Err(CaptureError::UnsupportedFormat(format!("{problem}: no capture inside")));
            }
            return Err(CaptureError::UnsupportedFormat(if reader.available() == 0 {
                "the file is empty".into()
            } else {
                "the file is shorter than any capture header".into()
            }));
        }
        let head = &reader.window[reader.start..reader.start + 4];
        let magic_be = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let magic_le = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        if magic_be == PCAPNG_SHB_TYPE {
            reader.start_pcapng()?;
        } else if let Some((nanosecond, modified, big_endian)) = classify_pcap_magic(magic_be, magic_le) {
            reader.start_pcap(nanosecond, modified, big_endian)?;
        } else {
            // The file's own bytes are never quoted: it may be any file,
            // and an error message must not become a way to read it.
            let what = if reader.source.is_gzip() { "the gzip-compressed file holds data that" } else { "the file" };
            return Err(CaptureError::UnsupportedFormat(format!(
                "{what} does not start with a pcap magic number (a1b2c3d4, a1b23c4d or a1b2cd34, in either byte \
                 order) or the pcapng one (0a0d0d0a)"
            )));
        }
        Ok(reader)
    }

    /// The container format.
    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// Whether the file is gzip-compressed (and was read decompressed).
    pub fn gzip_compressed(&self) -> bool {
        self.source.is_gzip()
    }

    /// Interfaces seen so far (pcapng may declare more as it goes).
    pub fn interfaces(&self) -> &[Interface] {
        &self.interfaces
    }

    /// Number of pcapng sections seen so far (1 for pcap).
    pub fn sections(&self) -> u32 {
        self.sections
    }

    /// What the first pcapng section headers say about the capture (none for pcap).
    pub fn section_metadata(&self) -> &[Section] {
        &self.section_metadata
    }

    /// Set once reading stopped before the end of the file.
    pub fn cut_short(&self) -> Option<&CutShort> {
        self.cut_short.as_ref()
    }

    /// What every tool reports about the file itself: timestamps out of
    /// range, and what the reader's bounds left out: interface blocks past [`MAX_INTERFACES`] (and their packets), blocks
    /// with more than [`MAX_BLOCK_OPTIONS`] options.
    pub fn warnings(&self) -> Vec<String> {
        let b = &self.bounds;
        let mut warnings = Vec::new();
        if let Some(problem) = self.source.problem() {
            warnings.push(format!("{problem}; the results cover the packets before that point"));
        }
        if self.timestamp_anomalies > 0 {
            warnings.push(format!(
                "{} packet records have a fractional timestamp of one second or more (read as carrying into the \
                 seconds)",
                self.timestamp_anomalies
            ));
        }
        if b.interfaces_ignored > 0 {
            warnings.push(format!(
                "{} pcapng interface blocks past the first {MAX_INTERFACES} were ignored, with the {} packets \
                 captured on them",
                b.interfaces_ignored, b.packets_on_ignored_interfaces
            ));
        }
        if b.blocks_with_too_many_options > 0 {
            warnings.push(format!(
                "{} pcapng header or interface blocks carry more than {MAX_BLOCK_OPTIONS} options; the options \
                 past those were skipped",
                b.blocks_with_too_many_options
            ));
        }
        warnings
    }

    /// Records whose timestamp fraction was out of range (e.g. ≥ 1e6 µs).
    pub fn timestamp_anomalies(&self) -> u64 {
        self.timestamp_anomalies
    }

    /// Bytes of the file consumed so far (of the decompressed data, for a
    /// gzip-compressed file).
    pub fn bytes_consumed(&self) -> u64 {
        self.offset
    }

    /// The next packet, `Ok(None)` at the end of the file or where it was cut short.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        if self.cut_short.is_some() {
            return Ok(None);
        }
        let is_pcap = matches!(self.framing, Framing::Pcap { .. });
        let found = if is_pcap { self.next_pcap_record()? } else { self.next_pcapng_packet()? };
        let Some(found) = found else { return Ok(None) };
        self.packets_read += 1;
        Ok(Some(Packet {
            number: self.packets_read + self.frames_not_packets,
            timestamp: found.timestamp,
            original_len: found.original_len,
            interface: found.interface,
            link_type: self.interfaces.get(found.interface).map_or(0, |i| i.link_type),
            data: &self.window[found.data.0..found.data.1],
        }))
    }

    fn available(&self) -> usize {
        self.end - self.start
    }

    /// Makes at least `wanted` unconsumed bytes available unless the source ends first.
    fn fill(&mut self, wanted: usize) -> Result<(), CaptureError> {
        if self.available() >= wanted || self.source_done {
            return Ok(());
        }
        if self.start + wanted > self.window.len() {
            self.window.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if wanted > self.window.len() {
                self.window.resize(wanted.next_multiple_of(READ_CHUNK), 0);
            }
        }
        while self.available() < wanted {
            match self.source.read(&mut self.window[self.end..]) {
                Ok(0) => {
                    self.source_done = true;
                    break;
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(CaptureError::Io(e.to_string())),
            }
        }
        Ok(())
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
    }

    fn stop(&mut self, reason: impl Into<String>) -> Result<Option<Found>, CaptureError> {
        self.cut_short = Some(CutShort { offset: self.offset, reason: reason.into() });
        Ok(None)
    }

    fn start_pcap(&mut self, nanosecond: bool, modified: bool, big_endian: bool) -> Result<(), CaptureError> {
        self.fill(24)?;
        if self.available() < 24 {
            return Err(CaptureError::Malformed {
                offset: 0,
                message: format!("pcap file header needs 24 bytes, the file has {}", self.available()),
            });
        }
        // pcap-file does not know the modified magic; its header is otherwise
        // the classic one, so parse a copy carrying the classic magic.
        let mut header = [0u8; 24];
        header.copy_from_slice(&self.window[self.start..self.start + 24]);
        if modified {
            let classic = if big_endian { PCAP_MAGIC_MICRO.to_be_bytes() } else { PCAP_MAGIC_MICRO.to_le_bytes() };
            header[..4].copy_from_slice(&classic);
        }
        let (_, parser) = PcapParser::new(&header)
            .map_err(|e| CaptureError::Malformed { offset: 0, message: format!("pcap file header: {e}") })?;
        let h = parser.header();
        // Refused as Wireshark refuses them, rather than read into nonsense
        // (a "link type 3145729"): versions before 2, and link-type fields
        // whose reserved bits (LT_RESERVED1 in libpcap, 0x03ff0000) are set.
        if h.version_major < 2 {
            return Err(CaptureError::UnsupportedFormat(format!(
                "pcap major version {} is not supported (Wireshark also refuses versions before 2)",
                h.version_major
            )));
        }
        let field = u32::from(h.datalink);
        if field & 0x03ff_0000 != 0 {
            return Err(CaptureError::UnsupportedFormat(format!(
                "the pcap header's link-type field has reserved bits set ({:#010x}): the header is damaged or \
                 not a pcap header (Wireshark refuses it too)",
                field & 0x03ff_0000
            )));
        }
        self.interfaces.push(Interface {
            // The upper six bits of the pcap link-type field carry FCS
            // information (LT_FCS_* in libpcap), not the link type.
            link_type: field & 0x03ff_ffff,
            snaplen: h.snaplen,
            ticks_per_second: if nanosecond { 1_000_000_000 } else { 1_000_000 },
            name: None,
            section: 0,
        });
        self.format = CaptureFormat::Pcap { nanosecond, modified, big_endian };
        self.framing = Framing::Pcap { parser, modified, big_endian };
        self.sections = 1;
        self.consume(24);
        Ok(())
    }

    fn next_pcap_record(&mut self) -> Result<Option<Found>, CaptureError> {
        let Framing::Pcap { modified, big_endian, .. } = self.framing else { unreachable!() };
        let header_len = if modified { 24 } else { 16 };
        self.fill(header_len)?;
        if self.available() == 0 {
            return Ok(None);
        }
        if self.available() < header_len {
            return self.stop(format!(
                "the file ends inside a packet record header ({} of {header_len} bytes)",
                self.available()
            ));
        }
        let mut header = [0u8; 24];
        header[..header_len].copy_from_slice(&self.window[self.start..self.start + header_len]);
        let field = |i: usize| {
            let b = [header[i], header[i + 1], header[i + 2], header[i + 3]];
            if big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) }
        };
        let captured = field(8) as usize;
        if captured > MAX_RECORD_BYTES {
            // Like Wireshark, treat an impossible length as damage that ends
            // the readable part of the file, not as a failure of the whole file.
            return self.stop(format!(
                "damaged packet record: it claims {captured} captured bytes, over the {MAX_RECORD_BYTES}-byte limit"
            ));
        }
        self.fill(header_len + captured)?;
        if self.available() < header_len + captured {
            return self.stop(format!(
                "the file ends inside a packet record: {captured} bytes announced, {} present",
                self.available() - header_len
            ));
        }
        let (ts_sec, ts_frac, original_len) = if modified {
            // pcap-file has no modified-pcap support: its records are the
            // classic 16-byte header plus 8 bytes (ifindex, protocol, type, pad),
            // so the three fields are read here directly.
            (field(0), field(4), field(12))
        } else {
            let Framing::Pcap { parser, .. } = &self.framing else { unreachable!() };
            let window = &self.window[self.start..self.end];
            let (_, raw): (_, RawPcapPacket) = parser
                .next_raw_packet(window)
                .map_err(|e| CaptureError::Malformed { offset: self.offset, message: e.to_string() })?;
            (raw.ts_sec, raw.ts_frac, raw.orig_len)
        };
        let nanosecond = matches!(self.format, CaptureFormat::Pcap { nanosecond: true, .. });
        let ticks = if nanosecond { 1_000_000_000 } else { 1_000_000 };
        if u64::from(ts_frac) >= ticks {
            self.timestamp_anomalies += 1;
        }
        let timestamp = Timestamp::from_ticks(i64::from(ts_sec), u64::from(ts_frac), ticks);
        let data_start = self.start + header_len;
        self.consume(header_len + captured);
        Ok(Some(Found {
            timestamp: Some(timestamp),
            original_len,
            interface: 0,
            data: (data_start, data_start + captured),
        }))
    }

    fn start_pcapng(&mut self) -> Result<(), CaptureError> {
        let header = self.pcapng_block_bytes(true)?;
        let Some(len) = header else {
            return Err(CaptureError::Malformed {
                offset: 0,
                message: "the file ends inside the pcapng section header block".into(),
            });
        };
        let header = self.section_header_without_options(len);
        let parser = PcapNgParser::new(&header)
            .map(|(_, p)| p)
            .map_err(|e| CaptureError::Malformed { offset: 0, message: format!("pcapng section header: {e}") })?;
        self.format = CaptureFormat::PcapNg;
        self.framing = Framing::PcapNg { parser };
        self.sections = 1;
        self.consume(len);
        Ok(())
    }

    /// Makes the whole next pcapng block available and returns its length, or
    /// `None` when the file ends first. Validates the length before buffering it.
    fn pcapng_block_bytes(&mut self, is_section_header: bool) -> Result<Option<usize>, CaptureError> {
        self.fill(12)?;
        if self.available() < 12 {
            return Ok(None);
        }
        let w = &self.window[self.start..self.start + 12];
        let block_type = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        // A section header carries its own byte order; other blocks use the
        // current section's.
        let big_endian = if is_section_header || block_type == PCAPNG_SHB_TYPE {
            w[8..12] == [0x1a, 0x2b, 0x3c, 0x4d]
        } else {
            self.pcapng_big_endian()
        };
        let len_bytes = [w[4], w[5], w[6], w[7]];
        let len = if big_endian { u32::from_be_bytes(len_bytes) } else { u32::from_le_bytes(len_bytes) } as usize;
        if len < 12 || !len.is_multiple_of(4) || len > MAX_RECORD_BYTES {
            return Err(CaptureError::Malformed {
                offset: self.offset,
                message: format!(
                    "damaged pcapng block ({}): its length is not a multiple of 4 between 12 and \
                     {MAX_RECORD_BYTES} bytes",
                    pcapng_block_name(block_type)
                ),
            });
        }
        self.fill(len)?;
        if self.available() < len {
            return Ok(None);
        }
        Ok(Some(len))
    }

    fn pcapng_big_endian(&self) -> bool {
        match &self.framing {
            Framing::PcapNg { parser } => {
                matches!(parser.section().endianness, pcap_file::Endianness::Big)
            }
            Framing::Pcap { .. } => false,
        }
    }

    fn next_pcapng_packet(&mut self) -> Result<Option<Found>, CaptureError> {
        loop {
            let len = match self.pcapng_block_bytes(false) {
                Ok(len) => len,
                Err(CaptureError::Malformed { message, .. }) => return self.stop(message),
                Err(e) => return Err(e),
            };
            let Some(len) = len else {
                if self.available() == 0 {
                    return Ok(None);
                }
                return self
                    .stop(format!("the file ends inside a pcapng block ({} bytes left over)", self.available()));
            };
            let block_type = self.pcapng_block_type();
            // Interface blocks are read here, not by pcap-file, whose parser
            // keeps every interface block with all its options for the whole
            // section: a flood of them, or one with millions of options,
            // would take the guest's memory. Three fields are used.
            if block_type == PCAPNG_IDB {
                if let Err(reason) = self.interface_block(len) {
                    return self.stop(reason);
                }
                self.consume(len);
                continue;
            }
            // pcap-file reads a section header's options too; it is given
            // the header without them (only the byte order is used).
            let section_header;
            let bytes = if block_type == PCAPNG_SHB_TYPE {
                section_header = self.section_header_without_options(len);
                &section_header[..]
            } else {
                &self.window[self.start..self.start + len]
            };
            let Framing::PcapNg { parser } = &mut self.framing else { unreachable!() };
            let raw: RawBlock = match parser.next_raw_block(bytes) {
                Ok((_, raw)) => raw,
                Err(e) => return self.stop(format!("damaged pcapng block: {e}")),
            };
            let found = match block_type {
                PCAPNG_SHB_TYPE => {
                    self.section_base = self.interfaces.len();
                    self.section_interfaces_declared = 0;
                    self.sections += 1;
                    None
                }
                PCAPNG_EPB | PCAPNG_SPB | PCAPNG_OBSOLETE_PACKET => {
                    if let Err(reason) = captured_length_fits(&raw, self.pcapng_big_endian()) {
                        return self.stop(reason);
                    }
                    let block = if self.pcapng_big_endian() {
                        raw.try_into_block::<byteorder_slice::BigEndian>()
                    } else {
                        raw.try_into_block::<byteorder_slice::LittleEndian>()
                    };
                    let packet = block
                        .map_err(|e| format!("damaged pcapng packet block: {e}"))
                        .and_then(|block| self.packet_from_block(block));
                    match packet {
                        Ok(Some(packet)) => Some(packet),
                        Ok(None) => {
                            self.bounds.packets_on_ignored_interfaces += 1;
                            None
                        }
                        Err(reason) => return self.stop(reason),
                    }
                }
                kind if PCAPNG_FRAMES_NOT_PACKETS.contains(&kind) => {
                    self.frames_not_packets += 1;
                    None
                }
                _ => None,
            };
            self.consume(len);
            if found.is_some() {
                // The block's data lies inside the bytes just consumed, which
                // stay in the window until the next call.
                return Ok(found);
            }
        }
    }

    /// The type of the pcapng block at the start of the window (whose first
    /// 12 bytes are there).
    fn pcapng_block_type(&self) -> u32 {
        let w = &self.window[self.start..self.start + 4];
        let bytes = [w[0], w[1], w[2], w[3]];
        // A section header's type reads the same in both byte orders.
        if self.pcapng_big_endian() { u32::from_be_bytes(bytes) } else { u32::from_le_bytes(bytes) }
    }

    /// The section header block of `len` bytes at the start of the window,
    /// without its options: a copy with only the fixed fields (byte-order
    /// magic, version, section length) and lengths to match. A header too
    /// short to have them is returned as it is, for pcap-file to refuse.
    fn section_header_without_options(&mut self, len: usize) -> Vec<u8> {
        const FIXED: usize = 28;
        let block = &self.window[self.start..self.start + len];
        if len < FIXED {
            return block.to_vec();
        }
        let big_endian = block[8..12] == [0x1a, 0x2b, 0x3c, 0x4d];
        let mut section = Section::default();
        // Writers often count a terminating NUL in the length.
        let text = |value: &[u8]| option_text(value, MAX_SECTION_TEXT).trim_end_matches('\0').to_string();
        let options = walk_options(&block[24..len - 4], big_endian, |code, value| match code {
            OPTION_COMMENT if section.comments.len() < MAX_SECTION_COMMENTS => section.comments.push(text(value)),
            OPTION_SHB_HARDWARE => section.hardware = Some(text(value)),
            OPTION_SHB_OS => section.os = Some(text(value)),
            OPTION_SHB_USERAPPL => section.application = Some(text(value)),
            _ => {}
        });
        if options > MAX_BLOCK_OPTIONS {
            self.bounds.blocks_with_too_many_options += 1;
        }
        if self.section_metadata.len() < MAX_SECTIONS_DESCRIBED {
            self.section_metadata.push(section);
        }
        let length = if big_endian { (FIXED as u32).to_be_bytes() } else { (FIXED as u32).to_le_bytes() };
        let mut header = Vec::with_capacity(FIXED);
        header.extend_from_slice(&block[..4]);
        header.extend_from_slice(&length);
        header.extend_from_slice(&block[8..24]);
        header.extend_from_slice(&length);
        header
    }

    /// Reads the interface description block of `len` bytes at the start of
    /// the window: link type, snapshot length, and the `if_tsresol` and
    /// `if_name` options. Hand-written (see the caller) over the block's
    /// fixed layout; the options are walked by [`walk_options`].
    fn interface_block(&mut self, len: usize) -> Result<(), String> {
        let big_endian = self.pcapng_big_endian();
        let block = &self.window[self.start..self.start + len];
        if len < 20 || block[4..8] != block[len - 4..] {
            return Err("damaged pcapng interface block: too short, or its two length fields differ".into());
        }
        let u16_at = |at: usize| {
            let b = [block[at], block[at + 1]];
            if big_endian { u16::from_be_bytes(b) } else { u16::from_le_bytes(b) }
        };
        let u32_at = |at: usize| {
            let b = [block[at], block[at + 1], block[at + 2], block[at + 3]];
            if big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) }
        };
        let (link_type, snaplen) = (u32::from(u16_at(8)), u32_at(12));
        let mut ticks_per_second = 1_000_000;
        let mut name = None;
        let options = walk_options(&block[16..len - 4], big_endian, |code, value| match code {
            OPTION_IF_TSRESOL if value.len() == 1 => ticks_per_second = ticks_from_tsresol(value[0]),
            OPTION_IF_NAME if name.is_none() => {
                name = Some(option_text(value, MAX_INTERFACE_NAME));
            }
            _ => {}
        });
        if options > MAX_BLOCK_OPTIONS {
            self.bounds.blocks_with_too_many_options += 1;
        }
        self.section_interfaces_declared += 1;
        if self.interfaces.len() >= MAX_INTERFACES {
            self.bounds.interfaces_ignored += 1;
            return Ok(());
        }
        self.interfaces.push(Interface { link_type, snaplen, ticks_per_second, name, section: self.sections - 1 });
        Ok(())
    }

    /// The packet in a packet block, its data located by its position in the
    /// window; `None` for a packet on an interface past [`MAX_INTERFACES`].
    fn packet_from_block(&self, block: Block<'_>) -> Result<Option<Found>, String> {
        let locate = |data: &[u8]| -> (usize, usize) {
            let from = data.as_ptr() as usize - self.window.as_ptr() as usize;
            (from, from + data.len())
        };
        let (section_interface, ticks_raw, original_len, range) = match &block {
            Block::EnhancedPacket(epb) => {
                (epb.interface_id as usize, Some(epb.timestamp.as_nanos() as u64), epb.original_len, locate(&epb.data))
            }
            Block::Packet(pb) => (usize::from(pb.interface_id), Some(pb.timestamp), pb.original_len, locate(&pb.data)),
            Block::SimplePacket(spb) => {
                // The block body runs to the end of the block, padding included:
                // the captured part is the original length cut to the snaplen.
                let snaplen = self.interfaces.get(self.section_base).map_or(0, |i| i.snaplen);
                let mut captured = (spb.original_len as usize).min(spb.data.len());
                if snaplen > 0 {
                    captured = captured.min(snaplen as usize);
                }
                (0, None, spb.original_len, locate(&spb.data[..captured]))
            }
            _ => unreachable!("only packet blocks are converted"),
        };
        let interface = self.section_base + section_interface;
        let Some(iface) = self.interfaces.get(interface).filter(|i| i.section == self.sections - 1) else {
            if section_interface < self.section_interfaces_declared {
                return Ok(None);
            }
            return Err(format!(
                "packet block refers to interface {section_interface}, but its section declares {}",
                self.section_interfaces_declared
            ));
        };
        // pcap-file hands the 64-bit timestamp over as a Duration of raw ticks;
        // the interface's if_tsresol says what a tick is.
        let timestamp = ticks_raw.map(|raw| {
            let ticks = iface.ticks_per_second;
            Timestamp::from_ticks((raw / ticks) as i64, raw % ticks, ticks)
        });
        Ok(Some(Found { timestamp, original_len, interface, data: range }))
    }
}

/// pcapng option codes read from section header and interface blocks.
const OPTION_COMMENT: u16 = 1;
const OPTION_SHB_HARDWARE: u16 = 2;
const OPTION_SHB_OS: u16 = 3;
const OPTION_SHB_USERAPPL: u16 = 4;
const OPTION_IF_NAME: u16 = 2;
const OPTION_IF_TSRESOL: u16 = 9;

/// A text option's value, cut at `max` bytes, invalid UTF-8 replaced.
fn option_text(value: &[u8], max: usize) -> String {
    String::from_utf8_lossy(&value[..value.len().min(max)]).into_owned()
}

/// Walks the options of a pcapng block (`code`, `length`, value padded to 4
/// bytes, until `opt_endofopt` or the end), handing each code and value to
/// `each`, for at most [`MAX_BLOCK_OPTIONS`] options; returns how many
/// there are (counting stops one past the bound). Hand-written: it is the
/// bound pcap-file's option parsing lacks.
fn walk_options(mut options: &[u8], big_endian: bool, mut each: impl FnMut(u16, &[u8])) -> usize {
    let read_u16 =
        |b: &[u8]| if big_endian { u16::from_be_bytes([b[0], b[1]]) } else { u16::from_le_bytes([b[0], b[1]]) };
    let mut count = 0;
    while options.len() >= 4 && count <= MAX_BLOCK_OPTIONS {
        let code = read_u16(&options[0..2]);
        let length = usize::from(read_u16(&options[2..4]));
        if code == 0 {
            break;
        }
        let Some(value) = options.get(4..4 + length) else { break };
        count += 1;
        if count <= MAX_BLOCK_OPTIONS {
            each(code, value);
        }
        let padded = 4 + length.next_multiple_of(4);
        options = options.get(padded..).unwrap_or_default();
    }
    count
}

/// A pcapng block type's name, for messages (never the raw value: the bytes
/// might not be a capture's).
fn pcapng_block_name(block_type: u32) -> &'static str {
    match block_type {
        PCAPNG_SHB_TYPE => "section header",
        PCAPNG_IDB => "interface description",
        PCAPNG_OBSOLETE_PACKET => "obsolete packet",
        PCAPNG_SPB => "simple packet",
        PCAPNG_EPB => "enhanced packet",
        _ => "of another type",
    }
}

struct Found {
    timestamp: Option<Timestamp>,
    original_len: u32,
    interface: usize,
    data: (usize, usize),
}

fn classify_pcap_magic(magic_be: u32, magic_le: u32) -> Option<(bool, bool, bool)> {
    let kind = |m: u32| match m {
        PCAP_MAGIC_MICRO => Some((false, false)),
        PCAP_MAGIC_NANO => Some((true, false)),
        PCAP_MAGIC_MODIFIED => Some((false, true)),
        _ => None,
    };
    if let Some((nano, modified)) = kind(magic_be) {
        return Some((nano, modified, true));
    }
    kind(magic_le).map(|(nano, modified)| (nano, modified, false))
}

/// Ticks per second for a pcapng `if_tsresol` value: high bit set means a
/// power of two, otherwise a power of ten. Absurd exponents are clamped to
/// nanoseconds rather than overflowing.
fn ticks_from_tsresol(tsresol: u8) -> u64 {
    let exponent = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 != 0 {
        1u64.checked_shl(exponent).unwrap_or(1_000_000_000)
    } else {
        10u64.checked_pow(exponent).unwrap_or(1_000_000_000)
    }
}

fn placeholder_parser() -> PcapNgParser {
    // PcapNgParser has no public constructor without a section header, so the
    // reader starts with one parsed from a minimal, valid SHB.
    const MINIMAL_SHB: [u8; 28] = [
        0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 28, 0, 0, 0,
    ];
    PcapNgParser::new(&MINIMAL_SHB).expect("a valid section header").1
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The fixtures generated by `fixtures/` with their expected facts.
    fn fixture(name: &str) -> (Vec<u8>, Value) {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures");
        let bytes = std::fs::read(format!("{root}/captures/{name}")).expect("fixture capture");
        let expected = std::fs::read(format!("{root}/expected/{name}.json")).expect("fixture facts");
        (bytes, serde_json::from_slice(&expected).unwrap())
    }

    /// Hands out at most `step` bytes per read, to exercise every refill path.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    struct Facts {
        count: u64,
        captured: u64,
        wire: u64,
        without_time: u64,
        earliest: Option<Timestamp>,
        latest: Option<Timestamp>,
        ordered: bool,
        per_interface: Vec<u64>,
    }

    fn read_all(reader: &mut CaptureReader<impl Read>) -> Facts {
        let mut f = Facts {
            count: 0,
            captured: 0,
            wire: 0,
            without_time: 0,
            earliest: None,
            latest: None,
            ordered: true,
            per_interface: vec![],
        };
        let mut previous: Option<Timestamp> = None;
        let mut expected_number = 1;
        while let Some(p) = reader.next_packet().unwrap() {
            // Numbers rise by one but past a custom block (multi-section.pcapng has one).
            assert!(p.number >= expected_number, "{} after {}", p.number, expected_number - 1);
            expected_number = p.number + 1;
            f.count += 1;
            f.captured += p.data.len() as u64;
            f.wire += u64::from(p.original_len);
            if f.per_interface.len() <= p.interface {
                f.per_interface.resize(p.interface + 1, 0);
            }
            f.per_interface[p.interface] += 1;
            match p.timestamp {
                None => f.without_time += 1,
                Some(t) => {
                    if previous.is_some_and(|prev| t < prev) {
                        f.ordered = false;
                    }
                    previous = Some(t);
                    f.earliest = Some(f.earliest.map_or(t, |e| e.min(t)));
                    f.latest = Some(f.latest.map_or(t, |l| l.max(t)));
                }
            }
        }
        f
    }

    /// A little-endian pcapng block of `kind` around `body` (padded to 4).
    fn pcapng_block(kind: u32, body: &[u8]) -> Vec<u8> {
        let padded = body.len().next_multiple_of(4);
        let length = (12 + padded) as u32;
        let mut block = Vec::with_capacity(length as usize);
        block.extend_from_slice(&kind.to_le_bytes());
        block.extend_from_slice(&length.to_le_bytes());
        block.extend_from_slice(body);
        block.resize(8 + padded, 0);
        block.extend_from_slice(&length.to_le_bytes());
        block
    }

    fn pcapng_option(code: u16, value: &[u8]) -> Vec<u8> {
        let mut option = Vec::new();
        option.extend_from_slice(&code.to_le_bytes());
        option.extend_from_slice(&(value.len() as u16).to_le_bytes());
        option.extend_from_slice(value);
        option.resize(4 + value.len().next_multiple_of(4), 0);
        option
    }

    fn section_header(options: &[u8]) -> Vec<u8> {
        let mut body = vec![0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0];
        body.extend_from_slice(&u64::MAX.to_le_bytes());
        body.extend_from_slice(options);
        pcapng_block(PCAPNG_SHB_TYPE, &body)
    }

    fn interface(link_type: u16, options: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&link_type.to_le_bytes());
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&65_535u32.to_le_bytes());
        body.extend_from_slice(options);
        pcapng_block(PCAPNG_IDB, &body)
    }

    fn enhanced_packet(interface: u32, data: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        for field in [interface, 0, 1_000_000, data.len() as u32, data.len() as u32] {
            body.extend_from_slice(&field.to_le_bytes());
        }
        body.extend_from_slice(data);
        pcapng_block(PCAPNG_EPB, &body)
    }

    #[test]
    fn custom_and_journal_blocks_take_a_frame_number_as_in_wireshark() {
        let mut file = section_header(&[]);
        file.extend(interface(1, &[]));
        file.extend(pcapng_block(0x0000_0bad, &[0, 0, 0x7e, 0xd9, b'x', 0, 0, 0]));
        file.extend(enhanced_packet(0, b"second"));
        file.extend(pcapng_block(0x0000_0009, b"MESSAGE=hi\n"));
        file.extend(pcapng_block(0x0000_0005, &[0; 12]));
        file.extend(enhanced_packet(0, b"fourth"));
        let mut reader = CaptureReader::new(&file[..]).unwrap();
        let mut seen = Vec::new();
        while let Some(packet) = reader.next_packet().unwrap() {
            seen.push((packet.number, packet.data.to_vec()));
        }
        // An interface statistics block (type 5) is no frame.
        assert_eq!(seen, vec![(2, b"second".to_vec()), (4, b"fourth".to_vec())]);
    }

    #[test]
    fn an_interface_flood_is_bounded_and_reported() {
        let mut file = section_header(&[]);
        for index in 0..MAX_INTERFACES + 500 {
            let name = format!("if{index}");
            file.extend(interface(1, &pcapng_option(OPTION_IF_NAME, name.as_bytes())));
        }
        file.extend(enhanced_packet(0, b"first"));
        file.extend(enhanced_packet((MAX_INTERFACES + 10) as u32, b"ignored"));
        file.extend(enhanced_packet((MAX_INTERFACES - 1) as u32, b"last kept"));
        let mut reader = CaptureReader::new(&file[..]).unwrap();
        let mut seen = Vec::new();
        while let Some(packet) = reader.next_packet().unwrap() {
            seen.push((packet.number, packet.interface, packet.data.to_vec()));
        }
        assert_eq!(seen, vec![(1, 0, b"first".to_vec()), (2, MAX_INTERFACES - 1, b"last kept".to_vec())]);
        assert!(reader.cut_short().is_none());
        assert_eq!(reader.interfaces().len(), MAX_INTERFACES);
        assert_eq!(reader.interfaces()[7].name.as_deref(), Some("if7"));
        let warnings = reader.warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].starts_with("500 pcapng interface blocks") && warnings[0].contains("the 1 packets"));
        // A packet on an interface never declared still ends the readable part.
        let mut undeclared = section_header(&[]);
        undeclared.extend(interface(1, &[]));
        undeclared.extend(enhanced_packet(3, b"nowhere"));
        let mut reader = CaptureReader::new(&undeclared[..]).unwrap();
        assert!(reader.next_packet().unwrap().is_none());
        assert!(reader.cut_short().unwrap().reason.contains("declares 1"));
    }

    #[test]
    fn option_bombs_are_walked_within_bounds_and_reported() {
        // A million empty options (4 MB) in the section header and in an
        // interface block; the interface's resolution and name come after
        // the bound and so are not read, and the packet is still there.
        let empty = pcapng_option(1, &[]);
        let bomb: Vec<u8> = empty.iter().copied().cycle().take(empty.len() * 1_000_000).collect();
        let mut file = section_header(&bomb);
        let mut options = bomb.clone();
        options.extend(pcapng_option(OPTION_IF_TSRESOL, &[9]));
        file.extend(interface(1, &options));
        let mut fine = pcapng_option(OPTION_IF_TSRESOL, &[9]);
        fine.extend(pcapng_option(OPTION_IF_NAME, &[b'x'; 1000]));
        file.extend(interface(101, &fine));
        file.extend(enhanced_packet(0, b"on the bombed interface"));
        file.extend(enhanced_packet(1, b"on the fine one"));
        let mut reader = CaptureReader::new(Trickle { bytes: &file, step: 65_536 }).unwrap();
        let mut count = 0;
        while let Some(packet) = reader.next_packet().unwrap() {
            count += 1;
            let expected_ticks = if packet.interface == 0 { 1_000_000 } else { 1_000_000_000 };
            assert_eq!(reader_ticks(&packet), expected_ticks);
        }
        assert_eq!(count, 2);
        let interfaces = reader.interfaces();
        assert_eq!((interfaces[0].ticks_per_second, interfaces[1].ticks_per_second), (1_000_000, 1_000_000_000));
        assert_eq!(interfaces[1].name.as_deref().map(str::len), Some(MAX_INTERFACE_NAME));
        assert_eq!(interfaces[1].link_type, 101);
        let warnings = reader.warnings();
        assert!(warnings.iter().any(|w| w.starts_with("2 pcapng header or interface blocks")), "{warnings:?}");
    }

    /// Ticks per second as seen in a packet's timestamp (1 000 000 ticks
    /// written in every test packet).
    fn reader_ticks(packet: &Packet<'_>) -> u64 {
        let t = packet.timestamp.unwrap();
        if t.secs == 1 { 1_000_000 } else { 1_000_000_000 }
    }

    #[test]
    fn errors_never_quote_the_bytes_of_a_file() {
        let secret = b"root:$6$secret-hash:19000:0:99999:7:::\n";
        let Err(CaptureError::UnsupportedFormat(message)) = CaptureReader::new(&secret[..]) else {
            panic!("not a capture")
        };
        for quoted in ["726f6f74", "746f6f72", "root", "secret"] {
            assert!(!message.contains(quoted), "{message}");
        }
        // A pcapng block whose length field holds other bytes.
        let mut file = section_header(&[]);
        file.extend_from_slice(b"\x06\x00\x00\x00SECRETS!");
        let Ok(mut reader) = CaptureReader::new(&file[..]) else { panic!("a valid section header") };
        let message = match reader.next_packet() {
            Err(CaptureError::Malformed { message, .. }) => message,
            Ok(None) => reader.cut_short().unwrap().reason.clone(),
            other => panic!("{other:?}"),
        };
        for quoted in ["SECR", "53454352", "21535445"] {
            assert!(!message.contains(quoted), "{message}");
        }
        assert!(message.contains("enhanced packet"), "{message}");
    }

    fn as_pair(t: Option<Timestamp>) -> Value {
        t.map_or(Value::Null, |t| serde_json::json!([t.secs, t.nanos]))
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn check(name: &str, step: usize, gzip_compressed: bool) {
        let (mut bytes, expected) = fixture(name);
        if gzip_compressed {
            bytes = gzip(&bytes);
        }
        let mut reader = CaptureReader::new(Trickle { bytes: &bytes, step }).unwrap();
        let f = read_all(&mut reader);
        let ctx = format!("{name} read {step} bytes at a time (gzip: {gzip_compressed})");
        assert_eq!(reader.gzip_compressed(), gzip_compressed, "{ctx}");
        assert_eq!(reader.format().short_name(), expected["file_type"], "{ctx}");
        assert_eq!(f.count, expected["packet_count"], "{ctx}");
        assert_eq!(f.captured, expected["captured_size_bytes"], "{ctx}");
        assert_eq!(f.wire, expected["data_size_bytes"], "{ctx}");
        assert_eq!(f.without_time, expected["packets_without_timestamp"], "{ctx}");
        assert_eq!(as_pair(f.earliest), expected["earliest"], "{ctx}");
        assert_eq!(as_pair(f.latest), expected["latest"], "{ctx}");
        assert_eq!(f.ordered, expected["strict_time_order"], "{ctx}");
        assert_eq!(reader.sections(), expected["section_count"].as_u64().unwrap() as u32, "{ctx}");
        let interfaces = expected["interfaces"].as_array().unwrap();
        assert_eq!(reader.interfaces().len(), interfaces.len(), "{ctx}");
        for (i, (iface, want)) in reader.interfaces().iter().zip(interfaces).enumerate() {
            assert_eq!(iface.link_type, want["link_type"], "{ctx}: interface {i}");
            assert_eq!(iface.snaplen, want["snaplen"], "{ctx}: interface {i}");
            assert_eq!(iface.precision_digits(), want["precision_digits"], "{ctx}: interface {i}");
            assert_eq!(f.per_interface.get(i).copied().unwrap_or(0), want["packets"], "{ctx}: interface {i}");
        }
        if let Some(names) = expected.get("interface_names") {
            let got: Vec<Option<String>> = reader.interfaces().iter().map(|i| i.name.clone()).collect();
            assert_eq!(serde_json::to_value(got).unwrap(), *names, "{ctx}");
        }
        assert_eq!(reader.cut_short().map(|c| c.offset), expected["cut_short_offset"].as_u64(), "{ctx}");
    }

    const GOOD_AND_DAMAGED: [&str; 8] = [
        "dns-udp-ethernet.pcap",
        "raw-ipv6-nsec-big-endian.pcap",
        "multi-section.pcapng",
        "cut-mid-record.pcap",
        "damaged-length.pcap",
        "modified.pcap",
        "bad-interface.pcapng",
        "empty.pcapng",
    ];

    #[test]
    fn fixtures_read_as_generated_whatever_the_read_sizes() {
        for name in GOOD_AND_DAMAGED {
            for step in [1, 3, 7, 64, 4096, usize::MAX] {
                check(name, step, false);
                check(name, step, true);
            }
        }
    }

    /// A damaged or cut gzip stream is read as far as it goes, and says so;
    /// members written one after the other read as one stream (as `gzip -d`
    /// reads them); gzip around something else is no capture.
    #[test]
    fn gzip_streams_cut_concatenated_and_foreign() {
        let (bytes, expected) = fixture("dns-udp-ethernet.pcap");
        let whole = expected["packet_count"].as_u64().unwrap();
        let (head, tail) = bytes.split_at(24 + 16 + 60);
        let mut members = gzip(head);
        members.extend(gzip(tail));
        let mut reader = CaptureReader::new(&members[..]).unwrap();
        assert_eq!(read_all(&mut reader).count, whole, "two gzip members read as one capture");
        assert!(reader.warnings().is_empty(), "{:?}", reader.warnings());

        let compressed = gzip(&bytes);
        let cut = &compressed[..compressed.len() - 20];
        let mut reader = CaptureReader::new(cut).unwrap();
        let read = read_all(&mut reader).count;
        assert!(read < whole, "{read} of {whole}");
        let warnings = reader.warnings();
        assert!(warnings.iter().any(|w| w.contains("gzip data is damaged or cut off")), "{warnings:?}");

        let Err(CaptureError::UnsupportedFormat(message)) = CaptureReader::new(&gzip(b"just some text")[..]) else {
            panic!("gzip of text is not a capture")
        };
        assert!(message.contains("gzip-compressed"), "{message}");
        let Err(CaptureError::UnsupportedFormat(message)) = CaptureReader::new(&[0x1f, 0x8b, 8, 0][..]) else {
            panic!("a gzip header alone is not a capture")
        };
        assert!(message.contains("gzip"), "{message}");
    }

    /// pcap-file wraps `captured_len + padding` on wasm32; the reader must
    /// refuse the block first (a guest panic found by the mutation stress test).
    #[test]
    fn a_packet_block_claiming_4_gib_is_damage_not_a_panic() {
        let mut bytes = Vec::new();
        let mut block = |kind: u32, body: &[u8]| {
            let len = (12 + body.len()) as u32;
            for word in [kind, len] {
                bytes.extend_from_slice(&word.to_le_bytes());
            }
            bytes.extend_from_slice(body);
            bytes.extend_from_slice(&len.to_le_bytes());
        };
        let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
        shb.extend_from_slice(&[1, 0, 0, 0]);
        shb.extend_from_slice(&u64::MAX.to_le_bytes());
        block(0x0a0d_0d0a, &shb);
        block(1, &[1, 0, 0, 0, 0, 0, 0, 0]);
        let mut epb = Vec::new();
        for word in [0u32, 0, 0, u32::MAX, 48] {
            epb.extend_from_slice(&word.to_le_bytes());
        }
        epb.extend_from_slice(&[0; 48]);
        block(PCAPNG_EPB, &epb);
        let mut reader = CaptureReader::new(&bytes[..]).unwrap();
        assert!(reader.next_packet().unwrap().is_none());
        let cut = reader.cut_short().expect("reported as damage");
        assert!(cut.reason.contains("4294967295 captured bytes"), "{}", cut.reason);
    }

    /// Headers Wireshark refuses are refused, not read into nonsense; the
    /// FCS bits beside the link type are no damage.
    #[test]
    fn pcap_headers_wireshark_refuses_are_refused() {
        let (bytes, _) = fixture("dns-udp-ethernet.pcap");
        let with = |at: usize, value: &[u8]| {
            let mut copy = bytes.clone();
            copy[at..at + value.len()].copy_from_slice(value);
            copy
        };
        for (what, damaged, needle) in [
            ("version 1", with(4, &1u16.to_le_bytes()), "major version 1"),
            ("version 0", with(4, &0u16.to_le_bytes()), "major version 0"),
            ("reserved link-type bits", with(20, &0x0030_0001u32.to_le_bytes()), "0x00300000"),
        ] {
            let Err(CaptureError::UnsupportedFormat(message)) = CaptureReader::new(&damaged[..]) else {
                panic!("{what}: accepted")
            };
            assert!(message.contains(needle), "{what}: {message}");
        }
        let fcs = with(20, &0x1400_0001u32.to_le_bytes());
        let reader = CaptureReader::new(&fcs[..]).unwrap();
        assert_eq!(reader.interfaces()[0].link_type, 1, "the FCS bits are not the link type");
        assert!(
            CaptureReader::new(&with(4, &3u16.to_le_bytes())[..]).is_ok(),
            "later versions read, as Wireshark does"
        );
    }

    #[test]
    fn not_a_capture_is_an_unsupported_format() {
        let (bytes, _) = fixture("not-a-capture.txt");
        assert!(matches!(CaptureReader::new(&bytes[..]), Err(CaptureError::UnsupportedFormat(_))));
        assert!(matches!(CaptureReader::new(&[][..]), Err(CaptureError::UnsupportedFormat(m)) if m.contains("empty")));
        assert!(matches!(CaptureReader::new(&[0xd4, 0xc3][..]), Err(CaptureError::UnsupportedFormat(_))));
    }

    #[test]
    fn truncated_file_headers_are_malformed() {
        let (bytes, _) = fixture("dns-udp-ethernet.pcap");
        assert!(matches!(CaptureReader::new(&bytes[..20]), Err(CaptureError::Malformed { offset: 0, .. })));
        let (bytes, _) = fixture("empty.pcapng");
        assert!(matches!(CaptureReader::new(&bytes[..20]), Err(CaptureError::Malformed { offset: 0, .. })));
    }

    #[test]
    fn a_hostile_block_length_stops_reading_without_allocating_it() {
        let (mut bytes, _) = fixture("empty.pcapng");
        // An EPB header claiming 2 GiB: flagged, and nothing near that is buffered.
        bytes.extend_from_slice(&6u32.to_le_bytes());
        bytes.extend_from_slice(&0x8000_0000u32.to_le_bytes());
        bytes.extend_from_slice(&[0; 20]);
        let mut reader = CaptureReader::new(&bytes[..]).unwrap();
        assert!(reader.next_packet().unwrap().is_none());
        let cut = reader.cut_short().expect("flagged");
        assert_eq!(cut.offset, 28);
        assert!(cut.reason.contains("length"), "{}", cut.reason);
        assert!(reader.window.len() <= READ_CHUNK);
    }

    #[test]
    fn memory_stays_at_the_window_size_over_many_packets() {
        // 20,000 copies of one record: the window never grows past one chunk.
        let (bytes, _) = fixture("dns-udp-ethernet.pcap");
        let captured = u32::from_le_bytes(bytes[32..36].try_into().unwrap()) as usize;
        let record = &bytes[24..24 + 16 + captured];
        let mut big = bytes[..24].to_vec();
        for _ in 0..20_000 {
            big.extend_from_slice(record);
        }
        let mut reader = CaptureReader::new(&big[..]).unwrap();
        let mut n = 0;
        while reader.next_packet().unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 20_000);
        assert_eq!(reader.window.len(), READ_CHUNK);
        assert_eq!(reader.bytes_consumed(), big.len() as u64);
    }

    #[test]
    fn tsresol_values() {
        assert_eq!(ticks_from_tsresol(6), 1_000_000);
        assert_eq!(ticks_from_tsresol(9), 1_000_000_000);
        assert_eq!(ticks_from_tsresol(0x8a), 1024);
        assert_eq!(ticks_from_tsresol(0x7f), 1_000_000_000, "absurd exponents are clamped");
        assert_eq!(ticks_from_tsresol(0xff), 1_000_000_000);
    }
}
