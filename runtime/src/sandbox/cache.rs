//! Compiled components cached on disk, so startup after the first run skips
//! Cranelift (about 130 ms per component) and loads in well under a millisecond.
//!
//! A cached file is native code that wasmtime will map and run, so the cache
//! directory must be the current user's and closed to others; a cache that
//! fails that check is not used. The key covers the component's bytes, the
//! wasmtime version and the engine configuration, and wasmtime itself rejects
//! a file compiled for another configuration (then it is rebuilt).

use std::fs;
use std::hash::{Hash, Hasher};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// A private folder of compiled components.
pub struct ComponentCache {
    dir: PathBuf,
}

impl ComponentCache {
    /// Opens (creating it 0700 if needed) the cache at `dir`. Refuses a
    /// folder owned by someone else or writable by others.
    pub fn open(dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir).with_context(|| format!("creating the component cache {}", dir.display()))?;
        let meta = fs::metadata(dir)?;
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            anyhow::bail!("the component cache {} belongs to another user", dir.display());
        }
        if meta.permissions().mode() & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .with_context(|| format!("making the component cache {} private", dir.display()))?;
        }
        Ok(ComponentCache { dir: dir.to_path_buf() })
    }

    /// The default location: `$XDG_CACHE_HOME/pcapsule` or `~/.cache/pcapsule`.
    pub fn default_dir() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        Some(base.join("pcapsule"))
    }

    /// Loads `wasm` compiled for `engine`, from the cache or by compiling it
    /// (and then storing it).
    pub fn load(&self, engine: &Engine, wasm: &[u8]) -> Result<Component> {
        let path = self.dir.join(format!("{}.cwasm", cache_key(engine, wasm)));
        if path.is_file() {
            // SAFETY: the file was written by `Component::serialize` into a
            // directory only this user can write (checked in `open`), and is
            // named after a digest of the source component and engine config.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok(component),
                Err(e) => tracing::debug!("cached component {} unusable, recompiling: {e:#}", path.display()),
            }
        }
        let component = Component::new(engine, wasm).map_err(anyhow::Error::from)?;
        let bytes = component.serialize().map_err(anyhow::Error::from)?;
        // Write then rename, so a concurrent reader never maps half a file.
        let temp = tempfile::NamedTempFile::new_in(&self.dir)?;
        fs::write(temp.path(), bytes)?;
        if let Err(e) = temp.persist(&path) {
            tracing::debug!("could not store {} in the cache: {e}", path.display());
        }
        Ok(component)
    }
}

fn cache_key(engine: &Engine, wasm: &[u8]) -> String {
    let mut config = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut config);
    let mut digest = Sha256::new();
    digest.update(wasm);
    digest.update(config.finish().to_le_bytes());
    digest.update(env!("CARGO_PKG_VERSION").as_bytes());
    let digest = digest.finalize();
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}
