//! Names of ICMP and ICMPv6 message types and codes, from the IANA registries
//! ("ICMP Type Numbers", "ICMPv6 Parameters"). Where mcpcap names a type or a
//! code, its wording is kept so results read the same.

use pcapsule_guest::decode::icmp_error;

/// Which ICMP: the IPv4 one (IP protocol 1) or ICMPv6 (next header 58).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// ICMP for IPv4.
    V4,
    /// ICMPv6.
    V6,
}

impl Family {
    /// `ICMP` or `ICMPv6`, as Wireshark's protocol column says.
    pub fn protocol_name(self) -> &'static str {
        match self {
            Family::V4 => "ICMP",
            Family::V6 => "ICMPv6",
        }
    }
}

/// ICMPv4 types carrying an identifier and a sequence number in bytes 4..8.
pub fn v4_has_id_seq(icmp_type: u8) -> bool {
    matches!(icmp_type, 0 | 8 | 13 | 14 | 15 | 16 | 17 | 18 | 37 | 38)
}

/// Error messages, which quote the datagram that caused them.
pub fn is_error(family: Family, icmp_type: u8) -> bool {
    match family {
        Family::V4 => icmp_error::is_error_v4(icmp_type),
        Family::V6 => icmp_error::is_error_v6(icmp_type),
    }
}

/// The message type's name; unknown types read `Unknown Type (N)` as in mcpcap
/// (`Unknown ICMPv6 Type (N)` for ICMPv6, so the two never share a key).
pub fn type_name(family: Family, icmp_type: u8) -> String {
    let known = match family {
        Family::V4 => v4_type_name(icmp_type),
        Family::V6 => v6_type_name(icmp_type),
    };
    match (known, family) {
        (Some(name), _) => name.to_string(),
        (None, Family::V4) => format!("Unknown Type ({icmp_type})"),
        (None, Family::V6) => format!("Unknown ICMPv6 Type ({icmp_type})"),
    }
}

fn v4_type_name(t: u8) -> Option<&'static str> {
    Some(match t {
        0 => "Echo Reply",
        3 => "Destination Unreachable",
        4 => "Source Quench",
        5 => "Redirect",
        6 => "Alternate Host Address",
        8 => "Echo Request",
        9 => "Router Advertisement",
        10 => "Router Solicitation",
        11 => "Time Exceeded",
        12 => "Parameter Problem",
        13 => "Timestamp Request",
        14 => "Timestamp Reply",
        15 => "Information Request",
        16 => "Information Reply",
        17 => "Address Mask Request",
        18 => "Address Mask Reply",
        30 => "Traceroute",
        31 => "Datagram Conversion Error",
        32 => "Mobile Host Redirect",
        33 => "IPv6 Where-Are-You",
        34 => "IPv6 I-Am-Here",
        35 => "Mobile Registration Request",
        36 => "Mobile Registration Reply",
        37 => "Domain Name Request",
        38 => "Domain Name Reply",
        39 => "SKIP",
        40 => "Photuris",
        41 => "Experimental Mobility Protocol",
        42 => "Extended Echo Request",
        43 => "Extended Echo Reply",
        253 => "RFC3692-style Experiment 1",
        254 => "RFC3692-style Experiment 2",
        _ => return None,
    })
}

fn v6_type_name(t: u8) -> Option<&'static str> {
    Some(match t {
        1 => "Destination Unreachable",
        2 => "Packet Too Big",
        3 => "Time Exceeded",
        4 => "Parameter Problem",
        100 | 101 | 200 | 201 => "Private Experimentation",
        127 => "Reserved for Expansion of ICMPv6 Error Messages",
        128 => "Echo Request",
        129 => "Echo Reply",
        130 => "Multicast Listener Query",
        131 => "Multicast Listener Report",
        132 => "Multicast Listener Done",
        133 => "Router Solicitation",
        134 => "Router Advertisement",
        135 => "Neighbor Solicitation",
        136 => "Neighbor Advertisement",
        137 => "Redirect",
        138 => "Router Renumbering",
        139 => "Node Information Query",
        140 => "Node Information Response",
        141 => "Inverse Neighbor Discovery Solicitation",
        142 => "Inverse Neighbor Discovery Advertisement",
        143 => "Multicast Listener Report v2",
        144 => "Home Agent Address Discovery Request",
        145 => "Home Agent Address Discovery Reply",
        146 => "Mobile Prefix Solicitation",
        147 => "Mobile Prefix Advertisement",
        148 => "Certification Path Solicitation",
        149 => "Certification Path Advertisement",
        150 => "Experimental Mobility Protocol",
        151 => "Multicast Router Advertisement",
        152 => "Multicast Router Solicitation",
        153 => "Multicast Router Termination",
        154 => "FMIPv6",
        155 => "RPL Control Message",
        156 => "ILNPv6 Locator Update",
        157 => "Duplicate Address Request",
        158 => "Duplicate Address Confirmation",
        159 => "MPL Control Message",
        160 => "Extended Echo Request",
        161 => "Extended Echo Reply",
        _ => return None,
    })
}

