#!/usr/bin/env bash
# Builds the fuzz corpora in fuzz/corpus/<target>/ (ignored by git) from the
# fixture captures and, when present, ../shared/captures (hostile/ included).
# Files over 1 MiB are cut to their first 1 MiB. Existing corpus entries are
# kept, so a corpus grown by earlier runs survives re-seeding.
#
#   fuzz/seed-corpus.sh            # every target
#   SHARED=/path/to/captures fuzz/seed-corpus.sh
set -euo pipefail

fuzz_dir=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$fuzz_dir")
shared=${SHARED:-$root/../shared/captures}
corpus=$fuzz_dir/corpus
max_bytes=$((1024 * 1024))

capture_targets=(capture_reader analyzer_capinfos analyzer_dns analyzer_dhcp analyzer_icmp analyzer_tcp analyzer_sip analyzer_overview analyzer_tls analyzer_http)

sources=("$root/fixtures/captures")
if [ -d "$shared" ]; then
    sources+=("$shared")
else
    echo "seed-corpus: $shared not found, seeding from the fixtures only" >&2
fi

# Every capture-like file (the fixtures include a non-capture on purpose).
mapfile -t files < <(find "${sources[@]}" -type f ! -name '*.tsv' ! -name '*.md' | sort)

for target in "${capture_targets[@]}"; do
    mkdir -p "$corpus/$target"
done
mkdir -p "$corpus/decode"

count=0
for file in "${files[@]}"; do
    # Name entries by content so re-seeding does not duplicate them.
    name=$(head -c "$max_bytes" "$file" | sha1sum | cut -c1-16)
    for target in "${capture_targets[@]}"; do
        head -c "$max_bytes" "$file" > "$corpus/$target/seed-$name"
    done
    count=$((count + 1))
done
echo "seed-corpus: $count captures into ${#capture_targets[@]} capture corpora"

# The decode target takes one selector byte (index of the link type in
# fuzz_targets/decode.rs's LINK_TYPES) and a frame: extract frames from the
# same captures. Needs python3 (standard library only); skipped without it.
if ! command -v python3 > /dev/null; then
    echo "seed-corpus: python3 not found, decode corpus left as it is" >&2
    exit 0
fi
python3 - "$corpus/decode" "$max_bytes" "${files[@]}" <<'PY'
import hashlib, os, struct, sys

out, max_bytes, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
# Same order as LINK_TYPES in fuzz_targets/decode.rs.
LINK_TYPES = [0, 1, 101, 14, 108, 113, 228, 229, 276, 10, 239]
PER_FILE = 40

def pcap_frames(data):
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\x34\xcd\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d", b"\xa1\xb2\xcd\x34"):
        e = ">"
    else:
        return
    record = 24 if magic in (b"\x34\xcd\xb2\xa1", b"\xa1\xb2\xcd\x34") else 16
    if len(data) < 24:
        return
    link = struct.unpack(e + "I", data[20:24])[0] & 0x03FFFFFF
    pos = 24
    while pos + record <= len(data):
        caplen = struct.unpack(e + "I", data[pos + 8:pos + 12])[0]
        start = pos + record
        if caplen > len(data) - start:
            return
        yield link, data[start:start + caplen]
        pos = start + caplen

def pcapng_frames(data):
    pos, e, links = 0, "<", []
    while pos + 12 <= len(data):
        btype = struct.unpack("<I", data[pos:pos + 4])[0]
        if btype == 0x0A0D0D0A:
            e = ">" if data[pos + 8:pos + 12] == b"\x1a\x2b\x3c\x4d" else "<"
            links = []
        length = struct.unpack(e + "I", data[pos + 4:pos + 8])[0]
        if length < 12 or pos + length > len(data):
            return
        body = data[pos + 8:pos + length - 4]
        if btype == 1 and len(body) >= 2:
            links.append(struct.unpack(e + "H", body[:2])[0])
        elif btype == 6 and len(body) >= 20:
            iface, caplen = struct.unpack(e + "I", body[:4])[0], struct.unpack(e + "I", body[12:16])[0]
            if iface < len(links):
                yield links[iface], body[20:20 + caplen]
        elif btype == 3 and len(body) >= 4 and links:
            yield links[0], body[4:]
        pos += length

written = 0
for path in paths:
    with open(path, "rb") as f:
        data = f.read(max_bytes)
    frames = pcapng_frames(data) if data[:4] == b"\x0a\x0d\x0d\x0a" else pcap_frames(data)
    kept = 0
    try:
        for link, frame in frames:
            if link not in LINK_TYPES or kept >= PER_FILE:
                continue
            entry = bytes([LINK_TYPES.index(link)]) + frame
            name = "seed-" + hashlib.sha1(entry).hexdigest()[:16]
            target = os.path.join(out, name)
            if not os.path.exists(target):
                with open(target, "wb") as f:
                    f.write(entry)
                written += 1
            kept += 1
    except struct.error:
        pass
print(f"seed-corpus: {written} new frames in the decode corpus")
PY
