#!/usr/bin/env bash
# Live trust: how long `Tentacle configure --trust` / `--remove-trust` takes
# while the instance's agent runs (the command returns after the agent
# confirmed it applied the change) against the same commands with no agent
# running (the file is written, nothing is told), in the same run.
#
#   bench/live-trust.sh [BUILD_DIR]     (default build/; N=20 pairs each)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$here/build}/bin"
N=${N:-20}
export OCTOPUS_CONFIG_ROOT="$(mktemp -d)"
trap '"$bin/Tentacle" service --instance MeasureT --stop >/dev/null 2>&1 || true; rm -rf "$OCTOPUS_CONFIG_ROOT"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin/Tentacle" create-instance --instance MeasureT >/dev/null
"$bin/Tentacle" new-certificate --instance MeasureT --if-blank >/dev/null
"$bin/Tentacle" configure --instance MeasureT --port "$port" --listenIpAddress 127.0.0.1 --trust "$(printf 'A%.0s' {1..40})" >/dev/null
tp() { printf '%02d%038d' "$1" 0; }
measure() {
  local label=$1 start end
  start=$(date +%s%N)
  for i in $(seq 1 "$N"); do
    out=$("$bin/Tentacle" configure --instance MeasureT --trust "$(tp "$i")")
    "$bin/Tentacle" configure --instance MeasureT --remove-trust "$(tp "$i")" >/dev/null
  done
  end=$(date +%s%N)
  echo "$label: $(( (end - start) / (2 * N) / 1000 )) us per configure ($((2*N)) runs); last output: $(echo "$out" | tail -1)"
}
measure "no agent running"
"$bin/Tentacle" service --instance MeasureT --start >/dev/null
measure "agent running (applied live)"
"$bin/Tentacle" service --instance MeasureT --stop >/dev/null
