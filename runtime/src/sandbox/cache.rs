//! Compiled components cached on disk, so startup after the first run skips
//! Cranelift (about 130 ms per component) and loads in well under a millisecond.
//! Beside each one, its `describe` answer: asking a fresh instance costs more
//! than mapping the code, and the answer depends only on the component.
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

use super::AnalyzerInfo;

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

    /// The cache key of `wasm` for `engine`. `digest` is the SHA-256 of
    /// `wasm` in hex when already known (embedded components are hashed at
    /// build time); otherwise it is computed.
    pub fn key(engine: &Engine, wasm: &[u8], digest: Option<&str>) -> String {
        let mut config = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut config);
        let digest = digest.map_or_else(|| sha256_hex(wasm), str::to_string);
        let mut key = Sha256::new();
        key.update(digest.as_bytes());
        key.update(config.finish().to_le_bytes());
        key.update(env!("CARGO_PKG_VERSION").as_bytes());
        hex(&key.finalize()[..16])
    }

    /// Loads `wasm` compiled for `engine`, from the cache entry `key` or by
    /// compiling it (and then storing it).
    pub fn load(&self, engine: &Engine, wasm: &[u8], key: &str) -> Result<Component> {
        let path = self.dir.join(format!("{key}.cwasm"));
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
        self.store(&path, &component.serialize().map_err(anyhow::Error::from)?);
        Ok(component)
    }

    /// The stored `describe` answer of entry `key`, if there is one that
    /// parses (anything else is asked again).
    pub fn describe(&self, key: &str) -> Option<AnalyzerInfo> {
        let text = fs::read_to_string(self.dir.join(format!("{key}.describe.json"))).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Stores the `describe` answer of entry `key`, as JSON.
    pub fn store_describe(&self, key: &str, info: &AnalyzerInfo) {
        match serde_json::to_string(info) {
            Ok(json) => self.store(&self.dir.join(format!("{key}.describe.json")), json.as_bytes()),
            Err(e) => tracing::debug!("could not render the describe answer of {key}: {e}"),
        }
    }

    /// Writes then renames, so a concurrent reader never sees half a file.
    /// A failure only costs the next start some time.
    fn store(&self, path: &Path, bytes: &[u8]) {
        let stored = tempfile::NamedTempFile::new_in(&self.dir)
            .and_then(|temp| fs::write(temp.path(), bytes).map(|()| temp))
            .map_err(|e| e.to_string())
            .and_then(|temp| temp.persist(path).map(drop).map_err(|e| e.to_string()));
        if let Err(e) = stored {
            tracing::debug!("could not store {} in the cache: {e}", path.display());
        }
    }
}

/// SHA-256 in hex, as the build script computes it for embedded components.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::EMBEDDED_ANALYZERS;

    fn engine(fuel: bool) -> Engine {
        let mut config = wasmtime::Config::new();
        config.consume_fuel(fuel);
        Engine::new(&config).unwrap()
    }

    #[test]
    fn caches_per_engine_config_and_recovers_from_damage() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ComponentCache::open(&dir.path().join("c")).unwrap();
        let (_, wasm, digest) = EMBEDDED_ANALYZERS[0];
        assert_eq!(sha256_hex(wasm), digest, "the build script's digest is the component's");
        let load = |c: &ComponentCache, e: &Engine| c.load(e, wasm, &ComponentCache::key(e, wasm, None));
        let cached = |c: &ComponentCache| std::fs::read_dir(&c.dir).unwrap().count();
        let fueled = engine(true);
        assert_eq!(ComponentCache::key(&fueled, wasm, None), ComponentCache::key(&fueled, wasm, Some(digest)));
        load(&cache, &fueled).unwrap();
        assert_eq!(cached(&cache), 1);
        load(&cache, &fueled).unwrap();
        assert_eq!(cached(&cache), 1, "a second load hits the cache");
        load(&cache, &engine(false)).unwrap();
        assert_eq!(cached(&cache), 2, "another engine configuration gets its own entry");
        // A damaged entry is recompiled and replaced, never trusted.
        for entry in std::fs::read_dir(&cache.dir).unwrap() {
            std::fs::write(entry.unwrap().path(), b"not a compiled component").unwrap();
        }
        load(&cache, &fueled).expect("recompiled after damage");
        let mode = std::fs::metadata(&cache.dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "the cache is private");
    }

    #[test]
    fn describe_answers_round_trip_and_anything_else_is_refused() {
        use crate::sandbox::interface::{Prompt, Tool};
        let dir = tempfile::tempdir().unwrap();
        let cache = ComponentCache::open(dir.path()).unwrap();
        let info = AnalyzerInfo {
            name: "x".into(),
            version: "1.0.0".into(),
            description: "d \"quoted\"\n".into(),
            one_pass: true,
            tools: vec![Tool {
                name: "analyze_x".into(),
                title: "X".into(),
                description: "does x".into(),
                params_schema: r#"{"type":"object"}"#.into(),
                result_schema: "{}".into(),
            }],
            prompts: vec![Prompt {
                name: "p".into(),
                title: "P".into(),
                description: "for p".into(),
                text: "do p".into(),
            }],
        };
        assert!(cache.describe("k").is_none(), "nothing stored yet");
        cache.store_describe("k", &info);
        let back = cache.describe("k").expect("parses back");
        assert_eq!(serde_json::to_string(&back).unwrap(), serde_json::to_string(&info).unwrap());
        assert_eq!(back.tools[0].params_schema, info.tools[0].params_schema);
        assert_eq!(back.prompts[0].text, "do p");
        assert!(back.one_pass);
        let entry = dir.path().join("k.describe.json");
        let stored = std::fs::read_to_string(&entry).unwrap();
        std::fs::write(&entry, r#"{"name":"x"}"#).unwrap();
        assert!(cache.describe("k").is_none(), "a partial entry is not trusted");
        std::fs::write(&entry, stored.replace("\"text\"", "\"txt\"")).unwrap();
        assert!(cache.describe("k").is_none(), "an entry with a field missing is not trusted");
    }

    #[test]
    fn an_open_cache_directory_is_made_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        std::fs::create_dir(&path).unwrap();
        std::fs::set_permissions(&path, fs::Permissions::from_mode(0o777)).unwrap();
        ComponentCache::open(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o700);
    }
}
