"""5. Library micro-benchmarks: runs the Google Benchmark binary and pairs
each of our benchmarks with its baseline (see bench/micro_bench.cc)."""

import json
import os
import subprocess

from .common import BenchError, log, ratio

# Ours -> its baseline (names as Google Benchmark reports them, without the statistic).
PAIRS = [
    ("Thumbprint/X509", "Baseline_X509_digest", "thumbprint of a parsed certificate (OpenSSL keeps its SHA-1)"),
    ("Thumbprint/FromDer", "Baseline_SHA1_of_DER", "thumbprint from the stored DER (decode + hash)"),
    ("TlsHandshake/Mutual", "Baseline_TwoRsaSignatures", "mutual-TLS handshake, both sides (no sockets)"),
    ("ReadPfx/compatible:0", "Baseline_PKCS12_parse/compatible:0", "PFX parse, modern (AES-256, PBKDF2)"),
    ("ReadPfx/compatible:1", "Baseline_PKCS12_parse/compatible:1", "PFX parse, compatible (3DES, SHA-1 MAC)"),
    ("WritePfx/compatible:0", "Baseline_PKCS12_create/compatible:0", "PFX write, modern"),
    ("WritePfx/compatible:1", "Baseline_PKCS12_create/compatible:1", "PFX write, compatible"),
    ("ConfigLoad/server200:0", "Baseline_ReadAndParse/server200:0", "config load, Tentacle (5 KB)"),
    ("ConfigLoad/server200:1", "Baseline_ReadAndParse/server200:1", "config load, Server with 200 targets"),
    ("ConfigSave/server200:0", "Baseline_WriteFsync/server200:0", "config save, Tentacle (atomic, durable)"),
    ("ConfigSave/server200:1", "Baseline_WriteFsync/server200:1", "config save, Server with 200 targets"),
    ("FleetConfig/Load", "Baseline_FleetParse", "config at 10,000 targets: load (the targets ready to use)"),
    ("FleetConfig/Save", "Baseline_FleetWriteAtomic", "config at 10,000 targets: save (atomic, durable)"),
    ("FleetConfig/UpdateOneTarget", "Baseline_FleetUpdateOneTarget",
     "config at 10,000 targets: update one target (update-target)"),
]


def run(env, repetitions=10, min_time=0.1):
    exe = os.path.join(env.build_dir, "bin", "octo_micro_bench")
    if not os.path.exists(exe):
        raise BenchError(f"{exe} is missing (configure with -DOCTO_BUILD_BENCH=ON)")
    out = env.path("micro.json")
    log(f"micro: Google Benchmark, {repetitions} repetitions each, randomly interleaved")
    p = subprocess.run([exe, f"--benchmark_repetitions={repetitions}", f"--benchmark_min_time={min_time}",
                        "--benchmark_enable_random_interleaving=true", "--benchmark_report_aggregates_only=true",
                        f"--benchmark_out={out}", "--benchmark_out_format=json"],
                       capture_output=True, text=True, env={**env.env, "TMPDIR": env.work}, timeout=600)
    if p.returncode != 0:
        raise BenchError(f"octo_micro_bench exited with {p.returncode}: {p.stderr[-500:]}")
    with open(out) as f:
        data = json.load(f)
    stats = {}
    for b in data["benchmarks"]:
        if b.get("run_type") != "aggregate":
            continue
        name, agg = b["run_name"], b["aggregate_name"]
        unit = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b.get("time_unit", "ns")]
        stats.setdefault(name, {})[agg] = {"real_us": b["real_time"] * unit, "cpu_us": b["cpu_time"] * unit}
    rows = []
    for ours, base, label in PAIRS:
        if ours not in stats or base not in stats:
            continue
        o, b = stats[ours], stats[base]
        rows.append({
            "benchmark": ours, "baseline": base, "label": label,
            "cpu_us": {k: o[k]["cpu_us"] for k in ("median", "min", "max")},
            "baseline_cpu_us": {k: b[k]["cpu_us"] for k in ("median", "min", "max")},
            "real_us": {k: o[k]["real_us"] for k in ("median", "min", "max")},
            "baseline_real_us": {k: b[k]["real_us"] for k in ("median", "min", "max")},
            "ratio": ratio(o["median"]["cpu_us"], b["median"]["cpu_us"]),
            "ratio_real": ratio(o["median"]["real_us"], b["median"]["real_us"]),
        })
    return {"repetitions": repetitions, "context": data.get("context", {}), "rows": rows}
