//! The certificates TLS peers presented (TLS ≤ 1.2 sends them in the
//! clear): each distinct one (by SHA-256) read once, with who presented it,
//! for which server names, and what was wrong with it each time. Bounded:
//! the first certificates are tracked, later ones only counted.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use pcapsule_guest::Timestamp;
use pcapsule_guest::bounded::TopCounter;
use pcapsule_guest::conventions::{OrderedMap, PageCollector, PageInfo};
use pcapsule_guest::fast_hash::HashMap;
use sha2::{Digest as _, Sha256};

use crate::result::{CertificateEntry, CertificateStatistics, CertificateSummary};
use crate::x509::{Certificate, Finding, chain};

/// Distinct certificates tracked.
const MAX_CERTIFICATES: usize = 4096;
/// Senders and server names listed per certificate.
const MAX_LISTED: usize = 8;
/// Entries in the statistics' top lists.
const TOP: usize = 20;

/// Where and when a Certificate message was sent.
pub struct Presentation<'a> {
    pub frame: u64,
    pub time: Option<Timestamp>,
    pub sender: (IpAddr, u16),
    /// The client sent it (client authentication).
    pub by_client: bool,
    /// The server name the connection's ClientHello asked for.
    pub server_name: Option<&'a str>,
}

struct Seen {
    certificate: Certificate,
    first_frame: u64,
    presented: u64,
    as_leaf: u64,
    by_client: bool,
    senders: BTreeSet<String>,
    more_senders: bool,
    server_names: BTreeSet<String>,
    findings: BTreeSet<Finding>,
    mismatched_names: BTreeSet<String>,
}

/// The table of certificates seen.
#[derive(Default)]
pub struct Certificates {
    seen: HashMap<[u8; 32], Seen>,
    order: Vec<[u8; 32]>,
    messages: u64,
    presented: u64,
    untracked: u64,
    malformed_messages: u64,
}

impl Certificates {
    /// Takes a Certificate message body; says what its first certificate
    /// (the sender's own) is and what is wrong with it.
    pub fn message(&mut self, body: &[u8], at: &Presentation<'_>) -> Option<CertificateSummary> {
        self.messages += 1;
        let Some(chain) = chain(body) else {
            self.malformed_messages += 1;
            return None;
        };
        let mut summary = None;
        for (position, der) in chain.iter().enumerate() {
            self.presented += 1;
            let fingerprint: [u8; 32] = Sha256::digest(der).into();
            let tracked = self.seen.contains_key(&fingerprint) || self.seen.len() < MAX_CERTIFICATES;
            let untracked_certificate;
            let (certificate, findings) = if tracked {
                let seen = self.seen.entry(fingerprint).or_insert_with(|| {
                    self.order.push(fingerprint);
                    Seen {
                        certificate: Certificate::parse(der, &fingerprint),
                        first_frame: at.frame,
                        presented: 0,
                        as_leaf: 0,
                        by_client: false,
                        senders: BTreeSet::new(),
                        more_senders: false,
                        server_names: BTreeSet::new(),
                        findings: BTreeSet::new(),
                        mismatched_names: BTreeSet::new(),
                    }
                });
                let findings = seen.certificate.findings(at.time, position, at.server_name);
                seen.note(position, at, &findings);
                (&seen.certificate, findings)
            } else {
                self.untracked += 1;
                if position > 0 {
                    continue;
                }
                untracked_certificate = Certificate::parse(der, &fingerprint);
                let findings = untracked_certificate.findings(at.time, position, at.server_name);
                (&untracked_certificate, findings)
            };
            if position == 0 {
                summary = Some(CertificateSummary {
                    sha256: certificate.sha256.clone(),
                    subject: certificate.subject_common_name.clone(),
                    issuer: certificate.issuer_common_name.clone(),
                    not_after: (!certificate.unreadable).then(|| date_time(certificate.not_after)),
                    chain_length: chain.len(),
                    findings: findings.iter().map(|f| f.name()).collect(),
                });
            }
        }
        summary
    }

