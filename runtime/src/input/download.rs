//! http(s) downloads into anonymous temporary files (unlinked from the start,
//! so the kernel reclaims them when closed, on every path, even if the server
//! is killed mid-download), with a size cap enforced
//! while streaming, connect and total timeouts, a bounded number of
//! redirects, and (unless allowed) no connections to loopback, private,
//! link-local, multicast or unspecified addresses. The address check runs on
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
}

impl Default for DownloadPolicy {
    fn default() -> Self {
        DownloadPolicy {
            max_bytes: 1024 * 1024 * 1024,
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(300),
            max_redirects: 5,
            allow_private_addresses: false,
        }
    }
}

pub(super) struct Downloader {
    /// Built on the first URL: loading the system's TLS roots is a tenth of
    /// startup, and most sessions only read local files.
    client: std::sync::OnceLock<Result<reqwest::Client, String>>,
    policy: DownloadPolicy,
}

impl Downloader {
    pub(super) fn new(policy: DownloadPolicy) -> Self {
        Downloader { client: std::sync::OnceLock::new(), policy }
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
        "refusing to connect to {ip}: loopback, private, link-local, multicast and unspecified addresses are \
         blocked (start pcapsule with --allow-private-urls for trusted internal hosts)"
    )
}

/// Addresses a download must not reach unless explicitly allowed.
pub(crate) fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || o[0] == 0
                // Carrier-grade NAT 100.64.0.0/10 and benchmarking 198.18.0.0/15.
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_forbidden(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                // NAT64 and IPv4-compatible forms embed an IPv4 address.
                || (s[0..6] == [0x64, 0xff9b, 0, 0, 0, 0] && is_forbidden(IpAddr::V4(embedded_v4(&s))))
                || (s[0..6] == [0, 0, 0, 0, 0, 0] && is_forbidden(IpAddr::V4(embedded_v4(&s))))
        }
    }
}

fn embedded_v4(s: &[u16; 8]) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8)
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
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "100.64.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "::127.0.0.1",
        ] {
            assert!(is_forbidden(bad.parse().unwrap()), "{bad} must be refused");
        }
        for good in ["1.1.1.1", "93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"] {
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
