//! Well-known ports and the service IANA registers for them: a hint about
//! what a TCP or UDP conversation carries, never a claim (nothing here
//! reads the payload). Only ports whose service is common in captures are
//! listed, so a hint is rarely wrong by being obscure.

/// IP protocol numbers the table is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Udp,
}

/// The service usually found on `port`, if it is a well-known one.
pub fn by_port(transport: Transport, port: u16) -> Option<&'static str> {
    use Transport::{Tcp, Udp};
    Some(match (transport, port) {
        (_, 53) => "dns",
        (Udp, 67 | 68) => "dhcp",
        (Udp, 546 | 547) => "dhcpv6",
        (Udp, 69) => "tftp",
        (Udp, 123) => "ntp",
        (Udp, 137) => "netbios-ns",
        (Udp, 138) => "netbios-dgm",
        (Udp, 161 | 162) => "snmp",
        (Udp, 500 | 4500) => "ipsec-ike",
        (Udp, 514) => "syslog",
        (Udp, 1900) => "ssdp",
        (Udp, 4789) => "vxlan",
        (Udp, 6081) => "geneve",
        (Udp, 2152) => "gtp-u",
        (Udp, 5353) => "mdns",
        (Udp, 5355) => "llmnr",
        (Udp, 443) => "quic",
        (Udp, 3478) => "stun",
        (Udp, 1812 | 1813) => "radius",
        (_, 5060) => "sip",
        (Tcp, 5061) => "sips",
        (Tcp, 20 | 21) => "ftp",
        (Tcp, 22) => "ssh",
        (Tcp, 23) => "telnet",
        (Tcp, 25 | 587) => "smtp",
        (Tcp, 465) => "smtps",
        (Tcp, 80 | 8080) => "http",
        (Tcp, 110) => "pop3",
        (Tcp, 995) => "pop3s",
        (Tcp, 111) | (Udp, 111) => "sunrpc",
        (Tcp, 135) => "msrpc",
        (Tcp, 139) => "netbios-ssn",
        (Tcp, 143) => "imap",
        (Tcp, 993) => "imaps",
        (Tcp, 179) => "bgp",
        (Tcp, 389) | (Udp, 389) => "ldap",
        (Tcp, 636) => "ldaps",
        (Tcp, 443 | 8443) => "https",
        (Tcp, 445) => "smb",
        (Tcp, 88) | (Udp, 88) => "kerberos",
        (Tcp, 1433) => "mssql",
        (Tcp, 1521) => "oracle",
        (Tcp, 1883) => "mqtt",
        (Tcp, 2049) | (Udp, 2049) => "nfs",
        (Tcp, 3306) => "mysql",
        (Tcp, 3389) => "rdp",
        (Tcp, 5432) => "postgresql",
        (Tcp, 5900) => "vnc",
        (Tcp, 6379) => "redis",
        (Tcp, 6653) => "openflow",
        (Tcp, 9200) => "elasticsearch",
        (Tcp, 27017) => "mongodb",
        _ => return None,
    })
}

/// The service of a conversation between two ports: the well-known one,
/// the lower if both are (a client's port is usually the higher).
pub fn of_pair(transport: Transport, a: u16, b: u16) -> Option<&'static str> {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    by_port(transport, low).or_else(|| by_port(transport, high))
}
