#!/usr/bin/env bash
# Network-namespace rehearsal of the on-prem layout (no hypervisor here): namespaces lb, app1, app2,
# data, mon and client on a private bridge (10.77.0.0/24, existing only inside these namespaces),
# running the real nginx + HAProxy configs, firewall rules, PostgreSQL roles/pg_hba, Redis and
# Prometheus configs rendered by deploy/, app nodes from a release tarball started with the systemd
# units' own ExecStart and env, and releases/rollbacks done by deploy/release.sh and deploy/rollback.sh.
#
#   test/ops/rehearsal/run.sh [--app fixture|release] [--keep]
#
# --app fixture (default) packages test/ops/fixtures/stand-in-app with scripts/release.sh;
# --app release packages this repository (needs the real app to build). --keep leaves everything
# running for debugging (tear down with --teardown). Root only. Bounded: every load has a duration
# and a request cap, every wait a timeout. Ends with "N passed, N failed, N skipped".
# REHEARSAL_NS_PREFIX (default dpd-) names the namespaces, so two rehearsals can run side by side.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../../.." && pwd)
NS_PREFIX=${REHEARSAL_NS_PREFIX:-dpd-}
R=$REPO/.data/rehearsal${REHEARSAL_NS_PREFIX:+-$NS_PREFIX}
# The nodes' services run as postgres, redis and www-data and read this checkout's files (SQL, configs,
# the release): a clone under a private directory (CI's mode-700 mktemp dir) gets search permission
# (o+x, not read) on the ancestors those users cannot pass.
for who in postgres redis www-data; do
  d=$REPO
  until runuser -u "$who" -- test -x "$REPO" 2>/dev/null || [ "$d" = / ]; do
    runuser -u "$who" -- test -x "$d" 2>/dev/null || chmod o+x "$d"
    d=$(dirname "$d")
  done
done
NET=10.77.0
APP=fixture KEEP=no
export REPO R NS_PREFIX
while (($#)); do
  case $1 in
    --app) APP=$2; shift ;;
    --keep) KEEP=yes ;;
    --teardown) APP=teardown ;;
    *) echo "usage: run.sh [--app fixture|release] [--keep] | --teardown" >&2; exit 2 ;;
  esac
  shift
done

# shellcheck source=deploy/lib/common.sh
. "$REPO/deploy/lib/common.sh"
# shellcheck source=deploy/lib/render.sh
. "$REPO/deploy/lib/render.sh"
# shellcheck source=deploy/lib/backup.sh
. "$REPO/deploy/lib/backup.sh"
# shellcheck source=test/ops/rehearsal/nodes.sh
. "$REPO/test/ops/rehearsal/nodes.sh"
# shellcheck source=test/ops/rehearsal/hooks.sh
. "$REPO/test/ops/rehearsal/hooks.sh"
# shellcheck source=test/ops/rehearsal/app-checks.sh
. "$REPO/test/ops/rehearsal/app-checks.sh"

NODES=(lb app1 app2 data mon client)
declare -A ADDR=([lb]=$NET.10 [app1]=$NET.11 [app2]=$NET.12 [data]=$NET.20 [mon]=$NET.30 [client]=$NET.100)
LB=${ADDR[lb]}
CA=$R/lb/tls/dapanda.crt
T0=$SECONDS
PASS=0 FAIL=0 SKIP=0
say() { printf '[rehearsal +%3ss] %s\n' "$((SECONDS - T0))" "$*"; }
teardown() { rh_teardown "${NODES[@]}"; }
if [[ $APP == teardown ]]; then teardown; exit 0; fi
[[ $APP == fixture || $APP == release ]] || { echo "--app fixture|release" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "run.sh needs root (network namespaces)" >&2; exit 2; }
for tool in ip nft nginx haproxy socat initdb pg_ctl psql redis-server node curl openssl promtool prometheus jq; do
  command -v "$tool" >/dev/null || { echo "missing $tool (see scripts/test-ops.sh for the apt packages)" >&2; exit 2; }
done

