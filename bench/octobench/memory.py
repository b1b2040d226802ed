"""4. Memory: resident set sizes read from /proc (VmRSS now, VmHWM the peak).

- The Tentacle agent idle, fresh from `service --start` and again after the
  load below, against `openssl s_server` holding the same certificate and
  key (the baseline: the smallest TLS listener users know).
- The agent while serving 100 concurrent health checks: 100 clients (threads
  of this script, presenting the Server's certificate) each complete the
  handshake and the identification, wait until all 100 are connected, then
  send the health request. The agent's peak is reset first (clear_refs).
- The Server service idle and during checks of all 200 targets.
"""

import os
import socket
import ssl
import struct
import subprocess
import threading
import time

from .common import BenchError, log, memory_detail, ratio, reset_peak_rss, rss_kib, thread_count, tool

PASSWORD = "BenchPassword1"
TARGET_IDLE_MB = 10.0
CONCURRENT = 100


def _pem_pair(env, product_cmd, instance, stem):
    """Exports an instance's certificate and key as PEM files (mode 0600)."""
    pfx = env.path(f"{stem}.pfx")
    product_cmd("export-certificate", "--instance", instance, "--export-pfx", pfx, "--pfx-password", PASSWORD)
    cert, key = env.path(f"{stem}-cert.pem"), env.path(f"{stem}-key.pem")
    openssl = tool("openssl")
    env.run([openssl, "pkcs12", "-in", pfx, "-passin", f"pass:{PASSWORD}", "-nokeys", "-clcerts", "-out", cert])
    env.run([openssl, "pkcs12", "-in", pfx, "-passin", f"pass:{PASSWORD}", "-nocerts", "-nodes", "-out", key])
    os.chmod(key, 0o600)
    return cert, key


def _s_server_idle_rss(env, cert, key, port):
    """Idle RSS of `openssl s_server` with the same certificate (the baseline)."""
    p = subprocess.Popen([tool("openssl"), "s_server", "-quiet", "-accept", f"127.0.0.1:{port}", "-cert", cert,
                          "-key", key, "-verify", "1"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=env.env)
    env.remember_pid(p.pid)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # wait until it listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(0.3)
        return rss_kib(p.pid)[0]
    finally:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def _concurrent_checks(port, cert, key, pid, n=CONCURRENT):
    """Holds `n` identified connections open at once, then asks each for health.

    Returns (peak RSS KiB, RSS KiB with all connections open, peak threads, healthy answers).
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the benchmark is not checking the pinning
    ctx.load_cert_chain(cert, key)
    barrier = threading.Barrier(n + 1, timeout=120)
    healthy = []
    errors = []
    lock = threading.Lock()

    def client():
        s = None
        try:
            raw = socket.create_connection(("127.0.0.1", port), timeout=60)
            s = ctx.wrap_socket(raw)
            s.sendall(b"MX-CLIENT 1.0\r\n\r\n")
            got = b""
            while not got.endswith(b"\r\n\r\n"):
                got += _recv_exact(s, 1)
            barrier.wait()  # all n connections are open and identified
            barrier.wait()  # the RSS has been read
            body = b'{"Method":"Health"}'
            s.sendall(struct.pack(">I", len(body)) + body)
            (length,) = struct.unpack(">I", _recv_exact(s, 4))
            answer = _recv_exact(s, length)
            with lock:
                healthy.append(b'"Healthy"' in answer)
        except Exception as e:  # noqa: BLE001 - reported below
            with lock:
                errors.append(repr(e))
            barrier.abort()
        finally:
            if s is not None:
                s.close()

    reset_peak_rss(pid)
    threads = [threading.Thread(target=client, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    try:
        barrier.wait()
        open_rss, _ = rss_kib(pid)
        peak_threads = thread_count(pid)
        barrier.wait()
    except threading.BrokenBarrierError:
        raise BenchError(f"memory: the concurrent clients failed: {errors[:3]}")
    for t in threads:
        t.join(120)
    _, hwm = rss_kib(pid)
    if errors:
        raise BenchError(f"memory: {len(errors)} concurrent clients failed: {errors[:3]}")
    return hwm, open_rss, peak_threads, sum(healthy)


def snapshot(fleet):
    """RSS (KiB) of every service of the fleet now: {"server": n, "agents": {name: n}}."""
    agents = {n: rss_kib(p)[0] for n in fleet.names if (p := fleet.tentacle_pid(n)) is not None}
    spid = fleet.server_pid()
    first = fleet.tentacle_pid(fleet.names[0]) if fleet.names else None
    return {"server": rss_kib(spid)[0] if spid else None, "agents": agents,
            "first_agent_detail": memory_detail(first) if first else {},
            "server_detail": memory_detail(spid) if spid else {}}


def run(env, fleet, fresh, s_server_port):
    """`fresh` is snapshot() taken before any health check reached the fleet."""
    log("memory: Tentacle agent idle, under 100 concurrent checks, and the Server with all targets")
    name = fleet.names[0]
    pid = fleet.tentacle_pid(name)
    spid = fleet.server_pid()
    if pid is None or spid is None or not fresh["agents"]:
        raise BenchError("memory: the fleet's services are not running")
    t_cert, t_key = _pem_pair(env, env.tentacle_cmd, name, "tentacle")
    s_cert, s_key = _pem_pair(env, env.server_cmd, "Fleet", "server")
    baseline = _s_server_idle_rss(env, t_cert, t_key, s_server_port)
    idle = fresh["agents"]
    idle_values = sorted(idle.values())
    loaded_idle = sorted(snapshot(fleet)["agents"].values())
    hwm, open_rss, threads, healthy = _concurrent_checks(fleet.ports[name], s_cert, s_key, pid)
    hwm = max(hwm, open_rss)  # the kernel's RSS counters are updated lazily
    time.sleep(0.5)
    after, _ = rss_kib(pid)
    if healthy != CONCURRENT:
        raise BenchError(f"memory: only {healthy} of {CONCURRENT} concurrent checks were healthy")
    server_idle = fresh["server"]
    server_before, _ = rss_kib(spid)
    reset_peak_rss(spid)
    fleet.health_check()
    server_after, server_peak = rss_kib(spid)
    mib = 1 / 1024
    agent_idle = idle[name] * mib
    return {
        "baseline_s_server_idle_mib": baseline * mib,
        "agent": {
            "idle_mib": agent_idle,
            "idle_all_agents_median_mib": idle_values[len(idle_values) // 2] * mib,
            "idle_all_agents_max_mib": idle_values[-1] * mib,
            "agents": len(idle_values),
            "concurrent_checks": CONCURRENT,
            "open_connections_rss_mib": open_rss * mib,
            "peak_mib": hwm * mib,
            "per_connection_kib": (hwm - idle[name]) / CONCURRENT,
            "threads_with_all_open": threads,
            "idle_after_load_mib": after * mib,
            "all_agents_after_health_section_median_mib": loaded_idle[len(loaded_idle) // 2] * mib,
            "idle_vs_s_server": ratio(idle[name], baseline),
            "idle_detail_kib": fresh.get("first_agent_detail", {}),
        },
        "server": {
            "targets": len(fleet.names),
            "idle_mib": server_idle * mib,
            "idle_detail_kib": fresh.get("server_detail", {}),
            "before_check_mib": server_before * mib,
            "peak_during_check_mib": server_peak * mib,
            "after_check_mib": server_after * mib,
            "vs_s_server": ratio(server_peak, baseline),
        },
        "target": {"agent_idle_under_mib": TARGET_IDLE_MB, "met": agent_idle < TARGET_IDLE_MB},
    }
