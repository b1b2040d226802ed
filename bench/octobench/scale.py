"""7. Fleet scale: health-check sweeps of 100 and 1,000 Tentacle processes,
and of 1,000 and 10,000 Tentacle agents hosted in a few processes
(bench/fleet_host.cc, the agent's own code), by one Server on 2 cores.

For each fleet: one first sweep (every check a new mutual-TLS handshake,
which the Server then keeps), then repeated sweeps over the kept
connections. The wall time is that of `Octopus.Server health-check --format
json` (process start to exit: the command's start-up, the control socket,
and the JSON of every result are in it).

Baselines, measured in the same run:
- the in-process handshake ceiling: the micro-benchmark `TlsHandshake/Mutual`
  (both sides of one mutual-TLS handshake in one thread, no sockets) gives
  the CPU one handshake takes; this machine's cores can do at most
  cores / that many per second. A first sweep's handshakes per second are
  given as a share of it;
- the Server's resident memory before the first sweep (nothing kept), for
  the memory each kept connection costs.

Certificates come from a cache of PFX files (build-bench/fleet-cache/, made
by octo_fleet_host the first time; 1,000 distinct RSA keys): Tentacle
processes import theirs (`import-certificate`), in-process agents load
theirs, agent i presenting certificate i mod 1,000. The Server's targets
are written straight into its configuration (`Octopus.Server.DeploymentTargets`,
the documented format): `add-target` 10,000 times would rewrite a growing
file 10,000 times.
"""

import concurrent.futures
import json
import math
import os
import subprocess
import time

from .common import (BenchError, cpu_of, cpu_seconds, free_ports, log, machine_cpu, ratio, rss_kib, status_lines,
                     summary, thread_count)

PROCESS_SIZES = (100, 1000)
INPROCESS_SIZES = (1000, 10000)
QUICK_PROCESS_SIZES = (20,)
QUICK_INPROCESS_SIZES = (200, 1000)
SWEEPS = 10
DISTINCT = 1000
PER_HOST = 3400  # agents per fleet-host process: 2 descriptors each, under a 20,000 limit with room
TARGETS = {"first_sweep_share_at_1000": 0.90, "pooled_targets_per_s_at_1000": 10000,
           "flat_1000_to_10000": 1.2, "kib_per_pooled_target": 50}


def fleet_host(env):
    exe = os.path.join(env.build_dir, "bin", "octo_fleet_host")
    if not os.path.exists(exe):
        raise BenchError(f"{exe} is missing (configure with -DOCTO_BUILD_BENCH=ON)")
    return exe


def certificate_cache(env):
    """The PFX cache (kept between runs, beside the build) and its thumbprints."""
    cache = os.path.join(env.build_dir, "fleet-cache")
    t0 = time.perf_counter()
    p = subprocess.run([fleet_host(env), "--cache", cache, "--distinct", str(DISTINCT)], capture_output=True,
                       text=True, timeout=3600)
    if p.returncode != 0:
        raise BenchError(f"octo_fleet_host (certificate cache): {p.stderr.strip()}")
    log(f"scale: {DISTINCT} cached certificates ready in {time.perf_counter() - t0:.1f} s")
    return cache, json.loads(p.stdout)


