#!/usr/bin/env bash
# One command for a fresh Debian 12 machine: install the dependencies, build
# Release into build/ (build/bin/Octopus.Server and build/bin/Tentacle), and
# run the main job on an embedded default (scripts/demo.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release
cmake --build --preset release
scripts/demo.sh build
