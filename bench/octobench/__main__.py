"""Runs the benchmark sections and writes bench/results/ (see docs/performance.md).

Usage: python3 -m octobench --build DIR --root DIR --out DIR [--quick]
       [--sections micro,latency,keygen,health,rotation,scale,rotation-scale] [--fleet N]
       [--rotation-sizes 10,100,200] [--update-docs FILE]
bench/run is the way in: it builds, makes the root and cleans up.

A run of some sections only keeps the other sections' results already in
OUT/results.json (each with the run it came from), so that the tables stay
whole.
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
import traceback

from . import health, keygen, latency, memory, micro, report, rotation, scale
from .common import BenchError, Env, free_ports, log, tool
from .fleet import Fleet

ALL = ("micro", "latency", "keygen", "health", "rotation", "scale", "rotation-scale")


def _version(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (p.stdout or p.stderr).splitlines()[0].strip()
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


def _machine():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def _commit(repo):
    try:
        p = subprocess.run(["git", "-C", repo, "describe", "--always", "--dirty"], capture_output=True, text=True,
                           timeout=10)
        return p.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def _load():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _previous(out):
    """The results.json an earlier run left in `out`, or None."""
    try:
        with open(os.path.join(out, "results.json")) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        return None


def update_docs(path, md):
    """Replaces the text between the bench markers of `path` with the tables."""
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    with open(path) as f:
        text = f.read()
    if begin not in text or end not in text:
        raise BenchError(f"{path} has no {begin} ... {end} block")
    body = md.split("\n", 2)[2]  # without the "# Benchmark results" title
    body = body.replace("](health-check-scaling.png)", "](../bench/results/health-check-scaling.png)")
    body = re.sub(r"^## ", "### ", body, flags=re.M)
    new = text[:text.index(begin) + len(begin)] + "\n" + body + text[text.index(end):]
    with open(path, "w") as f:
        f.write(new)


def main():
    ap = argparse.ArgumentParser(prog="octobench")
    ap.add_argument("--build", required=True)
    ap.add_argument("--root", required=True, help="an empty directory to use as OCTOPUS_CONFIG_ROOT")
    ap.add_argument("--out", required=True)
    ap.add_argument("--sections", default=",".join(ALL))
    ap.add_argument("--fleet", type=int, default=200, help="Tentacles for the health and memory sections")
    ap.add_argument("--rotation-sizes", help="fleet sizes of the rotation section (default 10,100,200; "
                    "--quick: 5,10)")
    ap.add_argument("--quick", action="store_true", help="fewer runs and 20 Tentacles: a smoke test, not figures")
    ap.add_argument("--update-docs", metavar="FILE", help="also refresh the tables in FILE (docs/performance.md)")
    args = ap.parse_args()
    sections = [s for s in args.sections.split(",") if s]
    for s in sections:
        if s not in ALL:
            ap.error(f"unknown section {s} (known: {', '.join(ALL)})")
    for t in ("openssl", "certtool"):
        if tool(t) is None:
            log(f"warning: {t} is not installed; its rows are left out (scripts/install-deps.sh installs it)")
    if tool("openssl") is None:
        log("openssl is required")
        return 1

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    repo = os.path.dirname(repo) if os.path.basename(repo) == "bench" else repo
    env = Env(os.path.abspath(args.build), os.path.abspath(args.root))
    quick = args.quick
    fleet_size = min(args.fleet, 20) if quick else args.fleet
    started = time.time()
    results = {"meta": {
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "machine": _machine(), "cores": os.cpu_count(), "commit": _commit(repo),
        "openssl": _version([tool("openssl") or "openssl", "version"]),
        "certtool": _version([tool("certtool") or "certtool", "--version"]),
        "load_before": _load(), "quick": quick, "sections": sections, "fleet": fleet_size,
    }, "errors": []}

    def section(name, fn):
        t0 = time.time()
        try:
            results[name] = fn()
        except (BenchError, subprocess.SubprocessError, OSError) as e:
            log(f"{name}: FAILED: {e}")
            traceback.print_exc()
            results["errors"].append({"section": name, "error": str(e)})
        log(f"{name}: {time.time() - t0:.0f} s")

    if "micro" in sections:
        section("micro", lambda: micro.run(env, repetitions=3 if quick else 10, min_time=0.05 if quick else 0.1))
    if "latency" in sections:
        section("latency", lambda: latency.run(env, rounds=15 if quick else 100))
    if "keygen" in sections:
        section("keygen", lambda: keygen.run(env, rounds=5 if quick else 100))
    if "health" in sections:
        fleet = Fleet(env, fleet_size)
        try:
            fresh = {}

            def start():
                fleet.start()
                time.sleep(1.0)  # let every agent settle before its idle size is read
                fresh.update(memory.snapshot(fleet))
                return {"targets": fleet_size}

            section("fleet", start)
            if "fleet" in results:
                runs = {1: 5, 10: 5, 100: 3, 200: 3} if quick else None
                section("health", lambda: health.run(env, fleet, runs=runs))
                section("memory", lambda: memory.run(env, fleet, fresh, free_ports(1)[0]))
        finally:
            log("fleet: stopping every service")
            fleet.stop()
    if "rotation" in sections:
        sizes = (tuple(int(x) for x in args.rotation_sizes.split(",") if x) if args.rotation_sizes
                 else rotation.QUICK_SIZES if quick else rotation.SIZES)
        section("rotation", lambda: rotation.run(env, sizes))
    if "scale" in sections:
        section("scale", lambda: scale.run(env, quick=quick))
    if "rotation-scale" in sections:
        section("rotation_scale", lambda: rotation.run_at_scale(env, quick=quick))
    results["meta"]["load_after"] = _load()
    results["meta"]["duration_s"] = time.time() - started
    results = report.merge(_previous(args.out), results)
    md = report.write(results, args.out, replot="health" in sections)
    if args.update_docs:
        update_docs(args.update_docs, md)
    print(md)
    log(f"done in {time.time() - started:.0f} s; results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
