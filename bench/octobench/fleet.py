"""A Server and N listening Tentacles on loopback, each Tentacle its own
process (started with `Tentacle service --start`), its own certificate and
its own port; the Server pins each Tentacle's thumbprint and every Tentacle
trusts the Server's. Set up with the products' own commands, as a user would.
"""

import concurrent.futures
import json
import re

from .common import BenchError, free_ports, log

SERVER = "Fleet"


def _tentacle_name(i, tag=""):
    return f"T{tag}{i:03d}"


class Fleet:
    """`tag` tells apart several fleets made under one root (one after the other: stop() stops every
    instance of the root): the Server is "Fleet" + tag, the Tentacles "T" + tag + number."""

    def __init__(self, env, size, workers=2, tag=""):
        self.env = env
        self.size = size
        self.workers = workers
        self.tag = tag
        self.server = SERVER + tag
        self.names = []
        self.server_config = env.path(f"fleet{tag and '-' + tag}-server.config")
        self.server_thumbprint = None
        self.ports = {}

    # -- set-up -----------------------------------------------------------

    def start(self):
        env = self.env
        log(f"fleet: creating the Server and {self.size} Tentacles (one RSA key each)")
        env.server_cmd("create-instance", "--instance", self.server, "--config", self.server_config)
        # Health checks only on request: a periodic check would land in the middle of a measurement.
        with open(self.server_config) as f:
            doc = json.load(f)
        doc["Octopus.Server.HealthCheckIntervalSeconds"] = 0
        with open(self.server_config, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        _, out, _ = env.server_cmd("show-thumbprint", "--instance", self.server, "--format", "json")
        self.server_thumbprint = json.loads(out)["Thumbprint"]
        ports = free_ports(self.size)
        with concurrent.futures.ThreadPoolExecutor(self.workers) as pool:
            made = list(pool.map(lambda i: self._make_tentacle(i, ports[i]), range(self.size)))
        for name, port, tp in made:
            env.server_cmd("add-target", "--instance", self.server, "--name", name, "--address",
                           f"https://127.0.0.1:{port}", "--thumbprint", tp)
            self.names.append(name)
            self.ports[name] = port
        env.server_cmd("service", "--instance", self.server, "--start")
        log(f"fleet: {self.size} Tentacles and the Server are running")

    def _make_tentacle(self, i, port):
        env, name = self.env, _tentacle_name(i, self.tag)
        env.tentacle_cmd("create-instance", "--instance", name)
        env.tentacle_cmd("new-certificate", "--instance", name)
        env.tentacle_cmd("configure", "--instance", name, "--port", str(port), "--listenIpAddress", "127.0.0.1",
                         "--trust", self.server_thumbprint)
        env.tentacle_cmd("service", "--instance", name, "--start")
        _, out, _ = env.tentacle_cmd("show-thumbprint", "--instance", name)
        return name, port, out.strip()

    # -- inspection -------------------------------------------------------

    def _pid(self, run_cmd, name):
        # "The ... service for instance 'NAME' is running (pid N)."
        rc, out, _ = run_cmd("service", "--instance", name, "--status", check=False)
        m = re.search(r"running \(pid (\d+)\)", out)
        return int(m.group(1)) if rc == 0 and m else None

    def server_pid(self):
        return self._pid(self.env.server_cmd, self.server)

    def tentacle_pid(self, name):
        return self._pid(self.env.tentacle_cmd, name)

    # -- checks -----------------------------------------------------------

    def health_check(self, names=None, timeout=300):
        """Runs `Octopus.Server health-check --format json`; returns its results."""
        args = ["health-check", "--instance", self.server, "--format", "json", "--timeout", str(timeout)]
        for n in names or []:
            args += ["--name", n]
        rc, out, err = self.env.server_cmd(*args, check=False, timeout=timeout + 30)
        try:
            results = json.loads(out)
        except json.JSONDecodeError:
            raise BenchError(f"health-check exited with {rc} and printed no JSON: {err.strip()}")
        return rc, results

    # -- tear-down --------------------------------------------------------

    def stop(self):
        env = self.env
        env.server_cmd("service", "--instance", "*", "--stop", check=False)
        env.tentacle_cmd("service", "--instance", "*", "--stop", check=False, timeout=600)