/// The code's name. Codes a type does not define read `Unknown Code (N)`
/// (see [`code_is_defined`]); for types this table does not know, `Code N`.
pub fn code_name(family: Family, icmp_type: u8, code: u8) -> String {
    let known = match family {
        Family::V4 => v4_code_name(icmp_type, code),
        Family::V6 => v6_code_name(icmp_type, code),
    };
    match known {
        Some(Some(name)) => name.to_string(),
        Some(None) => format!("Unknown Code ({code})"),
        None => format!("Code {code}"),
    }
}

/// False when the type is known and does not define this code (an echo
/// request with code 5, say): odd codes are a fingerprinting and covert
/// channel indicator.
pub fn code_is_defined(family: Family, icmp_type: u8, code: u8) -> bool {
    let known = match family {
        Family::V4 => v4_code_name(icmp_type, code),
        Family::V6 => v6_code_name(icmp_type, code),
    };
    !matches!(known, Some(None))
}

/// `None`: type unknown; `Some(None)`: type known, code undefined.
fn v4_code_name(t: u8, c: u8) -> Option<Option<&'static str>> {
    let name = match (t, c) {
        (3, 0) => "Network Unreachable",
        (3, 1) => "Host Unreachable",
        (3, 2) => "Protocol Unreachable",
        (3, 3) => "Port Unreachable",
        (3, 4) => "Fragmentation Required",
        (3, 5) => "Source Route Failed",
        (3, 6) => "Destination Network Unknown",
        (3, 7) => "Destination Host Unknown",
        (3, 8) => "Source Host Isolated",
        (3, 9) => "Network Administratively Prohibited",
        (3, 10) => "Host Administratively Prohibited",
        (3, 11) => "Network Unreachable for ToS",
        (3, 12) => "Host Unreachable for ToS",
        (3, 13) => "Communication Administratively Prohibited",
        (3, 14) => "Host Precedence Violation",
        (3, 15) => "Precedence Cutoff in Effect",
        (5, 0) => "Redirect for Network",
        (5, 1) => "Redirect for Host",
        (5, 2) => "Redirect for ToS and Network",
        (5, 3) => "Redirect for ToS and Host",
        (9, 0) => "Normal Router Advertisement",
        (9, 16) => "Does Not Route Common Traffic",
        (11, 0) => "TTL Exceeded in Transit",
        (11, 1) => "Fragment Reassembly Time Exceeded",
        (12, 0) => "Pointer Indicates the Error",
        (12, 1) => "Missing a Required Option",
        (12, 2) => "Bad Length",
        (40, 0) => "Bad SPI",
        (40, 1) => "Authentication Failed",
        (40, 2) => "Decompression Failed",
        (40, 3) => "Decryption Failed",
        (40, 4) => "Need Authentication",
        (40, 5) => "Need Authorization",
        (42, 0) | (43, 0) => "No Error",
        (43, 1) => "Malformed Query",
        (43, 2) => "No Such Interface",
        (43, 3) => "No Such Table Entry",
        (43, 4) => "Multiple Interfaces Satisfy Query",
        (0 | 4 | 6 | 8 | 10 | 13..=18 | 30 | 37 | 38, 0) => "No Code",
        (0 | 3..=6 | 8..=18 | 30 | 37 | 38 | 40 | 42 | 43, _) => return Some(None),
        _ => return None,
    };
    Some(Some(name))
}

