//! http(s) downloads into anonymous temporary files (unlinked from the start,
//! so the kernel reclaims them when closed, on every path, even if the server
//! is killed mid-download), with a size cap enforced
//! while streaming, connect and total timeouts, a bounded number of
//! redirects, and (unless allowed) no connections to loopback, private,
//! link-local, multicast or any other special-purpose address. The address check runs on
//! what DNS returned, in the resolver reqwest connects with, so a name that
//! resolves to a private address is refused however it is spelled.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::InputError;
use crate::error_kind::ErrorKind;

/// What downloads may do.
#[derive(Debug, Clone)]
pub struct DownloadPolicy {
    /// Largest capture to download, in bytes.
    pub max_bytes: u64,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Time allowed for the whole download.
    pub total_timeout: Duration,
    /// Redirects followed at most.
    pub max_redirects: usize,
    /// Allow loopback, private and link-local addresses (trusted networks only).
    pub allow_private_addresses: bool,
    /// Downloads running at once; one more is told to retry (`busy`).
    pub max_concurrent: usize,
    /// Time a server may stay silent during a download.
    pub read_timeout: Duration,
}

impl Default for DownloadPolicy {
    fn default() -> Self {
        DownloadPolicy {
            max_bytes: 1024 * 1024 * 1024,
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(300),
            max_redirects: 5,
            allow_private_addresses: false,
            max_concurrent: 4,
            read_timeout: Duration::from_secs(30),
        }
    }
}

pub(super) struct Downloader {
    /// Built on the first URL: loading the system's TLS roots is a tenth of
    /// startup, and most sessions only read local files.
    client: std::sync::OnceLock<Result<reqwest::Client, String>>,
    policy: DownloadPolicy,
    /// Downloads run under their own bound, not the analyses' permits: a
    /// slow server holds a download slot, never an analysis slot.
    running: tokio::sync::Semaphore,
}

impl Downloader {
    pub(super) fn new(policy: DownloadPolicy) -> Self {
        let running = tokio::sync::Semaphore::new(policy.max_concurrent.max(1));
        Downloader { client: std::sync::OnceLock::new(), policy, running }
    }

    fn client(&self) -> Result<&reqwest::Client, InputError> {
        self.client
            .get_or_init(|| build_client(&self.policy).map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(|e| InputError::new(ErrorKind::DownloadFailed, format!("cannot set up the HTTP client: {e}")))
    }
}

fn build_client(policy: &DownloadPolicy) -> anyhow::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let allow_private = policy.allow_private_addresses;
    let max_redirects = policy.max_redirects;
    let redirect = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > max_redirects {
            return attempt.error(format!("more than {max_redirects} redirects"));
        }
        let url = attempt.url();
        if !matches!(url.scheme(), "http" | "https") {
            let scheme = url.scheme().to_string();
            return attempt.error(format!("redirect to a {scheme}: URL"));
        }
        if let Some(reason) = literal_host_refusal(url, allow_private) {
            return attempt.error(reason);
        }
        attempt.follow()
    });
    let client = reqwest::Client::builder()
        .redirect(redirect)
        .connect_timeout(policy.connect_timeout)
        .read_timeout(policy.read_timeout)
        .timeout(policy.total_timeout)
        // A proxy would connect on our behalf to addresses never checked.
        .no_proxy()
        .dns_resolver(Arc::new(CheckedResolver { allow_private }))
        .user_agent(concat!("pcapsule/", env!("CARGO_PKG_VERSION")))
        .build()?;
    Ok(client)
}

impl Downloader {
    /// Downloads `url`; returns the anonymous file, rewound, and its size.
    pub(super) async fn fetch(&self, url: &str) -> Result<(std::fs::File, u64), InputError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| InputError::new(ErrorKind::BadUrl, format!("{url} is not a valid URL: {e}")))?;
        if let Some(reason) = literal_host_refusal(&parsed, self.policy.allow_private_addresses) {
            return Err(InputError::new(ErrorKind::NotAllowed, format!("{url}: {reason}")));
        }
        let _downloading = self.running.try_acquire().map_err(|_| {
            InputError::new(
                ErrorKind::Busy,
                format!(
                    "pcapsule is already downloading {} captures, the most it allows at once \
                     (--max-concurrent-downloads): retry in a moment",
                    self.policy.max_concurrent.max(1)
                ),
            )
        })?;
        let failed = |e: reqwest::Error| {
            InputError::new(ErrorKind::DownloadFailed, format!("downloading {url} failed: {}", error_chain(&e)))
        };
        let response = self.client()?.get(parsed).send().await.map_err(failed)?;
        let status = response.status();
        if !status.is_success() {
            return Err(InputError::new(ErrorKind::DownloadFailed, format!("{url} answered HTTP {status}")));
        }
        let max = self.policy.max_bytes;
        let too_large = || {
            InputError::new(
                ErrorKind::TooLarge,
                format!("{url} is larger than the download limit of {max} bytes (raise --max-download-mb)"),
            )
        };
        if response.content_length().is_some_and(|len| len > max) {
            return Err(too_large());
        }
        // Mode 0600 and no name: nobody else can open it, nothing to clean up.
        let temporary = tempfile::tempfile()
            .map_err(|e| InputError::new(ErrorKind::DownloadFailed, format!("creating a temporary file: {e}")))?;
        let mut out = tokio::fs::File::from_std(temporary);
        let mut written = 0u64;
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(failed)?;
            written += chunk.len() as u64;
            // Checked per chunk: a server that lies in Content-Length or
            // streams forever is cut off here.
            if written > max {
                return Err(too_large());
            }
            out.write_all(&chunk)
                .await
                .map_err(|e| InputError::new(ErrorKind::DownloadFailed, format!("writing the download: {e}")))?;
        }
        out.flush().await.map_err(|e| InputError::new(ErrorKind::DownloadFailed, e.to_string()))?;
        out.seek(std::io::SeekFrom::Start(0))
            .await
            .map_err(|e| InputError::new(ErrorKind::DownloadFailed, format!("rewinding the download: {e}")))?;
        Ok((out.into_std().await, written))
    }
}

