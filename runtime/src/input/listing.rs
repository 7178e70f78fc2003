//! The capture files an assistant may analyze: a bounded walk of the allowed
//! directories (through their `cap_std` handles, so symlinks never lead out,
//! and symlinked folders are not entered), by file name only: the host does
//! not read what the files hold.

use std::path::{Path, PathBuf};

use cap_std::fs::Dir;

/// Directory entries looked at in one listing, over all allowed directories.
pub const MAX_SCANNED: usize = 20_000;
/// Folder depth walked below each allowed directory.
const MAX_DEPTH: usize = 8;
/// File name endings taken for captures.
const CAPTURE_ENDINGS: [&str; 4] = [".pcap", ".pcapng", ".cap", ".ntar"];

/// One capture file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundCapture {
    /// Its full path, as `pcap_file` takes it.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Last modification, in seconds since the Unix epoch, when known.
    pub modified: Option<u64>,
}

/// What a walk found, sorted by path, and whether it stopped at its bound.
#[derive(Debug, Default)]
pub struct Listing {
    /// The captures found.
    pub captures: Vec<FoundCapture>,
    /// Directory entries looked at.
    pub scanned: usize,
    /// The walk stopped at [`MAX_SCANNED`] entries (or skipped folders
    /// deeper than it goes): more captures may exist.
    pub incomplete: bool,
}

/// Walks `dir` (shown as `shown`), adding capture files whose path contains
/// `name_contains` (case-insensitive) to `listing`.
pub fn walk(dir: &Dir, shown: &Path, name_contains: &str, listing: &mut Listing) {
    let needle = name_contains.to_lowercase();
    let mut pending = vec![(PathBuf::new(), 0usize)];
    while let Some((relative, depth)) = pending.pop() {
        let entries = if relative.as_os_str().is_empty() { dir.entries() } else { dir.read_dir(&relative) };
        let Ok(entries) = entries else { continue };
        for entry in entries.flatten() {
            if listing.scanned >= MAX_SCANNED {
                listing.incomplete = true;
                return;
            }
            listing.scanned += 1;
            // The entry's own type: a symlink is never followed into a folder.
            let Ok(kind) = entry.file_type() else { continue };
            let name = entry.file_name();
            let path = relative.join(&name);
            if kind.is_dir() {
                if depth + 1 < MAX_DEPTH {
                    pending.push((path, depth + 1));
                } else {
                    listing.incomplete = true;
                }
                continue;
            }
            let lower = name.to_string_lossy().to_lowercase();
            // A gzip-compressed capture is read as the capture inside.
            let stored = lower.strip_suffix(".gz").unwrap_or(&lower);
            if !CAPTURE_ENDINGS.iter().any(|ending| stored.ends_with(ending)) {
                continue;
            }
            let full = shown.join(&path);
            if !needle.is_empty() && !full.to_string_lossy().to_lowercase().contains(&needle) {
                continue;
            }
            // Sizes and times of the file itself, or of a symlink's target
            // inside the directory; a link leading out is left out.
            let Ok(metadata) = dir.metadata(&path) else { continue };
            if !metadata.is_file() {
                continue;
            }
            let modified = metadata
                .modified()
                .ok()
                .and_then(|t| t.into_std().duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs());
            listing.captures.push(FoundCapture { path: full, size: metadata.len(), modified });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cap_std::ambient_authority;

    #[test]
    fn captures_are_found_by_name_without_leaving_the_directory() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.pcap"), b"x").unwrap();
        std::fs::create_dir_all(root.path().join("a/b")).unwrap();
        std::fs::write(root.path().join("one.pcap"), b"12345").unwrap();
        std::fs::write(root.path().join("a/b/Two.PCAPNG"), b"1").unwrap();
        std::fs::write(root.path().join("a/notes.txt"), b"1").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("out")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.pcap"), root.path().join("leak.pcap")).unwrap();
        std::os::unix::fs::symlink("one.pcap", root.path().join("alias.pcap")).unwrap();
        let dir = Dir::open_ambient_dir(root.path(), ambient_authority()).unwrap();
        let mut listing = Listing::default();
        walk(&dir, Path::new("/shown"), "", &mut listing);
        let mut found: Vec<(String, u64)> =
            listing.captures.iter().map(|c| (c.path.display().to_string(), c.size)).collect();
        found.sort();
        assert_eq!(
            found,
            vec![("/shown/a/b/Two.PCAPNG".into(), 1), ("/shown/alias.pcap".into(), 5), ("/shown/one.pcap".into(), 5)]
        );
        assert!(!listing.incomplete);
        let mut filtered = Listing::default();
        walk(&dir, Path::new("/shown"), "two", &mut filtered);
        assert_eq!(filtered.captures.len(), 1);
    }
}
