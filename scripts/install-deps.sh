#!/usr/bin/env bash
# Installs, from Debian 12's packages, everything needed to build, test,
# benchmark and fuzz the project. Safe to run again.
set -euo pipefail
packages=(
  build-essential cmake g++ pkg-config
  libssl-dev openssl
  libcli11-dev nlohmann-json3-dev libspdlog-dev
  libgtest-dev libgmock-dev libbenchmark-dev libasio-dev
  gnutls-bin python3 python3-cryptography util-linux systemd
  dpkg-dev file  # cpack's Debian packages: dpkg-shlibdeps works out their dependencies, file finds the executables
  python3-matplotlib  # bench/run: the plot of health-check time against the number of targets
  clang libclang-rt-14-dev  # scripts/fuzz.sh: clang++ (14) and its libFuzzer and ASan runtimes
)
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "Dependencies installed."
