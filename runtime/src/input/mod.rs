//! Where captures come from: a local path confined to the `--allow-dir`
//! roots (with `cap-std`, not string checks), or an http(s) URL downloaded
//! into a private temporary file under a size cap and timeouts, with private
//! and loopback addresses refused unless explicitly allowed.
//!
//! The host only opens and copies bytes here: it never parses them. It also
//! lists the capture files of the allowed directories, by name.

mod download;
mod listing;
mod local;
mod progress;

use std::fs::File;
use std::path::PathBuf;

use crate::error_kind::ErrorKind;
pub use download::DownloadPolicy;
use download::Downloader;
pub use listing::{Listing, MAX_SCANNED};
use local::AllowedRoots;
pub use progress::ReadProgress;

/// A capture ready to stream into an analyzer.
pub struct OpenedCapture {
    /// The capture as the caller named it.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Open for reading, at offset 0. A download is an anonymous temporary
    /// file that disappears when this is closed.
    pub file: File,
}

/// Why a capture could not be opened; the message says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// One of the input kinds: `bad_path`, `not_found`, `not_allowed`,
    /// `not_a_file`, `unreadable`, `bad_url`, `download_failed`, `too_large`.
    pub kind: ErrorKind,
    /// What was wrong and what to do about it.
    pub message: String,
}

impl InputError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        InputError { kind, message: message.into() }
    }
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Opens captures by path or URL under the configured policy.
pub struct CaptureInputs {
    roots: AllowedRoots,
    downloader: Downloader,
}

impl CaptureInputs {
    /// `allow_dirs`: the directories local paths must lie in (none: local
    /// paths are refused); `allow_hardlinks`: open files with several names.
    pub fn new(allow_dirs: &[PathBuf], allow_hardlinks: bool, policy: DownloadPolicy) -> anyhow::Result<Self> {
        Ok(CaptureInputs {
            roots: AllowedRoots::new(allow_dirs, allow_hardlinks)?,
            downloader: Downloader::new(policy),
        })
    }

    /// The capture files under the allowed directories whose path contains
    /// `name_contains`, sorted by path (a bounded walk; see [`Listing`]).
    pub async fn list(&self, name_contains: &str) -> Listing {
        let roots = self.roots.clone();
        let needle = name_contains.to_string();
        tokio::task::spawn_blocking(move || roots.list(&needle)).await.unwrap_or_default()
    }

    /// The allowed directories, for messages and `pcapsule list`.
    pub fn allowed_dirs(&self) -> Vec<String> {
        self.roots.describe()
    }

    /// Opens `spec`: an `http://` or `https://` URL, or a local path.
    pub async fn open(&self, spec: &str) -> Result<OpenedCapture, InputError> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(InputError::new(
                ErrorKind::BadPath,
                "pcap_file is empty: give a capture's path or an http(s) URL",
            ));
        }
        let lower = spec.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            let (file, size) = self.downloader.fetch(spec).await?;
            return Ok(OpenedCapture { name: spec.to_string(), size, file });
        }
        if let Some((scheme, _)) = spec.split_once("://") {
            return Err(InputError::new(
                ErrorKind::BadUrl,
                format!("unsupported URL scheme `{scheme}`: give a local path or an http(s) URL"),
            ));
        }
        let spec_owned = spec.to_string();
        let roots = self.roots.clone();
        let (file, size) = tokio::task::spawn_blocking(move || roots.open(&spec_owned))
            .await
            .map_err(|e| InputError::new(ErrorKind::Unreadable, format!("opening the capture: {e}")))??;
        Ok(OpenedCapture { name: spec.to_string(), size, file })
    }
}
