"""The outputs: results.json (everything), results.md (the tables) and
health-check-scaling.png (health-check time against the number of targets)."""

import json
import os


def _f(x, digits=1):
    if x is None:
        return "n/a"
    return f"{x:.{digits}f}"


def _mmm(s, digits=1):
    """"median (min-max)" of a summary dict."""
    if not s or s.get("median") is None:
        return "n/a"
    return f"{_f(s['median'], digits)} ({_f(s['min'], digits)}–{_f(s['max'], digits)})"


def _met(flag):
    return "**met**" if flag else "**not met**"


def _handshake_ratio(results):
    """CPU of one whole mutual-TLS handshake over its two signatures (micro-benchmark), or None."""
    for r in (results.get("micro") or {}).get("rows", []):
        if r["benchmark"] == "TlsHandshake/Mutual":
            return r.get("ratio")
    return None


def headline(results):
    """(target, figure, met) rows for every target of the issue."""
    rows = []
    lat = results.get("latency")
    if lat:
        by = {r["id"]: r for r in lat["rows"]}
        for r in lat["rows"]:
            if "target" not in r:
                continue
            t = r["target"]
            vs = r["vs"].get(t["no_slower_than"])
            vs_cpu = r.get("vs_cpu", {}).get(t["no_slower_than"])
            rows.append((f"{r['label']}: median ≤ {t['median_ms_at_most']:g} ms and no slower than "
                         f"`{by[t['no_slower_than']]['label']}`" if t["no_slower_than"] in by else r["label"],
                         f"{_f(r['wall_ms']['median'], 2)} ms; × {_f(vs, 2)} certtool (CPU time: "
                         f"{_f(r['cpu_ms']['median'], 2)} ms, × {_f(vs_cpu, 2)})", t["met"]))
    gen = results.get("keygen")
    if gen:
        t = gen["target"]
        ci = t.get("interval") or [None, None]
        rows.append(("`Octopus.Server new-certificate` within 10% of `openssl genpkey` RSA 2048",
                     f"× {_f(t['ratio'], 2)} genpkey (95% interval {_f(ci[0], 2)}–{_f(ci[1], 2)}; "
                     f"CPU time × {_f(t.get('cpu_ratio'), 2)})", t["met"]))
    h = results.get("health")
    if h:
        t = h["target"]
        hs = _handshake_ratio(results)
        ceiling = f" (OpenSSL 3.0's own handshake caps any program at {_f(100 / hs, 0)}%)" if hs else ""
        rows.append(("health checks at 100 targets ≥ 70% of the RSA-2048 signature bound",
                     f"{_f(100 * (t['fraction_at_100'] or 0), 0)}% of the bound{ceiling}", t["met"]))
        g = h.get("per_target_growth_100_to_200")
        rows.append(("time per target does not grow with the number of targets (200 vs 100)",
                     f"× {_f(g, 2)} per target from 100 to 200", t["per_target_time_flat"]))
    ro = results.get("rotation")
    if ro:
        t = ro["target"]
        by = {r["targets"]: r for r in ro["rows"] if "error" not in r}
        if 100 in by:
            sp = by[100]["speedup"]
            rows.append((f"rotation at 100 Tentacles ≥ {t['speedup_at_100_at_least']:g}× faster than the manual "
                         "procedure (both certificates)",
                         f"× {_f(sp['both'], 1)} (the Server's × {_f(sp['server'], 1)}, the Tentacles' "
                         f"× {_f(sp['targets'], 1)})", t["met"]))
        rows.append(("no failed health check during our rotations (checks every 200 ms)",
                     f"{t['ours_failed_checks']} failed of {t['ours_checks']} checks "
                     f"({', '.join(str(s) for s in by)} Tentacles)", t["zero_failed_met"]))
    sc = results.get("scale")
    if sc:
        t = sc["target"]
        rows.append((f"first sweep at 1,000 Tentacle processes ≥ {100 * t['first_sweep_share_at_1000']:.0f}% of the "
                     "in-process handshake ceiling",
                     f"{_f(100 * (t['first_share_at_1000'] or 0), 0)}% of the ceiling", t["first_met"]))
        rows.append((f"pooled sweeps at 1,000 Tentacle processes ≥ {t['pooled_targets_per_s_at_1000']:,} targets/s",
                     f"{_f(t['pooled_targets_per_s_1000'], 0)} targets/s", t["pooled_met"]))
        rows.append((f"pooled time per target flat from 1,000 to 10,000 agents (within × {t['flat_1000_to_10000']:g})",
                     f"× {_f(t['flat_ratio'], 2)}", t["flat_met"]))
        rows.append((f"Server memory ≤ {t['kib_per_pooled_target']} KiB per kept connection",
                     f"{_f(t['kib_per_pooled_target_at_largest'], 1)} KiB", t["memory_met"]))
    rs = results.get("rotation_scale")
    if rs:
        t = rs["target"]
        rows.append((f"`rotate-certificate` at {rs['targets']:,} Tentacles under {t['rotate_certificate_s_under']:g} s",
                     f"{_f(t['rotate_certificate_s'], 2)} s", t["rotate_certificate_met"]))
        rows.append((f"`rotate-target-certificate --all` at {rs['targets']:,} Tentacles within "
                     f"× {t['targets_vs_keygen_at_most']:g} of {rs['targets']:,} RSA-2048 key generations",
                     f"× {_f(t['targets_vs_keygen'], 2)} ({_f(rs['ours']['targets']['wall_s'], 1)} s against "
                     f"{_f(rs['keygen_bound']['wall_s'], 1)} s)", t["targets_met"]))
        rows.append((f"no failed health check during both rotations at {rs['targets']:,} Tentacles",
                     f"{t['failed_checks']} failed of {t['checks']} checks", t["zero_failed_met"]))
    m = results.get("memory")
    if m:
        rows.append(("Tentacle agent under 10 MB idle", f"{_f(m['agent']['idle_mib'], 1)} MiB", m["target"]["met"]))
    return rows


