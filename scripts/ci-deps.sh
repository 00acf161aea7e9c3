#!/usr/bin/env bash
# The Debian packages CI's gates need (root; installs only what is missing): Chromium and fonts for
# the browser tests, PostgreSQL/Redis binaries (the tests' own servers and the rehearsal's data node),
# and the ops tools (shellcheck, nginx, HAProxy, promtool, ruby/vagrant, nftables, ...).
set -euo pipefail
need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
command -v chromium >/dev/null || need+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
# Pages use a few emoji (shoppers' phones and desktops have an emoji font; a bare Debian does not).
fc-list 2>/dev/null | grep -qi "Noto Color Emoji" || need+=(fonts-noto-color-emoji)
for p in redis-server postgresql-15 postgresql-client-15 shellcheck nginx haproxy socat prometheus ruby vagrant \
  nftables iproute2 curl jq openssl git ca-certificates procps systemd; do
  have "$p" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "[ci] missing Debian packages: ${need[*]} (run as root)" >&2; exit 2; }
  echo "[ci] apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