fn v6_code_name(t: u8, c: u8) -> Option<Option<&'static str>> {
    let name = match (t, c) {
        (1, 0) => "No Route to Destination",
        (1, 1) => "Administratively Prohibited",
        (1, 2) => "Beyond Scope of Source Address",
        (1, 3) => "Address Unreachable",
        (1, 4) => "Port Unreachable",
        (1, 5) => "Source Address Failed Policy",
        (1, 6) => "Reject Route to Destination",
        (1, 7) => "Error in Source Routing Header",
        (1, 8) => "Headers Too Long",
        (3, 0) => "Hop Limit Exceeded in Transit",
        (3, 1) => "Fragment Reassembly Time Exceeded",
        (4, 0) => "Erroneous Header Field Encountered",
        (4, 1) => "Unrecognized Next Header Type Encountered",
        (4, 2) => "Unrecognized IPv6 Option Encountered",
        (4, 3) => "IPv6 First Fragment Has Incomplete IPv6 Header Chain",
        (4, 4) => "SR Upper-layer Header Error",
        (4, 5) => "Unrecognized Next Header Type Encountered by Intermediate Node",
        (4, 6) => "Extension Header Too Big",
        (4, 7) => "Extension Header Chain Too Long",
        (4, 8) => "Too Many Extension Headers",
        (4, 9) => "Too Many Options in Extension Header",
        (4, 10) => "Option Too Big",
        (138, 0) => "Router Renumbering Command",
        (138, 1) => "Router Renumbering Result",
        (138, 255) => "Sequence Number Reset",
        (139, 0) => "Data Contains an IPv6 Address",
        (139, 1) => "Data Contains a Name or Is Empty",
        (139, 2) => "Data Contains an IPv4 Address",
        (140, 0) => "Successful Reply",
        (140, 1) => "Responder Refuses to Answer",
        (140, 2) => "Qtype Unknown to the Responder",
        (160, 0) | (161, 0) => "No Error",
        (161, 1) => "Malformed Query",
        (161, 2) => "No Such Interface",
        (161, 3) => "No Such Table Entry",
        (161, 4) => "Multiple Interfaces Satisfy Query",
        (155, 0) => "DODAG Information Solicitation",
        (155, 1) => "DODAG Information Object",
        (155, 2) => "Destination Advertisement Object",
        (155, 3) => "Destination Advertisement Object Acknowledgment",
        (155, 10) => "Consistency Check",
        (155, 0x80) => "Secure DODAG Information Solicitation",
        (155, 0x81) => "Secure DODAG Information Object",
        (155, 0x82) => "Secure Destination Advertisement Object",
        (155, 0x83) => "Secure Destination Advertisement Object Acknowledgment",
        (155, 0x8a) => "Secure Consistency Check",
        (2 | 128..=137 | 141..=149 | 151..=153 | 156..=159, 0) => "No Code",
        (1..=4 | 128..=149 | 151..=153 | 155 | 156 | 159 | 160 | 161, _) => return Some(None),
        _ => return None,
    };
    Some(Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcpcap_wording_is_kept() {
        assert_eq!(type_name(Family::V4, 8), "Echo Request");
        assert_eq!(type_name(Family::V4, 11), "Time Exceeded");
        assert_eq!(type_name(Family::V4, 97), "Unknown Type (97)");
        assert_eq!(code_name(Family::V4, 3, 4), "Fragmentation Required");
        assert_eq!(code_name(Family::V4, 11, 0), "TTL Exceeded in Transit");
        assert_eq!(code_name(Family::V6, 1, 0), "No Route to Destination");
        assert_eq!(type_name(Family::V6, 1), "Destination Unreachable");
    }

    #[test]
    fn every_type_and_code_has_a_name() {
        for family in [Family::V4, Family::V6] {
            for t in 0..=255u8 {
                assert!(!type_name(family, t).is_empty());
                for c in 0..=255u8 {
                    let name = code_name(family, t, c);
                    assert!(!name.is_empty());
                    assert_eq!(code_is_defined(family, t, c), !name.starts_with("Unknown Code"), "{family:?} {t}/{c}");
                }
            }
        }
        assert_eq!(code_name(Family::V4, 8, 0), "No Code");
        assert_eq!(code_name(Family::V4, 8, 5), "Unknown Code (5)");
        assert!(!code_is_defined(Family::V4, 0, 1));
        assert_eq!(code_name(Family::V4, 200, 3), "Code 3");
        assert_eq!(code_name(Family::V6, 161, 2), "No Such Interface");
        assert_eq!(code_name(Family::V6, 135, 0), "No Code");
        assert_eq!(type_name(Family::V6, 143), "Multicast Listener Report v2");
        assert_eq!(type_name(Family::V6, 42), "Unknown ICMPv6 Type (42)");
    }
}
