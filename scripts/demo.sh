#!/usr/bin/env bash
# The main job on an embedded default: the whole certificate rotation
# procedure (Octopus's "Regenerating certificates with Octopus Server and
# Tentacle" page) run with live services on loopback. One Server, two
# listening Tentacles and one polling Tentacle are created under a
# temporary OCTOPUS_CONFIG_ROOT; each step is printed with the health check
# that follows it. Everything started is stopped and removed at the end.
# Usage: scripts/demo.sh [BUILD_DIR]   (default: build)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="$(cd "${1:-$here/build}" && pwd)/bin"
root="$(mktemp -d)"
export OCTOPUS_CONFIG_ROOT="$root"
server="$bin/Octopus.Server"
tentacle="$bin/Tentacle"
tentacles=(Tentacle Tentacle2 PollingTentacle)  # the last one polls the Server

cleanup() {
  "$server" service --instance '*' --stop >/dev/null 2>&1 || true
  "$tentacle" service --instance '*' --stop >/dev/null 2>&1 || true
  rm -rf "$root"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$(printf '%q ' "$@" | sed "s|$bin/||g")"; "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
json_thumbprint() { sed 's/.*"Thumbprint":"\([0-9A-F]*\)".*/\1/'; }
health() { run "$server" health-check --instance OctopusServer || true; }

step "Set-up: instances under $root (OCTOPUS_CONFIG_ROOT), services on loopback"
run "$server" create-instance --instance OctopusServer
old_tp="$("$server" show-thumbprint --format json | json_thumbprint)"
comms_port="$(free_port)"
run "$server" configure --instance OctopusServer --commsListenPort "$comms_port" --commsListenAddress 127.0.0.1
for t in "${tentacles[@]:0:2}"; do
  port="$(free_port)"
  run "$tentacle" create-instance --instance "$t"
  run "$tentacle" new-certificate --instance "$t" --if-blank
  run "$tentacle" configure --instance "$t" --port "$port" --listenIpAddress 127.0.0.1 --trust "$old_tp"
  run "$tentacle" service --instance "$t" --start
  run "$server" add-target --name "$t" --address "https://127.0.0.1:$port" \
    --thumbprint "$("$tentacle" show-thumbprint --instance "$t")"
done
# A polling Tentacle: it connects to the Server's comms port; the Server
# knows it by its subscription id.
p="${tentacles[2]}"
run "$tentacle" create-instance --instance "$p"
run "$tentacle" new-certificate --instance "$p" --if-blank
run "$tentacle" configure --instance "$p" --noListen true --trust "$old_tp"
run "$tentacle" server-comms --instance "$p" --thumbprint "$old_tp" --style TentacleActive --host 127.0.0.1 --port "$comms_port"
subscription="$("$tentacle" show-configuration --instance "$p" | grep -o 'poll://[a-z0-9]*/' | head -n 1)"
run "$server" add-target --name "$p" --subscription "$subscription" \
  --thumbprint "$("$tentacle" show-thumbprint --instance "$p")"
run "$server" service --instance OctopusServer --start
run "$tentacle" service --instance "$p" --start
health

step "1. Back up the existing certificate"
run "$server" export-certificate --instance OctopusServer --export-pfx="$root/oldcert.pfx" --pfx-password MySecretPassword
health

step "2. Generate a new certificate to a file"
out="$(run "$server" new-certificate --instance OctopusServer --export-pfx="$root/newcert.pfx" --pfx-password MySecretPassword)"
printf '%s\n' "$out"
# The real Server prints the thumbprint on the line after this one.
new_tp="$(printf '%s\n' "$out" | sed -n '/^A new certificate has been generated with thumbprint:$/{n;p;}')"
health

step "3. Make the Tentacles trust the new certificate, and restart them"
for t in "${tentacles[@]}"; do
  run "$tentacle" configure --instance "$t" --trust="$new_tp"
  run "$tentacle" service --instance "$t" --restart
done
health

step "4. Replace the certificate on the Octopus Server, and restart it"
run "$server" import-certificate --instance OctopusServer --from-file="$root/newcert.pfx" --pfx-password MySecretPassword
run "$server" service --instance OctopusServer --restart

step "5. Health check"
health

step "6. Stop the Tentacles trusting the old certificate"
for t in "${tentacles[@]}"; do
  run "$tentacle" configure --instance "$t" --remove-trust "$old_tp"
  run "$tentacle" service --instance "$t" --restart
done

step "7. Health check"
health

step "8. The Server's certificate now uses sha256"
run "$server" show-thumbprint --instance OctopusServer

step "Tentacle rotation: new certificate on ${tentacles[0]}, restart"
run "$tentacle" new-certificate --instance "${tentacles[0]}"
run "$tentacle" service --instance "${tentacles[0]}" --restart
health

step "Update the target's thumbprint on the Server (Infrastructure > Deployment Targets)"
run "$server" update-target --name "${tentacles[0]}" --thumbprint "$("$tentacle" show-thumbprint --instance "${tentacles[0]}")"
health

step "Done: every service stopped, $root removed"
