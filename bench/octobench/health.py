"""3. Health-check throughput and scaling, against the hardware's limit.

The Server checks 1, 10, 100 and 200 Tentacles (each its own process) on
loopback; the wall time is measured around `Octopus.Server health-check`
(process start to exit, so it includes the command's own start-up and the
control socket round trip).

The bound: every check is a mutual-TLS handshake, in which each side makes
one RSA-2048 signature (TLS 1.3 CertificateVerify, RSA-PSS). Both sides run
on this machine, so the most handshakes per second it could do is
(RSA-2048 signatures per second on all cores) / 2. `openssl speed` measures
that in the same run, before and after the checks.
"""

import os
import random
import re
import subprocess
import time

from .common import BenchError, cpu_seconds, log, ratio, summary, tool

SIZES = (1, 10, 100, 200)
RUNS = {1: 40, 10: 30, 100: 15, 200: 15}
TARGET_FRACTION = 0.70  # of the bound, at 100 targets


def rsa_sign_rate(seconds=3):
    """RSA-2048 private-key operations per second, all cores together."""
    cores = os.cpu_count() or 1
    p = subprocess.run([tool("openssl"), "speed", "-mr", "-multi", str(cores), "-seconds", str(seconds), "rsa2048"],
                       capture_output=True, text=True, timeout=120)
    # Machine-readable total over the children: +F2:N:2048:SIGN/S:VERIFY/S
    for line in reversed(p.stdout.splitlines()):
        m = re.match(r"\+F2:\d+:2048:([\d.]+):([\d.]+)", line)
        if m:
            return {"sign_per_s": float(m.group(1)), "verify_per_s": float(m.group(2)), "cores": cores}
    raise BenchError(f"cannot read openssl speed's output: {p.stdout[-300:]} {p.stderr[-300:]}")


def run(env, fleet, runs=None):
    runs = runs or RUNS
    sizes = [s for s in SIZES if s <= fleet.size]
    log("health: measuring the RSA-2048 signature rate (openssl speed)")
    before = rsa_sign_rate()
    # One check of everything first: every target must be healthy, or the figures mean nothing.
    rc, results = fleet.health_check()
    bad = [r for r in results if not r.get("Healthy")]
    if rc != 0 or bad:
        raise BenchError(f"health: {len(bad)} of {len(results)} targets unhealthy before measuring: "
                         f"{bad[0]['Name']}: {bad[0]['Reason'] if bad else ''}")
    server_pid = fleet.server_pid()
    agent_pids = [p for n in fleet.names if (p := fleet.tentacle_pid(n)) is not None]
    cpu_before = (cpu_seconds(server_pid), sum(cpu_seconds(p) for p in agent_pids))
    schedule = [s for s in sizes for _ in range(runs[s])]
    random.Random(3).shuffle(schedule)
    walls = {s: [] for s in sizes}
    per_target = {s: [] for s in sizes}
    unhealthy = {s: 0 for s in sizes}
    log(f"health: {len(schedule)} health checks of {', '.join(map(str, sizes))} targets, interleaved")
    for s in schedule:
        names = None if s == fleet.size else fleet.names[:s]
        t0 = time.perf_counter()
        rc, results = fleet.health_check(names)
        wall = time.perf_counter() - t0
        if len(results) != s:
            raise BenchError(f"health: asked for {s} targets, got {len(results)} results")
        unhealthy[s] += sum(1 for r in results if not r.get("Healthy"))
        walls[s].append(wall)
        per_target[s].extend(r["ElapsedMilliseconds"] for r in results)
    handshakes = sum(s * runs[s] for s in sizes)
    cpu = {"server_ms_per_check": (cpu_seconds(server_pid) - cpu_before[0]) * 1e3 / handshakes,
           "agents_ms_per_check": (sum(cpu_seconds(p) for p in agent_pids) - cpu_before[1]) * 1e3 / handshakes}
    log("health: measuring the RSA-2048 signature rate again")
    after = rsa_sign_rate()
    sign_rate = (before["sign_per_s"] + after["sign_per_s"]) / 2
    bound = sign_rate / 2
    # CPU one signature takes (all cores together sign `sign_rate` per second).
    sign_ms = before["cores"] * 1e3 / sign_rate
    cpu["signature_ms"] = sign_ms
    cpu["signatures_share"] = 2 * sign_ms / (cpu["server_ms_per_check"] + cpu["agents_ms_per_check"])
    rows = []
    for s in sizes:
        wall = summary(walls[s])
        tps = [s / w for w in walls[s]]
        rows.append({
            "targets": s,
            "runs": len(walls[s]),
            "wall_s": wall,
            "targets_per_s": summary(tps),
            "ms_per_target": summary([w * 1e3 / s for w in walls[s]]),
            "check_elapsed_ms": summary(per_target[s]),
            "unhealthy": unhealthy[s],
            "fraction_of_bound": ratio(s / wall["median"], bound),
        })
    by = {r["targets"]: r for r in rows}
    growth = None  # 100 and 200 both keep every check slot busy; 1 and 10 cannot
    if 100 in by and 200 in by:
        growth = ratio(by[200]["ms_per_target"]["median"], by[100]["ms_per_target"]["median"])
    at100 = by.get(100, {}).get("fraction_of_bound")
    return {
        "rsa2048": {"before": before, "after": after, "sign_per_s": sign_rate,
                    "bound_handshakes_per_s": bound},
        "rows": rows,
        "cpu": cpu,
        "per_target_growth_100_to_200": growth,
        "target": {
            "fraction_of_bound_at_100_at_least": TARGET_FRACTION,
            "fraction_at_100": at100,
            "met": at100 is not None and at100 >= TARGET_FRACTION,
            "per_target_time_flat": growth is not None and growth <= 1.10,
        },
    }
