# pcapsule: everyday commands. `just --list` shows them.

# The analyzer components build for WebAssembly in their own workspace.
wasm_target := "wasm32-wasip2"

default:
    @just --list

# Build the analyzer components, then the pcapsule binary that embeds them (debug).
build:
    cargo build --manifest-path analyzers/Cargo.toml --release --workspace
    cargo build -p pcapsule

# Optimized binary at target/release/pcapsule.
release:
    cargo build --manifest-path analyzers/Cargo.toml --release --workspace
    cargo build -p pcapsule --release

# Install `pcapsule` into ~/.cargo/bin (analyzers embedded: works from any directory).
install:
    cargo install --locked --path runtime

# Every test: guest library and analyzers (natively), fixtures, host, end to end.
test:
    cargo test --manifest-path analyzers/Cargo.toml --workspace --target x86_64-unknown-linux-gnu
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
    cargo fmt --all --check --manifest-path analyzers/Cargo.toml
    cargo clippy --workspace --all-targets -- -D warnings
    cargo clippy --manifest-path analyzers/Cargo.toml --workspace --all-targets -- -D warnings

# Reformat everything.
fmt:
    cargo fmt --all
    cargo fmt --all --manifest-path analyzers/Cargo.toml

# Regenerate the fixture captures and their expected results.
fixtures:
    cargo run -q -p pcapsule-fixtures

# Benchmarks: pcapsule against capinfos/tshark and native builds (see BENCHMARKS.md).
bench *ARGS:
    cargo build -p pcapsule --release
    bash bench/run.sh {{ARGS}}

# Everything CI runs: lint, then tests.
ci: lint test
