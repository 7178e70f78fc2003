"""Writes a classic pcap of N packets cycling through the frames of the
project's fixture captures (DNS over UDP, raw IP, ...), Ethernet only, with
increasing timestamps. A stand-in until the realistic mixed-traffic generator
of the performance issue exists.

usage: make_capture.py OUT.pcap PACKETS
"""

import struct
import sys
from pathlib import Path

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "captures" / "dns-udp-ethernet.pcap"


def frames(path: Path) -> list[bytes]:
    data = path.read_bytes()
    out, pos = [], 24
    while pos + 16 <= len(data):
        incl = struct.unpack_from("<I", data, pos + 8)[0]
        out.append(data[pos + 16 : pos + 16 + incl])
        pos += 16 + incl
    return out


def main() -> None:
    out_path, count = Path(sys.argv[1]), int(sys.argv[2])
    pool = frames(FIXTURE)
    with out_path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(count):
            frame = pool[i % len(pool)]
            out.write(struct.pack("<IIII", 1_700_000_000 + i // 1000, (i % 1000) * 1000, len(frame), len(frame)))
            out.write(frame)


if __name__ == "__main__":
    main()
