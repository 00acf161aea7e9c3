#!/usr/bin/env bash
# Ops tests: static checks, backup drill, on-prem rehearsal, provisioning. Root on Debian 12; installs the Debian tools it needs when missing.
#
#   scripts/test-ops.sh                    static checks + backup drill + namespace rehearsal (stand-in app)
#   scripts/test-ops.sh --app release      same, rehearsal with this repository's release tarball
#   scripts/test-ops.sh --static           static checks + backup drill only (~25 s; what `npm test` runs)
#   scripts/test-ops.sh --rehearsal        namespace rehearsal only (~95 s)
#   scripts/test-ops.sh --provision        provision scripts run twice per role in a debootstrap root
#                                          (first run builds the cache: a few minutes; then ~10 s)
#   scripts/test-ops.sh --all              everything above
set -euo pipefail
cd "$(dirname "$0")/.."
static=no rehearsal=no provision=no app=fixture
case ${1:-} in
  "") static=yes rehearsal=yes ;;
  --app) static=yes rehearsal=yes app=${2:?fixture|release} ;;
  --static) static=yes ;;
  --rehearsal) rehearsal=yes; if [[ ${2:-} == --app ]]; then app=${3:?}; fi ;;
  --provision) provision=yes ;;
  --all) static=yes rehearsal=yes provision=yes ;;
  *) sed -n '2,11p' "$0"; exit 2 ;;
esac
T0=$SECONDS
passed=0 failed=0

need_pkgs() {
  local missing=() p
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  [[ $(id -u) -eq 0 ]] || { echo "missing Debian packages: ${missing[*]} (run as root or install them)" >&2; exit 2; }
  echo "[test-ops] apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# One line per stage, so the totals at the end count stages, and each stage prints its own details.
stage() { # NAME CMD...
  local name=$1 s=$SECONDS; shift
  echo "[test-ops] === $name"
  if "$@"; then passed=$((passed + 1)); echo "[test-ops] ok - $name ($((SECONDS - s))s)"
  else failed=$((failed + 1)); echo "[test-ops] not ok - $name ($((SECONDS - s))s)"; fi
}

tap_files() { # node-tap test files, run with node (each prints TAP and exits non-zero on failure)
  local f rc=0
  for f in test/ops/*.test.mjs; do
    node "$f" >"/tmp/test-ops.$$.tap" 2>&1 || rc=1
    grep -E '^(not )?ok ' "/tmp/test-ops.$$.tap" | sed "s|^|  $(basename "$f"): |"
    if grep -q '^ *not ok' "/tmp/test-ops.$$.tap"; then grep -B2 -A12 '^ *not ok' "/tmp/test-ops.$$.tap" | head -60; fi
  done
  rm -f "/tmp/test-ops.$$.tap"
  return $rc
}

if [[ $static == yes ]]; then
  need_pkgs shellcheck ruby vagrant prometheus nginx haproxy socat postgresql-client-15 systemd
  stage "static checks + backup/restore drill (test/ops/*.test.mjs)" tap_files
fi
if [[ $rehearsal == yes ]]; then
  need_pkgs nginx haproxy socat postgresql-15 redis-server nftables iproute2 curl jq openssl prometheus
  stage "network-namespace rehearsal (--app $app)" timeout 900 bash test/ops/rehearsal/run.sh --app "$app"
fi
if [[ $provision == yes ]]; then
  need_pkgs debootstrap xz-utils util-linux
  stage "provision idempotency (debootstrap root)" timeout 1800 bash test/ops/provision-idempotency.sh
fi
echo "[test-ops] total $((SECONDS - T0))s"
echo "test-ops: $passed passed, $failed failed"
((failed == 0))
