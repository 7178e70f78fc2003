//! What the statistics need of one DNS message (header, questions, EDNS
//! bits), decoded by hickory's own readers with the same checks as
//! `Message::from_vec`, but without building a `Message`.
//!
//! Building one was a third of the analyzer's time on DNS-heavy traffic:
//! every record moved into growing vectors, then dropped, for statistics
//! that read only the header and the questions. Here each record is read
//! (so a message is malformed exactly when hickory says so) and dropped at
//! once; the few messages shown in the page are decoded in full again.
//!
//! Not a hand-written parser: every byte is read by hickory
//! (`Header::read`, `Query::read`, `Record::read`); this file repeats only
//! the section rules of `Message::read_records` (hickory-proto 0.26), which
//! the equivalence test in tests.rs holds to `Message::from_vec`.

use hickory_proto::op::{Header, MessageType, Metadata, OpCode, Query};
use hickory_proto::rr::{RData, Record, RecordData, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, DecodeError};

/// The EDNS facts the statistics count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdnsBits {
    /// The DNSSEC OK flag.
    pub dnssec_ok: bool,
}

/// One message's header (response code extended by EDNS), questions and
/// EDNS presence. Reused from message to message: the question list keeps
/// its storage.
pub struct Digest {
    /// Header fields, the response code merged with EDNS's high bits.
    pub metadata: Metadata,
    /// Every question, in order.
    pub queries: Vec<Query>,
    /// Present when the additional section holds an OPT record.
    pub edns: Option<EdnsBits>,
}

impl Default for Digest {
    fn default() -> Self {
        Digest { metadata: Metadata::new(0, MessageType::Query, OpCode::Query), queries: Vec::new(), edns: None }
    }
}

/// The EDNS DO flag: the top bit of the OPT record's TTL flags (RFC 6891).
const DNSSEC_OK: u32 = 0x0000_8000;

impl Digest {
    /// Reads `bytes`; fails exactly when `Message::from_vec` would.
    pub fn read(&mut self, bytes: &[u8]) -> Result<(), DecodeError> {
        self.queries.clear();
        self.edns = None;
        let mut decoder = BinDecoder::new(bytes);
        let Header { mut metadata, counts } = Header::read(&mut decoder)?;
        for _ in 0..counts.queries {
            self.queries.push(Query::read(&mut decoder)?);
        }
        let op = metadata.op_code;
        let mut rcode_high = None;
        for (count, is_additional) in [(counts.answers, false), (counts.authorities, false), (counts.additionals, true)]
        {
            for _ in 0..count {
                let record = Record::read(&mut decoder)?;
                if let Some(high) = self.section_rules(&record, is_additional, op)? {
                    rcode_high = Some(high);
                }
            }
        }
        if let Some(high) = rcode_high {
            metadata.merge_response_code(high);
        }
        self.metadata = metadata;
        Ok(())
    }

    /// `Message::read_records`' checks for one record; the EDNS high rcode
    /// bits when it is the OPT record.
    fn section_rules(&mut self, record: &Record, is_additional: bool, op: OpCode) -> Result<Option<u8>, DecodeError> {
        let record_type = record.record_type();
        if op != OpCode::Update && record_type != RecordType::OPT && record.data.is_update() {
            return Err(DecodeError::InvalidEmptyRecord);
        }
        // hickory (without its DNSSEC features, as built here) keeps no
        // signature record aside, so no "record after SIG" case arises.
        if matches!(record_type, RecordType::OPT | RecordType::SIG | RecordType::TSIG) && !is_additional {
            return Err(DecodeError::RecordNotInAdditionalSection(record_type));
        }
        if !is_additional {
            return Ok(None);
        }
        match record.data {
            RData::Update0(RecordType::OPT) | RData::OPT(_) => {
                if self.edns.is_some() {
                    return Err(DecodeError::DuplicateEdns);
                }
                self.edns = Some(EdnsBits { dnssec_ok: record.ttl & DNSSEC_OK != 0 });
                Ok(Some((record.ttl >> 24) as u8))
            }
            _ => Ok(None),
        }
    }
}
