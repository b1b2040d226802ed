"""6. Certificate rotation: the one-command rotations against the manual procedure.

For each fleet size (10, 100 and 200 Tentacles; --quick: 5 and 10) one fleet
is set up (its cost is measured), then on that same fleet, in this order:

  A. ours: `Octopus.Server rotate-certificate` (the Server's certificate,
     phases prepare/trust/switch/cleanup, no restart), then
     `Octopus.Server rotate-target-certificate --all` (every Tentacle's own
     certificate, the target pinning both until the new one is proved);
  B. the manual procedure of docs/rotation-guide.md, scripted with the same
     executables as an operator's for-loop would run it, one machine after
     the other: the Server's certificate (export-certificate as the backup,
     new-certificate --export-pfx, on each Tentacle configure --trust NEW and
     service --restart, import-certificate and service --restart on the
     Server, on each Tentacle configure --remove-trust OLD and service
     --restart), then each Tentacle's certificate (new-certificate,
     service --restart, and update-target on the Server).

During each of the four rotations a background loop asks the running Server
to health-check every target (`Octopus.Server health-check --format json`),
pausing 200 ms after each round, as the project's live-fleet test does. Every
unhealthy result and every failed round (the Server not running, no answer,
fewer results than targets) is counted. After each rotation one health check
of every target must pass, and what each side presents, trusts and pins is
read back, so that the figures are of rotations that worked.
"""

import json
import os
import re
import subprocess
import threading
import time

from .common import BenchError, cpu_of, log, machine_cpu, memory_detail, ratio, status_lines
from .fleet import Fleet

SIZES = (10, 100, 200)
QUICK_SIZES = (5, 10)
LOOP_PAUSE_S = 0.2
PARALLEL_SERVER = 32  # rotate-certificate's default: Tentacles asked at once
PARALLEL_TARGETS = 4  # rotate-target-certificate's default: Tentacles rotated at once
PASSWORD = "bench-rotation-password"
TARGET_SPEEDUP = 10.0  # at 100 Tentacles
TP = re.compile(r"\b([0-9A-F]{40})\b")


class CheckLoop:
    """Health-checks every target through the running Server until stopped,
    pausing LOOP_PAUSE_S after each round; counts what was not healthy."""

    def __init__(self, fleet):
        self.fleet = fleet
        self.rounds = 0
        self.checks = 0
        self.unhealthy = 0
        self.failed_rounds = 0
        self.reasons = {}  # first words of a failure -> count
        self.starts = []
        self._stop = threading.Event()
        self._first = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _note(self, reason):
        # The same failure on different targets is one line: addresses and thumbprints are left out.
        key = TP.sub("T", re.sub(r"https://[^\s:/]+:\d+", "URL", reason))[:200]
        self.reasons[key] = self.reasons.get(key, 0) + 1

    def _round(self):
        env, fleet = self.fleet.env, self.fleet
        try:
            rc, out, err = env.server_cmd("health-check", "--instance", fleet.server, "--format", "json",
                                          "--timeout", "30", check=False, timeout=60)
        except Exception as e:  # a hung command counts as a failed round, it must not stop the loop
            self.failed_rounds += 1
            self._note(f"round failed: {e}")
            return
        try:
            results = json.loads(out)
        except json.JSONDecodeError:
            self.failed_rounds += 1
            self._note(f"round failed (exit {rc}): {(err or out).strip()}")
            return
        self.checks += len(results)
        bad = [r for r in results if not r.get("Healthy")]
        self.unhealthy += len(bad)
        for r in bad:
            self._note(f"unhealthy: {r.get('Reason', '')}")
        if len(results) != fleet.size:
            self.failed_rounds += 1
            self._note(f"round failed (exit {rc}): {len(results)} results for {fleet.size} targets")
        elif rc != 0 and not bad:
            self.failed_rounds += 1
            self._note(f"round failed: exit {rc} with every result healthy")

    def _loop(self):
        while not self._stop.is_set():
            self.starts.append(time.perf_counter())
            self._round()
            self.rounds += 1
            self._first.set()
            self._stop.wait(LOOP_PAUSE_S)

    def __enter__(self):
        self._thread.start()
        self._first.wait(120)  # the loop is under way before the rotation starts
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(180)

    def result(self):
        gaps = [b - a for a, b in zip(self.starts, self.starts[1:])]
        reasons = sorted(self.reasons.items(), key=lambda kv: -kv[1])
        return {"rounds": self.rounds, "checks": self.checks, "unhealthy": self.unhealthy,
                "failed_rounds": self.failed_rounds, "failed": self.unhealthy + self.failed_rounds,
                "max_gap_s": max(gaps) if gaps else None,
                "reasons": [{"reason": r, "count": n} for r, n in reasons[:6]]}


