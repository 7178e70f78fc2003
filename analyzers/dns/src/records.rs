//! A parsed DNS message rendered as the per-message JSON entry: mcpcap's
//! fields (flags, questions, answers with `cname`/`address`/`data`) plus
//! opcode, rcode, all sections, EDNS and every header flag.

use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::{RData, Record};

use pcapsule_guest::conventions::hex;

use crate::result::{Edns, EdnsOption, Flags, RecordEntry, Soa};

/// Name as text without the trailing root dot ("." for the root itself).
///
/// Names whose labels hold only letters, digits, `_` and inner `-` (nearly
/// all of them) are copied straight from the labels: they are what hickory's
/// `to_ascii` would write, which escapes byte by byte and was a tenth of the
/// analyzer's time. Any other name goes through `to_ascii`.
pub fn name_text(name: &hickory_proto::rr::Name) -> String {
    let mut text = String::new();
    write_name_text(name, &mut text);
    text
}

/// [`name_text`] written into `text` (cleared first): for the statistics,
/// which read every question's name into buffers they reuse.
pub fn write_name_text(name: &hickory_proto::rr::Name, text: &mut String) {
    text.clear();
    let plain = |label: &[u8]| {
        label.first().is_some_and(|b| *b != b'-')
            && label.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
    };
    // One walk over the labels, copying while they are plain.
    let mut labels = 0;
    for label in name.iter() {
        if !plain(label) {
            labels = 0;
            break;
        }
        if labels > 0 {
            text.push('.');
        }
        // Checked ASCII, so the UTF-8 check passes; copied as one slice
        // (a char at a time was 7 % of the analyzer's instructions).
        text.push_str(std::str::from_utf8(label).unwrap_or_default());
        labels += 1;
    }
    if labels > 0 {
        return;
    }
    text.clear();
    text.push_str(&name.to_ascii());
    if text.len() > 1 && text.ends_with('.') {
        text.pop();
    }
}

/// Response code name, e.g. NOERROR, NXDOMAIN, or RCODE17 for unassigned ones.
pub fn rcode_name(message: &Message) -> String {
    rcode_text(rcode_number(message))
}

/// The message's response code number (extended by EDNS when present).
pub fn rcode_number(message: &Message) -> u16 {
    u16::from(message.metadata.response_code)
}

/// Response code name of a number.
pub fn rcode_text(value: u16) -> String {
    match value {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        6 => "YXDOMAIN".into(),
        7 => "YXRRSET".into(),
        8 => "NXRRSET".into(),
        9 => "NOTAUTH".into(),
        10 => "NOTZONE".into(),
        16 => "BADVERS".into(),
        23 => "BADCOOKIE".into(),
        other => format!("RCODE{other}"),
    }
}

/// Opcode name.
pub fn opcode_name(opcode: u8) -> String {
    match opcode {
        0 => "QUERY".into(),
        1 => "IQUERY".into(),
        2 => "STATUS".into(),
        4 => "NOTIFY".into(),
        5 => "UPDATE".into(),
        6 => "DSO".into(),
        other => format!("OPCODE{other}"),
    }
}

/// The message's opcode number.
pub fn opcode_number(message: &Message) -> u8 {
    u8::from(message.metadata.op_code)
}

/// Record type name (A, AAAA, TYPE65280 for unknown ones).
pub fn type_name(record_type: hickory_proto::rr::RecordType) -> String {
    match record_type {
        hickory_proto::rr::RecordType::Unknown(n) => format!("TYPE{n}"),
        other => other.to_string(),
    }
}

/// One resource record: mcpcap's name/type/class/ttl/cname/data/address plus
/// the type's name and typed fields.
pub fn record_entry(record: &Record) -> RecordEntry {
    let record_type = record.record_type();
    let mut entry = RecordEntry {
        name: name_text(&record.name),
        rtype: u16::from(record_type),
        type_name: type_name(record_type),
        class: u16::from(record.dns_class),
        ttl: record.ttl,
        address: None,
        cname: None,
        preference: None,
        exchange: None,
        priority: None,
        weight: None,
        port: None,
        target: None,
        soa: None,
        txt: None,
        rdata_hex: None,
        data: String::new(),
    };
    entry.data = match &record.data {
        RData::A(a) => entry.address.insert(a.0.to_string()).clone(),
        RData::AAAA(aaaa) => entry.address.insert(aaaa.0.to_string()).clone(),
        RData::CNAME(cname) => entry.cname.insert(name_text(&cname.0)).clone(),
        RData::NS(ns) => entry.target.insert(name_text(&ns.0)).clone(),
        RData::PTR(ptr) => entry.target.insert(name_text(&ptr.0)).clone(),
        RData::MX(mx) => {
            entry.preference = Some(mx.preference);
            let exchange = entry.exchange.insert(name_text(&mx.exchange));
            format!("{} {exchange}", mx.preference)
        }
        RData::SRV(srv) => {
            entry.priority = Some(srv.priority);
            entry.weight = Some(srv.weight);
            entry.port = Some(srv.port);
            let target = entry.target.insert(name_text(&srv.target));
            format!("{} {} {} {target}", srv.priority, srv.weight, srv.port)
        }
        RData::SOA(soa) => {
            entry.soa = Some(Soa {
                mname: name_text(&soa.mname),
                rname: name_text(&soa.rname),
                serial: soa.serial,
                refresh: soa.refresh,
                retry: soa.retry,
                expire: soa.expire,
                minimum: soa.minimum,
            });
            record.data.to_string()
        }
        RData::TXT(txt) => {
            let strings: Vec<String> = txt.txt_data.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect();
            entry.txt.insert(strings).join(" ")
        }
        RData::Unknown { rdata, .. } => {
            let bytes = &rdata.anything;
            let hex = entry.rdata_hex.insert(hex(bytes));
            format!("\\# {} {hex}", bytes.len())
        }
        // CAA, HTTPS/SVCB, DNSSEC types and the rest: zone-file text.
        other => other.to_string(),
    };
    entry
}

