# pcapsule: everyday commands. `just --list` shows them.

# The analyzer components build for WebAssembly in their own workspace; its
# commands run from analyzers/ because cargo reads .cargo/config.toml (target
# wasm32-wasip2, target dir ../target/wasm) from the working directory.

default:
    @just --list

# Build the analyzer components, then the pcapsule binary that embeds them (debug).
build:
    cd analyzers && cargo build --release --workspace
    cargo build -p pcapsule

# Optimized binary at target/release/pcapsule.
release:
    cd analyzers && cargo build --release --workspace
    cargo build -p pcapsule --release

# Install `pcapsule` into ~/.cargo/bin (analyzers embedded: works from any directory).
install:
    cargo install --locked --path runtime

# Every test: guest library and analyzers (natively), fixtures, host, end to end.
test:
    cd analyzers && cargo test --workspace --target x86_64-unknown-linux-gnu
    cargo test --workspace

# Serve MCP over stdio (default) or HTTP: `just serve --transport http --port 8080`.
serve *ARGS:
    cargo run -q -p pcapsule -- serve {{ARGS}}

# Run one tool: `just analyze capinfos ./capture.pcap`.
analyze TOOL CAPTURE *PARAMS:
    cargo run -q -p pcapsule -- analyze {{TOOL}} {{CAPTURE}} {{PARAMS}}

# Formatting and clippy (warnings are errors), host and analyzers.
lint:
    cargo fmt --all --check
    cd analyzers && cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
    cd analyzers && cargo clippy --workspace --all-targets -- -D warnings

# Reformat everything.
fmt:
    cargo fmt --all
    cd analyzers && cargo fmt --all

# Regenerate the fixture captures and their expected results.
fixtures:
    cargo run -q -p pcapsule-fixtures

# Benchmarks on generated 1M- and 10M-packet captures against the native build, capinfos/tshark
# and mcpcap; writes BENCHMARKS.md. `just bench 1000000` for one size.
bench *ARGS:
    cargo build -p pcapsule --release
    bash bench/run.sh {{ARGS}}

# Fuzz one target for SECONDS (nightly + cargo-fuzz; see fuzz/README.md): `just fuzz analyzer_dns 300`.
fuzz TARGET SECONDS="240":
    fuzz/run.sh {{TARGET}} {{SECONDS}}

# Fuzz every target, one after the other, SECONDS each.
fuzz-all SECONDS="240":
    fuzz/run.sh all {{SECONDS}}

# Everything CI runs: lint, then tests.
ci: lint test

# Long host-level stress run: real components on thousands of mutated captures.
stress CASES="2000":
    PCAPSULE_STRESS_CASES={{CASES}} cargo test -p pcapsule --release --test mutation_stress -- --nocapture

# Long load test: many MCP clients over HTTP calling every tool at once.
load-test CLIENTS="32" CALLS="60" SLOW="64":
    PCAPSULE_LOAD_CLIENTS={{CLIENTS}} PCAPSULE_LOAD_CALLS={{CALLS}} PCAPSULE_LOAD_SLOW={{SLOW}} cargo test -p pcapsule --release --test load -- --nocapture
