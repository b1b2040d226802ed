"""2. Certificate generation: new-certificate against the openssl commands a
user would type for the same result, and against RSA-2048 key generation
alone (`openssl genpkey`), the lower bound of any of them.

RSA key generation time varies a lot from run to run (it searches for
primes at random), so runs are interleaved and many: compare medians.
"""

import random

from .common import BenchError, log, ratio, ratio_interval, summary, timed_run, tool

PASSWORD = "BenchPassword1"
TARGET_RATIO = 1.10  # new-certificate within 10% of genpkey


def run(env, rounds=40):
    openssl = tool("openssl")
    # The latency section created these instances; make sure they exist.
    if env.server_cmd("show-thumbprint", "--instance", "Bench", check=False)[0] != 0:
        env.server_cmd("create-instance", "--instance", "Bench")
    if env.tentacle_cmd("show-thumbprint", "--instance", "Bench", check=False)[0] != 0:
        env.tentacle_cmd("create-instance", "--instance", "Bench", check=False)
        env.tentacle_cmd("new-certificate", "--instance", "Bench")
    key, cert = env.path("gen-key.pem"), env.path("gen-cert.pem")
    cmds = [
        ("genpkey", "openssl genpkey RSA 2048 (key only: the lower bound)",
         [[openssl, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key]]),
        ("openssl-req-pkcs12", "openssl req -x509 -newkey rsa:2048 + openssl pkcs12 -export",
         [[openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-subj",
           "/CN=Octopus Portal", "-days", "36500", "-sha256"],
          [openssl, "pkcs12", "-export", "-in", cert, "-inkey", key, "-out", env.path("gen-openssl.pfx"),
           "-passout", f"pass:{PASSWORD}"]]),
        ("server-new-certificate", "Octopus.Server new-certificate --export-pfx",
         [[env.server, "new-certificate", "--instance", "Bench", "--export-pfx", env.path("gen-ours.pfx"),
           "--pfx-password", PASSWORD]]),
        ("tentacle-new-certificate", "Tentacle new-certificate (generate and install)",
         [[env.tentacle, "new-certificate", "--instance", "Bench"]]),
    ]
    samples = {c[0]: [] for c in cmds}
    cpu = {c[0]: [] for c in cmds}
    log(f"keygen: {rounds} interleaved rounds of {len(cmds)} generators")
    rng = random.Random(2)
    for r in range(rounds + 1):  # round 0 is a warm-up
        order = list(cmds)
        rng.shuffle(order)
        for cid, _, steps in order:
            total = total_cpu = 0.0
            for argv in steps:
                w, c, _, rc = timed_run(argv, env.env, env.work)
                if rc != 0:
                    raise BenchError(f"keygen: {' '.join(argv)} exited with {rc}")
                total += w
                total_cpu += c
            if r > 0:
                samples[cid].append(total)
                cpu[cid].append(total_cpu)
    rows = [{"id": cid, "label": label, "wall_ms": summary(samples[cid], 1e3), "cpu_ms": summary(cpu[cid], 1e3)}
            for cid, label, _ in cmds]
    base = rows[0]["wall_ms"]["median"]
    base_cpu = rows[0]["cpu_ms"]["median"]
    for row in rows:
        row["vs_genpkey"] = ratio(row["wall_ms"]["median"], base)
        row["vs_genpkey_interval"] = ratio_interval(samples[row["id"]], samples["genpkey"])
        row["vs_genpkey_cpu"] = ratio(row["cpu_ms"]["median"], base_cpu)
    ours = next(r for r in rows if r["id"] == "server-new-certificate")
    target = {"at_most_ratio_to_genpkey": TARGET_RATIO, "ratio": ours["vs_genpkey"],
              "interval": ours["vs_genpkey_interval"], "cpu_ratio": ours["vs_genpkey_cpu"],
              "met": ours["vs_genpkey"] is not None and ours["vs_genpkey"] <= TARGET_RATIO}
    return {"rounds": rounds, "rows": rows, "target": target}
