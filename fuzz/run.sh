#!/usr/bin/env bash
# Runs one fuzz target, or all of them one after the other, for SECONDS each.
#
#   fuzz/run.sh TARGET|all [SECONDS] [-- extra libFuzzer flags]
#   fuzz/run.sh capture_reader 300
#   fuzz/run.sh all 240
#
# Needs a nightly toolchain and cargo-fuzz (`cargo install --locked cargo-fuzz`).
# Seeds fuzz/corpus/ first when a target's corpus is missing. Crashes land in
# fuzz/artifacts/TARGET/, the libFuzzer log in fuzz/logs/TARGET.log.
#
# Environment: MAX_LEN (default: 1 MiB for capture_reader, 64 KiB for decode,
# 256 KiB for the analyzers), TIMEOUT (seconds per input, default 10),
# RSS_LIMIT_MB (default 2048), SANITIZER (default none: the code is safe Rust;
# `address` for ASan), CARGO_BUILD_JOBS (default 1).
set -euo pipefail

fuzz_dir=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$fuzz_dir")
all_targets=(capture_reader decode analyzer_capinfos analyzer_dns analyzer_dhcp analyzer_icmp analyzer_tcp analyzer_sip analyzer_overview analyzer_tls analyzer_http)

target=${1:-}
seconds=${2:-60}
shift $(($# < 2 ? $# : 2))
[ "${1:-}" = "--" ] && shift
if [ -z "$target" ]; then
    echo "usage: fuzz/run.sh TARGET|all [SECONDS] [-- libFuzzer flags]; targets: ${all_targets[*]}" >&2
    exit 2
fi
if [ "$target" = all ]; then
    targets=("${all_targets[@]}")
else
    targets=("$target")
fi

export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
sanitizer=${SANITIZER:-none}
cd "$root"
mkdir -p "$fuzz_dir/logs"
cargo +nightly fuzz build -s "$sanitizer"

status=0
for t in "${targets[@]}"; do
    case $t in
        capture_reader) default_len=1048576 ;;
        decode) default_len=65536 ;;
        *) default_len=262144 ;;
    esac
    if [ ! -d "$fuzz_dir/corpus/$t" ]; then
        "$fuzz_dir/seed-corpus.sh"
    fi
    mkdir -p "$fuzz_dir/artifacts/$t"
    echo "== $t for ${seconds}s (log: fuzz/logs/$t.log)"
    if ! cargo +nightly fuzz run -s "$sanitizer" "$t" "$fuzz_dir/corpus/$t" -- \
        -max_total_time="$seconds" \
        -max_len="${MAX_LEN:-$default_len}" \
        -timeout="${TIMEOUT:-10}" \
        -rss_limit_mb="${RSS_LIMIT_MB:-2048}" \
        -print_final_stats=1 \
        "$@" > "$fuzz_dir/logs/$t.log" 2>&1; then
        echo "!! $t failed: see fuzz/logs/$t.log and fuzz/artifacts/$t/"
        status=1
    fi
    grep -E '^#[0-9]+.*(DONE|pulse|NEW)' "$fuzz_dir/logs/$t.log" | tail -1 || true
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$fuzz_dir/logs/$t.log" || true
done
exit $status
