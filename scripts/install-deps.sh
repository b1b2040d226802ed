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
  g++-mingw-w64-x86-64-posix wine64 curl  # the "windows" preset: cross-compiler, wine to run the tests, OpenSSL's source
)
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# The Windows build cross-compiles OpenSSL from Debian's own source package
# (scripts/build-openssl-win.sh): apt needs a deb-src entry for the archive
# the binary packages come from.
if [ -f /etc/apt/sources.list.d/debian.sources ] && ! grep -qs '^Types:.*deb-src' /etc/apt/sources.list.d/*.sources &&
   [ ! -f /etc/apt/sources.list.d/octopus-deb-src.sources ]; then
  sed 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
    $sudo tee /etc/apt/sources.list.d/octopus-deb-src.sources >/dev/null
elif [ -f /etc/apt/sources.list ] && grep -qs '^deb ' /etc/apt/sources.list && ! grep -qs '^deb-src ' /etc/apt/sources.list &&
     [ ! -f /etc/apt/sources.list.d/octopus-deb-src.list ]; then
  grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' | $sudo tee /etc/apt/sources.list.d/octopus-deb-src.list >/dev/null
fi
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "Dependencies installed."
