# Sourced by the scripts that run the .exe files under wine: a wine prefix
# of their own in a new temporary directory, and one wineserver for every
# command of the script (not one each; and services.exe, which runs the
# installed services, ends with the wineserver when no other program runs).
# Needs $wine (wine64). Sets $wineserver, $work (the temporary directory)
# and exports WINEPREFIX ($work/prefix). The caller traps EXIT with its own
# clean-up, which ends with stop_private_wine.
wineserver="$(dirname "$wine")/wineserver64"
[[ -x "$wineserver" ]] || wineserver="$(dirname "$wine")/wineserver"
work="$(mktemp -d)"
export WINEPREFIX="$work/prefix" WINEDEBUG=-all
unset WINEPATH  # the prefix's own path (an empty WINEPATH loses C:\windows\system32)

# Starts the wineserver that stays until the end, then creates the prefix.
start_private_wine() {
  mkdir -p "$WINEPREFIX"
  "$wineserver" -p
  timeout 120 "$wine" cmd /c exit >/dev/null 2>&1
}

stop_private_wine() {
  timeout 30 "$wineserver" -k >/dev/null 2>&1 || true
  rm -rf "$work"
}
