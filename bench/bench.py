"""Measures pcapsule against the native build of the same analyzers, Wireshark's
capinfos/tshark and (optionally) the Python mcpcap, on generated captures, and
writes BENCHMARKS.md. Started by bench/run.sh, which builds everything first;
see that file for the knobs (environment variables).

Only the standard library: no pip dependencies for the core run.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = "<!-- Everything below this line is kept when bench/run.sh rewrites the file. -->"

# tool, native analyzer, comparator label (the {capture} and {server} fields are filled in)
TOOLS = [
    ("analyze_capinfos", "capinfos", "capinfos (no hashes)"),
    ("analyze_dns_packets", "dns", "tshark -z dns,tree"),
    ("analyze_dhcp_packets", "dhcp", "tshark -z dhcp,stat"),
    ("analyze_icmp_packets", "icmp", "tshark -z icmp,srt -z icmpv6,srt"),
    ("analyze_tcp_connections", "tcp", "tshark -z conv,tcp"),
    ("analyze_tcp_anomalies", "tcp", "tshark -z expert"),
    ("analyze_tcp_retransmissions", "tcp", "tshark -z io,stat (retransmission flags)"),
    ("analyze_traffic_flow", "tcp", "tshark -z conv,tcp,ip.addr==SERVER"),
    ("analyze_sip_packets", "sip", "tshark -z sip,stat"),
    ("analyze_protocol_hierarchy", "overview", "tshark -z io,phs"),
    ("analyze_conversations", "overview", "tshark -z conv,ip -z conv,ipv6"),
    ("analyze_endpoints", "overview", "tshark -z endpoints,ip -z endpoints,ipv6"),
    ("analyze_io_timeline", "overview", "tshark -z io,stat,1"),
    ("analyze_tls_sessions", "tls", "tshark -z io,stat (TLS handshake types, alerts, QUIC)"),
    ("analyze_tls_certificates", "tls", "tshark -z io,stat (certificates)"),
    ("analyze_http_requests", "http", "tshark -z http,tree"),
    ("analyze_http_objects", "http", "tshark --export-objects http"),
]

# A selection (`filter`) on the mixed capture: it must make a tool faster
# than the same tool on the whole capture, never slower.
SELECTION = {"filter": "port 53"}
SELECTED_TOOLS = ["analyze_dns_packets", "analyze_tcp_connections", "analyze_conversations", "analyze_http_requests"]

MCPCAP_CALLS = {
    "analyze_capinfos": ("capinfos", "CapInfosModule", "analyze_capinfos", {}),
    "analyze_dns_packets": ("dns", "DNSModule", "analyze_dns_packets", {}),
    "analyze_dhcp_packets": ("dhcp", "DHCPModule", "analyze_dhcp_packets", {}),
    "analyze_icmp_packets": ("icmp", "ICMPModule", "analyze_icmp_packets", {}),
    "analyze_tcp_connections": ("tcp", "TCPModule", "analyze_tcp_connections", {}),
    "analyze_tcp_anomalies": ("tcp", "TCPModule", "analyze_tcp_anomalies", {}),
    "analyze_tcp_retransmissions": ("tcp", "TCPModule", "analyze_tcp_retransmissions", {}),
    "analyze_sip_packets": ("sip", "SIPModule", "analyze_sip_packets", {}),
}

MCPCAP_SCRIPT = """
import importlib, json, sys, time
module, cls, method, capture, kwargs, out = sys.argv[1:7]
from mcpcap.core.config import Config
m = getattr(importlib.import_module("mcpcap.modules." + module), cls)(Config(max_packets=None))
result = getattr(m, method)(capture, **json.loads(kwargs))
text = json.dumps(result, default=str)
open(out, "w").write(text)
sys.exit(3 if isinstance(result, dict) and "error" in result else 0)
"""


def comparator(tool: str, capture: str, server: str) -> list[str]:
    tshark = ["tshark", "-n", "-q", "-r", capture]
    return {
        "analyze_capinfos": ["capinfos", "-t", "-E", "-I", "-F", "-k", "-c", "-s", "-d", "-l", "-u", "-a", "-e", "-o",
                             "-y", "-i", "-z", "-x", capture],
        "analyze_dns_packets": tshark + ["-z", "dns,tree"],
        "analyze_dhcp_packets": tshark + ["-z", DHCP_STAT],
        "analyze_icmp_packets": tshark + ["-z", "icmp,srt", "-z", "icmpv6,srt"],
        "analyze_tcp_connections": tshark + ["-z", "conv,tcp"],
        "analyze_tcp_anomalies": tshark + ["-z", "expert"],
        "analyze_tcp_retransmissions": tshark + [
            "-z", "io,stat,0,tcp.analysis.retransmission,tcp.analysis.fast_retransmission,"
            "tcp.analysis.spurious_retransmission,tcp.analysis.flags"],
        "analyze_traffic_flow": tshark + ["-z", f"conv,tcp,ip.addr=={server}"],
        "analyze_sip_packets": tshark + ["-z", "sip,stat"],
        "analyze_protocol_hierarchy": tshark + ["-z", "io,phs"],
        # The tool's default lists IPv4 and IPv6 address pairs together.
        "analyze_conversations": tshark + ["-z", "conv,ip", "-z", "conv,ipv6"],
        "analyze_endpoints": tshark + ["-z", "endpoints,ip", "-z", "endpoints,ipv6"],
        # The bench captures span about 50 s: the tool chooses 1 s intervals.
        "analyze_io_timeline": tshark + ["-z", "io,stat,1"],
        # tshark dissects TLS (and decrypts QUIC's Initials) to count them.
        "analyze_tls_sessions": tshark + [
            "-z", "io,stat,0,tls.handshake.type==1,tls.handshake.type==2,tls.alert_message,dtls.handshake.type==1,"
            "quic.long.packet_type==0"],
        "analyze_tls_certificates": tshark + ["-z", "io,stat,0,tls.handshake.certificate,x509af.serialNumber"],
        "analyze_http_requests": tshark + ["-z", "http,tree"],
        # tshark writes every object out (and creates the directory).
        "analyze_http_objects": tshark + ["--export-objects", f"http,{Path(capture).parent / 'http-objects'}"],
    }[tool]


DHCP_STAT = "dhcp,stat"


class Run:
    """One measured command: wall seconds, peak RSS (KiB), exit code."""

    def __init__(self, wall=None, rss_kb=None, code=None, timed_out=False, note=""):
        self.wall, self.rss_kb, self.code, self.timed_out, self.note = wall, rss_kb, code, timed_out, note

    @property
    def ok(self):
        return self.code == 0 and not self.timed_out


def measure(cmd, out_path, timeout, cwd=None) -> Run:
    """Runs cmd under /usr/bin/time -f %M; wall time measured here, around it."""
    rss_file = str(out_path) + ".rss"
    full = ["/usr/bin/time", "-f", "%M", "-o", rss_file] + [str(c) for c in cmd]
    with open(out_path, "wb") as out, open(str(out_path) + ".err", "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(full, stdout=out, stderr=err, cwd=cwd, start_new_session=True)
        # A blocking wait returns the moment the process ends; Popen.wait(timeout=)
        # polls with sleeps of up to 50 ms, which would be added to every time.
        killed = threading.Event()
        def kill():
            killed.set()
            os.killpg(proc.pid, signal.SIGKILL)
        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            code = proc.wait()
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        if killed.is_set():
            return Run(wall=wall, timed_out=True, note=f"timed out after {timeout:.0f} s")
    rss = None
    try:
        for line in Path(rss_file).read_text().splitlines():
            if line.strip().isdigit():
                rss = int(line.strip())
            elif "exited with non-zero status" in line:
                m = re.search(r"status (\d+)", line)
                code = int(m.group(1)) if m else code
    except OSError:
        pass
    note = ""
    if code != 0:
        tail = Path(str(out_path) + ".err").read_bytes()[-300:].decode(errors="replace").strip()
        note = f"exit {code}: {tail.splitlines()[-1] if tail else ''}"
    return Run(wall=wall, rss_kb=rss, code=code, note=note)


def best_of(cmd, out_path, runs, timeout, repeat_under=None) -> Run:
    """Best wall time of `runs` runs (peak RSS: the largest seen). Stops after
    the first run if it failed, or if it took longer than `repeat_under` s."""
    best = None
    peak = 0
    for i in range(runs):
        r = measure(cmd, out_path, timeout)
        if not r.ok:
            return r
        peak = max(peak, r.rss_kb or 0)
        if best is None or r.wall < best.wall:
            best = r
        if repeat_under is not None and r.wall > repeat_under:
            break
    best.rss_kb = peak
    return best


def sh(cmd) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem_kb = int(line.split()[1])
    commit = sh(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = " (with uncommitted changes)" if sh(["git", "-C", str(ROOT), "status", "--porcelain"]) else ""
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit + dirty,
        "tshark": sh(["tshark", "--version"]).splitlines()[0].rstrip(".") if shutil.which("tshark") else "not installed",
        "capinfos": sh(["capinfos", "-v"]).splitlines()[0].rstrip(".") if shutil.which("capinfos") else "not installed",
        "rustc": sh(["rustc", "--version"]),
        "python": platform.python_version(),
    }


# ---------------------------------------------------------------- MCP over stdio


class Session:
    """A `pcapsule serve` process spoken to in newline-delimited JSON-RPC."""

    def __init__(self, pcapsule, allow_dir):
        self.proc = subprocess.Popen([pcapsule, "serve", "--allow-dir", allow_dir], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
        self.next_id = 1

    def send(self, obj):
        self.proc.stdin.write((json.dumps(obj) + "\n").encode())
        self.proc.stdin.flush()

    def request(self, method, params):
        rid = self.next_id
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"pcapsule serve closed stdout while waiting for {method}")
            msg = json.loads(line)
            if msg.get("id") == rid:
                return msg

    def initialize(self):
        return self.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                           "clientInfo": {"name": "pcapsule-bench", "version": "0"}})

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def startup_and_calls(pcapsule, fixture, native_dir, starts=10, calls=50):
    allow = str(Path(fixture).parent)
    startup = []
    for _ in range(starts):
        t0 = time.perf_counter()
        s = Session(pcapsule, allow)
        reply = s.initialize()
        startup.append(time.perf_counter() - t0)
        s.close()
        if "result" not in reply:
            raise RuntimeError(f"initialize failed: {reply}")
    s = Session(pcapsule, allow)
    s.initialize()
    s.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    latencies = []
    for i in range(calls + 3):
        t0 = time.perf_counter()
        reply = s.request("tools/call", {"name": "analyze_capinfos", "arguments": {"pcap_file": fixture}})
        dt = time.perf_counter() - t0
        if reply.get("result", {}).get("isError") or "error" in reply:
            raise RuntimeError(f"tools/call failed: {reply}")
        if i >= 3:  # the first calls instantiate and warm the component
            latencies.append(dt)
    s.close()
    native = []
    binary = Path(native_dir) / "capinfos"
    if binary.exists():
        for _ in range(20):
            t0 = time.perf_counter()
            subprocess.run([str(binary), fixture, "analyze_capinfos", "{}"], capture_output=True, check=True)
            native.append(time.perf_counter() - t0)
    return {
        "startup_ms": statistics.median(startup) * 1000,
        "startup_all_ms": [round(x * 1000, 1) for x in startup],
        "call_ms": statistics.median(latencies) * 1000,
        "call_p90_ms": sorted(latencies)[int(len(latencies) * 0.9)] * 1000,
        "native_process_ms": statistics.median(native) * 1000 if native else None,
        "calls": len(latencies),
    }


# ---------------------------------------------------------------- mcpcap


def mcpcap_python(work: Path, log) -> str | None:
    """A Python that can import mcpcap: the current one, BENCH_MCPCAP_PYTHON, or a
    private venv under the work directory (pip install mcpcap). None: skip."""
    explicit = os.environ.get("BENCH_MCPCAP_PYTHON")
    candidates = [explicit] if explicit else [sys.executable]
    for py in candidates:
        if py and subprocess.run([py, "-c", "import mcpcap"], capture_output=True).returncode == 0:
            return py
    if explicit:
        log(f"mcpcap: {explicit} cannot import mcpcap; skipped")
        return None
    venv = work / "mcpcap-venv"
    log("mcpcap: not installed; trying `pip install mcpcap` in a private venv ...")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
        py = str(venv / "bin" / "python")
        subprocess.run([py, "-m", "pip", "install", "-q", "mcpcap"], check=True, capture_output=True, timeout=600)
        if subprocess.run([py, "-c", "import mcpcap"], capture_output=True).returncode == 0:
            return py
    except (OSError, subprocess.SubprocessError) as e:
        log(f"mcpcap: install failed ({e.__class__.__name__}); skipped")
    return None


def mcpcap_version(py) -> str:
    return sh([py, "-c", "import importlib.metadata as m; print(m.version('mcpcap'))"]) or "?"


# ---------------------------------------------------------------- formatting


def fmt_s(r: Run | None) -> str:
    if r is None:
        return "–"
    if r.timed_out:
        return f">{r.wall:.0f}"
    if not r.ok:
        return "failed"
    return f"{r.wall:.3f}" if r.wall < 10 else f"{r.wall:.1f}"


def fmt_mb(r: Run | None) -> str:
    if r is None or r.rss_kb is None or not r.ok:
        return "–"
    return f"{r.rss_kb / 1024:.0f}"


def ratio(a: Run | None, b: Run | None, digits=2) -> str:
    """a/b for wall times; '≥' when a timed out."""
    if a is None or b is None or not b.ok or not (a.ok or a.timed_out):
        return "–"
    x = a.wall / b.wall
    s = f"{x:.{digits}f}" if x < 100 else f"{x:.0f}"
    return ("≥" if a.timed_out else "") + s + "×"


def human(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--sizes", nargs="+", type=int, required=True)
    ap.add_argument("--pcapsule", default=str(ROOT / "target/release/pcapsule"))
    ap.add_argument("--generator", default=str(ROOT / "target/release/bench-capture"))
    ap.add_argument("--native-dir", default=str(ROOT / "target/wasm/x86_64-unknown-linux-gnu/release"))
    ap.add_argument("--fixture", default=str(ROOT / "fixtures/captures/dns-udp-ethernet.pcap"))
    ap.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    ap.add_argument("--command", default="just bench")
    args = ap.parse_args()

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    runs_small = int(os.environ.get("BENCH_RUNS", "3"))
    small_limit = int(os.environ.get("BENCH_REPEAT_MAX_PACKETS", "1000000"))
    timeout = float(os.environ.get("BENCH_TIMEOUT", "600"))
    mcpcap_timeout = float(os.environ.get("BENCH_MCPCAP_TIMEOUT", "600"))
    mcpcap_tools = [t if t.startswith("analyze_") else "analyze_" + t for t in
                    os.environ.get("BENCH_MCPCAP_TOOLS", "capinfos,dns_packets,tcp_connections,sip_packets").split(",")
                    if t]
    skip_mcpcap = os.environ.get("BENCH_MCPCAP", "1") == "0"
    # tshark takes minutes per tool on 10M packets: a quick run can leave the
    # comparators out above this size (their columns stay empty).
    comparator_limit = int(os.environ.get("BENCH_COMPARATOR_MAX_PACKETS", str(10**12)))
    have_tshark = shutil.which("tshark") is not None
    have_capinfos = shutil.which("capinfos") is not None
    native_dir = Path(args.native_dir)
    pcapsule = args.pcapsule

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    global DHCP_STAT
    stats = subprocess.run(["tshark", "-z", "help"], capture_output=True, text=True) if have_tshark else None
    if stats and "dhcp,stat" not in stats.stdout + stats.stderr:
        DHCP_STAT = "bootp,stat"

    info = machine()
    log(f"machine: {info['cpus']} CPUs, {info['cpu']}, {info['ram_gib']} GiB; {info['tshark']}")
    subprocess.run([pcapsule, "list", "--allow-dir", str(work)], check=True, capture_output=True)  # warm the cache

    def generate(capture, size, mix="mixed"):
        t0 = time.perf_counter()
        facts = json.loads(subprocess.run([args.generator, "--mix", mix, str(capture), str(size)], check=True,
                                          capture_output=True, text=True).stdout)
        facts["generate_s"] = time.perf_counter() - t0
        facts["file_bytes"] = capture.stat().st_size
        log(f"\n{human(size)} packets ({mix}): {facts['file_bytes'] / 1e6:.0f} MB generated in "
            f"{facts['generate_s']:.1f} s")
        return facts

    def measure_tools(capture, facts, size):
        runs = runs_small if size <= small_limit else 1
        server = facts["busiest_server"]
        per_tool = {}
        for tool, analyzer, _label in TOOLS:
            params = json.dumps({"server_ip": server}) if tool == "analyze_traffic_flow" else "{}"
            out = work / "out.json"
            ours = best_of([pcapsule, "analyze", tool, capture, "--allow-dir", work, params], out, runs, timeout)
            analyzed = None
            if ours.ok:
                try:
                    analyzed = json.loads(out.read_text()).get("packets_analyzed")
                except (ValueError, OSError):
                    pass
            binary = native_dir / analyzer
            native = best_of([binary, capture, tool, params], out, runs, timeout) if binary.exists() else None
            cmd = comparator(tool, str(capture), server)
            have = (have_capinfos if cmd[0] == "capinfos" else have_tshark) and size <= comparator_limit
            theirs = best_of(cmd, work / "theirs.txt", runs, timeout, repeat_under=5) if have else None
            per_tool[tool] = {"ours": ours, "native": native, "theirs": theirs, "analyzed": analyzed,
                              "cmd": " ".join(cmd).replace(str(capture), "CAPTURE")}
            pps = size / ours.wall if ours.ok else 0
            log(f"  {tool:<28} pcapsule {fmt_s(ours):>8} s {pps / 1e6:5.2f} Mpkt/s {fmt_mb(ours):>5} MB | "
                f"native {fmt_s(native):>8} s | {cmd[0]} {fmt_s(theirs):>8} s {fmt_mb(theirs):>6} MB"
                + (f" | {ours.note}" if ours.note else ""))
        return per_tool

    results = {}  # size -> {tool: {...}}, the mixed traffic
    captures = {}
    selected = {}  # tool -> (whole capture, selection), on the smallest size
    for size in args.sizes:
        capture = work / f"bench-{size}.pcap"
        facts = generate(capture, size)
        captures[size] = (capture, facts)
        results[size] = measure_tools(capture, facts, size)
        if size == min(args.sizes):
            runs = runs_small if size <= small_limit else 1
            for tool in SELECTED_TOOLS:
                r = best_of([pcapsule, "analyze", tool, capture, "--allow-dir", work, json.dumps(SELECTION)],
                            work / "out.json", runs, timeout)
                selected[tool] = (results[size][tool]["ours"], r)
                log(f"  {tool:<28} with {json.dumps(SELECTION)}: {fmt_s(r)} s (whole capture "
                    f"{fmt_s(results[size][tool]['ours'])} s)")

    # The other mixes, at one size: every tool on traffic that stresses one
    # analyzer (more DNS or SIP per packet than the mixed capture has).
    mixes = {}  # mix -> (size, facts, {tool: {...}})
    mix_size = int(os.environ.get("BENCH_MIX_PACKETS", min(args.sizes)))
    for mix in os.environ.get("BENCH_MIXES", "dns-heavy sip-heavy tls-heavy").split():
        capture = work / f"bench-{mix}-{mix_size}.pcap"
        facts = generate(capture, mix_size, mix)
        mixes[mix] = (mix_size, facts, measure_tools(capture, facts, mix_size))
        capture.unlink()

    # One pass over several tools, once `analyze all` exists: on every size,
    # so that its memory can be compared across sizes too.
    one_pass = None
    probe = subprocess.run([pcapsule, "analyze", "all", args.fixture, "--allow-dir", str(Path(args.fixture).parent)],
                           capture_output=True, text=True)
    if probe.returncode == 0:
        one_pass = []
        for size in args.sizes:
            capture, facts = captures[size]
            out = work / f"all-{size}.json"
            runs = runs_small if size <= small_limit else 1
            r = best_of([pcapsule, "analyze", "all", capture, "--allow-dir", work], out, runs, timeout)
            tools_run = [t for t, *_ in TOOLS if t != "analyze_traffic_flow"]
            try:
                doc = json.loads(out.read_text())
                doc = doc.get("results", doc) if isinstance(doc, dict) else doc
                named = [t for t, *_ in TOOLS
                         if isinstance(doc, dict) and (t in doc or t.removeprefix("analyze_") in doc)]
                if named:
                    tools_run = named
            except (ValueError, OSError):
                pass
            total = sum(results[size][t]["ours"].wall for t in tools_run if results[size][t]["ours"].ok)
            one_pass.append({"size": size, "run": r, "tools": tools_run, "sum": total})
            log(f"\nanalyze all ({human(size)}): {fmt_s(r)} s, {fmt_mb(r)} MB, against {total:.3f} s one by one "
                f"({len(tools_run)} tools)")
    else:
        log("\nanalyze all: not available yet (skipped)")

    log("\nstartup and per-call latency over stdio ...")
    try:
        serve = startup_and_calls(pcapsule, args.fixture, native_dir)
        log(f"  initialize answered in {serve['startup_ms']:.1f} ms (median of 10); "
            f"tools/call analyze_capinfos {serve['call_ms']:.2f} ms (median of {serve['calls']})")
    except (RuntimeError, OSError, ValueError) as e:
        serve = {"error": str(e)}
        log(f"  failed: {e}")

    # mcpcap on the small size (or a smaller capture, BENCH_MCPCAP_PACKETS).
    mcpcap = None
    if not skip_mcpcap:
        py = mcpcap_python(work, log)
        if py:
            size = int(os.environ.get("BENCH_MCPCAP_PACKETS", min(100_000, min(args.sizes))))
            if size in captures:
                capture, facts = captures[size]
            else:
                capture = work / f"bench-{size}.pcap"
                facts = json.loads(subprocess.run([args.generator, str(capture), str(size)], check=True,
                                                  capture_output=True, text=True).stdout)
            rows = {}
            log(f"\nmcpcap {mcpcap_version(py)} on {human(size)} packets (timeout {mcpcap_timeout:.0f} s per tool):")
            for tool in mcpcap_tools:
                if tool not in MCPCAP_CALLS:
                    continue
                module, cls, method, kwargs = MCPCAP_CALLS[tool]
                params = "{}"
                if size in results:
                    ours = results[size][tool]["ours"]
                else:
                    ours = best_of([pcapsule, "analyze", tool, capture, "--allow-dir", work, params],
                                   work / "out.json", runs_small, timeout)
                theirs = measure([py, "-c", MCPCAP_SCRIPT, module, cls, method, capture, json.dumps(kwargs),
                                  work / "mcpcap.json"], work / "mcpcap.out", mcpcap_timeout)
                rows[tool] = {"ours": ours, "theirs": theirs}
                log(f"  {tool:<28} mcpcap {fmt_s(theirs):>8} s {fmt_mb(theirs):>6} MB | pcapsule {fmt_s(ours)} s"
                    + (f" | {theirs.note}" if theirs.note else ""))
            mcpcap = {"version": mcpcap_version(py), "size": size, "rows": rows}

    write_report(args, info, results, captures, mixes, one_pass, serve, mcpcap, runs_small, small_limit,
                 timeout, selected)
    log(f"\nwrote {args.out}")


def write_report(args, info, results, captures, mixes, one_pass, serve, mcpcap, runs_small, small_limit,
                 timeout, selected):
    sizes = sorted(results)
    small = sizes[0]
    large = sizes[-1]
    md = []
    w = md.append
    w("# Benchmarks\n")
    knobs = " ".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("BENCH_") and k != "BENCH_DIR")
    w(f"Measured by `{(knobs + ' ') if knobs else ''}{args.command}` (bench/run.sh) on {info['date']}, "
      f"commit {info['commit']}.")
    w(f"Machine: {info['cpus']} CPUs ({info['cpu']}), {info['ram_gib']} GiB RAM, Linux {info['kernel']}; "
      f"load average at the start of the run {info['load']}. {info['tshark']}; {info['capinfos']}; {info['rustc']}; "
      f"Python {info['python']}.\n")
    w("These machines are shared and noisy: read the **ratios** (measured in the same run, back to back), "
      "not the absolute times. Wall time is the whole process (start, compiled-component cache load, "
      "analysis, JSON output); peak RSS is `/usr/bin/time -f %M` of that process. "
      f"Captures up to {human(small_limit)} packets: best of {runs_small} runs (peak RSS: the largest of the runs; "
      "a comparator taking over 5 s runs once); larger ones: one run. Comparators are killed after "
      f"{timeout:.0f} s.\n")
    w("Columns: **pcapsule/native** is the sandbox's cost (the same analyzer crate compiled natively, "
      "`target/wasm/x86_64-unknown-linux-gnu/release/<analyzer> CAPTURE TOOL PARAMS`); **speedup** is the "
      "comparator's wall time over pcapsule's.\n")
    def tool_table(title, size, facts, per_tool):
        mb = facts["file_bytes"] / 1e6
        w(f"## {title} ({mb:.0f} MB, {facts['bytes_per_packet']:.0f} bytes/packet)\n")
        w("| tool | pcapsule s | packets/s | MB/s | peak RSS MB | native s | **pcapsule/native** | comparator | "
          "comparator s | comparator RSS MB | **speedup** |")
        w("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
        for tool, _analyzer, label in TOOLS:
            r = per_tool[tool]
            o = r["ours"]
            pps = f"{size / o.wall / 1e6:.2f} M" if o.ok else "–"
            mbs = f"{mb / o.wall:.0f}" if o.ok else "–"
            w(f"| {tool} | {fmt_s(o)} | {pps} | {mbs} | {fmt_mb(o)} | {fmt_s(r['native'])} | "
              f"**{ratio(o, r['native'])}** | {label} | {fmt_s(r['theirs'])} | {fmt_mb(r['theirs'])} | "
              f"**{ratio(r['theirs'], o, 1)}** |")
        fails = [f"`{t}`: {r['ours'].note}" for t, r in per_tool.items() if not r["ours"].ok]
        wrong = [f"`{t}` analyzed {r['analyzed']}" for t, r in per_tool.items()
                 if r["ours"].ok and r["analyzed"] not in (None, size)]
        if fails or wrong:
            w("\nProblems: " + "; ".join(fails + wrong) + ".")
        w("")

    for size in sizes:
        tool_table(f"{human(size)} packets", size, captures[size][1], results[size])
    for mix, (size, facts, per_tool) in mixes.items():
        tool_table(f"{human(size)} packets, {mix} mix", size, facts, per_tool)

    # Targets.
    w("## Targets\n")
    w("| target | result | measured |")
    w("|---|---|---|")
    one_m = 1_000_000 if 1_000_000 in results else small

    def row(name, ok, measured):
        w(f"| {name} | {'met' if ok else '**not met**' if ok is False else 'not measured'} | {measured} |")

    r1 = results[one_m]
    oks = {t: r["ours"] for t, r in r1.items()}
    pps = {t: one_m / o.wall for t, o in oks.items() if o.ok}
    slow = [f"{t.removeprefix('analyze_')} {v / 1e6:.2f} M" for t, v in sorted(pps.items(), key=lambda x: x[1])]
    row(f"every tool ≥ 1M packets/s on the {human(one_m)} capture",
        len(pps) == len(TOOLS) and min(pps.values()) >= 1e6, "slowest first: " + ", ".join(slow[:4]))
    # The overview tools are the first call on an unknown capture (issue #16).
    overview = {t: v for t, v in pps.items() if t in (
        "analyze_protocol_hierarchy", "analyze_conversations", "analyze_endpoints", "analyze_io_timeline")}
    row(f"overview tools ≥ 3M packets/s on the {human(one_m)} capture",
        min(overview.values()) >= 3e6 if overview else None,
        ", ".join(f"{t.removeprefix('analyze_')} {v / 1e6:.2f} M" for t, v in overview.items()) or "not run")
    for mix, (size, _facts, per_tool) in mixes.items():
        mix_pps = {t: size / r["ours"].wall for t, r in per_tool.items() if r["ours"].ok}
        slow = sorted(mix_pps.items(), key=lambda x: x[1])
        row(f"every tool ≥ 1M packets/s on the {human(size)} {mix} capture",
            len(mix_pps) == len(TOOLS) and min(mix_pps.values()) >= 1e6,
            "slowest first: " + ", ".join(f"{t.removeprefix('analyze_')} {v / 1e6:.2f} M" for t, v in slow[:4]))
        mix_sp = {t: r["theirs"].wall / r["ours"].wall for t, r in per_tool.items()
                  if r["ours"].ok and r["theirs"] and (r["theirs"].ok or r["theirs"].timed_out)}
        low = sorted(mix_sp.items(), key=lambda x: x[1])
        row(f"every tool ≥ 10× faster than tshark/capinfos on the {mix} capture",
            bool(mix_sp) and min(mix_sp.values()) >= 10 if mix_sp else None,
            "lowest first: " + ", ".join(f"{t.removeprefix('analyze_')} {v:.1f}×" for t, v in low[:4]))
    nat = {t: r["ours"].wall / r["native"].wall for t, r in r1.items()
           if r["ours"].ok and r["native"] and r["native"].ok}
    worst = sorted(nat.items(), key=lambda x: -x[1])
    row("every tool ≤ 1.5× the native build's time", bool(nat) and max(nat.values()) <= 1.5 if nat else None,
        "worst first: " + ", ".join(f"{t.removeprefix('analyze_')} {v:.2f}×" for t, v in worst[:4]))
    sp = {t: r["theirs"].wall / r["ours"].wall for t, r in r1.items()
          if r["ours"].ok and r["theirs"] and (r["theirs"].ok or r["theirs"].timed_out)}
    low = sorted(sp.items(), key=lambda x: x[1])
    row("every tool ≥ 10× faster than tshark/capinfos", bool(sp) and min(sp.values()) >= 10 if sp else None,
        "lowest first: " + ", ".join(f"{t.removeprefix('analyze_')} {v:.1f}×" for t, v in low[:4]))
    if large != small:
        growth = []
        ok = True
        for t, _a, _l in TOOLS:
            a, b = results[small][t]["ours"], results[large][t]["ours"]
            if a.ok and b.ok and a.rss_kb and b.rss_kb:
                growth.append((t, a.rss_kb / 1024, b.rss_kb / 1024))
                ok &= b.rss_kb <= a.rss_kb * 1.05 + 2048
            else:
                ok = False
        worst = sorted(growth, key=lambda g: -(g[2] - g[1]))
        row(f"peak RSS independent of size ({human(large)} ≤ {human(small)}, 5% + 2 MB tolerance)", ok,
            "; ".join(f"{t.removeprefix('analyze_')} {x:.0f} → {y:.0f} MB" for t, x, y in worst[:4]))
    else:
        row("peak RSS independent of size", None, "only one size measured")
    peaks = [(t, s, results[s][t]["ours"].rss_kb / 1024) for s in sizes for t, *_ in TOOLS
             if results[s][t]["ours"].ok and results[s][t]["ours"].rss_kb]
    top = max(peaks, key=lambda p: p[2]) if peaks else None
    row("peak RSS of `pcapsule analyze` < 100 MB", bool(peaks) and top[2] < 100 if peaks else None,
        f"largest: {top[0]} on {human(top[1])}, {top[2]:.0f} MB" if top else "–")
    if "error" in serve:
        row("ready to serve (stdio initialize answered) < 200 ms", None, serve["error"])
        row("a tool call on a small capture adds < 5 ms", None, serve["error"])
    else:
        row("ready to serve (stdio initialize answered) < 200 ms", serve["startup_ms"] < 200,
            f"{serve['startup_ms']:.1f} ms (median of 10, warm cache)")
        extra = (f"; the native analyzer process on the same file: {serve['native_process_ms']:.2f} ms"
                 if serve.get("native_process_ms") else "")
        row("a tool call on a small capture adds < 5 ms", serve["call_ms"] < 5,
            f"whole `tools/call` round trip {serve['call_ms']:.2f} ms (median of {serve['calls']}, "
            f"p90 {serve['call_p90_ms']:.2f} ms){extra}")
    first_pass = one_pass[0] if one_pass else None
    if first_pass and first_pass["run"].ok:
        row("several tools in one pass faster than one by one", first_pass["run"].wall < first_pass["sum"],
            f"`analyze all` {first_pass['run'].wall:.2f} s against {first_pass['sum']:.2f} s "
            f"for {len(first_pass['tools'])} tools one by one ({human(first_pass['size'])})")
        measured = [p for p in one_pass if p["run"].ok and p["run"].rss_kb]
        row("peak RSS of `pcapsule analyze all` < 100 MB", all(p["run"].rss_kb / 1024 < 100 for p in measured),
            "; ".join(f"{human(p['size'])}: {fmt_mb(p['run'])} MB" for p in measured))
    else:
        row("several tools in one pass faster than one by one", None,
            "`pcapsule analyze all` " + ("failed" if one_pass else "does not exist yet"))
    w("")

    # One pass.
    w("## Several tools in one pass\n")
    if one_pass:
        for p in one_pass:
            r = p["run"]
            w(f"- `pcapsule analyze all CAPTURE` on {human(p['size'])} packets: {fmt_s(r)} s, peak RSS {fmt_mb(r)} MB; "
              f"the same {len(p['tools'])} tools one by one: {p['sum']:.2f} s.")
        w(f"\nTools: {', '.join(t.removeprefix('analyze_') for t in one_pass[0]['tools'])}. The three TCP tools "
          "share one sandbox and one connection table; every other analyzer has a sandbox of its own, all fed "
          "from one read of the file.\n")
    else:
        w("Not measured: `pcapsule analyze all <fixture>` did not exit 0 (the one-pass mode is not in this "
          "build). bench/run.sh measures it as soon as it does.\n")

    # A selection.
    w("## A selection\n")
    if selected:
        w(f"The same tools on the {human(small)}-packet mixed capture, whole and with `{json.dumps(SELECTION)}` "
          "(every packet is still read and decoded; only the selected ones are analyzed). A selection must "
          "never make a tool slower.\n")
        w("| tool | whole capture s | selected s | **selected/whole** |")
        w("|---|---:|---:|---:|")
        for tool, (whole, sel) in selected.items():
            w(f"| {tool} | {fmt_s(whole)} | {fmt_s(sel)} | **{ratio(sel, whole)}** |")
        w("")
    else:
        w("Not measured.\n")

    # Startup.
    w("## Startup and per-call overhead (stdio)\n")
    if "error" in serve:
        w(f"Failed: {serve['error']}\n")
    else:
        w(f"- `pcapsule serve --allow-dir fixtures/captures` started, `initialize` sent, answer read: "
          f"**{serve['startup_ms']:.1f} ms** median of 10 (all: {serve['startup_all_ms']}); compiled components "
          "cached (`pcapsule list` ran first).")
        w(f"- `tools/call analyze_capinfos` on fixtures/captures/dns-udp-ethernet.pcap, one session, after "
          f"`initialize` and `notifications/initialized` and 3 warm-up calls: **{serve['call_ms']:.2f} ms** median of "
          f"{serve['calls']} (p90 {serve['call_p90_ms']:.2f} ms). That is the whole round trip, analysis included; "
          "the analysis of this 4-packet file is microseconds, so it is the per-call overhead."
          + (f" For scale, the whole native analyzer process (exec, analysis, output) on the same file: "
             f"{serve['native_process_ms']:.2f} ms." if serve.get("native_process_ms") else ""))
        w("")

    # mcpcap.
    w("## mcpcap\n")
    if mcpcap is None:
        w("Not measured: mcpcap is not importable and could not be installed (or `BENCH_MCPCAP=0`).\n")
    else:
        w(f"mcpcap {mcpcap['version']} (Python, scapy) on the {human(mcpcap['size'])}-packet capture: each tool's "
          "module method called directly (`DNSModule(Config()).analyze_dns_packets(path)` and so on, "
          "`max_packets=None` as in mcpcap's default, so both sides analyze every packet), its result serialized "
          "to JSON, in its own process timed like pcapsule's (interpreter start and imports included). "
          "pcapsule's figure is `pcapsule analyze` on the same file in this run."
          + ("" if mcpcap["size"] in results else
             f" The {human(mcpcap['size'])}-packet file is the first {human(mcpcap['size'])} packets of the "
             "generator's stream (`BENCH_MCPCAP_PACKETS`): mcpcap reads the whole capture into scapy objects "
             "(about 8 KB of RAM and 0.35 s per 1000 packets here), so the full-size capture would take it "
             "minutes per tool and gigabytes of memory.")
          + "\n")
        w("| tool | mcpcap s | mcpcap peak RSS MB | pcapsule s | pcapsule peak RSS MB | **speedup** |")
        w("|---|---:|---:|---:|---:|---:|")
        for tool, r in mcpcap["rows"].items():
            t, o = r["theirs"], r["ours"]
            w(f"| {tool} | {fmt_s(t)} | {fmt_mb(t)} | {fmt_s(o)} | {fmt_mb(o)} | **{ratio(t, o, 0)}** |")
        w("")

    # Commands.
    w("## Commands compared\n")
    w("Per tool, `CAPTURE` being the generated file:\n")
    w("```sh")
    w("target/release/pcapsule analyze TOOL CAPTURE --allow-dir DIR [PARAMS]")
    w("target/wasm/x86_64-unknown-linux-gnu/release/ANALYZER CAPTURE TOOL PARAMS")
    for tool, *_ in TOOLS:
        w(f"{results[small][tool]['cmd']:<90} # {tool}")
    w("```\n")
    server = captures[small][1]["busiest_server"]
    w(f"`analyze_traffic_flow` gets `{{\"server_ip\": \"{server}\"}}`, the generator's busiest server; "
      "every other tool runs with its defaults.\n")

    # Captures.
    w("## The captures\n")
    w("`target/release/bench-capture [--mix MIX] OUT.pcap PACKETS [SEED]` (bench/src): deterministic, classic pcap, Ethernet, "
      "microsecond timestamps in order. Thousands of clients (10.1.0.0/16) and 400 servers, one of them clearly "
      "the busiest; DNS over UDP (A/AAAA/MX/TXT/PTR, CNAME chains, EDNS, NXDOMAIN, SERVFAIL, unanswered and "
      "retried queries); DHCP DORA, renewals, NAKs, releases; ICMP echo with loss, dead hosts answered by "
      "host-unreachable, UDP traceroutes (time-exceeded, port-unreachable, quoted datagrams), ICMPv6 echo; TCP "
      "sessions (web, database, interactive) with handshakes, data both ways, delayed ACKs, FIN or RST "
      "teardown, timeout and fast retransmissions with dup ACKs, zero windows with probes, unanswered and "
      "refused SYNs, port scans; SIP calls (INVITE/100/180/200/ACK/BYE, 404, 486, CANCEL/487) with RTP both "
      "ways, REGISTER challenged by 401; NTP and ARP. That is the `mixed` mix. The `dns-heavy` mix is mostly "
      "DNS, half of it among a hundred times as many names, with answers too large for UDP (TC set) asked again "
      "over TCP; the `sip-heavy` mix is a VoIP carrier's signalling link: calls with SDP (most without RTP) and "
      "registrations, with long headers (Record-Route, P-Asserted-Identity, a second Via, Allow, Supported), "
      "many over TCP; the `tls-heavy` mix is a web client network's uplink: TLS 1.3 and 1.2 over TCP (SNI, ALPN, "
      "GREASE, two client profiles; 1.2 with a server's certificate chain in the clear, one server in twenty "
      "expired; some refused with an alert or unanswered), QUIC v1 with Initial packets protected as RFC 9001 "
      "says (so a reader must decrypt them), DTLS 1.2 with its cookie exchange, and DNS.\n")
    w("| mix | packets | MB | generated in s | packets by kind |")
    w("|---|---:|---:|---:|---|")
    rows = [(captures[size][1], size) for size in sizes] + [(f, size) for size, f, _ in mixes.values()]
    for f, size in rows:
        kinds = ", ".join(f"{k} {v / f['packets'] * 100:.1f}%" for k, v in f["packets_by_kind"].items())
        w(f"| {f.get('mix', 'mixed')} | {human(size)} | {f['file_bytes'] / 1e6:.0f} | {f['generate_s']:.1f} | "
          f"{kinds} |")
    w("")

    w("## Reproduce\n")
    w("```sh")
    w("just bench                       # 1M and 10M packets (CARGO_BUILD_JOBS=1 on a busy machine)")
    w("just bench 1000000               # one size; several sizes: just bench 100000 1000000")
    w("BENCH_MCPCAP=0 just bench        # without mcpcap")
    w("```\n")
    w("Knobs (environment): `BENCH_RUNS` (runs per measurement on small captures, 3), "
      "`BENCH_REPEAT_MAX_PACKETS` (largest capture measured more than once, 1000000), `BENCH_TIMEOUT` "
      "(seconds before a command is killed, 600), `BENCH_MCPCAP` (0 skips mcpcap), `BENCH_MCPCAP_PACKETS` "
      "(capture size for mcpcap, default the smallest size), `BENCH_MCPCAP_TOOLS` (comma-separated, default "
      "capinfos,dns_packets,tcp_connections,sip_packets), `BENCH_MCPCAP_TIMEOUT` (600), `BENCH_MCPCAP_PYTHON` "
      "(a Python that imports mcpcap; otherwise a private venv under the work directory gets `pip install "
      "mcpcap`), `BENCH_DIR` (work directory, kept; default a temporary one, removed), `BENCH_SIZES`, "
      "`BENCH_COMPARATOR_MAX_PACKETS` (largest capture tshark/capinfos run on; default all), `BENCH_MIXES` "
      "(the other mixes measured, default `dns-heavy sip-heavy tls-heavy`; empty for none), `BENCH_MIX_PACKETS` (their "
      "size, default the smallest size).\n")

    text = "\n".join(md) + "\n"
    out = Path(args.out)
    kept = MARKER + "\n"
    if out.exists() and MARKER in out.read_text():
        kept = MARKER + out.read_text().split(MARKER, 1)[1]
    out.write_text(text + kept)

if __name__ == "__main__":
    main()