# -- reading back what each side uses ---------------------------------------


def _snapshot(fleet):
    """What runs and what it uses: the Server's and every Tentacle's pid, certificate and trust, and the pins."""
    env = fleet.env
    server = status_lines(env.server_cmd, fleet.server).get(fleet.server, {})
    tentacles = status_lines(env.tentacle_cmd, "*")
    _, out, _ = env.server_cmd("list-targets", "--instance", fleet.server, "--format", "json")
    pins = {t["Name"]: t["Thumbprints"] for t in json.loads(out)}
    return {"server": server, "tentacles": {n: tentacles.get(n, {}) for n in fleet.names}, "pins": pins}


def _healthy(fleet):
    """'' when one health check of every target passes, else why not."""
    try:
        rc, results = fleet.health_check()
    except BenchError as e:
        return str(e)
    bad = [r for r in results if not r.get("Healthy")]
    if rc != 0 or bad or len(results) != fleet.size:
        first = f"; {bad[0]['Name']}: {bad[0].get('Reason', '')}" if bad else ""
        return f"health-check exited with {rc}, {len(bad)} of {len(results)} unhealthy{first}"
    return ""


def _verify_server(fleet, before, after, new_tp=None):
    """The rotated Server certificate is stored, presented, and the only one every Tentacle trusts."""
    problems = []
    old = before["server"].get("Thumbprint")
    s = after["server"]
    tp = s.get("Thumbprint")
    if not tp or tp == old:
        problems.append(f"the running Server presents {tp}, the old certificate was {old}")
    if s.get("StoredThumbprint") != tp:
        problems.append(f"the Server stores {s.get('StoredThumbprint')} but presents {tp}")
    if new_tp and tp != new_tp:
        problems.append(f"the Server presents {tp}, not the new {new_tp}")
    for n, t in after["tentacles"].items():
        if t.get("Trusted") != [tp] or t.get("StoredTrusted") != [tp]:
            problems.append(f"{n} trusts {t.get('Trusted')} (stored {t.get('StoredTrusted')}), not only {tp}")
            break
    if h := _healthy(fleet):
        problems.append(h)
    return problems


def _verify_targets(fleet, before, after):
    """Every Tentacle presents a new certificate, and its target pins only that one."""
    problems = []
    for n in fleet.names:
        live = after["tentacles"][n].get("Thumbprint")
        if live is None or live in before["pins"].get(n, []):
            problems.append(f"{n} presents {live}, pinned before as {before['pins'].get(n)}")
            break
        if after["pins"].get(n) != [live]:
            problems.append(f"{n} presents {live} but its target pins {after['pins'].get(n)}")
            break
    if h := _healthy(fleet):
        problems.append(h)
    return problems


def _pids(snap):
    return {"server": snap["server"].get("Pid"), **{n: t.get("Pid") for n, t in snap["tentacles"].items()}}


