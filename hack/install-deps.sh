#!/usr/bin/env bash
# Installs the Debian packages given as arguments when any is missing.
# Needs root; outside CI a non-root user is told what to run instead.
set -euo pipefail

missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing Debian packages: ${missing[*]}" >&2
  echo "install-deps: run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
  [[ "${CI:-}" == "true" ]] && exit 1
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
log="$(mktemp /tmp/pylon-install-deps.XXXXXX.log)"
if ! apt-get update -qq >"$log" 2>&1; then
  echo "install-deps: cannot install ${missing[*]}: apt-get update failed: $(grep -m1 -E '^(E|Err):' "$log" || tail -1 "$log") (log: $log)" >&2
  exit 1
fi
if ! apt-get install -y -qq "${missing[@]}" >>"$log" 2>&1; then
  echo "install-deps: cannot install ${missing[*]}: $(grep -m1 -E '^E:' "$log" || tail -1 "$log") (log: $log)" >&2
  exit 1
fi
rm -f "$log"
