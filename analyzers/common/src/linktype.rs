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
/// `("Ethernet", "ether")`, as `capinfos` prints them. Unknown types get a
/// generic name with the number.
pub fn names(link_type: u32) -> (String, String) {
    match WIRESHARK_NAMES.binary_search_by_key(&link_type, |(number, _, _)| *number) {
        Ok(at) => {
            let (_, description, short) = WIRESHARK_NAMES[at];
            (description.to_string(), short.to_string())
        }
        Err(_) => (format!("LINKTYPE {link_type}"), format!("linktype-{link_type}")),
    }
}

/// Every LINKTYPE_* value Wireshark reads from a pcap file, with its
/// description and short name, in order of number. Taken from Wireshark
/// 4.0's `capinfos` (a one-packet file per value, `capinfos -E` and
/// `capinfos -T -E`), so results name link types as Wireshark users read
/// them; a test compares the table with `capinfos` for every value from 0
/// to 299. LINKTYPE_MPLS (219), which pcapsule decodes and Wireshark 4.0
/// does not read, carries the name later Wireshark versions give it.
const WIRESHARK_NAMES: &[(u32, &str, &str)] = &[
    (0, "NULL/Loopback", "null"),
    (1, "Ethernet", "ether"),
    (2, "Xerox 3MB Ethernet", "xeth"),
    (3, "Amateur Radio AX.25", "ax25"),
    (6, "Token Ring", "tr"),
    (7, "ARCNET", "arcnet"),
    (8, "SLIP", "slip"),
    (9, "PPP", "ppp"),
    (10, "FDDI with bit-swapped MAC addresses", "fddi-swapped"),
    (11, "RFC 1483 ATM", "atm-rfc1483"),
    (12, "Raw IP", "rawip"),
    (13, "OpenBSD enc(4) encapsulating interface", "enc"),
    (14, "Raw IP", "rawip"),
    (16, "Linux ATM CLIP", "linux-atm-clip"),
    (18, "Linux ATM CLIP", "linux-atm-clip"),
    (19, "Linux ATM CLIP", "linux-atm-clip"),
    (32, "Redback SmartEdge", "redback"),
    (50, "PPP", "ppp"),
    (51, "PPP-over-Ethernet session", "pppoes"),
    (99, "Symantec Enterprise Firewall", "symantec"),
    (100, "RFC 1483 ATM", "atm-rfc1483"),
    (101, "Raw IP", "rawip"),
    (104, "Cisco HDLC", "chdlc"),
    (105, "IEEE 802.11 Wireless LAN", "ieee-802-11"),
    (106, "Linux ATM CLIP", "linux-atm-clip"),
    (107, "Frame Relay", "frelay"),
    (108, "OpenBSD loopback", "loop"),
    (109, "OpenBSD enc(4) encapsulating interface", "enc"),
    (112, "Cisco HDLC", "chdlc"),
    (113, "Linux cooked-mode capture v1", "linux-sll"),
    (114, "Localtalk", "ltalk"),
    (117, "OpenBSD PF Firewall logs", "pflog"),
    (118, "Cisco IOS internal", "ios"),
    (119, "IEEE 802.11 plus Prism II monitor mode radio header", "ieee-802-11-prism"),
    (121, "HiPath HDLC", "hhdlc"),
    (122, "RFC 2625 IP-over-Fibre Channel", "ip-over-fc"),
    (123, "ATM PDUs", "atm-pdus"),
    (127, "IEEE 802.11 plus radiotap radio header", "ieee-802-11-radiotap"),
    (128, "Tazmen sniffer protocol", "tzsp"),
    (129, "Linux ARCNET", "arcnet_linux"),
    (130, "Juniper MLPPP", "juniper-mlppp"),
    (131, "Juniper MLFR", "juniper-mlfr"),
    (133, "Juniper GGSN", "juniper-ggsn"),
    (135, "Juniper ATM2", "juniper-atm2"),
    (136, "Juniper Services", "juniper-svcs"),
    (137, "Juniper ATM1", "juniper-atm1"),
    (138, "Apple IP-over-IEEE 1394", "ap1394"),
    (139, "MTP2 with pseudoheader", "mtp2-with-phdr"),
    (140, "SS7 MTP2", "mtp2"),
    (141, "SS7 MTP3", "mtp3"),
    (142, "SS7 SCCP", "sccp"),
    (143, "Data Over Cable Service Interface Specification", "docsis"),
    (147, "USER 0", "user0"),
    (148, "USER 1", "user1"),
    (149, "USER 2", "user2"),
    (150, "USER 3", "user3"),
    (151, "USER 4", "user4"),
    (152, "USER 5", "user5"),
    (153, "USER 6", "user6"),
    (154, "USER 7", "user7"),
    (155, "USER 8", "user8"),
    (156, "USER 9", "user9"),
    (157, "USER 10", "user10"),
    (158, "USER 11", "user11"),
    (159, "USER 12", "user12"),
    (160, "USER 13", "user13"),
    (161, "USER 14", "user14"),
    (162, "USER 15", "user15"),
    (163, "IEEE 802.11 plus AVS radio header", "ieee-802-11-avs"),
    (165, "BACnet MS/TP", "bacnet-ms-tp"),
    (167, "Juniper PPPoE", "juniper-pppoe"),
    (169, "GPRS LLC", "gprs-llc"),
    (170, "ITU-T G.7041/Y.1303 Generic Framing Procedure Transparent mode", "gfp-t"),
    (171, "ITU-T G.7041/Y.1303 Generic Framing Procedure Frame-mapped mode", "gfp-f"),
    (172, "GCOM TIE1", "gcom-tie1"),
    (173, "GCOM Serial", "gcom-serial"),
    (178, "Juniper Ethernet", "juniper-ether"),
    (179, "Juniper PPP", "juniper-ppp"),
    (180, "Juniper Frame-Relay", "juniper-frelay"),
    (181, "Juniper C-HDLC", "juniper-chdlc"),
    (183, "Juniper Voice PIC", "juniper-vp"),
    (184, "Juniper VN", "juniper-vn"),
    (186, "USB packets with FreeBSD header", "usb-freebsd"),
    (187, "Bluetooth H4", "bluetooth-h4"),
    (188, "IEEE 802.16 MAC Common Part Sublayer", "ieee-802-16-mac-cps"),
    (189, "USB packets with Linux header", "usb-linux"),
    (190, "Controller Area Network 2.0B", "can20b"),
    (192, "Per-Packet Information header", "ppi"),
    (195, "IEEE 802.15.4 Wireless PAN", "wpan"),
    (196, "SITA WAN packets", "sita-wan"),
    (197, "Extensible Record Format", "erf"),
    (199, "Intelligent Platform Management Bus with Kontron pseudo-header", "ipmb-kontron"),
    (200, "Juniper Secure Tunnel Information", "juniper-st"),
    (201, "Bluetooth H4 with linux header", "bluetooth-h4-linux"),
    (202, "AX.25 with KISS header", "ax25-kiss"),
    (203, "LAPD", "lapd"),
    (204, "PPP with Directional Info", "ppp-with-direction"),
    (209, "I2C with Linux-specific pseudo-header", "i2c-linux"),
    (210, "FlexRay", "flexray"),
    (211, "Media Oriented Systems Transport", "most"),
    (212, "Local Interconnect Network", "lin"),
    (213, "X2E serial line capture", "x2e-serial"),
    (214, "X2E Xoraya", "x2e-xoraya"),
    (215, "IEEE 802.15.4 Wireless PAN non-ASK PHY", "wpan-nonask-phy"),
    (219, "MPLS", "mpls"),
    (220, "USB packets with Linux header and padding", "usb-linux-mmap"),
    (224, "Fibre Channel FC-2", "fc2"),
    (225, "Fibre Channel FC-2 With Frame Delimiter", "fc2sof"),
    (226, "Solaris IPNET", "ipnet"),
    (227, "SocketCAN", "socketcan"),
    (228, "Raw IPv4", "rawip4"),
    (229, "Raw IPv6", "rawip6"),
    (230, "IEEE 802.15.4 Wireless PAN with FCS not present", "wpan-nofcs"),
    (231, "D-Bus", "dbus"),
    (235, "DVB-CI (Common Interface)", "dvbci"),
    (236, "MUX27010", "mux27010"),
    (237, "STANAG 5066 Data Transfer Sublayer PDUs(D_PDU)", "s5066-dpdu"),
    (239, "NFLOG", "nflog"),
    (240, "Hilscher netANALYZER", "netanalyzer"),
    (241, "Hilscher netANALYZER-Transparent", "netanalyzer-transparent"),
    (242, "IP over IB", "ip-ib"),
    (243, "ISO/IEC 13818-1 MPEG2-TS", "mp2ts"),
    (245, "NFC LLCP", "nfc-llcp"),
    (248, "SCTP", "sctp"),
    (249, "USB packets with USBPcap header", "usb-usbpcap"),
    (250, "RTAC serial-line", "rtac-serial"),
    (251, "Bluetooth Low Energy Link Layer", "bluetooth-le-ll"),
    (252, "Wireshark Upper PDU export", "wireshark-upper-pdu"),
    (253, "Linux Netlink", "netlink"),
    (254, "Bluetooth Linux Monitor", "bluetooth-linux-monitor"),
    (255, "Bluetooth BR/EDR Baseband RF", "bluetooth-bredr-bb-rf"),
    (256, "Bluetooth Low Energy Link Layer RF", "bluetooth-le-ll-rf"),
    (258, "Apple PKTAP", "pktap"),
    (259, "Ethernet Passive Optical Network", "epon"),
    (260, "IPMI Trace Data Collection", "ipmi-trace"),
    (264, "ISO 14443 contactless smartcard standards", "iso14443"),
    (266, "USB packets with Darwin (macOS, etc.) headers", "usb-darwin"),
    (268, "SDLC", "sdlc"),
    (270, "LoRaTap", "loratap"),
    (271, "Linux vsock", "vsock"),
    (272, "nRF Sniffer for Bluetooth LE", "nordic_ble"),
    (273, "DOCSIS with Excentis XRA pseudo-header", "docsis31_xra31"),
    (274, "IEEE 802.3br mPackets", "ether-mpacket"),
    (275, "DisplayPort AUX channel with Unigraf pseudo-header", "dpauxmon"),
    (276, "Linux cooked-mode capture v2", "linux-sll2"),
    (279, "Elektrobit High Speed Capture and Replay", "ebhscr"),
    (280, "Vector Packet Processing graph dispatch trace", "vpp"),
    (283, "IEEE 802.15.4 Wireless with TAP pseudo-header", "wpan-tap"),
    (287, "Z-Wave Serial API packets", "zwave-serial"),
    (288, "USB 2.0/1.1/1.0 packets", "usb-20"),
    (290, "Event Tracing for Windows messages", "etw"),
    (292, "ZBOSS NCP", "zbncp"),
    (293, "Low-Speed USB 2.0/1.1/1.0 packets", "usb-20-low"),
    (294, "Full-Speed USB 2.0/1.1/1.0 packets", "usb-20-full"),
    (295, "High-Speed USB 2.0 packets", "usb-20-high"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_ordered_and_names_what_the_decoder_reads() {
        assert!(WIRESHARK_NAMES.windows(2).all(|w| w[0].0 < w[1].0), "ordered, no value twice");
        for (number, short) in
            [(IPOIB, "ip-ib"), (PKTAP, "pktap"), (MPLS, "mpls"), (PPP_HDLC, "ppp"), (LINUX_SLL2, "linux-sll2")]
        {
            assert_eq!(names(number).1, short, "LINKTYPE {number}");
        }
        assert_eq!(names(65000), ("LINKTYPE 65000".to_string(), "linktype-65000".to_string()));
    }

    /// Every value from 0 to 299 named as Wireshark's `capinfos` names it
    /// in a one-packet pcap of that link type (or unknown to both).
    #[test]
    fn names_agree_with_capinfos_for_every_link_type() {
        use std::process::Command;
        if Command::new("capinfos").arg("-v").output().is_err() {
            return crate::testing::missing("capinfos").unwrap_or(());
        }
        let dir = std::env::temp_dir().join(format!("pcapsule-linktypes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("one.pcap");
        let mut disagreements = Vec::new();
        for number in 0..300u32 {
            let capture = crate::testing::PcapBuilder::new(number).packet(1, 0, &[0u8; 64]).build();
            std::fs::write(&file, capture).unwrap();
            let table = Command::new("capinfos").args(["-T", "-r", "-E"]).arg(&file).output().unwrap();
            let long = Command::new("capinfos").arg("-E").arg(&file).output().unwrap();
            let theirs = table.status.success().then(|| {
                let row = String::from_utf8_lossy(&table.stdout).to_string();
                let short = row.trim_end().split('\t').nth(1).unwrap_or("").to_string();
                let text = String::from_utf8_lossy(&long.stdout).to_string();
                let description = text
                    .lines()
                    .find_map(|l| l.strip_prefix("File encapsulation:"))
                    .map_or(String::new(), |d| d.trim().to_string());
                (description, short)
            });
            let ours = WIRESHARK_NAMES.iter().any(|(n, _, _)| *n == number).then(|| names(number));
            if ours != theirs && !(number == MPLS && theirs.is_none()) {
                disagreements.push(format!("{number}: ours {ours:?}, capinfos {theirs:?}"));
            }
        }
        std::fs::remove_dir_all(&dir).ok();
        assert!(disagreements.is_empty(), "{disagreements:#?}");
    }
}