def _operation(fleet, label, fn, verify):
    """Runs `fn` (the whole rotation) under the check loop; returns its figures."""
    if h := _healthy(fleet):
        raise BenchError(f"rotation: {label}: the fleet is not healthy before the rotation: {h}")
    before = _snapshot(fleet)
    log(f"rotation: {fleet.size} targets: {label}")
    # Where the machine's CPU goes during the rotation (set by the fleet-scale run): the Server (the
    # loop's checks, the switch's), the Tentacles (their keys, their answers), the rest (the
    # command, the loop's commands, the kernel).
    cpu_pids = getattr(fleet, "cpu_pids", None)
    pids = cpu_pids() if cpu_pids else None

    def cpu_now():
        return {"machine": machine_cpu(), "server": cpu_of(pids["server"]), "tentacles": cpu_of(pids["tentacles"])}

    cpu0 = cpu_now() if pids else None
    with CheckLoop(fleet) as loop:
        t0 = time.perf_counter()
        detail = fn(before)
        wall = time.perf_counter() - t0
    cpu = None
    if pids:
        cpu1 = cpu_now()
        busy = cpu1["machine"][0] - cpu0["machine"][0]
        allcpu = cpu1["machine"][1] - cpu0["machine"][1]
        server = cpu1["server"] - cpu0["server"]
        tentacles = cpu1["tentacles"] - cpu0["tentacles"]
        cpu = {"machine_busy_s": busy, "machine_all_s": allcpu, "busy_share": ratio(busy, allcpu),
               "server_s": server, "tentacles_s": tentacles, "rest_s": busy - server - tentacles,
               "tentacles_ms_per_target": tentacles * 1e3 / fleet.size}
        log(f"rotation: {fleet.size} targets: {label}: CPU {busy:.0f} s busy of {allcpu:.0f} s "
            f"(Server {server:.0f} s, Tentacles {tentacles:.0f} s, rest {busy - server - tentacles:.0f} s)")
    after = _snapshot(fleet)
    problems = verify(fleet, before, after, detail)
    pb, pa = _pids(before), _pids(after)
    restarted = sorted(k for k in pb if pb[k] != pa.get(k))
    figures = {"wall_s": wall, "ms_per_target": wall * 1e3 / fleet.size, "loop": loop.result(),
               "verified": not problems, "problems": problems, "processes_restarted": len(restarted)}
    if detail:
        figures["detail"] = detail
    if cpu:
        figures["cpu"] = cpu
    r = figures["loop"]
    log(f"rotation: {fleet.size} targets: {label}: {wall:.1f} s, {r['failed']} failed checks "
        f"({r['unhealthy']} unhealthy, {r['failed_rounds']} failed rounds of {r['rounds']}), "
        f"{len(restarted)} processes restarted, {'verified' if not problems else 'NOT VERIFIED: ' + '; '.join(problems)}")
    return figures


# -- A. ours ------------------------------------------------------------------


def _ours_server(fleet):
    def run(before):
        _, out, _ = fleet.env.server_cmd("rotate-certificate", "--instance", fleet.server, "--parallel",
                                         str(PARALLEL_SERVER), timeout=1800)
        return None
    return _operation(fleet, "rotate-certificate", run, lambda f, b, a, d: _verify_server(f, b, a))


