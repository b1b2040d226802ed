#!/usr/bin/env bash
# The seed scenario's files (run_batch_test.sh): the backup holds the old
# certificate, the new PFX the new one, as the transcript names them.
# Usage: check.sh RAW_TRANSCRIPT WINEPREFIX
raw="$1"
fingerprint() {
  openssl pkcs12 -in "$1" -passin pass:MySecretPassword -nokeys 2>/dev/null | openssl x509 -noout -fingerprint -sha1 |
    sed 's/.*=//; s/://g'
}
dir="$2/drive_c/PathToCertificate"
old="$(fingerprint "$dir/oldcert.pfx" || true)"
new="$(fingerprint "$dir/newcert.pfx" || true)"
if [[ -z "$old" || -z "$new" || "$old" == "$new" ]] || ! grep -q "$old" "$raw" || ! grep -q "$new" "$raw"; then
  echo "FAIL: oldcert.pfx ($old) and newcert.pfx ($new) are not the certificates the transcript names"
  exit 1
fi
