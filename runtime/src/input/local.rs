//! Local captures, confined to the allowed directories. Each root is a
//! `cap_std::fs::Dir`: the kernel-checked, capability-style lookup refuses
//! `..` and symlinks that lead out of it, whatever the path's spelling.

use std::fs::File;
use std::io::ErrorKind as IoErrorKind;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions, OpenOptionsExt};

use super::InputError;
use crate::error_kind::ErrorKind;

#[derive(Clone)]
pub(super) struct AllowedRoots {
    roots: Arc<Vec<Root>>,
    /// Open regular files with more than one name (`--allow-hardlinks`).
    allow_hardlinks: bool,
}

struct Root {
    /// The directory as configured and as resolved: a path may use either.
    spellings: Vec<PathBuf>,
    dir: Dir,
}

impl AllowedRoots {
    pub(super) fn new(dirs: &[PathBuf], allow_hardlinks: bool) -> anyhow::Result<Self> {
        let mut roots = Vec::new();
        for dir in dirs {
            let absolute = std::path::absolute(dir)?;
            let canonical = dir.canonicalize().map_err(|e| anyhow::anyhow!("--allow-dir {}: {e}", dir.display()))?;
            let handle = Dir::open_ambient_dir(&canonical, ambient_authority())
                .map_err(|e| anyhow::anyhow!("--allow-dir {}: {e}", dir.display()))?;
            let mut spellings = vec![canonical];
            if !spellings.contains(&absolute) {
                spellings.push(absolute);
            }
            roots.push(Root { spellings, dir: handle });
        }
        Ok(AllowedRoots { roots: Arc::new(roots), allow_hardlinks })
    }

    /// The capture files under every root whose path contains `name_contains`.
    pub(super) fn list(&self, name_contains: &str) -> super::listing::Listing {
        let mut listing = super::listing::Listing::default();
        for root in self.roots.iter() {
            super::listing::walk(&root.dir, &root.spellings[0], name_contains, &mut listing);
        }
        listing.captures.sort_by(|a, b| a.path.cmp(&b.path));
        listing
    }

    pub(super) fn describe(&self) -> Vec<String> {
        self.roots.iter().map(|r| r.spellings[0].display().to_string()).collect()
    }

    /// Opens a regular file under one of the roots; returns it and its size.
    pub(super) fn open(&self, spec: &str) -> Result<(File, u64), InputError> {
        if self.roots.is_empty() {
            return Err(InputError::new(
                ErrorKind::NotAllowed,
                format!(
                    "{spec} is a local path, and this server reads no local files: it was started without an \
                     allowed directory. Start pcapsule with --allow-dir DIR (or allow_dirs in its config file) \
                     for the folder holding your captures, or give an http(s) URL"
                ),
            ));
        }
        let requested = std::path::absolute(spec)
            .map_err(|e| InputError::new(ErrorKind::BadPath, format!("cannot resolve the path {spec}: {e}")))?;
        let is_relative = Path::new(spec).is_relative();
        for root in self.roots.iter() {
            for spelling in &root.spellings {
                if let Ok(relative) = requested.strip_prefix(spelling) {
                    // A relative path that is not there may still name a
                    // file inside an allowed directory (below).
                    if is_relative && root.dir.symlink_metadata(relative).is_err() {
                        continue;
                    }
                    return open_in(&root.dir, relative, spec, self.allow_hardlinks);
                }
            }
        }
        // A relative path (a bare file name) names a file inside the allowed
        // directories, wherever the server was started.
        if is_relative {
            let found: Vec<&Root> =
                self.roots.iter().filter(|root| root.dir.symlink_metadata(Path::new(spec)).is_ok()).collect();
            match found.as_slice() {
                [root] => return open_in(&root.dir, Path::new(spec), spec, self.allow_hardlinks),
                [] => {
                    return Err(InputError::new(
                        ErrorKind::NotFound,
                        format!(
                            "{spec} is in none of the directories this server may read ({}): check the name \
                             (list_captures lists the captures there), or give a full path",
                            self.describe().join(", ")
                        ),
                    ));
                }
                several => {
                    let dirs: Vec<String> = several.iter().map(|r| r.spellings[0].display().to_string()).collect();
                    return Err(InputError::new(
                        ErrorKind::BadPath,
                        format!("{spec} is in several allowed directories ({}): give its full path", dirs.join(", ")),
                    ));
                }
            }
        }
        Err(InputError::new(
            ErrorKind::NotAllowed,
            format!(
                "{spec} is outside the directories this server may read ({}): move the capture there, or \
                 start pcapsule with --allow-dir for its folder",
                self.describe().join(", ")
            ),
        ))
    }
}

fn open_in(dir: &Dir, relative: &Path, spec: &str, allow_hardlinks: bool) -> Result<(File, u64), InputError> {
    if relative.components().all(|c| matches!(c, Component::CurDir)) {
        return Err(InputError::new(ErrorKind::NotAFile, format!("{spec} is a directory: name a capture file in it")));
    }
    let metadata = dir.metadata(relative).map_err(|e| io_error(e, spec))?;
    check_regular(&metadata.file_type(), spec)?;
    // O_NONBLOCK: if the path was swapped for a FIFO after the check above,
    // opening it must not block the server. O_NOCTTY: never adopt a terminal.
    let mut options = OpenOptions::new();
    options.read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    let file = dir.open_with(relative, &options).map_err(|e| io_error(e, spec))?;
    let metadata = file.metadata().map_err(|e| io_error(e, spec))?;
    check_regular(&metadata.file_type(), spec)?;
    let file = file.into_std();
    // A hard link is a second name for a file that may live outside the
    // allowed directories; cap-std confines names, not inodes. Checked on
    // the open file, so swapping the name after the check changes nothing.
    if !allow_hardlinks {
        use std::os::unix::fs::MetadataExt;
        let links = file.metadata().map_err(|e| io_error(e, spec))?.nlink();
        if links > 1 {
            return Err(InputError::new(
                ErrorKind::NotAllowed,
                format!(
                    "{spec} has {links} hard links, so it may be a file from outside the allowed directories: \
                     copy the capture instead of linking it, or start pcapsule with --allow-hardlinks if every \
                     name of it may be read"
                ),
            ));
        }
    }
    Ok((file, metadata.len()))
}

fn check_regular(file_type: &cap_std::fs::FileType, spec: &str) -> Result<(), InputError> {
    if file_type.is_file() {
        return Ok(());
    }
    let what = if file_type.is_dir() { "a directory" } else { "not a regular file (a device, FIFO or socket)" };
    Err(InputError::new(ErrorKind::NotAFile, format!("{spec} is {what}: name a capture file")))
}

fn io_error(error: std::io::Error, spec: &str) -> InputError {
    match error.kind() {
        IoErrorKind::NotFound => InputError::new(ErrorKind::NotFound, format!("{spec} does not exist: check the path")),
        // cap-std reports a path that leads out of its root (through `..` or
        // a symlink) as PermissionDenied.
        IoErrorKind::PermissionDenied => InputError::new(
            ErrorKind::NotAllowed,
            format!(
                "{spec} cannot be read: it leads outside the allowed directories (through `..` or a \
                 symlink) or its permissions forbid reading"
            ),
        ),
        _ => InputError::new(ErrorKind::Unreadable, format!("{spec} cannot be read: {error}")),
    }
}
