#!/usr/bin/env bash
# First benchmark: pcapsule (release) against Wireshark's capinfos and tshark
# on a generated capture, reported as ratios measured in the same run.
# usage: bench/run.sh [PACKETS]   (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
packets=${1:-1000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
capture="$work/bench.pcap"
python3 bench/make_capture.py "$capture" "$packets"
size=$(stat -c %s "$capture")
pcapsule=target/release/pcapsule

seconds() { # best of three wall times of a command, in seconds
    local best=
    for _ in 1 2 3; do
        local start end
        start=$(date +%s.%N)
        "$@" >/dev/null 2>&1
        end=$(date +%s.%N)
        best=$(python3 -c "a='$best'; b=$end-$start; print(b if a=='' else min(float(a), b))")
    done
    echo "$best"
}

"$pcapsule" list --allow-dir "$work" >/dev/null  # warm the compiled-component cache
printf '%s packets, %s MB, %s\n\n' "$packets" "$((size / 1000000))" "$(date -u +%Y-%m-%dT%H:%MZ)"
printf '%-22s %10s %12s %12s %10s\n' tool pcapsule_s oracle_s packets_per_s speedup
row() {
    local name=$1 ours=$2 theirs=$3
    python3 -c "
ours=$ours; theirs=$theirs; n=$packets
print(f'{\"$name\":<22} {ours:10.3f} {theirs:12.3f} {n/ours:12.0f} {theirs/ours:9.1f}x')"
}
ours=$(seconds "$pcapsule" analyze capinfos "$capture" --allow-dir "$work")
theirs=$(seconds capinfos "$capture")
row "capinfos vs capinfos" "$ours" "$theirs"
ours=$(seconds "$pcapsule" analyze dns "$capture" --allow-dir "$work" '{"limit": 10}')
theirs=$(seconds tshark -n -q -r "$capture" -z dns,tree)
row "dns vs tshark dns,tree" "$ours" "$theirs"