    /// The statistics, and one page of the certificates in the order they
    /// were first seen.
    pub fn finish(
        self,
        mut page: PageCollector<CertificateEntry>,
    ) -> (CertificateStatistics, Vec<CertificateEntry>, PageInfo) {
        let mut findings: BTreeMap<String, u64> = BTreeMap::new();
        let mut issuers = TopCounter::new(MAX_CERTIFICATES);
        let mut keys = TopCounter::new(256);
        let mut signatures = TopCounter::new(256);
        for fingerprint in &self.order {
            let seen = &self.seen[fingerprint];
            for finding in &seen.findings {
                *findings.entry(finding.name().to_string()).or_default() += 1;
            }
            let c = &seen.certificate;
            if !c.unreadable {
                issuers.add(c.issuer_common_name.as_deref().unwrap_or(&c.issuer));
                keys.add(&key_text(c));
                signatures.add(c.signature_algorithm.as_str());
            }
            page.offer(|| seen.entry());
        }
        let statistics = CertificateStatistics {
            certificate_messages: self.messages,
            certificates_presented: self.presented,
            distinct_certificates: self.order.len() as u64,
            untracked_presentations: self.untracked,
            malformed_messages: self.malformed_messages,
            findings,
            issuers: OrderedMap(issuers.top(TOP)),
            keys: OrderedMap(keys.top(TOP)),
            signature_algorithms: OrderedMap(signatures.top(TOP)),
            tables_exact: issuers.is_exact() && keys.is_exact() && signatures.is_exact(),
        };
        let (entries, pagination) = page.finish();
        (statistics, entries, pagination)
    }
}

impl Seen {
    fn note(&mut self, position: usize, at: &Presentation<'_>, findings: &[Finding]) {
        self.presented += 1;
        self.as_leaf += u64::from(position == 0);
        self.by_client |= at.by_client;
        let sender = match at.sender.0 {
            IpAddr::V4(ip) => format!("{ip}:{}", at.sender.1),
            IpAddr::V6(ip) => format!("[{ip}]:{}", at.sender.1),
        };
        if self.senders.len() < MAX_LISTED {
            self.senders.insert(sender);
        } else if !self.senders.contains(&sender) {
            self.more_senders = true;
        }
        if let Some(name) = at.server_name
            && self.server_names.len() < MAX_LISTED
        {
            self.server_names.insert(name.to_string());
        }
        self.findings.extend(findings.iter().copied());
        if let Some(name) = at.server_name
            && findings.contains(&Finding::NameMismatch)
            && self.mismatched_names.len() < MAX_LISTED
        {
            self.mismatched_names.insert(name.to_string());
        }
    }

    fn entry(&self) -> CertificateEntry {
        let c = &self.certificate;
        let readable = !c.unreadable;
        CertificateEntry {
            sha256: c.sha256.clone(),
            readable,
            subject: c.subject.clone(),
            subject_common_name: c.subject_common_name.clone(),
            issuer: c.issuer.clone(),
            issuer_common_name: c.issuer_common_name.clone(),
            serial: c.serial.clone(),
            not_before: readable.then(|| date_time(c.not_before)),
            not_after: readable.then(|| date_time(c.not_after)),
            validity_days: readable.then(|| (c.not_after - c.not_before) / 86_400),
            alt_names: c.alt_names.clone(),
            alt_name_count: c.alt_name_count,
            key: readable.then(|| key_text(c)),
            signature_algorithm: readable.then(|| c.signature_algorithm.clone()),
            self_signed: c.self_signed,
            certificate_authority: c.is_ca,
            first_frame: self.first_frame,
            times_presented: self.presented,
            as_leaf: self.as_leaf,
            presented_by_client: self.by_client,
            senders: self.senders.iter().cloned().collect(),
            more_senders: self.more_senders,
            server_names: self.server_names.iter().cloned().collect(),
            findings: self.findings.iter().map(|f| f.name()).collect(),
            name_mismatch_for: self.mismatched_names.iter().cloned().collect(),
        }
    }
}

/// `RSA 2048`, `EC P-256`, `Ed25519`.
fn key_text(c: &Certificate) -> String {
    match (&c.curve, c.key_bits) {
        (Some(curve), _) => format!("{} {curve}", c.key_type),
        (None, Some(bits)) if c.key_type.starts_with("RSA") || c.key_type == "DSA" => {
            format!("{} {bits}", c.key_type)
        }
        _ => c.key_type.clone(),
    }
}

/// Seconds since the epoch as RFC 3339 without a fraction.
fn date_time(secs: i64) -> String {
    let text = Timestamp { secs, nanos: 0 }.to_rfc3339();
    text.replace(".000000Z", "Z")
}
