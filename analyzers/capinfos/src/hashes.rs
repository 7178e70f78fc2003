//! The file's hashes, as `capinfos -H` prints them (SHA-256, RIPEMD-160 and
//! SHA-1 of the file as stored), computed while the capture streams through
//! the reader, so asking for them costs no second read of the file.

use std::io::Read;

use pcapsule_guest::conventions::hex;
use ripemd::Ripemd160;
use schemars::JsonSchema;
use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The hashes of a capture file, lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct FileHashes {
    pub sha256: String,
    pub ripemd160: String,
    pub sha1: String,
}

/// Hands the bytes of `inner` on, hashing them.
pub struct Hashing<'a> {
    inner: &'a mut dyn Read,
    sha256: Sha256,
    ripemd160: Ripemd160,
    sha1: Sha1,
    bytes: u64,
}

impl<'a> Hashing<'a> {
    /// Hashes what is read through it from `inner`.
    pub fn new(inner: &'a mut dyn Read) -> Self {
        Hashing { inner, sha256: Sha256::new(), ripemd160: Ripemd160::new(), sha1: Sha1::new(), bytes: 0 }
    }

    /// Reads what the capture reader left (it stops at `max_packets` or
    /// where the file is cut short) and returns the hashes with the number
    /// of bytes they cover.
    pub fn finish(mut self) -> std::io::Result<(FileHashes, u64)> {
        let mut rest = vec![0u8; 256 * 1024];
        loop {
            match self.read(&mut rest) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let hashes = FileHashes {
            sha256: hex(&self.sha256.finalize()),
            ripemd160: hex(&self.ripemd160.finalize()),
            sha1: hex(&self.sha1.finalize()),
        };
        Ok((hashes, self.bytes))
    }
}

impl Read for Hashing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let read = &buf[..n];
        self.sha256.update(read);
        self.ripemd160.update(read);
        self.sha1.update(read);
        self.bytes += n as u64;
        Ok(n)
    }
}
