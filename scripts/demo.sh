#!/usr/bin/env bash
# The main job on an embedded default: a Server and a Tentacle instance under
# a temporary OCTOPUS_CONFIG_ROOT, the Tentacle made to trust the Server, and
# both thumbprints and the Server's signature algorithm shown.
# Usage: scripts/demo.sh [BUILD_DIR]   (default: build)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:-$here/build}/bin"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
export OCTOPUS_CONFIG_ROOT="$root"
server="$bin/Octopus.Server"
tentacle="$bin/Tentacle"

step() { printf '\n== %s\n' "$*"; }
step "Instances live under $root (OCTOPUS_CONFIG_ROOT)"
step "Octopus.Server create-instance"
"$server" create-instance --instance OctopusServer
step "Tentacle create-instance, new-certificate --if-blank"
"$tentacle" create-instance --instance Tentacle
"$tentacle" new-certificate --instance Tentacle --if-blank
server_tp="$("$server" show-thumbprint --format json | sed 's/.*"Thumbprint":"\([0-9A-F]*\)".*/\1/')"
step "Tentacle configure --trust $server_tp"
"$tentacle" configure --instance Tentacle --trust "$server_tp"
step "Octopus.Server show-thumbprint"
"$server" show-thumbprint --instance OctopusServer
step "Tentacle show-thumbprint"
"$tentacle" show-thumbprint --instance Tentacle
step "Tentacle show-configuration (trusted servers)"
"$tentacle" show-configuration --instance Tentacle | sed -n '/TrustedOctopusServers/,/]/p'
