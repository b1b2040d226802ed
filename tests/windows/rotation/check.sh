#!/usr/bin/env bash
# The rotation scenario's files (run_batch_test.sh): every Tentacle's
# configuration trusts only the certificate the Server switched to, for its
# listening and its polling entries alike.
# Usage: check.sh RAW_TRANSCRIPT WINEPREFIX
python3 - "$1" "$2/drive_c/ProgramData/Octopus/Tentacle" <<'PY'
import json, re, sys
raw = open(sys.argv[1], encoding="utf-8", errors="replace").read()
m = re.search(r"Switch: the Octopus Server now presents ([0-9A-F]{40})", raw)
if not m:
    sys.exit("FAIL: the transcript does not say which certificate the Server switched to")
for instance in ("Web01", "Web02", "Poll01"):
    config = json.load(open("%s/%s/tentacle-%s.config" % (sys.argv[2], instance, instance), encoding="utf-8-sig"))
    trusted = {e["Thumbprint"] for e in config["Tentacle.Communication.TrustedOctopusServers"]}
    if trusted != {m.group(1)}:
        sys.exit("FAIL: %s trusts %s, not only %s" % (instance, sorted(trusted), m.group(1)))
PY
