//! LINKTYPE_* values and the names Wireshark gives them, so results read the
//! same as `capinfos` output.

/// BSD loopback, host byte order family.
pub const NULL: u32 = 0;
/// Ethernet II (with 802.1Q/QinQ).
pub const ETHERNET: u32 = 1;
/// Raw IP (v4 or v6 by the version nibble).
pub const RAW: u32 = 101;
/// OpenBSD's DLT_RAW value, seen in some files.
pub const RAW_OPENBSD: u32 = 14;
/// OpenBSD loopback, network byte order family.
pub const LOOP: u32 = 108;
/// Linux cooked capture v1.
pub const LINUX_SLL: u32 = 113;
/// Raw IPv4.
pub const IPV4: u32 = 228;
/// Raw IPv6.
pub const IPV6: u32 = 229;
/// Linux cooked capture v2.
pub const LINUX_SLL2: u32 = 276;
/// FDDI (Wireshark reads it bit-swapped).
pub const FDDI: u32 = 10;
/// Linux netfilter NFLOG.
pub const NFLOG: u32 = 239;
/// Raw IP, the value some old libpcap versions wrote.
pub const RAW_OLD: u32 = 12;
/// PPP (RFC 1661), with or without HDLC address and control bytes.
pub const PPP: u32 = 9;
/// PPP in HDLC-like framing (RFC 1662).
pub const PPP_HDLC: u32 = 50;
/// PPPoE session frames without an Ethernet header.
pub const PPP_ETHER: u32 = 51;
/// Cisco HDLC: address, control, EtherType.
pub const C_HDLC: u32 = 104;
/// IEEE 802.11 frames without a radio header.
pub const IEEE802_11: u32 = 105;
/// Frame Relay with a Q.922 address.
pub const FRELAY: u32 = 107;
/// 802.11 with a Prism monitor-mode header.
pub const IEEE802_11_PRISM: u32 = 119;
/// 802.11 with a radiotap header.
pub const IEEE802_11_RADIOTAP: u32 = 127;
/// Per-Packet Information header, then a packet of the link type it names.
pub const PPI: u32 = 192;
/// MPLS label stack, then the labelled packet.
pub const MPLS: u32 = 219;
/// IP over InfiniBand (RFC 4391): a 4-byte header holding an EtherType.
pub const IPOIB: u32 = 242;
/// Apple PKTAP: a metadata header, then a packet of the link type it names.
pub const PKTAP: u32 = 258;

/// Wireshark's description and short name of a link type, e.g.
/// `("Ethernet", "ether")`. Unknown types get a generic name with the number.
pub fn names(link_type: u32) -> (String, String) {
    let known = |d: &str, s: &str| (d.to_string(), s.to_string());
    match link_type {
        NULL => known("NULL/Loopback", "null"),
        ETHERNET => known("Ethernet", "ether"),
        6 => known("Token Ring", "tr"),
        8 => known("SLIP", "slip"),
        PPP => known("PPP", "ppp"),
        // Wireshark reads LINKTYPE_FDDI as bit-swapped on every platform.
        FDDI => known("FDDI with bit-swapped MAC addresses", "fddi-swapped"),
        RAW_OLD | RAW | RAW_OPENBSD => known("Raw IP", "rawip"),
        PPP_HDLC => known("PPP in HDLC-like framing", "ppp-with-direction"),
        PPP_ETHER => known("PPP-over-Ethernet session", "pppoes"),
        C_HDLC => known("Cisco HDLC", "chdlc"),
        IEEE802_11 => known("IEEE 802.11 Wireless LAN", "ieee-802-11"),
        FRELAY => known("Frame Relay", "frelay"),
        LOOP => known("OpenBSD loopback", "loop"),
        LINUX_SLL => known("Linux cooked-mode capture v1", "linux-sll"),
        IEEE802_11_PRISM => known("IEEE 802.11 plus Prism II monitor mode radio header", "ieee-802-11-prism"),
        IEEE802_11_RADIOTAP => known("IEEE 802.11 plus radiotap radio header", "ieee-802-11-radiotap"),
        147..=162 => (format!("USER {}", link_type - 147), format!("user{}", link_type - 147)),
        PPI => known("Per-Packet Information header", "ppi"),
        195 => known("IEEE 802.15.4 Wireless PAN", "wpan"),
        IPV4 => known("Raw IPv4", "rawip4"),
        IPV6 => known("Raw IPv6", "rawip6"),
        NFLOG => known("NFLOG", "nflog"),
        249 => known("USB packets with Linux header and padding", "usb-linux-mmap"),
        271 => known("Linux vsock", "vsock"),
        LINUX_SLL2 => known("Linux cooked-mode capture v2", "linux-sll2"),
        _ => (format!("LINKTYPE {link_type}"), format!("linktype-{link_type}")),
    }
}
