//! Builds the analyzer components (the `analyzers/` workspace, for
//! `wasm32-wasip2`, release) and embeds every analyzer in the binary.
//!
//! An analyzer is any folder `analyzers/<name>/` with a `src/main.rs`; its
//! component is `<name>.wasm`. Folders named `test-*` hold components that
//! exist only to misbehave in tests: they are built but not embedded, and
//! their directory is handed to tests as `PCAPSULE_TEST_COMPONENTS`.
//!
//! `PCAPSULE_ONLY_ANALYZERS=dns,sip` builds and embeds only those (plus the
//! test components): quicker while working on one analyzer.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

const WASM_TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let repo = manifest_dir.parent().unwrap();
    let analyzers = repo.join("analyzers");
    let target_dir = repo.join("target").join("wasm");
    println!("cargo:rerun-if-changed={}", analyzers.display());
    println!("cargo:rerun-if-changed={}", repo.join("wit").display());
    println!("cargo:rerun-if-env-changed=PCAPSULE_ONLY_ANALYZERS");

    let only: Option<Vec<String>> =
        env::var("PCAPSULE_ONLY_ANALYZERS").ok().map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let names: Vec<String> = analyzer_names(&analyzers)
        .into_iter()
        .filter(|n| n.starts_with("test-") || only.as_ref().is_none_or(|o| o.contains(n)))
        .collect();
    build_components(&analyzers, &target_dir, only.is_some().then_some(&names[..]));

    let wasm_dir = target_dir.join(WASM_TARGET).join("release");
    let mut embedded = String::from(
        "/// Analyzer components built into the binary: (name, component bytes, SHA-256 of the bytes in hex).\n",
    );
    embedded.push_str("pub static EMBEDDED_ANALYZERS: &[(&str, &[u8], &str)] = &[\n");
    for name in names {
        if name.starts_with("test-") {
            continue;
        }
        let wasm = wasm_dir.join(format!("{name}.wasm"));
        assert!(
            wasm.is_file(),
            "analyzers/{name} built no {} : its package must be named `{name}` like its folder",
            wasm.display()
        );
        // Hashed here once, not at every start (the compiled-code cache is keyed by it).
        let digest = sha256_hex(&fs::read(&wasm).expect("reading the built component"));
        embedded.push_str(&format!("    ({name:?}, include_bytes!({:?}), {digest:?}),\n", wasm.display().to_string()));
    }
    embedded.push_str("];\n");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("embedded_analyzers.rs");
    fs::write(out, embedded).unwrap();
    println!("cargo:rustc-env=PCAPSULE_TEST_COMPONENTS={}", wasm_dir.display());
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Folder names of analyzer crates (those with a `src/main.rs`), sorted.
fn analyzer_names(analyzers: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(analyzers)
        .expect("analyzers/ folder")
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().join("src").join("main.rs").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Builds the whole analyzer workspace, or only `packages`.
fn build_components(analyzers: &Path, target_dir: &Path, packages: Option<&[String]>) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["build", "--release", "--target", WASM_TARGET]);
    match packages {
        Some(packages) => packages.iter().for_each(|p| {
            command.args(["-p", p]);
        }),
        None => {
            command.arg("--workspace");
        }
    }
    command.arg("--manifest-path").arg(analyzers.join("Cargo.toml")).arg("--target-dir").arg(target_dir);
    // The outer build's flags and wrappers (clippy's, coverage's) are for the
    // host crate; the guests build clean. The jobserver is shared on purpose.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        command.env_remove(var);
    }
    for (key, _) in env::vars() {
        if key.starts_with("CARGO_FEATURE_") || key.starts_with("CARGO_CFG_") {
            command.env_remove(key);
        }
    }
    let status = command.status().expect("running cargo to build the analyzer components");
    if !status.success() {
        panic!(
            "building the analyzer components failed (see above). If the target is missing, run \
             `rustup target add {WASM_TARGET}`."
        );
    }
}