/// reqwest's errors keep the useful part (refused address, timeout) in their sources.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Refuses a URL whose host is an IP literal in a forbidden range (reqwest
/// does not ask the resolver about literals).
fn literal_host_refusal(url: &reqwest::Url, allow_private: bool) -> Option<String> {
    let ip: IpAddr = match url.host()? {
        url::Host::Ipv4(v4) => v4.into(),
        url::Host::Ipv6(v6) => v6.into(),
        url::Host::Domain(_) => return None,
    };
    (!allow_private && is_forbidden(ip)).then(|| refusal(ip))
}

fn refusal(ip: IpAddr) -> String {
    format!(
        "refusing to connect to {ip}: loopback, private, link-local, multicast, documentation and other \
         special-purpose addresses (the IANA registries) are blocked (start pcapsule with --allow-private-urls \
         for trusted internal hosts)"
    )
}

/// Addresses a download must not reach unless explicitly allowed: every
/// block of the IANA IPv4 and IPv6 Special-Purpose Address Registries
/// (RFC 6890 and its updates), multicast, and the reserved ranges, whether
/// globally reachable or not; a capture lives on an ordinary unicast host.
/// Forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4) are
/// judged by the address inside.
pub(crate) fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => ipv4_is_forbidden(u32::from(v4)),
        IpAddr::V6(v6) => ipv6_is_forbidden(u128::from(v6)),
    }
}

/// IPv4 special-purpose blocks, as (network, prefix length).
const IPV4_SPECIAL: &[(u32, u32)] = &[
    (0x0000_0000, 8),  // 0.0.0.0/8 "this network"
    (0x0a00_0000, 8),  // 10.0.0.0/8 private
    (0x6440_0000, 10), // 100.64.0.0/10 shared address space (carrier-grade NAT)
    (0x7f00_0000, 8),  // 127.0.0.0/8 loopback
    (0xa9fe_0000, 16), // 169.254.0.0/16 link-local
    (0xac10_0000, 12), // 172.16.0.0/12 private
    (0xc000_0000, 24), // 192.0.0.0/24 IETF protocol assignments (DS-Lite, NAT64 discovery, PCP, TURN, ...)
    (0xc000_0200, 24), // 192.0.2.0/24 documentation (TEST-NET-1)
    (0xc01f_c400, 24), // 192.31.196.0/24 AS112-v4
    (0xc034_c100, 24), // 192.52.193.0/24 AMT
    (0xc058_6300, 24), // 192.88.99.0/24 deprecated 6to4 relay anycast
    (0xc0a8_0000, 16), // 192.168.0.0/16 private
    (0xc0af_3000, 24), // 192.175.48.0/24 direct delegation AS112
    (0xc612_0000, 15), // 198.18.0.0/15 benchmarking
    (0xc633_6400, 24), // 198.51.100.0/24 documentation (TEST-NET-2)
    (0xcb00_7100, 24), // 203.0.113.0/24 documentation (TEST-NET-3)
    (0xe000_0000, 4),  // 224.0.0.0/4 multicast
    (0xf000_0000, 4),  // 240.0.0.0/4 reserved, and 255.255.255.255 broadcast
];

