"""1. Command latency, whole process: our four everyday certificate commands
against openssl and GnuTLS certtool doing the same job on the same files.

Runs are interleaved: each round runs every command once, in a new random
order, so that load from other processes hits all of them alike.
"""

import random

from .common import BenchError, log, ratio, summary, timed_run, tool

PASSWORD = "BenchPassword1"
TRUST_TP = "0123456789ABCDEF0123456789ABCDEF01234567"

# The target: at most this median, and no slower than certtool.
TARGET_MS = 5.0


def _prepare(env):
    env.server_cmd("create-instance", "--instance", "Bench")
    env.tentacle_cmd("create-instance", "--instance", "Bench")
    env.tentacle_cmd("new-certificate", "--instance", "Bench")
    pfx = env.path("server.pfx")
    env.server_cmd("export-certificate", "--instance", "Bench", "--export-pfx", pfx, "--pfx-password", PASSWORD)
    openssl = tool("openssl")
    env.run([openssl, "pkcs12", "-in", pfx, "-passin", f"pass:{PASSWORD}", "-nokeys", "-clcerts", "-out",
             env.path("server-cert.pem")])
    env.run([openssl, "pkcs12", "-in", pfx, "-passin", f"pass:{PASSWORD}", "-nocerts", "-nodes", "-out",
             env.path("server-key.pem")])
    return pfx


def _commands(env, pfx):
    """(id, label, argv, reset argv or None, kind) for every timed command."""
    openssl, certtool = tool("openssl"), tool("certtool")
    cert, key = env.path("server-cert.pem"), env.path("server-key.pem")
    cmds = [
        ("true", "/bin/true (process start floor)", ["/bin/true"], None, "floor"),
        ("show-thumbprint", "Octopus.Server show-thumbprint",
         [env.server, "show-thumbprint", "--instance", "Bench"], None, "ours"),
        ("configure-trust", "Tentacle configure --trust T",
         [env.tentacle, "configure", "--instance", "Bench", "--trust", TRUST_TP],
         [env.tentacle, "configure", "--instance", "Bench", "--remove-trust", TRUST_TP], "ours"),
        ("export-certificate", "Octopus.Server export-certificate",
         [env.server, "export-certificate", "--instance", "Bench", "--export-pfx", env.path("export.pfx"),
          "--pfx-password", PASSWORD], None, "ours"),
        ("import-certificate", "Octopus.Server import-certificate",
         [env.server, "import-certificate", "--instance", "Bench", "--from-file", pfx, "--pfx-password", PASSWORD],
         None, "ours"),
        ("openssl-fingerprint", "openssl x509 -noout -fingerprint -sha1",
         [openssl, "x509", "-noout", "-fingerprint", "-sha1", "-in", cert], None, "openssl"),
        ("openssl-pkcs12-read", "openssl pkcs12 -noout (read the PFX)",
         [openssl, "pkcs12", "-in", pfx, "-passin", f"pass:{PASSWORD}", "-noout"], None, "openssl"),
        ("openssl-pkcs12-export", "openssl pkcs12 -export",
         [openssl, "pkcs12", "-export", "-in", cert, "-inkey", key, "-out", env.path("openssl-export.pfx"),
          "-passout", f"pass:{PASSWORD}"], None, "openssl"),
    ]
    if certtool:
        cmds += [
            ("certtool-fingerprint", "certtool --fingerprint --hash sha1",
             [certtool, "--fingerprint", "--hash", "sha1", "--infile", cert], None, "certtool"),
            ("certtool-p12-info", "certtool --p12-info (read the PFX)",
             [certtool, "--p12-info", "--inder", "--infile", pfx, "--password", PASSWORD], None, "certtool"),
            ("certtool-to-p12", "certtool --to-p12 (write a PFX)",
             [certtool, "--to-p12", "--load-certificate", cert, "--load-privkey", key, "--outder", "--outfile",
              env.path("certtool-export.pfx"), "--password", PASSWORD, "--p12-name", "Octopus Portal"], None,
             "certtool"),
        ]
    return cmds


# Which baselines each of our commands is compared with.
COMPARE = {
    "show-thumbprint": ("certtool-fingerprint", "openssl-fingerprint"),
    "configure-trust": ("certtool-fingerprint", "openssl-fingerprint"),
    "export-certificate": ("certtool-to-p12", "openssl-pkcs12-export"),
    "import-certificate": ("certtool-p12-info", "openssl-pkcs12-read"),
}


def run(env, rounds=100, warmup=5):
    log(f"latency: preparing instances and files")
    pfx = _prepare(env)
    cmds = _commands(env, pfx)
    for cid, _, argv, reset, _ in cmds:  # each must work before it is timed
        if reset:
            timed_run(reset, env.env, env.work)
        _, _, _, rc = timed_run(argv, env.env, env.work)
        if rc != 0:
            raise BenchError(f"latency: {' '.join(argv)} exited with {rc}")
    wall = {c[0]: [] for c in cmds}
    cpu = {c[0]: [] for c in cmds}
    log(f"latency: {rounds} interleaved rounds of {len(cmds)} commands")
    rng = random.Random(1)
    for r in range(warmup + rounds):
        order = list(cmds)
        rng.shuffle(order)
        for cid, _, argv, reset, _ in order:
            if reset:
                timed_run(reset, env.env, env.work)
            w, c, _, rc = timed_run(argv, env.env, env.work)
            if rc != 0:
                raise BenchError(f"latency: {' '.join(argv)} exited with {rc} in round {r}")
            if r >= warmup:
                wall[cid].append(w)
                cpu[cid].append(c)
    rows = []
    for cid, label, argv, _, kind in cmds:
        rows.append({"id": cid, "label": label, "kind": kind, "wall_ms": summary(wall[cid], 1e3),
                     "cpu_ms": summary(cpu[cid], 1e3)})
    by_id = {r["id"]: r for r in rows}
    for r in rows:
        if r["id"] not in COMPARE:
            continue
        certtool_id, openssl_id = COMPARE[r["id"]]
        med = r["wall_ms"]["median"]
        r["vs"] = {}
        r["vs_cpu"] = {}
        for b in (certtool_id, openssl_id):
            if b in by_id:
                r["vs"][b] = ratio(med, by_id[b]["wall_ms"]["median"])
                r["vs_cpu"][b] = ratio(r["cpu_ms"]["median"], by_id[b]["cpu_ms"]["median"])
        vs_certtool = r["vs"].get(certtool_id)
        r["target"] = {
            "median_ms_at_most": TARGET_MS,
            "no_slower_than": certtool_id,
            "met": med <= TARGET_MS and (vs_certtool is None or vs_certtool <= 1.0),
        }
    return {"rounds": rounds, "rows": rows}
