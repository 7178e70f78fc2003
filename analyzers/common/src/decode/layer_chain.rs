//! The layers a packet was decoded through, outermost first, as Wireshark's
//! `frame.protocols` lists them (without its `ethertype` pseudo-layers): what
//! a protocol hierarchy is built from, so tunnels show as such
//! (`eth → ip → gre → erspan → eth → ip → udp → vxlan → eth → ip → tcp`).
//!
//! The layers around the innermost packet are recorded while the path
//! descends, in a fixed array copied with the packet; the innermost
//! packet's own are read from its slices when asked for (most analyzers
//! never ask), so the hot path pays for tunnels only.
//! No allocation: a byte per layer.

use etherparse::{EtherType, LaxLinkExtSlice, LaxNetSlice, LaxSlicedPacket, LinkSlice, TransportSlice};

/// One protocol layer the packet path reads. The names are Wireshark's
/// protocol filter names, so a hierarchy reads like `tshark -z io,phs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Layer {
    /// Ethernet II (or 802.3 with a length, then LLC).
    Ethernet,
    /// Linux cooked capture (SLL v1 or v2).
    LinuxSll,
    /// BSD loopback (LINKTYPE_NULL or LOOP).
    Null,
    /// Raw IP without a link header.
    Raw,
    /// FDDI.
    Fddi,
    /// 802.2 LLC (with or without SNAP).
    Llc,
    /// Linux netfilter log.
    Nflog,
    /// PPP framing.
    Ppp,
    /// A PPPoE session header.
    Pppoes,
    /// Cisco HDLC.
    Chdlc,
    /// Frame Relay.
    FrameRelay,
    /// IP over InfiniBand.
    Infiniband,
    /// IEEE 802.11.
    Wlan,
    /// Radiotap radio header.
    Radiotap,
    /// Prism radio header.
    Prism,
    /// PPI (per-packet information) header.
    Ppi,
    /// Apple PKTAP header.
    Pktap,
    /// An 802.1Q VLAN tag (or a QinQ tag with EtherType 0x9100).
    Vlan,
    /// An 802.1ad service tag (EtherType 0x88a8).
    Ieee8021ad,
    /// An 802.1ah backbone service instance tag.
    Ieee8021ah,
    /// MACsec (802.1AE).
    Macsec,
    /// An MPLS label stack.
    Mpls,
    /// Cisco VN-Tag.
    VnTag,
    /// Network Service Header.
    Nsh,
    /// Cisco MetaData.
    CiscoMetadata,
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
    /// ARP.
    Arp,
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// ICMP.
    Icmp,
    /// ICMPv6.
    Icmpv6,
    /// IGMP.
    Igmp,
    /// GRE.
    Gre,
    /// ERSPAN (any type).
    Erspan,
    /// VXLAN.
    Vxlan,
    /// Geneve.
    Geneve,
    /// GTP (the user plane, GTP-U).
    Gtp,
    /// Teredo.
    Teredo,
    /// AYIYA.
    Ayiya,
}

impl Layer {
    /// Every layer, in declaration order.
    pub const ALL: [Layer; 40] = [
        Self::Ethernet,
        Self::LinuxSll,
        Self::Null,
        Self::Raw,
        Self::Fddi,
        Self::Llc,
        Self::Nflog,
        Self::Ppp,
        Self::Pppoes,
        Self::Chdlc,
        Self::FrameRelay,
        Self::Infiniband,
        Self::Wlan,
        Self::Radiotap,
        Self::Prism,
        Self::Ppi,
        Self::Pktap,
        Self::Vlan,
        Self::Ieee8021ad,
        Self::Ieee8021ah,
        Self::Macsec,
        Self::Mpls,
        Self::VnTag,
        Self::Nsh,
        Self::CiscoMetadata,
        Self::Ipv4,
        Self::Ipv6,
        Self::Arp,
        Self::Udp,
        Self::Tcp,
        Self::Icmp,
        Self::Icmpv6,
        Self::Igmp,
        Self::Gre,
        Self::Erspan,
        Self::Vxlan,
        Self::Geneve,
        Self::Gtp,
        Self::Teredo,
        Self::Ayiya,
    ];

    /// Wireshark's filter name for the protocol.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ethernet => "eth",
            Self::LinuxSll => "sll",
            Self::Null => "null",
            Self::Raw => "raw",
            Self::Fddi => "fddi",
            Self::Llc => "llc",
            Self::Nflog => "nflog",
            Self::Ppp => "ppp",
            Self::Pppoes => "pppoes",
            Self::Chdlc => "chdlc",
            Self::FrameRelay => "fr",
            Self::Infiniband => "infiniband",
            Self::Wlan => "wlan",
            Self::Radiotap => "radiotap",
            Self::Prism => "prism",
            Self::Ppi => "ppi",
            Self::Pktap => "pktap",
            Self::Vlan => "vlan",
            Self::Ieee8021ad => "ieee8021ad",
            Self::Ieee8021ah => "ieee8021ah",
            Self::Macsec => "macsec",
            Self::Mpls => "mpls",
            Self::VnTag => "vntag",
            Self::Nsh => "nsh",
            Self::CiscoMetadata => "cmd",
            Self::Ipv4 => "ip",
            Self::Ipv6 => "ipv6",
            Self::Arp => "arp",
            Self::Udp => "udp",
            Self::Tcp => "tcp",
            Self::Icmp => "icmp",
            Self::Icmpv6 => "icmpv6",
            Self::Igmp => "igmp",
            Self::Gre => "gre",
            Self::Erspan => "erspan",
            Self::Vxlan => "vxlan",
            Self::Geneve => "geneve",
            Self::Gtp => "gtp",
            Self::Teredo => "teredo",
            Self::Ayiya => "ayiya",
        }
    }
}