def _failed(op):
    lp = op["loop"]
    return f"{lp['failed']} ({lp['unhealthy']} / {lp['failed_rounds']} of {lp['checks']})"


def _rotation_md(ro):
    p = ro["parallel"]
    out = ["", "## 6. Certificate rotation: one command against the manual procedure", "",
           f"Same fleet, same run, {ro['order']}. Ours: `rotate-certificate --parallel {p['rotate-certificate']}` "
           f"and `rotate-target-certificate --all --parallel {p['rotate-target-certificate']}` (their defaults); "
           "manual: one Tentacle after the other. Failed checks: of a loop that health-checks every target "
           f"through the running Server, pausing {ro['loop_pause_ms']:.0f} ms after each round; unhealthy results "
           "/ failed rounds (the Server not running or not answering) of the checks made. Verified: after the "
           "rotation one health check of every target passed, and the certificates presented, trusted and "
           "pinned are the new ones only.", "",
           "| targets | method | the Server's certificate: s | ms per target | failed checks | "
           "every Tentacle's certificate: s | ms per target | failed checks | both: s | processes restarted | "
           "verified |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in ro["rows"]:
        if "error" in r:
            out.append(f"| {r['targets']} | **failed:** {r['error']} | | | | | | | | | |")
            continue
        for label, key in (("ours", "ours"), ("manual", "manual")):
            m = r[key]
            sv, tg, both = m["server"], m["targets"], m["both"]
            restarted = sv["processes_restarted"] + tg["processes_restarted"]
            out.append(f"| {r['targets']} | {label} | {_f(sv['wall_s'], 2)} | {_f(sv['ms_per_target'], 1)} | "
                       f"{_failed(sv)} | {_f(tg['wall_s'], 2)} | {_f(tg['ms_per_target'], 1)} | {_failed(tg)} | "
                       f"{_f(both['wall_s'], 2)} | {restarted} | {'yes' if both['verified'] else '**no**'} |")
    done = [r for r in ro["rows"] if "error" not in r]
    out += ["", "| targets | × faster, the Server's certificate | × faster, the Tentacles' | × faster, both |",
            "|---|---|---|---|"]
    for r in done:
        sp = r["speedup"]
        out.append(f"| {r['targets']} | {_f(sp['server'], 1)} | {_f(sp['targets'], 1)} | **{_f(sp['both'], 1)}** |")
    out += ["", f"Setting up each fleet (before the rotations; {done[0]['setup']['workers'] if done else 2} "
            "Tentacles made at once):", "",
            "| targets | set-up s | s per Tentacle | processes | RSS MiB, all | PSS MiB, all |", "|---|---|---|---|---|---|"]
    for r in done:
        su = r["setup"]
        out.append(f"| {r['targets']} | {_f(su['wall_s'], 1)} | {_f(su['s_per_tentacle'], 2)} | {su['processes']} | "
                   f"{_f(su['rss_mib'], 0)} | {_f(su['pss_mib'], 0)} |")
    reasons = []
    for r in done:
        for key, label in (("ours", "ours"), ("manual", "manual")):
            for op, what in (("server", "the Server's certificate"), ("targets", "the Tentacles' certificates")):
                o = r[key][op]
                if o["problems"]:
                    reasons.append(f"- {r['targets']} targets, {label}, {what}: **not verified**: "
                                   f"{'; '.join(o['problems'])}")
                for x in o["loop"]["reasons"][:3]:
                    reasons.append(f"- {r['targets']} targets, {label}, {what}: {x['count']}× {x['reason']}")
    if reasons:
        out += ["", "What the failed checks said (the most frequent; URL and T stand for a target's address and a "
                "thumbprint; cut at 200 characters):", ""] + reasons
    return out


def _scale_md(sc):
    c = sc["ceiling"]
    out = ["", "## 7. Fleet scale: health-check sweeps of 100 to 10,000 targets", "",
           f"One Server (2 cores shared with every Tentacle) checks every target: a first sweep (a new mutual-TLS "
           f"handshake each, kept afterwards), then {sc['sweeps']} sweeps over the kept connections. Wall time of "
           f"`Octopus.Server health-check --format json`, start to exit. Ceiling: the micro-benchmark's whole "
           f"handshake, both sides, {_f(c['handshake_cpu_us']['median'], 0)} µs CPU, so at most "
           f"{_f(c['handshakes_per_s'], 0)} handshakes/s on {c['cores']} cores. Certificates: "
           f"{sc['distinct_certificates']:,} distinct RSA-2048 keys, cached between runs.", "",
           "| fleet | targets | first sweep, s | handshakes/s (share of ceiling) | pooled sweep, s (median, min–max) "
           "| pooled targets/s | µs per target | Server KiB per kept connection | Server threads, descriptors |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in sc["rows"]:
        out.append(f"| {r['kind']} | {r['targets']:,} | {_f(r['first_sweep_s'], 2)} | "
                   f"{_f(r['first_handshakes_per_s'], 0)} ({_f(100 * (r['first_share_of_ceiling'] or 0), 0)}%) | "
                   f"{_mmm(r['pooled_sweep_s'], 3)} | {_f(r['pooled_targets_per_s']['median'], 0)} | "
                   f"{_f(r['pooled_us_per_target']['median'], 1)} | {_f(r['kib_per_pooled_target'], 1)} | "
                   f"{r['server_threads']}, {r['server_descriptors']} |")
    withcpu = [r for r in sc["rows"] if r.get("first_sweep_cpu")]
    if withcpu:
        out += ["", "Where the first sweep's CPU went (from /proc: the machine's busy time on every core, the "
                "Server's process, the Tentacles' processes; the rest is the health-check command, the kernel's "
                "network work and anything else), per check, against the handshake's own CPU:", "",
                "| fleet | targets | machine busy | busy µs per check | Server | Tentacles | rest | "
                "handshake (ceiling) | busy × handshake |", "|---|---|---|---|---|---|---|---|---|"]
        for r in withcpu:
            c = r["first_sweep_cpu"]
            u = c["us_per_check"]
            out.append(f"| {r['kind']} | {r['targets']:,} | {_f(100 * (c['busy_share'] or 0), 0)}% | "
                       f"{_f(u['busy'], 0)} | {_f(u['server'], 0)} | {_f(u['agents'], 0)} | {_f(u['other'], 0)} | "
                       f"{_f(u['handshake_ceiling'], 0)} | {_f(c['busy_vs_handshake'], 2)} |")
    inproc = [r for r in sc["rows"] if r["kind"] == "in-process"]
    if inproc:
        out += ["", "In-process agents (bench/fleet_host.cc): " + "; ".join(
            f"{r['targets']:,} agents in {len(r['hosts'])} process(es), {r['agent_threads']} threads in all, "
            f"{_f(r['agent_kib_each'], 1)} KiB resident per agent" for r in inproc) + "."]
    return out


def _rotation_scale_md(rs):
    p, kb = rs["parallel"], rs["keygen_bound"]
    o = rs["ours"]
    out = ["", f"## 8. Certificate rotation at {rs['targets']:,} Tentacles", "",
           f"{rs['targets']:,} Tentacle processes (cached certificates, as in section 7; set up in "
           f"{_f(rs['setup_s'], 1)} s, first check of all {_f(rs['first_check_s'], 2)} s), then "
           f"`rotate-certificate --parallel {p['rotate-certificate']}` and `rotate-target-certificate --all "
           f"--parallel {p['rotate-target-certificate']}` (their defaults), under the loop of section 6 (every "
           f"target checked through the running Server, pausing {rs['loop_pause_ms']:.0f} ms after each round). "
           f"The bound: {kb['before']['keys']:,} RSA-2048 key generations alone on {kb['before']['threads']} "
           f"threads, measured before ({_f(kb['before']['wall_s'], 1)} s, {_f(kb['before']['cpu_ms_per_key'], 0)} "
           f"ms CPU each) and after ({_f(kb['after']['wall_s'], 1)} s) the fleet; their mean is the baseline.", "",
           "| rotation | wall s | ms per target | failed checks (unhealthy / failed rounds of checks) | rounds | "
           "longest gap between rounds, s | verified |", "|---|---|---|---|---|---|---|"]
    for label, key in (("`rotate-certificate`", "server"), ("`rotate-target-certificate --all`", "targets")):
        op = o[key]
        out.append(f"| {label} | {_f(op['wall_s'], 2)} | {_f(op['ms_per_target'], 2)} | {_failed(op)} | "
                   f"{op['loop']['rounds']} | {_f(op['loop']['max_gap_s'], 2)} | "
                   f"{'yes' if op['verified'] else '**no**: ' + '; '.join(op['problems'])} |")
    withcpu = [(label, o[key]) for label, key in (("`rotate-certificate`", "server"),
                                                  ("`rotate-target-certificate --all`", "targets"))
               if o[key].get("cpu")]
    if withcpu:
        out += ["", "Where the machine's CPU went during each rotation (from /proc; the Server's process runs "
                "the loop's checks, the Tentacles' processes make their keys; the rest is the rotation "
                "command, the loop's commands and the kernel):", "",
                "| rotation | machine busy | busy s | Server s | Tentacles s | Tentacles ms per target | rest s |",
                "|---|---|---|---|---|---|---|"]
        for label, op in withcpu:
            c = op["cpu"]
            out.append(f"| {label} | {_f(100 * (c['busy_share'] or 0), 0)}% | {_f(c['machine_busy_s'], 0)} | "
                       f"{_f(c['server_s'], 0)} | {_f(c['tentacles_s'], 0)} | {_f(c['tentacles_ms_per_target'], 0)} | "
                       f"{_f(c['rest_s'], 0)} |")
    d = o["targets"].get("detail") or {}
    if d:
        out += ["", f"One Tentacle's rotation (new key on the Tentacle, proved, pinned, switched): median "
                f"{_f(d['one_target_ms_median'], 0)} ms, longest {_f(d['one_target_ms_max'], 0)} ms; "
                f"× {_f(rs['target']['targets_vs_keygen'], 2)} the key-generation bound in all."]
    return out


def markdown(results, plot_name=None):
    meta = results["meta"]
    out = ["# Benchmark results", ""]
    out.append(f"Run {meta['started']} on {meta['machine']} ({meta['cores']} cores), commit `{meta['commit']}`, "
               f"{meta['openssl']}, {meta['certtool']}. Load average {meta['load_before']} before and "
               f"{meta['load_after']} after; {meta['duration_s']:.0f} s in all. Every figure: median (min–max) "
               "over the runs; every ratio: our median over the baseline's median, both measured in this run.")
    earlier = {}
    for key, run in (results.get("section_runs") or {}).items():
        if run and run.get("started") != meta["started"] and key != "fleet":  # "fleet": the health section's
            earlier.setdefault((run.get("started"), run.get("machine"), run.get("cores"), run.get("commit"),
                                run.get("load_before"), run.get("load_after")), []).append(key)
    for (started, machine, cores, commit, lb, la), keys in sorted(earlier.items(), key=lambda kv: str(kv[0])):
        out += ["", f"This run measured {', '.join(meta['sections'])} only; {', '.join(keys)} are from the run of "
                f"{started} on {machine} ({cores} cores), commit `{commit}` (load average {lb} before and {la} "
                "after), kept as they were: compare figures of different runs with care."]
    out += ["", "## Targets", "", "| target | figure | |", "|---|---|---|"]
    for target, figure, met in headline(results):
        out.append(f"| {target} | {figure} | {_met(met)} |")

    lat = results.get("latency")
    if lat:
        out += ["", f"## 1. Command latency (whole process, {lat['rounds']} interleaved rounds)", "",
                "| command | wall ms | CPU ms | × certtool | × certtool, CPU | × openssl | × openssl, CPU |",
                "|---|---|---|---|---|---|---|"]
        for r in lat["rows"]:
            vals = list(r.get("vs", {}).values())
            cpus = list(r.get("vs_cpu", {}).values())

            def cell(xs, i):
                return _f(xs[i], 2) if len(xs) > i else ""
            out.append(f"| {r['label']} | {_mmm(r['wall_ms'], 2)} | {_f(r['cpu_ms']['median'], 2)} | "
                       f"{cell(vals, 0)} | {cell(cpus, 0)} | {cell(vals, 1)} | {cell(cpus, 1)} |")
    gen = results.get("keygen")
    if gen:
        out += ["", f"## 2. Certificate generation ({gen['rounds']} interleaved rounds)", "",
                "| command | wall ms | CPU ms | × genpkey (95% interval) | × genpkey, CPU |", "|---|---|---|---|---|"]
        for r in gen["rows"]:
            ci = r.get("vs_genpkey_interval") or [None, None]
            out.append(f"| {r['label']} | {_mmm(r['wall_ms'], 0)} | {_f(r['cpu_ms']['median'], 0)} | "
                       f"{_f(r['vs_genpkey'], 2)} ({_f(ci[0], 2)}–{_f(ci[1], 2)}) | {_f(r.get('vs_genpkey_cpu'), 2)} |")
    h = results.get("health")
    if h:
        b = h["rsa2048"]
        out += ["", "## 3. Health-check throughput", "",
                f"`openssl speed rsa2048` on {b['before']['cores']} cores: {b['before']['sign_per_s']:.0f} "
                f"signatures/s before the checks, {b['after']['sign_per_s']:.0f} after; the bound is half their "
                f"mean, **{b['bound_handshakes_per_s']:.0f} handshakes/s** (one signature on each side of each "
                "handshake).", "",
                "| targets | runs | total s | targets/s | ms per target | one check's ms | × bound | unhealthy |",
                "|---|---|---|---|---|---|---|---|"]
        for r in h["rows"]:
            out.append(f"| {r['targets']} | {r['runs']} | {_mmm(r['wall_s'], 3)} | {_f(r['targets_per_s']['median'], 0)} | "
                       f"{_mmm(r['ms_per_target'], 2)} | {_mmm(r['check_elapsed_ms'], 1)} | "
                       f"{_f(r['fraction_of_bound'], 2)} | {r['unhealthy']} |")
        c = h.get("cpu")
        if c:
            out += ["", f"CPU per check, from /proc: {_f(c['server_ms_per_check'], 2)} ms in the Server, "
                    f"{_f(c['agents_ms_per_check'], 2)} ms in the Tentacle; one RSA-2048 signature takes "
                    f"{_f(c['signature_ms'], 2)} ms, so the two signatures are {_f(100 * c['signatures_share'], 0)}% "
                    "of the CPU a check costs."]
        hs = _handshake_ratio(results)
        by = {r["targets"]: r for r in h["rows"]}
        if hs and 100 in by and by[100]["fraction_of_bound"]:
            f = by[100]["fraction_of_bound"]
            out += ["", f"OpenSSL's own mutual-TLS handshake (section 5, no sockets, no threads) costs {_f(hs, 2)}× "
                    f"its two signatures, so no program using this OpenSSL can pass {_f(100 / hs, 0)}% of the bound; "
                    f"at 100 targets the Server reaches {_f(100 * f, 0)}% of the bound, {_f(100 * f * hs, 0)}% of "
                    "that ceiling."]
        if plot_name:
            out += ["", f"![health-check time against the number of targets]({plot_name})"]
    m = results.get("memory")
    if m:
        a, s = m["agent"], m["server"]
        base = m["baseline_s_server_idle_mib"]
        out += ["", "## 4. Memory (resident set, MiB)", "",
                "| process | state | RSS MiB | × s_server idle |", "|---|---|---|---|",
                f"| `openssl s_server` (baseline, same certificate) | idle | {_f(base, 1)} | 1.00 |",
                f"| Tentacle agent | idle, fresh | {_f(a['idle_mib'], 1)} | {_f(a['idle_vs_s_server'], 2)} |",
                f"| Tentacle agent | idle, median of all {a['agents']} agents | "
                f"{_f(a['idle_all_agents_median_mib'], 1)} | {_f(a['idle_all_agents_median_mib'] / base, 2)} |",
                f"| Tentacle agent | {a['concurrent_checks']} connections open at once ({a['threads_with_all_open']} "
                f"threads) | {_f(a['open_connections_rss_mib'], 1)} | {_f(a['open_connections_rss_mib'] / base, 2)} |",
                f"| Tentacle agent | peak while serving {a['concurrent_checks']} concurrent checks | "
                f"{_f(a['peak_mib'], 1)} | {_f(a['peak_mib'] / base, 2)} |",
                f"| Tentacle agent | idle again after that | {_f(a['idle_after_load_mib'], 1)} | "
                f"{_f(a['idle_after_load_mib'] / base, 2)} |",
                f"| Octopus Server service | idle, fresh ({s['targets']} targets) | {_f(s['idle_mib'], 1)} | "
                f"{_f(s['idle_mib'] / base, 2)} |",
                f"| Octopus Server service | peak while checking all {s['targets']} targets | "
                f"{_f(s['peak_during_check_mib'], 1)} | {_f(s['vs_s_server'], 2)} |",
                "", f"Per concurrent connection: {_f(a['per_connection_kib'], 0)} KiB."]
        d = a.get("idle_detail_kib") or {}
        if d:
            out += ["", f"The idle agent's {_f(d.get('rss', 0) / 1024, 1)} MiB: {_f(d.get('anon', 0) / 1024, 1)} MiB "
                    f"its own (heap, stacks, library data), {_f(d.get('file', 0) / 1024, 1)} MiB program and "
                    f"shared-library pages that every agent shares; proportional share (PSS) "
                    f"{_f(d.get('pss', 0) / 1024, 1)} MiB."]
    mi = results.get("micro")
    if mi:
        out += ["", f"## 5. Library micro-benchmarks (Google Benchmark, {mi['repetitions']} repetitions)", "",
                "| operation | ours, CPU µs | baseline | baseline, CPU µs | × baseline (CPU) | × baseline (wall) |",
                "|---|---|---|---|---|---|"]
        for r in mi["rows"]:
            out.append(f"| {r['label']} | {_mmm(r['cpu_us'], 1)} | `{r['baseline']}` | "
                       f"{_mmm(r['baseline_cpu_us'], 1)} | {_f(r['ratio'], 2)} | {_f(r['ratio_real'], 2)} |")
    ro = results.get("rotation")
    if ro:
        out += _rotation_md(ro)
    sc = results.get("scale")
    if sc:
        out += _scale_md(sc)
    rs = results.get("rotation_scale")
    if rs:
        out += _rotation_scale_md(rs)
    for err in results.get("errors", []):
        out += ["", f"**Section {err['section']} failed:** {err['error']}"]
    return "\n".join(out) + "\n"


def plot(results, path):
    """Writes the PNG; returns False (and writes nothing) without matplotlib."""
    h = results.get("health")
    if not h:
        return False
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = h["rows"]
    n = [r["targets"] for r in rows]
    med = [r["wall_s"]["median"] for r in rows]
    lo = [r["wall_s"]["median"] - r["wall_s"]["min"] for r in rows]
    hi = [r["wall_s"]["max"] - r["wall_s"]["median"] for r in rows]
    bound = h["rsa2048"]["bound_handshakes_per_s"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax1.errorbar(n, med, yerr=[lo, hi], marker="o", capsize=4, label="health-check, wall (median, min–max)")
    ax1.plot(n, [x / bound for x in n], "--", color="grey", label=f"RSA-2048 bound ({bound:.0f} handshakes/s)")
    ax1.set_xlabel("targets (Tentacle processes)")
    ax1.set_ylabel("seconds")
    ax1.set_title("Total time of one health check of N targets")
    ax1.legend(fontsize=8)
    ax1.grid(alpha=0.3)
    per = [r["ms_per_target"]["median"] for r in rows]
    ax2.plot(n, per, marker="o", label="wall time / targets (median)")
    ax2.axhline(1e3 / bound, linestyle="--", color="grey", label="RSA-2048 bound")
    hs = next((r for r in (results.get("micro") or {}).get("rows", []) if r["benchmark"] == "TlsHandshake/Mutual"), None)
    if hs and hs.get("ratio"):
        # The handshake costs `ratio` times its two signatures (micro-benchmark), so
        # OpenSSL alone could do at most bound / ratio handshakes per second.
        per = hs["ratio"] * 1e3 / bound
        ax1.plot(n, [x * per / 1e3 for x in n], ":", color="tab:red",
                 label=f"OpenSSL's handshake alone ({hs['ratio']:.2f}x the signatures)")
        ax1.legend(fontsize=8)
        ax2.axhline(per, linestyle=":", color="tab:red", label="OpenSSL handshake alone")
    ax2.set_xscale("log")
    ax2.set_xlabel("targets (log scale)")
    ax2.set_ylabel("ms per target")
    ax2.set_title("Time per target")
    ax2.set_ylim(bottom=0)
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


# The keys of results.json each section writes (the health section sets up the fleet and measures memory too).
SECTION_KEYS = {"micro": ("micro",), "latency": ("latency",), "keygen": ("keygen",),
                "health": ("fleet", "health", "memory"), "rotation": ("rotation",), "scale": ("scale",),
                "rotation-scale": ("rotation_scale",)}
RUN_FIELDS = ("started", "machine", "cores", "commit", "load_before", "load_after", "duration_s", "quick")


def _section_of(key):
    return next((s for s, keys in SECTION_KEYS.items() if key in keys), key)


def merge(old, new):
    """`new` with the sections of `old` (the results.json an earlier run left in the same directory)
    that this run did not run, kept as they were; "section_runs" says which run each section's
    figures come from. A smoke test's results are not mixed with real ones."""
    ran = set(new["meta"]["sections"])
    this_run = {k: new["meta"].get(k) for k in RUN_FIELDS}
    runs = {key: this_run for s in ran for key in SECTION_KEYS.get(s, (s,)) if key in new}
    if old and bool(old.get("meta", {}).get("quick")) == bool(new["meta"].get("quick")):
        # Results written before section_runs existed come from one run: their meta's.
        old_runs = old.get("section_runs") or {}
        old_run = {k: old["meta"].get(k) for k in RUN_FIELDS}
        for key, value in old.items():
            if key in ("meta", "errors", "section_runs") or _section_of(key) in ran:
                continue
            new[key] = value
            runs[key] = old_runs.get(key, old_run)
        new["errors"] = [e for e in old.get("errors", []) if _section_of(e["section"]) not in ran] + new["errors"]
    new["section_runs"] = runs
    return new


def write(results, out_dir, replot=True):
    """Writes the files; with replot False an existing plot is kept as it is (its section did not run)."""
    os.makedirs(out_dir, exist_ok=True)
    png = "health-check-scaling.png"
    if replot or not os.path.exists(os.path.join(out_dir, png)):
        have_plot = plot(results, os.path.join(out_dir, png))
    else:
        have_plot = True
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    md = markdown(results, png if have_plot else None)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(md)
    return md