/// Header flags: mcpcap's five plus AD and CD.
pub fn flags(message: &Message) -> Flags {
    let m = &message.metadata;
    Flags {
        is_response: m.message_type == MessageType::Response,
        authoritative: m.authoritative,
        truncated: m.truncation,
        recursion_desired: m.recursion_desired,
        recursion_available: m.recursion_available,
        authentic_data: m.authentic_data,
        checking_disabled: m.checking_disabled,
    }
}

/// EDNS: UDP payload size, DO bit, version, extended rcode bits, options.
pub fn edns(message: &Message) -> Option<Edns> {
    let edns = message.edns.as_ref()?;
    let options = edns
        .options()
        .options
        .iter()
        .map(|(code, option)| EdnsOption {
            code: u16::from(*code),
            name: format!("{code:?}"),
            data: format!("{option:?}"),
        })
        .collect();
    Some(Edns {
        udp_payload_size: edns.max_payload(),
        dnssec_ok: edns.flags().dnssec_ok,
        version: edns.version(),
        rcode_high: edns.rcode_high(),
        options,
    })
}

/// One-line human summary, e.g. `Query A www.example.com` or
/// `Response NXDOMAIN A nope.example (0 answers)`.
pub fn summary(message: &Message) -> String {
    let question = message
        .queries
        .first()
        .map(|q| format!("{} {}", type_name(q.query_type), name_text(&q.name)))
        .unwrap_or_else(|| "(no question)".into());
    if message.metadata.message_type == MessageType::Query {
        return format!(
            "{} {question}",
            if opcode_number(message) == 0 { "Query".into() } else { opcode_name(opcode_number(message)) }
        );
    }
    let answers: Vec<String> = message.answers.iter().take(3).map(|r| record_entry(r).data).collect();
    let more = message.answers.len().saturating_sub(3);
    let mut text = format!("Response {} {question}", rcode_name(message));
    if !answers.is_empty() {
        text.push_str(&format!(" -> {}", answers.join(", ")));
        if more > 0 {
            text.push_str(&format!(" (+{more} more)"));
        }
    } else {
        text.push_str(" (no answers)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::name_text;
    use hickory_proto::rr::Name;

    /// The copy-the-labels path writes what hickory's `to_ascii` writes.
    #[test]
    fn name_text_matches_hickory_for_plain_and_odd_names() {
        let from_labels = |labels: &[&[u8]]| Name::from_labels(labels.iter().copied()).unwrap();
        let names = [
            Name::root(),
            from_labels(&[b"www", b"Example", b"COM"]),
            from_labels(&[b"_sip", b"_udp", b"example", b"org"]),
            from_labels(&[b"xn--bcher-kva", b"example"]),
            from_labels(&[b"-leading", b"dash"]),
            from_labels(&[b"trailing-", b"dash"]),
            from_labels(&[b"*", b"wild", b"card"]),
            from_labels(&[b"sp ace", b"example"]),
            from_labels(&[b"plain", b"then", b"sp ace", b"example"]),
            from_labels(&[b"dot.inside", b"example"]),
            from_labels(&[b"caf\xc3\xa9", b"example"]),
            from_labels(&[b"back\\slash"]),
        ];
        for name in names {
            let mut fqdn = name.clone();
            fqdn.set_fqdn(true);
            let hickory = fqdn.to_ascii();
            let expected = if hickory == "." { hickory.clone() } else { hickory.trim_end_matches('.').to_string() };
            assert_eq!(name_text(&fqdn), expected, "{hickory}");
        }
        assert_eq!(name_text(&Name::root()), ".");
    }
}