/// Layers kept per packet; deeper ones (only crafted packets nest this far)
/// are cut and [`LayerChain::is_cut`] says so.
pub const MAX_LAYERS: usize = 15;

/// The ordered layers of one packet, outermost first.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct LayerChain {
    layers: [Layer; MAX_LAYERS],
    len: u8,
}

impl Default for LayerChain {
    fn default() -> Self {
        LayerChain { layers: [Layer::Ethernet; MAX_LAYERS], len: 0 }
    }
}

impl std::fmt::Debug for LayerChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice().iter().map(|l| l.name())).finish()
    }
}

impl LayerChain {
    /// The layers of a packet sliced from its IP header on, such as the
    /// datagram an ICMP error quotes.
    pub fn of_ip_packet(layers: &LaxSlicedPacket<'_>) -> LayerChain {
        let mut chain = LayerChain::default();
        chain.record_level(layers, None, 0);
        chain
    }

    /// Appends the next layer inward. A chain already full is marked cut.
    #[inline(always)]
    pub fn push(&mut self, layer: Layer) {
        if let Some(slot) = self.layers.get_mut(usize::from(self.len)) {
            *slot = layer;
            self.len += 1;
        } else {
            self.len = MAX_LAYERS as u8 + 1;
        }
    }

    /// The layers, outermost first.
    pub fn as_slice(&self) -> &[Layer] {
        &self.layers[..usize::from(self.len).min(MAX_LAYERS)]
    }

    /// True when the packet had more layers than [`MAX_LAYERS`].
    pub fn is_cut(&self) -> bool {
        usize::from(self.len) > MAX_LAYERS
    }

    /// The innermost layer.
    pub fn last(&self) -> Option<Layer> {
        self.as_slice().last().copied()
    }

    /// Length as recorded, past [`MAX_LAYERS`] when cut: a position for
    /// [`LayerChain::record_level`].
    pub(super) fn len_recorded(&self) -> u8 {
        self.len
    }

    /// Adds what one level of slicing read, at position `at` (ahead of the
    /// tunnel or shim layers recorded after it): the Ethernet header, each
    /// tag (named by the TPID in front of it, as Wireshark names 802.1ad's),
    /// the network and transport headers. `ether_type` is the EtherType the
    /// level started from, when it did not start with an Ethernet header.
    pub(super) fn record_level(&mut self, layers: &LaxSlicedPacket<'_>, ether_type: Option<u16>, at: u8) {
        let at = usize::from(at).min(self.as_slice().len());
        let before = *self;
        self.len = at as u8;
        let mut tpid = ether_type;
        if let Some(LinkSlice::Ethernet2(eth)) = &layers.link {
            // An 802.1ah I-TAG holds the customer's MAC header, as Wireshark shows it.
            if self.last() != Some(Layer::Ieee8021ah) {
                self.push(Layer::Ethernet);
            }
            tpid = Some(eth.ether_type().0);
        }
        for ext in &layers.link_exts {
            match ext {
                LaxLinkExtSlice::Vlan(tag) => {
                    let service_tag = tpid == Some(EtherType::PROVIDER_BRIDGING.0);
                    self.push(if service_tag { Layer::Ieee8021ad } else { Layer::Vlan });
                    tpid = Some(tag.ether_type().0);
                }
                LaxLinkExtSlice::Macsec(_) => {
                    self.push(Layer::Macsec);
                    tpid = None;
                }
            }
        }
        match &layers.net {
            Some(LaxNetSlice::Ipv4(_)) => self.push(Layer::Ipv4),
            Some(LaxNetSlice::Ipv6(_)) => self.push(Layer::Ipv6),
            Some(LaxNetSlice::Arp(_)) => self.push(Layer::Arp),
            None => {}
        }
        match &layers.transport {
            Some(TransportSlice::Udp(_)) => self.push(Layer::Udp),
            Some(TransportSlice::Tcp(_)) => self.push(Layer::Tcp),
            Some(TransportSlice::Icmpv4(_)) => self.push(Layer::Icmp),
            Some(TransportSlice::Icmpv6(_)) => self.push(Layer::Icmpv6),
            Some(TransportSlice::Igmp(_)) => self.push(Layer::Igmp),
            None => {}
        }
        for layer in &before.as_slice()[at..] {
            self.push(*layer);
        }
        if before.is_cut() {
            self.len = MAX_LAYERS as u8 + 1;
        }
    }

    /// Drops the innermost layer when it is an IP header: a fragment's, so
    /// that the datagram reassembled from it takes its place.
    pub(super) fn pop_ip(&mut self) {
        if matches!(self.last(), Some(Layer::Ipv4 | Layer::Ipv6)) && !self.is_cut() {
            self.len -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layer_has_its_own_name() {
        let names: std::collections::HashSet<_> = Layer::ALL.iter().map(|l| l.name()).collect();
        assert_eq!(names.len(), Layer::ALL.len());
        assert!(Layer::ALL.iter().enumerate().all(|(i, l)| *l as usize == i));
    }

    #[test]
    fn a_full_chain_is_cut_not_overrun() {
        let mut chain = LayerChain::default();
        assert!(chain.as_slice().is_empty());
        chain.push(Layer::Ethernet);
        chain.push(Layer::Ipv4);
        chain.pop_ip();
        assert_eq!(chain.as_slice(), [Layer::Ethernet]);
        for _ in 0..MAX_LAYERS + 5 {
            chain.push(Layer::Mpls);
        }
        assert!(chain.is_cut());
        assert_eq!(chain.as_slice().len(), MAX_LAYERS);
        chain.pop_ip();
        assert_eq!(chain.last(), Some(Layer::Mpls));
    }
}
