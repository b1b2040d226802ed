#!/usr/bin/env bash
# A scenario's batch files under wine: SCENARIO/setup.bat then
# SCENARIO/main.bat, each run by `wine64 cmd /c`, with Octopus.Server.exe and
# Tentacle.exe copied where the real products install them, in a wine prefix
# of its own under a temporary directory (so C:\PathToCertificate,
# %ProgramData%\Octopus and the Windows services are all hermetic). The
# scenarios: seed/ (the seed procedure's Windows lines as written) and
# rotation/ (the one-command rotations, listening and polling Tentacles).
#
# Checks: both batch files exit 0; every line either prints is the expected
# transcript (SCENARIO/expected.txt, with thumbprints, pids, ports,
# subscription ids, times and durations replaced by names); every line ends
# with CRLF; and what SCENARIO/check.sh checks, if there is one (it gets the
# raw transcript and the prefix as $1 and $2, and fails with a line saying why).
# Usage: run_batch_test.sh SCENARIO_DIR BIN_DIR [WINE]   Prints a diff on failure.
set -euo pipefail
here="$(cd "$1" && pwd)"
bin="$(cd "$2" && pwd)"
wine="${3:-/usr/lib/wine/wine64}"
source "$(dirname "$0")/private_wine.sh"
server="$WINEPREFIX/drive_c/Program Files/Octopus Deploy/Octopus/Octopus.Server.exe"
tentacle="$WINEPREFIX/drive_c/Program Files/OctopusDeploy/Tentacle/Tentacle.exe"
cleanup() {
  if [[ -f "$server" ]]; then
    timeout 60 "$wine" "$server" service --instance '*' --stop >/dev/null 2>&1 || true
    timeout 60 "$wine" "$tentacle" service --instance '*' --stop >/dev/null 2>&1 || true
  fi
  stop_private_wine
}
trap cleanup EXIT

start_private_wine
mkdir -p "$(dirname "$server")" "$(dirname "$tentacle")"
cp "$bin/Octopus.Server.exe" "$server"
cp "$bin/Tentacle.exe" "$tentacle"
cp "$here/setup.bat" "$WINEPREFIX/drive_c/setup.bat"
cp "$here/main.bat" "$WINEPREFIX/drive_c/main.bat"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export COMMS_PORT="$(free_port)" TENTACLE_PORT="$(free_port)" TENTACLE2_PORT="$(free_port)"

raw="$work/transcript.raw"
set +e
{
  echo "> setup.bat"
  timeout 300 "$wine" cmd /c 'C:\setup.bat'
  echo "setup.bat exit code: $?"
  echo "> main.bat"
  timeout 600 "$wine" cmd /c 'C:\main.bat'
  echo "main.bat exit code: $?"
} > "$raw" 2>&1
set -e

# Lines the programs and cmd print end with CRLF (the driver's own do not).
bad_endings="$(grep -v -e '^> ' -e '^[a-z.]* exit code: ' "$raw" | grep -c -v $'\r$' || true)"

# Thumbprints, pids, ports and the temporary folder get stable names, in
# order of first appearance.
python3 - "$raw" "$work/transcript.txt" <<'PY'
import re, sys, os
text = open(sys.argv[1], encoding="utf-8", errors="replace").read().replace("\r\n", "\n")
names = {}
def name(kind, value):
    key = (kind, value)
    if key not in names:
        names[key] = "{%s%d}" % (kind, sum(1 for k in names if k[0] == kind) + 1)
    return names[key]
text = re.sub(r"\b[0-9A-F]{40}\b", lambda m: name("THUMBPRINT", m.group(0)), text)
text = re.sub(r"\(pid \d+\)", "(pid {PID})", text)
for port in ("COMMS_PORT", "TENTACLE_PORT", "TENTACLE2_PORT"):
    text = re.sub(r"\b%s\b" % os.environ[port], "{%s}" % port, text)
text = re.sub(r"poll://[a-z0-9]+/", lambda m: name("SUBSCRIPTION", m.group(0)), text)
text = re.sub(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\b", "{TIME}", text)
text = re.sub(r"\(\d+\.\d s\)", "({SECONDS} s)", text)
text = re.sub(r"C:\\users\\[^\\]+\\Temp", "%TEMP%", text, flags=re.I)
open(sys.argv[2], "w").write(text)
PY

status=0
if ! diff -u "$here/expected.txt" "$work/transcript.txt"; then
  echo "FAIL: the transcript differs from $here/expected.txt (above)"
  status=1
fi
if [[ "$bad_endings" != 0 ]]; then
  echo "FAIL: $bad_endings printed lines do not end with CRLF"
  status=1
fi
if [[ -f "$here/check.sh" ]] && ! bash "$here/check.sh" "$raw" "$WINEPREFIX"; then
  status=1
fi
if [[ "${KEEP_TRANSCRIPT:-}" != "" ]]; then cp "$work/transcript.txt" "$KEEP_TRANSCRIPT"; fi
[[ $status == 0 ]] && echo "PASS: $(basename "$here")'s batch files ran as written under wine"
exit $status
