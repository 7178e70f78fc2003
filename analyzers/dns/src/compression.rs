//! A bound on the work of decoding a message's names, checked before hickory
//! decodes it.
//!
//! hickory-proto requires every compression pointer to point before the name
//! it is in, so pointers cannot loop, but they may chain: a pointer to a
//! pointer to a pointer, thousands deep, or a label and a pointer repeated
//! until the name is 255 bytes long. Every name of the message that points
//! into such a chain walks all of it again, so a 64 KiB message can cost
//! tens of millions of steps, and a few MB of them spend an analysis's whole
//! fuel budget: the tool then answers nothing for the rest of the capture.
//! hickory has no knob for this, so the names are walked here first, by the
//! same rules, counting steps (labels read and pointers followed) against a
//! budget proportional to the message's size. Legitimate messages use a
//! step or two per name; a message over the budget is counted as malformed
//! and not decoded.
//!
//! Hand-written because it is a bound on hickory's decoder, not a decoder:
//! it reads only what locates names (the header's counts, each record's
//! fixed fields and length) and the names themselves, in the record types
//! whose data hickory decodes names from (with the features built here).

/// Steps allowed for one name: a name of 255 bytes has at most 127 labels,
/// with at most a pointer between each two, and real names have a few
/// labels and a pointer or two; a chain of pointers to pointers goes beyond.
const MAX_STEPS_PER_NAME: u32 = 256;

/// Why a message was not handed to hickory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooCostly {
    /// One name takes more than [`MAX_STEPS_PER_NAME`] steps.
    NameSteps,
    /// The names together take more steps than the message's budget.
    MessageSteps,
}

impl TooCostly {
    /// The reason, as reported with the malformed message.
    pub fn describe(self) -> String {
        match self {
            TooCostly::NameSteps => format!(
                "a name takes more than {MAX_STEPS_PER_NAME} labels and compression pointers to decode (a chain \
                 of pointers): not decoded"
            ),
            TooCostly::MessageSteps => "its names take more labels and compression pointers to decode than the \
                                        message's size allows (a decompression bomb): not decoded"
                .to_string(),
        }
    }
}

/// Steps the names of a message of `length` bytes may take together: four
/// per byte, plus a floor for tiny messages. A name costs one step per label
/// and per pointer, and each name needs at least two bytes of the message.
fn message_budget(length: usize) -> u64 {
    256 + 4 * length as u64
}

/// Messages this short are not walked: the work of a chain grows with the
/// square of the message's size (a chain of `c` pointers followed by `n`
/// names, with `2c + 12n` bytes at most: about `L²/96` steps for `L`
/// bytes), so at 1,024 bytes it is at most ~11,000 steps, ~10 a byte, the
/// order of decoding the message at all; most DNS messages are this short,
/// and walking them would cost every capture ~3 % for nothing.
const UNWALKED_LENGTH: usize = 1024;

/// Checks that decoding the names of `message` is bounded; `Ok` also when
/// the message is broken in a way hickory will refuse on its own.
pub fn check(message: &[u8]) -> Result<(), TooCostly> {
    if message.len() <= UNWALKED_LENGTH {
        return Ok(());
    }
    let mut walk = Walk { message, budget: message_budget(message.len()) };
    walk.message().map(|_| ())
}

struct Walk<'a> {
    message: &'a [u8],
    budget: u64,
}

/// What stopped the walk: the message is too costly, or it is broken
/// (hickory will refuse it, at a cost already bounded by what was walked).
enum Stop {
    TooCostly(TooCostly),
    Broken,
}

impl From<TooCostly> for Stop {
    fn from(reason: TooCostly) -> Self {
        Stop::TooCostly(reason)
    }
}

