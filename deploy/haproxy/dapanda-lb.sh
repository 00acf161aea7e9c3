#!/usr/bin/env bash
# dapanda-lb: take app nodes in and out of HAProxy's balancing through its runtime API, with no reload
# (installed on lb as /usr/local/sbin/dapanda-lb; deploy/release.sh and deploy/rollback.sh call it).
#
#   dapanda-lb status                      each app server: address, health (UP/DOWN), admin state, in flight
#   dapanda-lb down ADDR:PORT              drain: no new requests; those in flight finish. Refused when it
#                                          is the last server healthy and in service
#   dapanda-lb wait-drained ADDR:PORT [S]  wait until it has no request in flight (WebSockets not counted:
#                                          the app closes them itself when it restarts)
#   dapanda-lb up ADDR:PORT [S]            back in service; waits until HAProxy's health checks pass
#   dapanda-lb save                        write HAProxy's server-state file (done after down/up)
#
# A drained server stays drained across an HAProxy restart (server-state-file).
set -euo pipefail

HAPROXY_SOCKET=${HAPROXY_SOCKET:-/run/haproxy/admin.sock}
HAPROXY_STATE_FILE=${HAPROXY_STATE_FILE:-/var/lib/haproxy/server-state}
BACKEND=dapanda_app

log() { printf '[dapanda-lb] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

api() { # COMMAND: one runtime API command, its answer on stdout
  [[ -S $HAPROXY_SOCKET ]] || die "no HAProxy runtime socket at $HAPROXY_SOCKET (is haproxy running?)"
  printf '%s\n' "$1" | socat -t 5 - "UNIX-CONNECT:$HAPROXY_SOCKET"
}

# One line per server of the HTTP backend: NAME ADDR:PORT OP ADMIN INFLIGHT
#   OP: up | down (health checks); ADMIN: ready | drain | maint; INFLIGHT: requests being served + queued.
servers() {
  local state stat
  state=$(api "show servers state $BACKEND")
  stat=$(api "show stat")
  awk -v be="$BACKEND" '
    FNR == 1 { file++ }
    # show stat (CSV): pxname,svname,qcur,qmax,scur,...
    file == 1 && $1 == be && $2 != "BACKEND" && $2 != "FRONTEND" { split($0, f, ","); busy[f[2]] = f[3] + f[5]; next }
    # show servers state: be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state ... srv_port (col 19)
    file == 2 && $2 == be && $1 ~ /^[0-9]+$/ {
      op = ($6 == 2) ? "up" : "down"
      # srv_admin_state bits: 1/2/4 maintenance (forced, inherited, config), 8/16 drain (forced,
      # inherited), 32/64 maintenance (resolution, hostname).
      a = $7 + 0
      admin = (a % 8 || int(a / 32) % 4) ? "maint" : (int(a / 8) % 4 ? "drain" : "ready")
      printf "%s %s:%s %s %s %s\n", $4, $5, $19, op, admin, busy[$4] + 0
    }
  ' FS=, <(printf '%s\n' "$stat" | sed 's/^# //') FS=' ' <(printf '%s\n' "$state")
}

name_of() { # ADDR:PORT -> server name
  local name
  name=$(servers | awk -v a="$1" '$2 == a { print $1 }')
  [[ -n $name ]] || die "unknown app server $1 (HAProxy backend $BACKEND has: $(servers | awk '{ printf "%s ", $2 }'))"
  printf '%s\n' "$name"
}

save() {
  local tmp
  tmp=$(mktemp "$(dirname "$HAPROXY_STATE_FILE")/.server-state.XXXXXX")
  api "show servers state" >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$HAPROXY_STATE_FILE"
}

set_state() { # NAME ready|drain
  local out
  out=$(api "set server $BACKEND/$1 state $2")
  [[ -z ${out//[[:space:]]/} ]] || die "HAProxy refused 'set server $BACKEND/$1 state $2': $out"
  save
}

down() {
  local name serving others
  name=$(name_of "$1")
  serving=$(servers | awk -v n="$name" '$1 == n && $3 == "up" && $4 == "ready"' | wc -l)
  others=$(servers | awk -v n="$name" '$1 != n && $3 == "up" && $4 == "ready"' | wc -l)
  # Draining a node that serves nothing (first deploy, a node already down) takes nothing away.
  ((serving == 0 || others > 0)) || die "refusing to drain $1: no other app server is healthy and in service"
  set_state "$name" drain
  log "$1 ($name) drained: no new requests"
}

wait_drained() {
  local name timeout=${2:-35} waited=0 busy
  name=$(name_of "$1")
  while :; do
    busy=$(servers | awk -v n="$name" '$1 == n { print $5 }')
    ((busy == 0)) && break
    ((waited < timeout * 10)) || die "$1 still has $busy request(s) in flight after ${timeout}s"
    sleep 0.1
    waited=$((waited + 1))
  done
  log "$1 ($name) has no request in flight ($((waited / 10)).$((waited % 10))s)"
}

up() {
  local name timeout=${2:-30} waited=0
  name=$(name_of "$1")
  set_state "$name" ready
  # The next node must not be drained before this one takes traffic again.
  until [[ $(servers | awk -v n="$name" '$1 == n { print $3 }') == up ]]; do
    ((waited < timeout * 10)) || die "$1 is back in service but HAProxy's health checks still fail after ${timeout}s"
    sleep 0.1
    waited=$((waited + 1))
  done
  log "$1 ($name) in service, health checks pass ($((waited / 10)).$((waited % 10))s)"
}

status() {
  printf '%-10s %-22s %-5s %-6s %s\n' SERVER ADDRESS CHECK STATE IN-FLIGHT
  servers | awk '{ printf "%-10s %-22s %-5s %-6s %s\n", $1, $2, $3, $4, $5 }'
}

cmd=${1:-}
case $cmd in
  status) status ;;
  down) down "${2:?ADDR:PORT}" ;;
  up) up "${2:?ADDR:PORT}" "${3:-30}" ;;
  wait-drained) wait_drained "${2:?ADDR:PORT}" "${3:-35}" ;;
  save) save ;;
  *) die "usage: dapanda-lb status | down ADDR:PORT | wait-drained ADDR:PORT [SECONDS] | up ADDR:PORT [SECONDS] | save" ;;
esac
