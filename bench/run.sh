#!/usr/bin/env bash
# pcapsule against the native build of the same analyzers, Wireshark's
# capinfos/tshark and (when installable) the Python mcpcap, on generated
# realistic captures; writes BENCHMARKS.md. `just bench` builds pcapsule first.
#
# usage: bench/run.sh [PACKETS...]     default: 1000000 10000000 (or $BENCH_SIZES)
# knobs: see the "Reproduce" section that bench/bench.py writes into BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$#" -gt 0 ]; then
    sizes=("$@")
else
    read -r -a sizes <<<"${BENCH_SIZES:-1000000 10000000}"
fi
for n in "${sizes[@]}"; do
    [[ "$n" =~ ^[0-9]+$ ]] || { echo "bench/run.sh: packet counts must be whole numbers, not '$n'" >&2; exit 2; }
done

if [ -n "${BENCH_DIR:-}" ]; then
    work=$BENCH_DIR
    mkdir -p "$work"
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/pcapsule-bench.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi
work=$(cd "$work" && pwd)

for tool in /usr/bin/time python3; do
    command -v "$tool" >/dev/null || { echo "bench/run.sh: $tool is required" >&2; exit 1; }
done
command -v tshark >/dev/null || echo "bench/run.sh: tshark not found: its columns stay empty" >&2

# One build at a time: the capture generator, then the analyzers built natively.
[ -x target/release/pcapsule ] || cargo build -p pcapsule --release
cargo build -q -p pcapsule-bench --release
(cd analyzers && cargo build -q --release --target x86_64-unknown-linux-gnu)

python3 bench/bench.py --work "$work" --sizes "${sizes[@]}" --command "just bench${*:+ $*}"