impl Walk<'_> {
    fn message(&mut self) -> Result<(), TooCostly> {
        match self.sections() {
            Ok(()) | Err(Stop::Broken) => Ok(()),
            Err(Stop::TooCostly(reason)) => Err(reason),
        }
    }

    fn u16_at(&self, at: usize) -> Result<u16, Stop> {
        match self.message.get(at..at + 2) {
            Some(&[high, low]) => Ok(u16::from_be_bytes([high, low])),
            _ => Err(Stop::Broken),
        }
    }

    fn sections(&mut self) -> Result<(), Stop> {
        let questions = self.u16_at(4)?;
        let records = u32::from(self.u16_at(6)?) + u32::from(self.u16_at(8)?) + u32::from(self.u16_at(10)?);
        let mut at = 12;
        for _ in 0..questions {
            at = self.name(at)? + 4;
        }
        for _ in 0..records {
            let after_name = self.name(at)?;
            let record_type = self.u16_at(after_name)?;
            let data_at = after_name + 10;
            let data_length = usize::from(self.u16_at(data_at - 2)?);
            self.data_names(record_type, data_at, data_length)?;
            at = data_at + data_length;
        }
        Ok(())
    }

    /// Walks the names inside a record's data, for the types hickory reads
    /// names from (RFC 1035's types, and SRV, NAPTR, SVCB/HTTPS, TSIG).
    fn data_names(&mut self, record_type: u16, at: usize, length: usize) -> Result<(), Stop> {
        let end = at + length;
        match record_type {
            // NS, MD, MF, CNAME, MB, MG, MR, PTR, ANAME: one name.
            2..=5 | 7..=9 | 12 | 65305 => {
                self.name(at)?;
            }
            // SOA: two names.
            6 => {
                let next = self.name(at)?;
                self.name(next)?;
            }
            // MX: preference, then a name; SVCB and HTTPS: priority, then the target.
            15 | 64 | 65 => {
                self.name(at + 2)?;
            }
            // SRV: priority, weight, port, then the target.
            33 => {
                self.name(at + 6)?;
            }
            // NAPTR: order, preference, three character-strings, then the replacement.
            35 => {
                let mut next = at + 4;
                for _ in 0..3 {
                    next += 1 + usize::from(*self.message.get(next).ok_or(Stop::Broken)?);
                }
                if next < end {
                    self.name(next)?;
                }
            }
            // TSIG: the algorithm's name first.
            250 => {
                self.name(at)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Walks the name at `at` as hickory decodes it, spending one step per
    /// label and per pointer; returns where the name ends in the message.
    fn name(&mut self, at: usize) -> Result<usize, Stop> {
        let mut position = at;
        // Where this stretch of labels began: a pointer must point before it,
        // and after a jump the labels must stay before the previous start.
        let mut start = at;
        let mut limit = None;
        let mut end = None;
        let mut steps = 0u32;
        loop {
            if limit.is_some_and(|limit| position >= limit) {
                return Err(Stop::Broken);
            }
            steps += 1;
            if steps > MAX_STEPS_PER_NAME {
                return Err(TooCostly::NameSteps.into());
            }
            self.budget = self.budget.checked_sub(1).ok_or(TooCostly::MessageSteps)?;
            let byte = *self.message.get(position).ok_or(Stop::Broken)?;
            match byte & 0xc0 {
                0x00 if byte == 0 => return Ok(end.unwrap_or(position + 1)),
                0x00 => position += 1 + usize::from(byte),
                0xc0 => {
                    let target = usize::from(self.u16_at(position)? & 0x3fff);
                    if target >= start {
                        return Err(Stop::Broken);
                    }
                    end.get_or_insert(position + 2);
                    limit = Some(start);
                    start = target;
                    position = target;
                }
                _ => return Err(Stop::Broken),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{Message, Query};
    use hickory_proto::rr::rdata::{CNAME, MX, SOA, SRV};
    use hickory_proto::rr::{Name, RData, Record, RecordType};

    /// A header with the given counts.
    fn header(questions: u16, answers: u16) -> Vec<u8> {
        let mut bytes = vec![0x12, 0x34, 0x81, 0x80];
        for count in [questions, answers, 0, 0] {
            bytes.extend_from_slice(&count.to_be_bytes());
        }
        bytes
    }

    /// A response with `answers` A records whose owner points to the end of
    /// a chain of `links` links, each `label` and then a pointer to the link
    /// before; the first points to the question's name `question`. One
    /// record of an unknown type carries the chain as its data.
    fn chain(question: &[u8], label: &[u8], links: usize, answers: u16) -> Vec<u8> {
        let mut bytes = header(1, answers + 1);
        bytes.extend_from_slice(question);
        bytes.extend_from_slice(&[0, 1, 0, 1]);
        bytes.extend_from_slice(&[0, 0xff, 0x00, 0, 1, 0, 0, 0, 60]);
        bytes.extend_from_slice(&((links * (label.len() + 2)) as u16).to_be_bytes());
        let mut previous = 12u16;
        for _ in 0..links {
            let here = bytes.len() as u16;
            bytes.extend_from_slice(label);
            bytes.extend_from_slice(&(0xc000 | previous).to_be_bytes());
            previous = here;
        }
        for _ in 0..answers {
            bytes.extend_from_slice(&(0xc000 | previous).to_be_bytes());
            bytes.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
        }
        bytes
    }

    /// The pure-pointer bomb: `depth` pointers, each to the one before.
    fn pointer_chain(depth: usize, answers: u16) -> Vec<u8> {
        chain(b"\x01a\x00", b"", depth, answers)
    }

    /// Label-then-pointer links: each name is 253 bytes and 127 pointers
    /// long, about the most hickory allows.
    fn label_chain(answers: u16) -> Vec<u8> {
        chain(b"\x00", b"\x01a", 126, answers)
    }

    #[test]
    fn short_messages_are_not_walked_as_their_cost_is_bounded_anyway() {
        // The costliest chain a 1,024-byte message can hold.
        let bytes = pointer_chain(250, 30);
        assert!(bytes.len() <= UNWALKED_LENGTH);
        assert_eq!(check(&bytes), Ok(()));
        let mut walk = Walk { message: &bytes, budget: u64::MAX };
        walk.message().unwrap();
        let steps = u64::MAX - walk.budget;
        assert!(steps < 11_000, "{steps} steps");
    }

    #[test]
    fn ordinary_messages_pass_and_decode() {
        let mut message = Message::response(7, hickory_proto::op::OpCode::Query);
        let name = Name::from_ascii("www.example.com.").unwrap();
        message.add_query(Query::query(name.clone(), RecordType::A));
        let target = Name::from_ascii("edge.cdn.example.net.").unwrap();
        message.add_answer(Record::from_rdata(name.clone(), 60, RData::CNAME(CNAME(target.clone()))));
        for i in 0..200u8 {
            message.add_answer(Record::from_rdata(
                target.clone(),
                60,
                RData::A(std::net::Ipv4Addr::new(192, 0, 2, i).into()),
            ));
        }
        message.add_answer(Record::from_rdata(name.clone(), 60, RData::MX(MX::new(10, target.clone()))));
        message.add_answer(Record::from_rdata(name.clone(), 60, RData::SRV(SRV::new(1, 2, 443, target.clone()))));
        let soa = SOA::new(name.clone(), target.clone(), 1, 2, 3, 4, 5);
        message.add_authority(Record::from_rdata(name, 60, RData::SOA(soa)));
        let bytes = message.to_vec().unwrap();
        assert_eq!(check(&bytes), Ok(()));
        Message::from_vec(&bytes).expect("and hickory decodes it");
    }

    #[test]
    fn a_short_pointer_chain_is_legitimate() {
        let bytes = pointer_chain(3, 10);
        assert_eq!(check(&bytes), Ok(()));
        assert_eq!(Message::from_vec(&bytes).unwrap().answers.len(), 11);
    }

    #[test]
    fn a_deep_pointer_chain_is_refused() {
        let bytes = pointer_chain(2000, 10);
        assert_eq!(check(&bytes), Err(TooCostly::NameSteps));
        // hickory itself would decode it, walking the chain for every name.
        assert!(Message::from_vec(&bytes).is_ok());
    }

    #[test]
    fn many_names_through_label_chains_exhaust_the_message_budget() {
        // Each name is within hickory's 255-byte limit and takes 127 steps:
        // allowed one at a time, not thousands of times in one message.
        let one = label_chain(1);
        assert_eq!(check(&one), Ok(()));
        let bomb = label_chain(3000);
        assert_eq!(check(&bomb), Err(TooCostly::MessageSteps));
        assert!(Message::from_vec(&bomb).is_ok(), "hickory alone would pay for it");
    }

    #[test]
    fn broken_messages_are_left_to_hickory() {
        for bytes in [&b""[..], &b"\x00\x01"[..], &header(5, 5)[..], &[0u8; 12][..]] {
            assert_eq!(check(bytes), Ok(()));
        }
        // A pointer forward, and a pointer into itself.
        let mut forward = header(1, 0);
        forward.extend_from_slice(&[0xc0, 40, 0, 1, 0, 1]);
        assert_eq!(check(&forward), Ok(()));
        assert!(Message::from_vec(&forward).is_err());
    }

    /// Every way the walk can stop is reached on arbitrary bytes without a
    /// panic, and the budget bounds the steps whatever the input.
    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for length in 0..1000usize {
            let bytes: Vec<u8> = (0..UNWALKED_LENGTH + 1 + length % 3000)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    if state.is_multiple_of(3) { 0xc0 | (state >> 8) as u8 } else { (state >> 16) as u8 % 8 }
                })
                .collect();
            let _ = check(&bytes);
        }
    }
}