def _handshake_ceiling(env):
    exe = os.path.join(env.build_dir, "bin", "octo_micro_bench")
    p = subprocess.run([exe, "--benchmark_filter=^TlsHandshake/Mutual$", "--benchmark_repetitions=10",
                        "--benchmark_min_time=0.2", "--benchmark_format=json"],
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise BenchError(f"octo_micro_bench: {p.stderr[-300:]}")
    cpu = [b["cpu_time"] * {"ns": 1e-3, "us": 1.0, "ms": 1e3}[b.get("time_unit", "ns")]
           for b in json.loads(p.stdout)["benchmarks"] if b.get("run_type") == "iteration"]
    per = {**summary(cpu), "samples": cpu}
    cores = os.cpu_count() or 1
    return {"handshake_cpu_us": per, "cores": cores, "handshakes_per_s": cores * 1e6 / per["median"]}


def _ceiling_around(env, before, after):
    """The ceiling from the handshakes measured before and after the fleets (the machine's load moves)."""
    cpu = summary(before["handshake_cpu_us"].get("samples", []) + after["handshake_cpu_us"].get("samples", []))
    med = (before["handshake_cpu_us"]["median"] + after["handshake_cpu_us"]["median"]) / 2
    return {"handshake_cpu_us": {**cpu, "median": med}, "cores": before["cores"],
            "handshakes_per_s": before["cores"] * 1e6 / med, "before": before, "after": after}


class Server:
    def __init__(self, env, name):
        self.env, self.name = env, name
        self.config = env.path(f"{name}.config")
        env.server_cmd("create-instance", "--instance", name, "--config", self.config)
        self.edit({"Octopus.Server.HealthCheckIntervalSeconds": 0})
        _, out, _ = env.server_cmd("show-thumbprint", "--instance", name, "--format", "json")
        self.thumbprint = json.loads(out)["Thumbprint"]

    def edit(self, values):
        with open(self.config) as f:
            doc = json.load(f)
        doc.update(values)
        with open(self.config, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")

    def set_targets(self, targets):
        self.edit({"Octopus.Server.DeploymentTargets": [
            {"Name": n, "Address": a, "Thumbprint": t, "Thumbprints": [t]} for n, a, t in targets]})

    def start(self):
        self.env.server_cmd("service", "--instance", self.name, "--start")
        _, out, _ = self.env.server_cmd("service", "--instance", self.name, "--status")
        self.pid = int(out.split("(pid ")[1].split(")")[0])

    def stop(self):
        self.env.server_cmd("service", "--instance", self.name, "--stop", check=False)

    def sweep(self, expect, timeout=900):
        t0 = time.perf_counter()
        rc, out, err = self.env.server_cmd("health-check", "--instance", self.name, "--format", "json",
                                           "--timeout", str(timeout), check=False, timeout=timeout + 60)
        wall = time.perf_counter() - t0
        try:
            results = json.loads(out)
        except json.JSONDecodeError:
            raise BenchError(f"health-check exited with {rc} and printed no JSON: {err.strip()[:300]}")
        if len(results) != expect:
            raise BenchError(f"health-check: {len(results)} results for {expect} targets")
        bad = [r for r in results if not r.get("Healthy")]
        return wall, len(bad), (bad[0]["Reason"] if bad else "")

    def descriptors(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))


def _cpu_breakdown(size, wall, before, after, ceiling):
    """Where the first sweep's CPU went: the whole machine (busy and idle), the Server, the agents,
    and the rest (the health-check command, the kernel's softirq work, anything else), each per
    check against the in-process handshake's CPU."""
    busy, allcpu = after["machine"][0] - before["machine"][0], after["machine"][1] - before["machine"][1]
    server, agents = after["server"] - before["server"], after["agents"] - before["agents"]
    per = lambda x: x * 1e6 / size  # noqa: E731
    hs = ceiling["handshake_cpu_us"]["median"]
    return {"wall_s": wall, "machine_busy_s": busy, "machine_idle_s": allcpu - busy,
            "busy_share": ratio(busy, allcpu), "server_s": server, "agents_s": agents,
            "other_s": busy - server - agents,
            "us_per_check": {"busy": per(busy), "server": per(server), "agents": per(agents),
                             "other": per(busy - server - agents), "handshake_ceiling": hs},
            "busy_vs_handshake": ratio(per(busy), hs)}


def _measure(env, server, size, ceiling, kind, agent_pids=()):
    rss0, _ = rss_kib(server.pid)
    snap = lambda: {"machine": machine_cpu(), "server": cpu_seconds(server.pid), "agents": cpu_of(agent_pids)}  # noqa: E731
    cpu0 = snap()
    first, bad, why = server.sweep(size)
    cpu1 = snap()
    if bad:
        raise BenchError(f"scale: {bad} of {size} targets unhealthy in the first sweep: {why}")
    cpu = _cpu_breakdown(size, first, cpu0, cpu1, ceiling)
    u = cpu["us_per_check"]
    log(f"scale: {kind} {size}: first sweep {first:.2f} s ({size / first:.0f} targets/s); CPU per check "
        f"{u['busy']:.0f} µs (Server {u['server']:.0f}, agents {u['agents']:.0f}, rest {u['other']:.0f}; "
        f"handshake {u['handshake_ceiling']:.0f}), machine {100 * (cpu['busy_share'] or 0):.0f}% busy")
    walls, unhealthy = [], 0
    for _ in range(SWEEPS):
        wall, bad, why = server.sweep(size)
        walls.append(wall)
        unhealthy += bad
    rss1, _ = rss_kib(server.pid)
    w = summary(walls)
    log(f"scale: {kind} {size}: pooled sweeps {w['median']:.3f} s median ({size / w['median']:.0f} targets/s)")
    return {
        "kind": kind, "targets": size,
        "first_sweep_s": first, "first_handshakes_per_s": size / first,
        "first_share_of_ceiling": ratio(size / first, ceiling["handshakes_per_s"]),
        "first_sweep_cpu": cpu,
        "pooled_sweep_s": w, "pooled_targets_per_s": summary([size / x for x in walls]),
        "pooled_us_per_target": summary([x * 1e6 / size for x in walls]),
        "unhealthy_in_pooled_sweeps": unhealthy,
        "server_rss_kib": {"before": rss0, "after": rss1},
        "kib_per_pooled_target": (rss1 - rss0) / size,
        "server_threads": thread_count(server.pid), "server_descriptors": server.descriptors(),
    }


def start_tentacles(env, server, size, cache, thumbprints, prefix, workers=4):
    """`size` Tentacle processes, each with a cached certificate, trusting `server`; returns the
    targets (name, address, thumbprint) for the Server's configuration."""
    ports = free_ports(size)

    def make(i):
        name = f"{prefix}-{i:05d}"
        env.tentacle_cmd("create-instance", "--instance", name)
        env.tentacle_cmd("import-certificate", "--instance", name, "--from-file",
                         os.path.join(cache, f"tentacle-{i % DISTINCT}.pfx"), "--pfx-password", "bench")
        env.tentacle_cmd("configure", "--instance", name, "--port", str(ports[i]), "--listenIpAddress", "127.0.0.1",
                         "--trust", server.thumbprint)
        env.tentacle_cmd("service", "--instance", name, "--start")
        return name, f"https://127.0.0.1:{ports[i]}", thumbprints[i % DISTINCT]

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(make, range(size)))