on_exit() {
  local rc=$?
  if [[ $KEEP == yes ]]; then say "--keep: namespaces left running; run.sh --teardown"; else teardown; fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

check() { # NAME CMD...: a named assertion
  local name=$1; shift
  if "$@"; then PASS=$((PASS + 1)); say "ok - $name"; else FAIL=$((FAIL + 1)); say "not ok - $name"; fi
}

# ---------------------------------------------------------------- configuration (as on the VMs)
export DAPANDA_DOMAIN=dapanda.local DAPANDA_APP_PORT=3000 DAPANDA_DB_NAME=dapanda
export DAPANDA_APP_NODES="app1=${ADDR[app1]} app2=${ADDR[app2]}"
export DAPANDA_LB_ADDR=$LB DAPANDA_DATA_ADDR=${ADDR[data]} DAPANDA_MON_ADDR=${ADDR[mon]} DAPANDA_NODES_CIDR=$NET.0/24
# The operator's desk: the client namespace's first address; shoppers come from its other addresses.
export DAPANDA_ADMIN_CIDR=${ADDR[client]}/32
export DAPANDA_STORAGE_DIR=$R/data/photos DAPANDA_LOG_LEVEL=info
# Short bidding timings so the storm's auction closes within the rehearsal (production: 180 s / 15 s).
export DAPANDA_SOFT_CLOSE_SECONDS=8 DAPANDA_AUCTION_SWEEP_MS=2000
DAPANDA_DB_APP_PASSWORD=$(openssl rand -hex 16) DAPANDA_DB_MIGRATOR_PASSWORD=$(openssl rand -hex 16)
DAPANDA_REDIS_PASSWORD=$(openssl rand -hex 16) DAPANDA_SESSION_SECRET=$(openssl rand -hex 32)
export DAPANDA_DB_APP_PASSWORD DAPANDA_DB_MIGRATOR_PASSWORD DAPANDA_REDIS_PASSWORD DAPANDA_SESSION_SECRET
export DEPLOY_APP_NODES=$DAPANDA_APP_NODES DEPLOY_LB_HOST=$LB DEPLOY_APP_PORT=3000
export DEPLOY_HOOKS=$REPO/test/ops/rehearsal/hooks.sh DEPLOY_READY_TIMEOUT=30 DEPLOY_DRAIN_TIMEOUT=35

teardown
rm -rf "$R"
mkdir -p "$R"/{lb,app1,app2,data,mon,releases,build}

# ---------------------------------------------------------------- 1. release tarballs
say "building release tarballs (--app $APP) with scripts/release.sh"
if [[ $APP == fixture ]]; then
  for v in 0.0.1 0.0.2; do
    cp -a "$REPO/test/ops/fixtures/stand-in-app" "$R/build/$v"
    node -e 'const f=process.argv[1],p=JSON.parse(require("fs").readFileSync(f));p.version=process.argv[2];require("fs").writeFileSync(f,JSON.stringify(p,null,2))' "$R/build/$v/package.json" "$v"
    RELEASE_PROJECT_DIR=$R/build/$v RELEASE_GIT_SHA=standin RELEASE_OUT_DIR=$R/releases \
      bash "$REPO/scripts/release.sh" >/dev/null 2>"$R/build/$v.log" || { cat "$R/build/$v.log"; exit 1; }
  done
  V1=$R/releases/dapanda-0.0.1-standin.tar.gz V2=$R/releases/dapanda-0.0.2-standin.tar.gz
  VER1=0.0.1 VER2=0.0.2
else
  # The checkout's node_modules are what `npm ci` just installed: building from them gives the same
  # dist/ (production dependencies are installed apart, from the lockfile, either way).
  V1=$(RELEASE_SKIP_CI=${RELEASE_SKIP_CI-1} RELEASE_OUT_DIR=$R/releases bash "$REPO/scripts/release.sh" | cut -f1)
  # Same code shipped again under a new id and version (VERSION only): proves the rolling switch, and
  # /readyz tells which of the two each node runs.
  VER1=$(node -p 'require(process.argv[1]).version' "$REPO/package.json") VER2=$VER1+redeploy
  V2=${V1%.tar.gz}-redeploy.tar.gz
  mkdir -p "$R/build/v2"
  tar -xzf "$V1" -C "$R/build/v2"
  sed -i "s/^version=.*/version=$VER2/" "$R/build/v2"/*/VERSION
  id2=$(basename "$V2" .tar.gz)
  (cd "$R/build/v2" && mv ./* "$id2" && tar --owner=0 --group=0 --numeric-owner -c "$id2" | gzip -1 >"$R/releases/$id2.tar.gz")
  rm -rf "$R/build/v2"
  (cd "$R/releases" && sha256sum "$(basename "$V2")" >"$(basename "$V2").sha256")
fi
say "releases: $(basename "$V1") $(basename "$V2") ($(du -h "$V1" | cut -f1))"

# ---------------------------------------------------------------- 2. network
say "namespaces ${NODES[*]} on bridge $NET.0/24"
rh_network "${NODES[@]}"

# ---------------------------------------------------------------- 3. data node, firewalls, mon
say "data: PostgreSQL 15, Redis; nftables on every node; mon: Prometheus"
rh_data data
for n in lb app1 app2 data mon; do role=$n; [[ $n == app* ]] && role=app; rh_firewall "$n" "$role"; done
rh_mon mon

# ---------------------------------------------------------------- 4. load balancer
say "lb: nginx (TLS edge, admin listener :8443) and HAProxy (balancing, drain API) from deploy/"
rh_lb lb

# ---------------------------------------------------------------- 5. app nodes + first release
for n in app1 app2; do rh_app_dirs "$n"; done
say "first deploy of $(basename "$V1") with deploy/release.sh"
bash "$REPO/deploy/release.sh" "$V1" 2>"$R/deploy-v1.log" || { cat "$R/deploy-v1.log"; exit 1; }

# ---------------------------------------------------------------- helpers for checks
c_curl() { in_ns client curl -sS --max-time 10 --cacert "$CA" --resolve "$DAPANDA_DOMAIN:443:$LB" "$@"; }
# The admin listener, from the operator's address.
a_curl() { in_ns client curl -sS --max-time 10 --cacert "$CA" --resolve "$DAPANDA_DOMAIN:8443:$LB" "$@"; }
ADMIN=https://$DAPANDA_DOMAIN:8443
load() { # NAME SECONDS CONCURRENCY PATHS: bounded load from the client namespace into $R/NAME.json
  in_ns client timeout $(($2 + 30)) node "$REPO/test/ops/rehearsal/load.mjs" --url "https://$LB" --ca "$CA" \
    --servername "$DAPANDA_DOMAIN" --duration "$2" --concurrency "$3" --max 200000 --paths "$4" --probe-url "https://$LB:8443" \
    --ips "$LOAD_IPS" >"$R/$1.json" 2>"$R/$1.err" || say "  load $1 exited $?: $(tail -3 "$R/$1.err")"
}
jq_() { jq -r "$1" "$R/$2.json"; }
# The load's shoppers: 40 addresses of the client namespace (each stays under the app's per-IP limit).
LOAD_IPS=$(for ((i = 161; i <= 200; i++)); do in_ns client ip addr add "$NET.$i/24" dev eth0; printf '%s,' "$NET.$i"; done)
LOAD_IPS=${LOAD_IPS%,}
tcp_open() { in_ns "$1" timeout 3 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; }
report_load() { say "  $1: $(jq -c '{requests, seconds, status, errors, reusedSocketRetries, count5xx, identified, hung, probe, nodes, versions, p99ms, firstErrors: .errorLog[:5]}' "$R/$1.json")"; }
# Shoppers saw no 5xx, no transport error and no node name; the operator's probe no failure either.
no_failures() {
  [[ $(jq_ .count5xx "$1") == 0 && $(jq_ '.errors | length' "$1") == 0 && $(jq_ .requests "$1") -gt 100 && $(jq_ .identified "$1") == 0 && $(jq_ .hung "$1") == false &&
    $(jq_ '.probe.errors | length' "$1") == 0 && $(jq_ '[.probe.status | to_entries[] | select(.key != "200")] | length' "$1") == 0 ]]
}
# Releases the nodes report on /readyz through the admin listener (sorted, space separated).
versions_served() { for _ in $(seq 1 10); do a_curl "$ADMIN/readyz" | jq -r .version; done | sort -u | tr '\n' ' '; }

# ---------------------------------------------------------------- 6. checks
say "checks"
# Paths the load uses and a table of the app: the stand-in's own, or the real app's.
if [[ $APP == release ]]; then
  SAMPLE_TABLE=users P_FAILOVER='/,/healthz,/static/css/app.css' P_ROLLING='/,/healthz,/static/js/bidding.js,/search?q=x' P_ROLLBACK='/,/healthz'
else
  SAMPLE_TABLE=standin_items P_FAILOVER='/,/slow?ms=200' P_ROLLING='/,/slow?ms=300,/items' P_ROLLBACK='/,/slow?ms=300'
fi
health_both() {
  local out
  out=$(for _ in $(seq 1 20); do a_curl -o /dev/null -w '%{http_code} %header{x-dapanda-node}\n' "$ADMIN/readyz"; done | sort | uniq -c)
  say "  /readyz x20 via the admin listener: $(tr -s ' \n' ' ' <<<"$out")"
  say "  $(lb_exec status 2>&1 | tr -s ' ' | paste -sd ';')"
  [[ $(c_curl -o /dev/null -w '%{http_code}' "https://$DAPANDA_DOMAIN/healthz") == 200 ]] &&
    grep -q '200 app1' <<<"$out" && grep -q '200 app2' <<<"$out" && ! grep -qv ' 200 ' <<<"$out"
}
check "/healthz 200 through nginx + HAProxy; /readyz on the admin listener: both app nodes answer" health_both

# Shoppers' answers name no node or release; the admin listener names the node, /readyz node and release.
fingerprint() {
  local pub ws adm body
  pub=$(c_curl -D - -o /dev/null "https://$DAPANDA_DOMAIN/" | tr -d '\r' | grep -ci '^x-dapanda-' || true)
  ws=$(c_curl -sS -i -N --http1.1 --max-time 2 -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H "Origin: https://$DAPANDA_DOMAIN" \
    -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "https://$DAPANDA_DOMAIN/ws" 2>/dev/null | tr -d '\0\r' | sed '/^$/q' | grep -ci '^x-dapanda-' || true)
  adm=$(a_curl -D - -o /dev/null "$ADMIN/" | tr -d '\r' | sed -n 's/^x-dapanda-node: //Ip')
  body=$(a_curl "$ADMIN/readyz")
  say "  public page: $pub x-dapanda-* header(s), WebSocket 101: $ws, /readyz: $(c_curl -o /dev/null -w '%{http_code}' "https://$DAPANDA_DOMAIN/readyz"); admin listener: X-Dapanda-Node $adm; /readyz $body"
  [[ $(c_curl -o /dev/null -w '%{http_code}' "https://$DAPANDA_DOMAIN/readyz") == 404 && $pub == 0 && $ws == 0 && $adm == app[12] && $(jq -r '.node + " " + .version' <<<"$body") =~ ^app[12]\ [0-9] ]]
}
check "no x-dapanda-* to shoppers (page, WebSocket 101, no public /readyz); admin listener adds the node, /readyz JSON names node and release" fingerprint

admin_private() {
  local shopper
  shopper=$(in_ns client bash -c "ip addr add $NET.99/24 dev eth0 2>/dev/null; curl -sS -o /dev/null -w '%{http_code}' --max-time 3 --interface $NET.99 -k https://$LB:8443/readyz" 2>/dev/null || true)
  say "  admin listener from a shopper's address ($NET.99): ${shopper:-no connection}"
  [[ $shopper == 000 || -z $shopper ]] && ! tcp_open client "$LB" 8080 && ! tcp_open client "$LB" 8081
}
check "admin listener only from DAPANDA_ADMIN_CIDR; HAProxy's frontends only on the lb's loopback" admin_private

redirect() { [[ $(in_ns client curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' "http://$LB/x?y=1" -H "Host: $DAPANDA_DOMAIN") == "301 https://$DAPANDA_DOMAIN/x?y=1" ]]; }
check "HTTP redirects to HTTPS" redirect

headers() {
  local h
  h=$(c_curl -sS -D - -o /dev/null -H 'Accept-Encoding: gzip' "https://$DAPANDA_DOMAIN/" | tr -d '\r')
  grep -qi '^strict-transport-security: max-age=31536000' <<<"$h" && grep -qi '^x-content-type-options: nosniff' <<<"$h" &&
    grep -qi '^x-frame-options: DENY' <<<"$h" && grep -qi '^content-encoding: gzip' <<<"$h" && grep -qix 'server: nginx' <<<"$h"
}
check "TLS with security headers, gzip, no nginx version" headers

# promtool's lint, except prom-client's own default gauges named *_total (nodejs_active_*), which the app
# cannot rename; any other finding fails.
prom_lint() {
  local out
  out=$(promtool check metrics 2>&1) && return 0
  ! grep -v -E '^nodejs_active_[a-z]+_total non-counter metrics should not have "_total" suffix$' <<<"$out" | grep -q .
}

metrics_private() {
  local a=${ADDR[app1]} public web worker
  public=$(c_curl -o /dev/null -w '%{http_code}' "https://$DAPANDA_DOMAIN/metrics")
  # Read whole first: `curl | grep -q` fails under pipefail when grep stops reading early.
  web=$(in_ns mon curl -fsS --max-time 5 "http://$a:9464/metrics" || true)
  worker=$(in_ns mon curl -fsS --max-time 5 "http://$a:9465/metrics" || true)
  web=$(prom_lint <<<"$web" && [[ -n $web ]] && echo valid || echo invalid)
  worker=$(grep -q 'role="worker"' <<<"$worker" && echo valid || echo invalid)
  say "  /metrics through nginx: $public; from mon: web $web, worker $worker"
  [[ $public == 404 && $web == valid && $worker == valid ]] && ! tcp_open client "$a" 9464 && ! tcp_open app1 127.0.0.1 9464
}
check "metrics: 404 through nginx; web :9464 / worker :9465 on app1's private address, from mon only (not 127.0.0.1, not the client)" metrics_private

websocket() {
  local out
  out=$(c_curl -sS -i -N --http1.1 --max-time 3 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "https://$DAPANDA_DOMAIN/ws" | tr -d '\0' || true)
  # The stand-in greets every socket; the real app speaks only about topics (the journey checks those).
  grep -q '^HTTP/1.1 101' <<<"$out" && { [[ $APP == release ]] || grep -qa 'hello from app' <<<"$out"; }
}
check "WebSocket upgrade on /ws through nginx and HAProxy (101 + first frame)" websocket

upload_limit() {
  local ok big by50 by111
  ok=$(head -c 52428800 /dev/zero | c_curl -o "$R/upload50.out" -w '%{http_code}' --data-binary @- "https://$DAPANDA_DOMAIN/upload")
  big=$(head -c 116391936 /dev/zero | c_curl -o "$R/upload111.out" -w '%{http_code}' --data-binary @- "https://$DAPANDA_DOMAIN/upload" || true)
  # Who answered: nginx's own error page names nginx; the app's pages do not.
  by50=$(grep -q '<center>nginx</center>' "$R/upload50.out" 2>/dev/null && echo nginx || echo app)
  by111=$(grep -q '<center>nginx</center>' "$R/upload111.out" 2>/dev/null && echo nginx || echo app)
  say "  50 MiB upload -> $ok ($by50), 111 MiB upload -> $big ($by111)"
  # The real app has no /upload route (it answers 413 itself, or drops the connection mid-body: nginx 502):
  # what matters there is that nginx's own size limit let 50 MiB through and stopped 111 MiB.
  [[ ($ok == 200 || ($APP == release && ! ($ok == 413 && $by50 == nginx))) && $big == 413 && $by111 == nginx ]]
}
check "request size limit: 50 MiB accepted, 111 MiB refused with 413" upload_limit

media_cache() {
  # A key of the shape the app makes (catalog's photos/<uuid>-full.webp; src/core/storage.ts serves nothing
  # else) in the photo store the nodes share. The stand-in app serves any path under /media/.
  local key first second
  key=photos/$(cat /proc/sys/kernel/random/uuid)-full.webp
  mkdir -p "$R/data/photos/photos"
  head -c 200000 /dev/urandom >"$R/data/photos/$key"
  first=$(c_curl -o /dev/null -D - "https://$DAPANDA_DOMAIN/media/$key" | tr -d '\r' | sed -n -e 's/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' -e 's/^x-cache-status: //Ip' | paste -sd ' ')
  second=$(c_curl -o /dev/null -D - "https://$DAPANDA_DOMAIN/media/$key" | tr -d '\r' | sed -n -e 's/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' -e 's/^x-cache-status: //Ip' | paste -sd ' ')
  say "  /media/ cache (status, X-Cache-Status): $first then $second"
  [[ $first == "200 MISS" && $second == "200 HIT" ]]
}
check "photos under /media/ cached by nginx (MISS then HIT)" media_cache

firewall() {
  tcp_open app1 "${ADDR[data]}" 5432 && tcp_open app2 "${ADDR[data]}" 6379 &&
    ! tcp_open client "${ADDR[data]}" 5432 && ! tcp_open lb "${ADDR[data]}" 6379 &&
    ! tcp_open client "${ADDR[app1]}" 3000 && tcp_open lb "${ADDR[app1]}" 3000 && tcp_open client "$LB" 443
}
check "nftables: 5432/6379 only from app nodes, app port only from lb" firewall

# Prometheus on mon (deploy/monitoring/prometheus.yml, mon.sh's targets) scraped every app process and
# HAProxy at least once; by now it has had a minute or more.
prometheus_scrapes() {
  local q out
  q='count by (job) (max_over_time(up{job=~"dapanda-web|dapanda-worker|haproxy"}[10m]) == 1)'
  out=$(in_ns client curl -fsS --max-time 5 "http://${ADDR[mon]}:9090/api/v1/query" --data-urlencode "query=$q" |
    jq -r '[.data.result[] | "\(.metric.job)=\(.value[1])"] | sort | join(" ")')
  say "  targets scraped up: $out"
  [[ $out == "dapanda-web=2 dapanda-worker=2 haproxy=1" ]]
}

db_roles() {
  local url_app url_mig
  url_app=$(sed -n 's/^DATABASE_URL=//p' "$R/app1/etc/dapanda.env")
  url_mig=$(sed -n 's/^MIGRATE_DATABASE_URL=//p' "$R/app1/etc/migrate.env")
  in_ns app1 psql -X -q "$url_app" -c "select count(*) from $SAMPLE_TABLE" >/dev/null &&
    ! in_ns app1 psql -X -q "$url_app" -c 'create table app_may_not(x int)' 2>/dev/null &&
    in_ns app1 psql -X -q "$url_mig" -c 'create table migrator_may(x int); drop table migrator_may' &&
    ! in_ns app1 psql -X -q "${url_app/:$DAPANDA_DB_APP_PASSWORD@/:wrong@}" -c 'select 1' 2>/dev/null
}
check "PostgreSQL roles: app has DML only, migrator owns schema, scram password enforced" db_roles

failover() {
  local pid
  load failover 15 8 "$P_FAILOVER" &
  local lp=$!
  sleep 4
  pid=$(cat "$R/app1/run/dapanda-web.service.pid")
  local killed_ms
  killed_ms=$(date +%s%3N)
  kill -9 "$pid"
  say "  killed app1 web (pid $pid, SIGKILL) at ~4s"
  wait "$lp"
  report_load failover
  say "  timeline: $(jq -r '.timeline | join(" ")' "$R/failover.json")"
  local after_kill cut other
  after_kill=$(jq -r '[.timeline[] | select(test("^([6-9]|1[0-4])s:"))] | map(test("app1")) | any' "$R/failover.json")
  # A response app1 was sending when it died is cut (HAProxy retries requests that got no answer
  # yet; half an answer cannot be replayed). Allowed: such cuts within 2 s of the kill, at most one
  # per load loop. Anything else (reset, refused, timeout, 5xx) fails.
  cut=$(jq --argjson k "$killed_ms" '[.errorLog[] | select(.code == "EABORTED" and .at >= $k and .at <= $k + 2000)] | length' "$R/failover.json")
  other=$(jq --argjson c "$cut" '([.errors[]] + [.probe.errors[]] | add // 0) - $c' "$R/failover.json")
  say "  responses cut by the SIGKILL: $cut; other transport errors: $other"
  node_exec app1 x restart 2>/dev/null && node_exec app1 x wait-ready 20 2>/dev/null
  [[ $(jq_ .count5xx failover) == 0 && $other == 0 && $cut -le 8 && $(jq_ .requests failover) -gt 100 && $(jq_ .identified failover) == 0 &&
    $(jq_ .hung failover) == false && $(jq_ '[.probe.status | to_entries[] | select(.key != "200")] | length' failover) == 0 && $after_kill == false ]]
}
check "SIGKILL of app1 under load: no 5xx, no reset (only responses cut at the kill), app2 takes all traffic" failover

rolling_release() {
  load rolling 30 8 "$P_ROLLING" &
  local lp=$! rc=0
  sleep 3
  bash "$REPO/deploy/release.sh" "$V2" 2>"$R/deploy-v2.log" || rc=$?
  sed 's/^/    /' "$R/deploy-v2.log" | grep -E '\[deploy|dapanda-lb\]' || true
  wait "$lp"
  report_load rolling
  local after runs
  after=$(versions_served)
  runs=$(in_ns data runuser -u postgres -- psql -X -At -h "$R/data/pgsock" -d "$DAPANDA_DB_NAME" \
    -c "select count(*) from standin_migrate_runs where version = '$VER2'" 2>/dev/null || echo "?")
  say "  after release: versions served: $after; migrate runs for $VER2: $runs"
  ((rc == 0)) && no_failures rolling && [[ $after == "$VER2 " ]] && { [[ $APP == release ]] || [[ $runs == 1 ]]; }
}
check "rolling release (deploy/release.sh, HAProxy drain) under 30 s load: no reset, no 5xx, every node on the new release, migrated once" rolling_release

rollback() {
  load rollback 20 8 "$P_ROLLBACK" &
  local lp=$! rc=0
  sleep 2
  bash "$REPO/deploy/rollback.sh" 2>"$R/rollback.log" || rc=$?
  wait "$lp"
  report_load rollback
  local after
  after=$(versions_served)
  say "  after rollback: versions served: $after"
  ((rc == 0)) && no_failures rollback && [[ $after == "$VER1 " ]]
}
check "rollback (deploy/rollback.sh, HAProxy drain) under load: no reset, no 5xx, every node back on the previous release" rollback

# ---------------------------------------------------------------- 7. checks that need the real app
for fn in check_shopper_journey check_bidding_storm_failover; do
  if [[ $APP != release ]]; then
    SKIP=$((SKIP + 1)); say "skip - $fn (needs --app release)"; continue
  fi
  rc=0; "$fn" || rc=$?
  case $rc in
    0) PASS=$((PASS + 1)); say "ok - $fn" ;;
    77) SKIP=$((SKIP + 1)); say "skip - $fn (TODO in test/ops/rehearsal/app-checks.sh)" ;;
    *) FAIL=$((FAIL + 1)); say "not ok - $fn" ;;
  esac
done


backup_restore() {
  local url_mig backup expected actual
  url_mig=$(sed -n 's/^MIGRATE_DATABASE_URL=//p' "$R/app1/etc/migrate.env")
  if [[ $APP == fixture ]]; then
    in_ns app1 psql -X -q "$url_mig" -c "insert into standin_items(name, price_won) select 'item ' || g, g * 1000 from generate_series(1, 5000) g" || return 1
  fi # with the real app, the journey and the storm above wrote users, listings, photos, bids and ledger rows
  backup=$(in_ns data env BACKUP_PGHOST="$R/data/pgsock" BACKUP_DB="$DAPANDA_DB_NAME" BACKUP_STORAGE_DIR="$R/data/photos" \
    BACKUP_DIR="$R/data/backups" BACKUP_TARGET="$R/data/offsite" BACKUP_TEXTFILE_DIR="$R/data/textfile" \
    bash "$REPO/deploy/backup.sh" /nonexistent 2>"$R/backup.log") || { cat "$R/backup.log"; return 1; }
  in_ns data env BACKUP_PGHOST="$R/data/pgsock" bash "$REPO/deploy/restore.sh" --db dapanda_restored \
    --photos "$R/data/photos-restored" "$R/data/offsite/daily/$(basename "$backup")" 2>"$R/restore.log" || { cat "$R/restore.log"; return 1; }
  expected=$(BACKUP_PGHOST=$R/data/pgsock table_checksums "$DAPANDA_DB_NAME")
  actual=$(BACKUP_PGHOST=$R/data/pgsock table_checksums dapanda_restored)
  printf '%s\n' "$actual" | awk -F'\t' '{ printf "    restored %-34s %6s rows  md5 %s\n", $1, $2, $3 }'
  say "  photos: $(find "$R/data/photos-restored" -type f | wc -l) restored, trees equal: $(diff -r "$R/data/photos" "$R/data/photos-restored" >/dev/null && echo yes || echo no)"
  [[ -n $expected && $expected == "$actual" ]] && diff -r "$R/data/photos" "$R/data/photos-restored" >/dev/null &&
    promtool check metrics <"$R/data/textfile/dapanda_backup.prom" &&
    ! in_ns data env BACKUP_PGHOST="$R/data/pgsock" bash "$REPO/deploy/restore.sh" --db dapanda_restored \
      --photos "$R/data/photos-x" "$R/data/offsite/daily/$(basename "$backup")" 2>/dev/null
}
check "Prometheus on mon scraped both app nodes' web and worker metrics and HAProxy" prometheus_scrapes

check "backup on data, restore from the off-site copy: equal row counts and checksums per table, photos equal, non-empty target refused" backup_restore

say "done in $((SECONDS - T0))s"
echo "rehearsal: $PASS passed, $FAIL failed, $SKIP skipped"
((FAIL == 0))