/// IPv6 special-purpose blocks, as (network, prefix length); the forms that
/// embed an IPv4 address are handled apart.
const IPV6_SPECIAL: &[(u128, u32)] = &[
    (0, 128),                               // ::/128 unspecified
    (1, 128),                               // ::1/128 loopback
    (0x0064_ff9b_0001_u128 << 80, 48),      // 64:ff9b:1::/48 local-use NAT64
    (0x0100_u128 << 112, 64),               // 100::/64 discard-only
    (0x0100_0000_0000_0001_u128 << 64, 64), // 100:0:0:1::/64 dummy prefix
    (0x2001_u128 << 112, 23),               // 2001::/23 IETF protocol assignments (Teredo, ORCHID, ...)
    (0x2001_0db8_u128 << 96, 32),           // 2001:db8::/32 documentation
    (0x2620_004f_8000_u128 << 80, 48),      // 2620:4f:8000::/48 direct delegation AS112
    (0x3fff_u128 << 112, 20),               // 3fff::/20 documentation
    (0x5f00_u128 << 112, 16),               // 5f00::/16 SRv6 SIDs
    (0xfc00_u128 << 112, 7),                // fc00::/7 unique local
    (0xfe80_u128 << 112, 10),               // fe80::/10 link-local
    (0xfec0_u128 << 112, 10),               // fec0::/10 site-local (deprecated)
    (0xff00_u128 << 112, 8),                // ff00::/8 multicast
];

fn ipv4_is_forbidden(address: u32) -> bool {
    IPV4_SPECIAL.iter().any(|&(network, length)| address >> (32 - length) == network >> (32 - length))
}

fn ipv6_is_forbidden(address: u128) -> bool {
    let low32 = address as u32;
    let embeds_ipv4 = address >> 32 == 0xffff // ::ffff:0:0/96 IPv4-mapped
        || address >> 32 == 0 // ::/96 IPv4-compatible (deprecated)
        || address >> 32 == 0x0064_ff9b_0000_0000_0000_0000; // 64:ff9b::/96 NAT64
    if embeds_ipv4 && address > 1 {
        return ipv4_is_forbidden(low32);
    }
    // 2002::/16 6to4: the IPv4 address follows the prefix.
    if address >> 112 == 0x2002 {
        return ipv4_is_forbidden((address >> 80) as u32);
    }
    IPV6_SPECIAL.iter().any(|&(network, length)| address >> (128 - length) == network >> (128 - length))
}

/// Resolves with the system resolver, then drops forbidden addresses; if none
/// is left the connection fails with the reason.
struct CheckedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> =
                resolved.iter().copied().filter(|a| allow_private || !is_forbidden(a.ip())).collect();
            if allowed.is_empty() {
                let reason = match resolved.first() {
                    Some(addr) => format!("{host} resolves to {}: {}", addr.ip(), refusal(addr.ip())),
                    None => format!("{host} did not resolve to any address"),
                };
                return Err(reason.into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_ranges() {
        // One address inside every special-purpose block (its first, a middle
        // and its last address where the block is wider than one address).
        for bad in [
            "0.0.0.0",
            "0.255.255.255",
            "10.1.2.3",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.0",
            "192.0.0.9",
            "192.0.0.170",
            "192.0.0.255",
            "192.0.2.1",
            "192.31.196.1",
            "192.52.193.1",
            "192.88.99.1",
            "192.168.1.1",
            "192.175.48.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.200",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:192.0.2.1",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b::c000:201",
            "64:ff9b:1::8.8.8.8",
            "64:ff9b:1:ffff::1",
            "100::1",
            "100::ffff:ffff:ffff:ffff",
            "100:0:0:1::1",
            "2001::1",
            "2001:0:4136:e378::1",
            "2001:1::1",
            "2001:2::1",
            "2001:3::1",
            "2001:4:112::1",
            "2001:10::1",
            "2001:20::1",
            "2001:1ff:ffff::1",
            "2001:db8::1",
            "2001:db8:ffff::1",
            "2002:a00:1::1",
            "2002:c0a8:101::1",
            "2620:4f:8000::1",
            "3fff::1",
            "3fff:fff:ffff::1",
            "5f00::1",
            "fc00::1",
            "fdff::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "ff0e::1",
        ] {
            assert!(is_forbidden(bad.parse().unwrap()), "{bad} must be refused");
        }
        // Ordinary unicast hosts, including the neighbours of each block.
        for good in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "11.0.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "126.255.255.255",
            "128.0.0.1",
            "169.253.255.255",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.1.1",
            "192.0.3.1",
            "192.167.255.255",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.1",
            "198.51.99.1",
            "198.51.101.1",
            "203.0.112.1",
            "203.0.114.1",
            "223.255.255.255",
            "2606:4700::1111",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2001:200::1",
            "2001:db7::1",
            "2001:db9::1",
            "2002:808:808::1",
            "2620:4f:8001::1",
            "3ffe:ffff::1",
            "4000::1",
        ] {
            assert!(!is_forbidden(good.parse().unwrap()), "{good} must be allowed");
        }
    }

    #[test]
    fn literal_hosts_are_checked_before_connecting() {
        let url = reqwest::Url::parse("http://[::ffff:7f00:1]:8080/x.pcap").unwrap();
        assert!(literal_host_refusal(&url, false).is_some());
        assert!(literal_host_refusal(&url, true).is_none());
        let named = reqwest::Url::parse("http://example.com/x.pcap").unwrap();
        assert!(literal_host_refusal(&named, false).is_none());
    }
}