def tentacle_pids(env, names):
    """The running Tentacle services' pids (`service --status --format json`)."""
    lines = status_lines(env.tentacle_cmd, "*")
    pids = [lines[n]["Pid"] for n in names if lines.get(n, {}).get("Pid")]
    if len(pids) != len(set(names)):
        raise BenchError(f"scale: {len(pids)} of {len(set(names))} Tentacle services report a pid")
    return pids


def _processes(env, size, cache, thumbprints, ceiling):
    server = Server(env, f"ScaleP{size}")
    log(f"scale: starting {size} Tentacle processes (cached certificates)")
    t0 = time.perf_counter()
    targets = start_tentacles(env, server, size, cache, thumbprints, f"S{size}")
    setup = time.perf_counter() - t0
    server.set_targets(targets)
    server.start()
    try:
        row = _measure(env, server, size, ceiling, "processes", tentacle_pids(env, [n for n, _, _ in targets]))
        row["setup_s"] = setup
        return row
    finally:
        server.stop()
        env.tentacle_cmd("service", "--instance", "*", "--stop", check=False, timeout=900)


def _inprocess(env, size, cache, ceiling):
    server = Server(env, f"ScaleI{size}")
    hosts = []
    t0 = time.perf_counter()
    try:
        n_hosts = math.ceil(size / PER_HOST)
        targets = []
        for h in range(n_hosts):
            count = size // n_hosts + (1 if h < size % n_hosts else 0)
            first = len(targets)
            p = subprocess.Popen([fleet_host(env), "--cache", cache, "--distinct", str(DISTINCT), "--count",
                                  str(count), "--trust", server.thumbprint, "--first", str(first)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            hosts.append(p)
            env.remember_pid(p.pid)
            line = p.stdout.readline()
            if not line:
                raise BenchError("octo_fleet_host exited before listening")
            for j, a in enumerate(json.loads(line)):
                targets.append((f"I{size}-{first + j:05d}", f"https://127.0.0.1:{a['Port']}", a["Thumbprint"]))
        setup = time.perf_counter() - t0
        server.set_targets(targets)
        server.start()
        stats = []
        try:
            row = _measure(env, server, size, ceiling, "in-process", [p.pid for p in hosts])
            # While the Server still keeps its connections: every agent holds one, idle.
            for p in hosts:
                p.stdin.write("stats\n")
                p.stdin.flush()
                stats.append(json.loads(p.stdout.readline()))
        finally:
            server.stop()
        row["setup_s"] = setup
        row["hosts"] = stats
        row["agent_threads"] = sum(s["Threads"] for s in stats)
        row["agent_kib_each"] = sum(s["RssKiB"] for s in stats) / size
        return row
    finally:
        for p in hosts:
            try:
                p.stdin.close()
                p.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                p.kill()


def run(env, quick=False):
    cache, thumbprints = certificate_cache(env)
    ceiling = _handshake_ceiling(env)
    log(f"scale: handshake ceiling {ceiling['handshakes_per_s']:.0f}/s "
        f"({ceiling['handshake_cpu_us']['median']:.0f} µs CPU each, {ceiling['cores']} cores)")
    rows = []
    for size in (QUICK_PROCESS_SIZES if quick else PROCESS_SIZES):
        rows.append(_processes(env, size, cache, thumbprints, ceiling))
    for size in (QUICK_INPROCESS_SIZES if quick else INPROCESS_SIZES):
        rows.append(_inprocess(env, size, cache, ceiling))
    # The share of the ceiling uses the handshake measured before and after.
    ceiling = _ceiling_around(env, ceiling, _handshake_ceiling(env))
    for r in rows:
        r["first_share_of_ceiling"] = ratio(r["first_handshakes_per_s"], ceiling["handshakes_per_s"])
    by = {(r["kind"], r["targets"]): r for r in rows}
    p1000 = by.get(("processes", 1000))
    i1000, i10000 = by.get(("in-process", 1000)), by.get(("in-process", 10000))
    flat = None
    if i1000 and i10000:
        flat = ratio(i10000["pooled_us_per_target"]["median"], i1000["pooled_us_per_target"]["median"])
    biggest = max(rows, key=lambda r: r["targets"])
    target = {
        **TARGETS,
        "first_share_at_1000": p1000 and p1000["first_share_of_ceiling"],
        "pooled_targets_per_s_1000": p1000 and p1000["pooled_targets_per_s"]["median"],
        "flat_ratio": flat,
        "kib_per_pooled_target_at_largest": biggest["kib_per_pooled_target"],
    }
    target["first_met"] = bool(p1000) and p1000["first_share_of_ceiling"] >= TARGETS["first_sweep_share_at_1000"]
    target["pooled_met"] = bool(p1000) and target["pooled_targets_per_s_1000"] >= TARGETS["pooled_targets_per_s_at_1000"]
    target["flat_met"] = flat is not None and flat <= TARGETS["flat_1000_to_10000"]
    target["memory_met"] = biggest["kib_per_pooled_target"] <= TARGETS["kib_per_pooled_target"]
    return {"ceiling": ceiling, "rows": rows, "target": target, "distinct_certificates": DISTINCT,
            "sweeps": SWEEPS}
