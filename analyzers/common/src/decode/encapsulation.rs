//! The encapsulations a packet went through on its way to the innermost IP
//! packet, as a set small enough to copy with every packet, with the
//! ordered layers beside it.

use super::layer_chain::{Layer, LayerChain};

/// One layer that wraps the traffic analyzers look at: a tag, a tunnel, a
/// radio header or a reassembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Encapsulation {
    /// 802.1Q, 802.1ad or QinQ VLAN tags, 802.1ah backbone tags (and MACsec,
    /// which etherparse reads alongside).
    Vlan,
    /// An MPLS label stack (over Ethernet, PPP, GRE, IP or UDP).
    Mpls,
    /// A PPPoE session.
    Pppoe,
    /// PPP framing (a PPP link, PPTP's GRE or PPPoE).
    Ppp,
    /// 802.2 LLC with a SNAP header in front of an EtherType.
    LlcSnap,
    /// Cisco VN-Tag.
    VnTag,
    /// Network Service Header (RFC 8300).
    Nsh,
    /// Cisco MetaData (a security group tag in front of an EtherType).
    CiscoMetadata,
    /// IEEE 802.11 data frames.
    Ieee80211,
    /// A radio header in front of 802.11 (radiotap, Prism or PPI).
    RadioHeader,
    /// Apple PKTAP metadata.
    Pktap,
    /// GRE (RFC 2784, 2890, and PPTP's enhanced GRE), also over UDP (RFC 8086).
    Gre,
    /// ERSPAN type I (GRE without a sequence number, Ethernet straight after).
    ErspanI,
    /// ERSPAN type II.
    ErspanII,
    /// ERSPAN type III.
    ErspanIII,
    /// VXLAN (RFC 7348) and VXLAN-GPE.
    Vxlan,
    /// Geneve (RFC 8926).
    Geneve,
    /// GTP-U user plane.
    GtpU,
    /// Teredo (RFC 4380): IPv6 in UDP.
    Teredo,
    /// AYIYA ("anything in anything", SixXS): IP in UDP.
    Ayiya,
    /// IPv4 in IPv4 (RFC 2003).
    IpInIp,
    /// IPv6 in IPv4 (RFC 4213, protocol 41).
    SixInFour,
    /// IPv4 in IPv6 (RFC 2473).
    FourInSix,
    /// IPv6 in IPv6 (RFC 2473).
    SixInSix,
    /// The IP datagram was reassembled from fragments.
    IpFragments,
}

impl Encapsulation {
    /// Every encapsulation, in the order results list them.
    pub const ALL: [Encapsulation; 25] = [
        Self::Vlan,
        Self::Mpls,
        Self::Pppoe,
        Self::Ppp,
        Self::LlcSnap,
        Self::VnTag,
        Self::Nsh,
        Self::CiscoMetadata,
        Self::Ieee80211,
        Self::RadioHeader,
        Self::Pktap,
        Self::Gre,
        Self::ErspanI,
        Self::ErspanII,
        Self::ErspanIII,
        Self::Vxlan,
        Self::Geneve,
        Self::GtpU,
        Self::Teredo,
        Self::Ayiya,
        Self::IpInIp,
        Self::SixInFour,
        Self::FourInSix,
        Self::SixInSix,
        Self::IpFragments,
    ];

    /// The name results use, close to Wireshark's protocol names.
    pub fn name(self) -> &'static str {
        match self {
            Self::Vlan => "vlan",
            Self::Mpls => "mpls",
            Self::Pppoe => "pppoe",
            Self::Ppp => "ppp",
            Self::LlcSnap => "llc-snap",
            Self::VnTag => "vntag",
            Self::Nsh => "nsh",
            Self::CiscoMetadata => "cisco-metadata",
            Self::Ieee80211 => "wlan",
            Self::RadioHeader => "radio-header",
            Self::Pktap => "pktap",
            Self::Gre => "gre",
            Self::ErspanI => "erspan-i",
            Self::ErspanII => "erspan-ii",
            Self::ErspanIII => "erspan-iii",
            Self::Vxlan => "vxlan",
            Self::Geneve => "geneve",
            Self::GtpU => "gtp-u",
            Self::Teredo => "teredo",
            Self::Ayiya => "ayiya",
            Self::IpInIp => "ip-in-ip",
            Self::SixInFour => "6in4",
            Self::FourInSix => "4in6",
            Self::SixInSix => "6in6",
            Self::IpFragments => "ip-fragments",
        }
    }
}

/// A set of [`Encapsulation`]s, one bit each, and the ordered
/// [`LayerChain`] the packet path went through (which names every layer,
/// the innermost packet's too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Encapsulations {
    set: u32,
    chain: LayerChain,
}

impl Encapsulations {
    /// Adds one.
    pub fn insert(&mut self, e: Encapsulation) {
        self.set |= 1 << e as u8;
    }

    /// Whether `e` is in the set.
    pub fn contains(self, e: Encapsulation) -> bool {
        self.set & (1 << e as u8) != 0
    }

    /// True when the packet was not wrapped at all.
    pub fn is_empty(self) -> bool {
        self.set == 0
    }

    /// Records the next layer inward.
    #[inline(always)]
    pub(super) fn push(&mut self, layer: Layer) {
        self.chain.push(layer);
    }

    /// Every layer the packet was decoded through, outermost first.
    pub fn chain(&self) -> &LayerChain {
        &self.chain
    }

    pub(super) fn chain_mut(&mut self) -> &mut LayerChain {
        &mut self.chain
    }

    /// The members, in [`Encapsulation::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Encapsulation> {
        Encapsulation::ALL.into_iter().filter(move |e| self.contains(*e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_encapsulation_has_its_own_bit_and_name() {
        let mut all = Encapsulations::default();
        assert!(all.is_empty());
        for e in Encapsulation::ALL {
            assert!(!all.contains(e), "{e:?} shares a bit");
            all.insert(e);
        }
        assert_eq!(all.iter().collect::<Vec<_>>(), Encapsulation::ALL.to_vec());
        let names: std::collections::HashSet<_> = Encapsulation::ALL.iter().map(|e| e.name()).collect();
        assert_eq!(names.len(), Encapsulation::ALL.len());
    }
}