def _ours_targets(fleet):
    def run(before):
        rc, out, err = fleet.env.server_cmd("rotate-target-certificate", "--instance", fleet.server, "--all",
                                            "--parallel", str(PARALLEL_TARGETS), "--format", "json",
                                            check=False, timeout=1800)
        try:
            doc = json.loads(out)
        except json.JSONDecodeError:
            raise BenchError(f"rotate-target-certificate exited with {rc}: {err.strip()}")
        if rc != 0 or doc.get("Rotated") != fleet.size:
            failed = [t for t in doc.get("Targets", []) if not t.get("Rotated")]
            raise BenchError(f"rotate-target-certificate exited with {rc}, rotated {doc.get('Rotated')} of "
                             f"{fleet.size}: {failed[:1]}")
        ms = sorted(t["ElapsedMs"] for t in doc["Targets"])
        return {"one_target_ms_median": ms[len(ms) // 2], "one_target_ms_max": ms[-1]}
    return _operation(fleet, "rotate-target-certificate --all", run, lambda f, b, a, d: _verify_targets(f, b, a))


# -- B. the manual procedure --------------------------------------------------


def _fresh(path):
    if os.path.exists(path):
        os.remove(path)
    return path


def _manual_server(fleet):
    env, s = fleet.env, fleet.server
    new = {}

    def run(before):
        old_tp = before["server"]["Thumbprint"]
        backup = _fresh(env.path(f"rotation-{fleet.size}-oldcert.pfx"))
        newpfx = _fresh(env.path(f"rotation-{fleet.size}-newcert.pfx"))
        env.server_cmd("export-certificate", "--instance", s, "--export-pfx", backup, "--pfx-password", PASSWORD)
        _, out, _ = env.server_cmd("new-certificate", "--instance", s, "--export-pfx", newpfx,
                                   "--pfx-password", PASSWORD)
        m = re.search(r"new certificate has been generated with thumbprint:\s*([0-9A-F]{40})", out)
        if not m:
            raise BenchError(f"new-certificate printed no new thumbprint: {out.strip()}")
        new_tp = new["tp"] = m.group(1)
        for n in fleet.names:  # 3. each Tentacle trusts NEW, and is restarted
            env.tentacle_cmd("configure", "--instance", n, "--trust", new_tp)
            env.tentacle_cmd("service", "--instance", n, "--restart")
        env.server_cmd("import-certificate", "--instance", s, "--from-file", newpfx, "--pfx-password", PASSWORD)
        env.server_cmd("service", "--instance", s, "--restart")  # 4.
        for n in fleet.names:  # 6. each Tentacle forgets OLD, and is restarted
            env.tentacle_cmd("configure", "--instance", n, "--remove-trust", old_tp)
            env.tentacle_cmd("service", "--instance", n, "--restart")
        return None
    return _operation(fleet, "manual: the Server's certificate", run,
                      lambda f, b, a, d: _verify_server(f, b, a, new.get("tp")))


def _manual_targets(fleet):
    env, s = fleet.env, fleet.server

    def run(before):
        for n in fleet.names:  # per Tentacle: new certificate, restart, then the Server pins it
            _, out, _ = env.tentacle_cmd("new-certificate", "--instance", n)
            m = TP.search(out)
            if not m:
                raise BenchError(f"Tentacle new-certificate printed no thumbprint: {out.strip()}")
            env.tentacle_cmd("service", "--instance", n, "--restart")
            env.server_cmd("update-target", "--instance", s, "--name", n, "--thumbprint", m.group(1))
        return None
    return _operation(fleet, "manual: every Tentacle's certificate", run,
                      lambda f, b, a, d: _verify_targets(f, b, a))


# -- the section ----------------------------------------------------------------


def _setup(env, size):
    fleet = Fleet(env, size, tag=f"R{size}")
    t0 = time.perf_counter()
    fleet.start()
    wall = time.perf_counter() - t0
    snap = _snapshot(fleet)
    pids = [p for p in _pids(snap).values() if p]
    rss = pss = 0
    for p in pids:
        try:
            d = memory_detail(p)
        except OSError:
            continue
        rss += d.get("rss", 0)
        pss += d.get("pss", 0)
    setup = {"wall_s": wall, "s_per_tentacle": wall / size, "workers": fleet.workers, "processes": len(pids),
             "rss_mib": rss / 1024, "pss_mib": pss / 1024}
    log(f"rotation: {size} targets: set-up took {wall:.1f} s ({len(pids)} processes, PSS {pss / 1024:.0f} MiB)")
    return fleet, setup


def _total(ops):
    return {"wall_s": sum(o["wall_s"] for o in ops), "failed": sum(o["loop"]["failed"] for o in ops),
            "checks": sum(o["loop"]["checks"] for o in ops),
            "verified": all(o["verified"] for o in ops)}


def run(env, sizes=SIZES):
    rows = []
    for size in sizes:
        fleet = None
        try:
            fleet, setup = _setup(env, size)
            ours = {"server": _ours_server(fleet), "targets": _ours_targets(fleet)}
            manual = {"server": _manual_server(fleet), "targets": _manual_targets(fleet)}
        except (BenchError, subprocess.SubprocessError, OSError) as e:
            # One size failing keeps the others' figures; the error is in the tables.
            log(f"rotation: {size} targets: FAILED: {e}")
            rows.append({"targets": size, "error": str(e)})
            continue
        finally:
            log(f"rotation: {size} targets: stopping the fleet")
            if fleet is not None:
                fleet.stop()
            else:
                env.server_cmd("service", "--instance", "*", "--stop", check=False)
                env.tentacle_cmd("service", "--instance", "*", "--stop", check=False, timeout=600)
        ours["both"] = _total([ours["server"], ours["targets"]])
        manual["both"] = _total([manual["server"], manual["targets"]])
        rows.append({
            "targets": size, "setup": setup, "ours": ours, "manual": manual,
            "speedup": {k: ratio(manual[k]["wall_s"], ours[k]["wall_s"]) for k in ("server", "targets", "both")},
        })
    done = [r for r in rows if "error" not in r]
    by = {r["targets"]: r for r in done}
    at100 = by.get(100, {}).get("speedup", {}).get("both")
    ours_failed = sum(r["ours"]["both"]["failed"] for r in done)
    return {
        "sizes": list(sizes),
        "order": "ours first (rotate-certificate, then rotate-target-certificate --all), then the manual "
                 "procedure (the Server's certificate, then the Tentacles'), on the same fleet",
        "loop_pause_ms": LOOP_PAUSE_S * 1e3,
        "parallel": {"rotate-certificate": PARALLEL_SERVER, "rotate-target-certificate": PARALLEL_TARGETS,
                     "manual": 1},
        "rows": rows,
        "target": {
            "speedup_at_100_at_least": TARGET_SPEEDUP,
            "speedup_at_100": at100,
            "met": at100 is not None and at100 >= TARGET_SPEEDUP,
            "ours_failed_checks": ours_failed,
            "ours_checks": sum(r["ours"]["both"]["checks"] for r in done),
            "zero_failed_met": bool(done) and ours_failed == 0,
            "all_verified": len(done) == len(rows) and all(
                r["ours"]["both"]["verified"] and r["manual"]["both"]["verified"] for r in done),
        },
    }


# -- at fleet scale ---------------------------------------------------------------

SCALE_SIZE = 1000
QUICK_SCALE_SIZE = 20
SCALE_TARGETS = {"rotate_certificate_s_under": 10.0, "targets_vs_keygen_at_most": 1.3}


def _keygen_bound(env, n):
    """N RSA-2048 key generations on every core of this machine (octo_fleet_host --keygen)."""
    from .scale import fleet_host
    p = subprocess.run([fleet_host(env), "--keygen", str(n)], capture_output=True, text=True, timeout=3600)
    if p.returncode != 0:
        raise BenchError(f"octo_fleet_host --keygen: {p.stderr.strip()}")
    j = json.loads(p.stdout)
    log(f"rotation-scale: {n} RSA-2048 keys on {j['Threads']} threads: {j['WallS']:.1f} s "
        f"({j['CpuS'] * 1e3 / n:.0f} ms CPU each)")
    return {"keys": n, "threads": j["Threads"], "wall_s": j["WallS"], "cpu_s": j["CpuS"],
            "cpu_ms_per_key": j["CpuS"] * 1e3 / n}


def run_at_scale(env, quick=False):
    """rotate-certificate and rotate-target-certificate --all on 1,000 Tentacle processes (cached
    certificates, as in the scale section), under the same check loop as the smaller fleets; the
    key-generation bound is measured in the same run, before and after."""
    from . import scale
    size = QUICK_SCALE_SIZE if quick else SCALE_SIZE
    cache, thumbprints = scale.certificate_cache(env)
    bound_before = _keygen_bound(env, size)
    fleet = Fleet(env, size, tag=f"S{size}")
    server = scale.Server(env, fleet.server)
    fleet.server_thumbprint = server.thumbprint
    try:
        log(f"rotation-scale: starting {size} Tentacle processes (cached certificates)")
        t0 = time.perf_counter()
        targets = scale.start_tentacles(env, server, size, cache, thumbprints, f"R{size}")
        setup = time.perf_counter() - t0
        server.set_targets(targets)
        server.start()
        fleet.names = [n for n, _, _ in targets]
        tentacles = scale.tentacle_pids(env, fleet.names)  # rotations restart nothing
        fleet.cpu_pids = lambda: {"server": [server.pid], "tentacles": tentacles}
        # The first check makes every connection the Server keeps; the rotations start from there.
        t0 = time.perf_counter()
        if h := _healthy(fleet):
            raise BenchError(f"rotation-scale: the fleet is not healthy after set-up: {h}")
        first = time.perf_counter() - t0
        log(f"rotation-scale: {size} Tentacles up in {setup:.1f} s, first check {first:.1f} s")
        ours = {"server": _ours_server(fleet), "targets": _ours_targets(fleet)}
    finally:
        log("rotation-scale: stopping the fleet")
        fleet.stop()
    bound_after = _keygen_bound(env, size)
    bound = (bound_before["wall_s"] + bound_after["wall_s"]) / 2
    ours["both"] = _total([ours["server"], ours["targets"]])
    server_s, targets_s = ours["server"]["wall_s"], ours["targets"]["wall_s"]
    vs = ratio(targets_s, bound)
    return {
        "targets": size, "setup_s": setup, "first_check_s": first,
        "parallel": {"rotate-certificate": PARALLEL_SERVER, "rotate-target-certificate": PARALLEL_TARGETS},
        "loop_pause_ms": LOOP_PAUSE_S * 1e3,
        "keygen_bound": {"before": bound_before, "after": bound_after, "wall_s": bound},
        "ours": ours,
        "target": {
            **SCALE_TARGETS,
            "rotate_certificate_s": server_s,
            "rotate_certificate_met": ours["server"]["verified"] and server_s < SCALE_TARGETS["rotate_certificate_s_under"],
            "targets_vs_keygen": vs,
            "targets_met": ours["targets"]["verified"] and vs is not None and vs <= SCALE_TARGETS["targets_vs_keygen_at_most"],
            "failed_checks": ours["both"]["failed"], "checks": ours["both"]["checks"],
            "zero_failed_met": ours["both"]["failed"] == 0,
            "verified": ours["both"]["verified"],
        },
    }
