"""What every benchmark section shares: the binaries, the scratch instance
root, running and timing processes, and the statistics.

Every figure is a sample of many runs, summarised as median, min and max,
and compared with a baseline measured in the same invocation (a ratio of
medians). Nothing here fails on a timing: a section only fails when a
command it runs fails.
"""

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time


class BenchError(Exception):
    """A command the benchmark needs failed: the figures would be meaningless."""


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def summary(samples, scale=1.0):
    """median/min/max/n of `samples` (each multiplied by `scale`)."""
    xs = [x * scale for x in samples]
    if not xs:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def ratio(a, b):
    if a is None or b in (None, 0):
        return None
    return a / b


def ratio_interval(a, b, resamples=2000, seed=7):
    """95% bootstrap interval of median(a) / median(b): how far the ratio of
    two noisy samples can be trusted."""
    import random
    if not a or not b:
        return None
    rng = random.Random(seed)
    rs = sorted(statistics.median(rng.choices(a, k=len(a))) / statistics.median(rng.choices(b, k=len(b)))
                for _ in range(resamples))
    return [rs[int(0.025 * resamples)], rs[int(0.975 * resamples) - 1]]


def tool(name):
    """Absolute path of a program on PATH, or None."""
    return shutil.which(name)


class Env:
    """The binaries under test and a private OCTOPUS_CONFIG_ROOT.

    `root` is created by bench/run (which also stops every service under it
    on exit); `work` is a scratch directory beside it for files.
    """

    def __init__(self, build_dir, root):
        self.bin = os.path.join(build_dir, "bin")
        self.server = os.path.join(self.bin, "Octopus.Server")
        self.tentacle = os.path.join(self.bin, "Tentacle")
        self.build_dir = build_dir
        self.root = root
        self.work = os.path.join(root, "files")
        os.makedirs(self.work, mode=0o700, exist_ok=True)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "OCTOPUS_CONFIG_ROOT": root,
        }
        # Processes started outside the built-in supervisor (s_server, load
        # generators), stopped by the sections; bench/run kills any left.
        self.pid_file = os.path.join(root, "bench-extra.pids")

    def path(self, name):
        return os.path.join(self.work, name)

    def run(self, argv, check=True, input=None, timeout=300):
        """Runs a command to completion; returns (exit code, stdout, stderr)."""
        p = subprocess.run(argv, input=input, capture_output=True, text=True, env=self.env, timeout=timeout,
                           cwd=self.work)
        if check and p.returncode != 0:
            raise BenchError(f"{' '.join(argv)} exited with {p.returncode}: {p.stderr.strip() or p.stdout.strip()}")
        return p.returncode, p.stdout, p.stderr

    def server_cmd(self, *args, **kw):
        return self.run([self.server, *args], **kw)

    def tentacle_cmd(self, *args, **kw):
        return self.run([self.tentacle, *args], **kw)

    def remember_pid(self, pid):
        with open(self.pid_file, "a") as f:
            f.write(f"{pid}\n")


_DEVNULL_ACTIONS = [
    (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
    (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
    (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0),
]


def timed_run(argv, env, cwd=None):
    """Runs `argv` once with its output discarded.

    Returns (wall seconds, CPU seconds (user + system), peak RSS in KiB,
    exit status). posix_spawn (vfork-style) and wait4 keep the harness's own
    cost near 0.1 ms; the /bin/true row of the latency table shows it.
    """
    old = None
    if cwd is not None:
        old = os.getcwd()
        os.chdir(cwd)
    try:
        t0 = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, env, file_actions=_DEVNULL_ACTIONS)
        _, status, ru = os.wait4(pid, 0)
        t1 = time.perf_counter()
    finally:
        if old is not None:
            os.chdir(old)
    return t1 - t0, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, os.waitstatus_to_exitcode(status)


def free_ports(n):
    """`n` distinct free TCP ports on 127.0.0.1 (held together while chosen)."""
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def rss_kib(pid):
    """(VmRSS, VmHWM) of a live process in KiB, from /proc."""
    rss = hwm = None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return rss, hwm


def memory_detail(pid):
    """RSS split (KiB): {"rss", "anon" (private to the process), "file" (shared library and program
    pages, shared with every process that maps them), "pss" (RSS with shared pages divided among
    their users)}."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = {"VmRSS:": "rss", "RssAnon:": "anon", "RssFile:": "file"}.get(line.split(":")[0] + ":")
            if key:
                out[key] = int(line.split()[1])
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    out["pss"] = int(line.split()[1])
    except OSError:
        pass
    return out


def reset_peak_rss(pid):
    """Resets VmHWM to the current RSS (Linux: write 5 to clear_refs)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def cpu_seconds(pid):
    """User + system CPU time a live process has used, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_of(pids):
    """The CPU seconds `pids` have used, added up (a process gone since is left out)."""
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:
            pass
    return total


def status_lines(run_cmd, instance):
    """`service --instance I --status --format json` (one JSON line per instance) by instance name."""
    _, out, _ = run_cmd("service", "--instance", instance, "--status", "--format", "json", check=False,
                        timeout=600)
    lines = {}
    for line in out.splitlines():
        try:
            j = json.loads(line)
        except json.JSONDecodeError:
            continue
        lines[j.get("Instance")] = j
    return lines


def machine_cpu():
    """(busy, all) CPU seconds of the whole machine since boot, every core, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    total = sum(fields[:8])  # guest time is in user already
    tck = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tck, total / tck


def thread_count(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return None
