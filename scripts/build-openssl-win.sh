#!/usr/bin/env bash
# Cross-builds OpenSSL 3.0 for 64-bit Windows (mingw-w64), static, without
# tests or docs, from Debian's own source package, and caches it outside
# the clone so a second build is fast but a fresh machine still works.
#
#   scripts/build-openssl-win.sh          # prints the install prefix
#
# The prefix is $OCTO_WIN_CACHE (default ~/.cache/octopus-win) /
# openssl-<Debian version>-mingw64, with include/ and lib/libssl.a,
# lib/libcrypto.a. It is rebuilt only when Debian's source version changes
# or the prefix is incomplete. `apt-get source` needs a deb-src entry for the
# same archive as the machine's binary packages: if there is none, one is
# added (/etc/apt/sources.list.d/octopus-deb-src.sources).
set -euo pipefail

cache_root="${OCTO_WIN_CACHE:-${HOME}/.cache/octopus-win}"
cross=x86_64-w64-mingw32
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

log() { echo "build-openssl-win: $*" >&2; }

# Debian's source version of the openssl package the machine's libssl-dev
# comes from: the Windows build uses the same OpenSSL release as Linux.
version="$(dpkg-query -W -f='${source:Version}' libssl-dev 2>/dev/null || true)"
if [ -z "${version}" ]; then
  log "libssl-dev is not installed: run scripts/install-deps.sh first"
  exit 1
fi
prefix="${cache_root}/openssl-${version}-mingw64"
if [ -f "${prefix}/lib/libcrypto.a" ] && [ -f "${prefix}/lib/libssl.a" ] &&
   [ -f "${prefix}/include/openssl/opensslv.h" ] && [ -f "${prefix}/.complete" ]; then
  echo "${prefix}"
  exit 0
fi

if ! command -v "${cross}-gcc-posix" >/dev/null; then
  log "${cross}-gcc-posix not found: run scripts/install-deps.sh first"
  exit 1
fi

# A deb-src entry for the archive the binary packages come from.
if ! apt-get source --print-uris -qq openssl >/dev/null 2>&1; then
  log "adding a deb-src entry for Debian's archive"
  src=/etc/apt/sources.list.d/octopus-deb-src.sources
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    # deb822 (Debian 12's default): the same entries, as deb-src.
    sed -n 's/^Types:.*deb\b.*/Types: deb-src/;p' /etc/apt/sources.list.d/debian.sources |
      $sudo tee "${src}" >/dev/null
  else
    grep -h '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' |
      $sudo tee /etc/apt/sources.list.d/octopus-deb-src.list >/dev/null
  fi
  $sudo apt-get update -qq
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/octo-openssl.XXXXXX")"
trap 'rm -rf "${work}"' EXIT
cd "${work}"
log "fetching Debian's openssl ${version} source (the upstream tarball)"
# Only the upstream tarball is needed (no Debian patch is for Windows), and
# the archive can lose a superseded security update's .dsc while keeping the
# tarball: fetch it by the address and SHA-256 apt gives for it.
line="$(apt-get source --print-uris -qq "openssl=${version}" | grep -E "\.orig\.tar\.[a-z0-9]+' " | head -n1)"
if [ -z "${line}" ]; then
  log "apt-get source gives no upstream tarball for openssl=${version}"
  exit 1
fi
url="$(echo "${line}" | cut -d"'" -f2)"
tarball="$(echo "${line}" | awk '{print $2}')"
sha="$(echo "${line}" | awk '{print $4}' | sed 's/^SHA256://')"
curl -fsSL --retry 3 -o "${tarball}" "${url}"
echo "${sha}  ${tarball}" | sha256sum -c --quiet -
tar xf "${tarball}"
cd "$(find . -maxdepth 1 -type d -name 'openssl-*' | head -n1)"

log "configuring for mingw64 (static, no tests)"
# The posix-thread compilers, as the project's own code uses (std::thread).
CC="${cross}-gcc-posix" AR="${cross}-ar" RANLIB="${cross}-ranlib" RC="${cross}-windres" \
  ./Configure mingw64 no-shared no-tests no-module no-engine no-dso \
  --prefix="${prefix}" --libdir=lib --openssldir="${prefix}/ssl" >"${work}/configure.log" 2>&1 ||
  { cat "${work}/configure.log" >&2; exit 1; }
jobs="$(nproc 2>/dev/null || echo 2)"
log "building libcrypto and libssl with ${jobs} jobs (a few minutes)"
# OpenSSL's own warnings for mingw (its SOCKET casts) are not ours: kept in
# a log, shown only if the build fails.
if ! make -s -j"${jobs}" build_libs >"${work}/build.log" 2>&1; then
  tail -n 40 "${work}/build.log" >&2
  log "the OpenSSL build failed"
  exit 1
fi
rm -rf "${prefix}"
make -s install_dev >/dev/null 2>"${work}/install.log" || { cat "${work}/install.log" >&2; exit 1; }
touch "${prefix}/.complete"
log "installed in ${prefix}"
echo "${prefix}"
