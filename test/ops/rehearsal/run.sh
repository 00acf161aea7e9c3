#!/usr/bin/env bash
# Network-namespace rehearsal of the on-prem layout (no hypervisor here): namespaces lb, app1, app2,
# data and client on a private bridge (10.77.0.0/24, existing only inside these namespaces), running
# the real nginx config, firewall rules, PostgreSQL roles/pg_hba and Redis config rendered by deploy/,
# app nodes from a release tarball started with the systemd units' own ExecStart and env, and
# releases/rollbacks done by deploy/release.sh and deploy/rollback.sh.
#
#   test/ops/rehearsal/run.sh [--app fixture|release] [--keep]
#
# --app fixture (default) packages test/ops/fixtures/stand-in-app with scripts/release.sh;
# --app release packages this repository (needs the real app to build). --keep leaves everything
# running for debugging (tear down with --teardown). Root only. Bounded: every load has a duration
# and a request cap, every wait a timeout. Ends with "N passed, N failed, N skipped".
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../../.." && pwd)
R=$REPO/.data/rehearsal
NS_PREFIX=dpd-
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
# shellcheck source=test/ops/rehearsal/hooks.sh
. "$REPO/test/ops/rehearsal/hooks.sh"
# shellcheck source=test/ops/rehearsal/app-checks.sh
. "$REPO/test/ops/rehearsal/app-checks.sh"

NODES=(lb app1 app2 data client)
declare -A ADDR=([lb]=$NET.10 [app1]=$NET.11 [app2]=$NET.12 [data]=$NET.20 [client]=$NET.100)
LB=${ADDR[lb]}
CA=$R/lb/tls/dapanda.crt
T0=$SECONDS
PASS=0 FAIL=0 SKIP=0
say() { printf '[rehearsal +%3ss] %s\n' "$((SECONDS - T0))" "$*"; }
in_ns() { local ns=$1; shift; ip netns exec "$NS_PREFIX$ns" "$@"; }

teardown() {
  local n pids
  for n in "${NODES[@]}" net; do
    ip netns list | grep -qw "$NS_PREFIX$n" || continue
    pids=$(ip netns pids "$NS_PREFIX$n" || true)
    if [[ -n $pids ]]; then
      # shellcheck disable=SC2086
      kill $pids 2>/dev/null || true
    fi
  done
  sleep 1
  for n in "${NODES[@]}" net; do
    ip netns list | grep -qw "$NS_PREFIX$n" || continue
    pids=$(ip netns pids "$NS_PREFIX$n" || true)
    if [[ -n $pids ]]; then
      # shellcheck disable=SC2086
      kill -9 $pids 2>/dev/null || true
    fi
    ip netns del "$NS_PREFIX$n"
  done
}
if [[ $APP == teardown ]]; then teardown; exit 0; fi
[[ $APP == fixture || $APP == release ]] || { echo "--app fixture|release" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "run.sh needs root (network namespaces)" >&2; exit 2; }
for tool in ip nft nginx initdb pg_ctl psql redis-server node curl openssl promtool; do
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
export DAPANDA_LB_ADDR=$LB DAPANDA_DATA_ADDR=${ADDR[data]} DAPANDA_MON_ADDR=$NET.30 DAPANDA_NODES_CIDR=$NET.0/24
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
mkdir -p "$R"/{lb,app1,app2,data,releases,build}

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
  V1=$(RELEASE_OUT_DIR=$R/releases bash "$REPO/scripts/release.sh" | cut -f1)
  # Same code shipped again under a new id: proves the rolling switch, not a code change.
  V2=${V1%.tar.gz}-redeploy.tar.gz
  cp "$V1" "$V2"
  (cd "$R/releases" && sha256sum "$(basename "$V2")" >"$(basename "$V2").sha256")
  VER1=$(node -p 'require(process.argv[1]).version' "$REPO/package.json") VER2=$VER1
fi
say "releases: $(basename "$V1") $(basename "$V2") ($(du -h "$V1" | cut -f1))"

# ---------------------------------------------------------------- 2. network
say "namespaces ${NODES[*]} on bridge $NET.0/24"
ip netns add "${NS_PREFIX}net"
in_ns net ip link add br0 type bridge
in_ns net ip link set br0 up
for n in "${NODES[@]}"; do
  ip netns add "$NS_PREFIX$n"
  in_ns net ip link add "v-$n" type veth peer name eth0 netns "$NS_PREFIX$n"
  in_ns net ip link set "v-$n" master br0 up
  in_ns "$n" ip addr add "${ADDR[$n]}/24" dev eth0
  in_ns "$n" ip link set eth0 up
  in_ns "$n" ip link set lo up
done

# ---------------------------------------------------------------- 3. data node
say "data: PostgreSQL 15, Redis, firewall"
mkdir -p "$R/data"/{pgsock,redis,photos,backups,textfile}
chown postgres:postgres "$R/data/pgsock"
install -d -o postgres -g postgres -m 0700 "$R/data/pg"
runuser -u postgres -- initdb -D "$R/data/pg" -U postgres --auth-local=peer --auth-host=scram-sha-256 >/dev/null
render_pg_hba >"$R/data/pg/pg_hba.conf"
render_pg_conf >"$R/data/pg/dapanda.conf"
printf "include 'dapanda.conf'\nunix_socket_directories = '%s'\n" "$R/data/pgsock" >>"$R/data/pg/postgresql.conf"
chown postgres:postgres "$R/data/pg/"*.conf
in_ns data runuser -u postgres -- pg_ctl -D "$R/data/pg" -l "$R/data/pg/server.log" -w -t 30 start >/dev/null
in_ns data runuser -u postgres -- psql -X -q -h "$R/data/pgsock" -v dbname="$DAPANDA_DB_NAME" \
  -v app_password="$DAPANDA_DB_APP_PASSWORD" -v migrator_password="$DAPANDA_DB_MIGRATOR_PASSWORD" \
  -f "$REPO/deploy/provision/sql/roles.sql"
chown redis:redis "$R/data/redis"
{ render_redis_conf
  printf 'dir %s\ndaemonize yes\npidfile %s\nlogfile %s\n' "$R/data/redis" "$R/data/redis/redis.pid" "$R/data/redis/redis.log"
} >"$R/data/redis.conf"
in_ns data runuser -u redis -- redis-server "$R/data/redis.conf"
for n in lb app1 app2 data; do
  role=$n
  [[ $n == app* ]] && role=app
  render_nft "$role" >"$R/$n.nft"
  in_ns "$n" nft -f "$R/$n.nft"
done

# ---------------------------------------------------------------- 4. load balancer
say "lb: nginx with the rendered deploy/nginx config"
export NGINX_USER=www-data NGINX_PID=$R/lb/nginx.pid NGINX_LOG_DIR=$R/lb/log NGINX_MIME_TYPES=/etc/nginx/mime.types
export NGINX_TEMP_DIR=$R/lb/tmp NGINX_CONF_DIR=$R/lb/conf NGINX_CACHE_DIR=$R/lb/cache
export NGINX_HTTP_PORT=80 NGINX_HTTPS_PORT=443 NGINX_TLS_CERT=$CA NGINX_TLS_KEY=$R/lb/tls/dapanda.key
mkdir -p "$R/lb"/{log,tmp,conf,cache,tls}
chown www-data "$R/lb/tmp" "$R/lb/cache"
make_selfsigned_cert "$NGINX_TLS_CERT" "$NGINX_TLS_KEY" "$DAPANDA_DOMAIN" "$LB"
render_template "$REPO/deploy/nginx/nginx.conf.tmpl" >"$R/lb/nginx.conf"
render_template "$REPO/deploy/nginx/dapanda.conf.tmpl" >"$R/lb/conf/dapanda.conf"
cp "$REPO/deploy/nginx/security-headers.conf" "$R/lb/conf/"
app_nodes_addrs | sed "s/\$/:$DAPANDA_APP_PORT/" >"$R/lb/conf/upstream.nodes"
: >"$R/lb/conf/upstream.down"
NGINX_TEST_CMD=true NGINX_RELOAD_CMD=true bash "$REPO/deploy/nginx/upstream.sh" render
in_ns lb nginx -t -q -p "$R/lb" -e "$R/lb/log/error.log" -c "$R/lb/nginx.conf"
in_ns lb nginx -p "$R/lb" -e "$R/lb/log/error.log" -c "$R/lb/nginx.conf"

# ---------------------------------------------------------------- 5. app nodes + first release
for n in app1 app2; do
  mkdir -p "$R/$n"/{opt,etc,run,log}
  render_app_env >"$R/$n/etc/dapanda.env"
  render_migrate_env >"$R/$n/etc/migrate.env"
  chmod 0640 "$R/$n/etc/dapanda.env"
  chmod 0600 "$R/$n/etc/migrate.env"
done
say "first deploy of $(basename "$V1") with deploy/release.sh"
bash "$REPO/deploy/release.sh" "$V1" 2>"$R/deploy-v1.log" || { cat "$R/deploy-v1.log"; exit 1; }

# ---------------------------------------------------------------- helpers for checks
c_curl() { in_ns client curl -sS --max-time 10 --cacert "$CA" --resolve "$DAPANDA_DOMAIN:443:$LB" "$@"; }
load() { # NAME SECONDS CONCURRENCY PATHS: bounded load from the client namespace into $R/NAME.json
  in_ns client timeout $(($2 + 30)) node "$REPO/test/ops/rehearsal/load.mjs" --url "https://$LB" --ca "$CA" \
    --servername "$DAPANDA_DOMAIN" --duration "$2" --concurrency "$3" --max 200000 --paths "$4" >"$R/$1.json"
}
jq_() { jq -r "$1" "$R/$2.json"; }
tcp_open() { in_ns "$1" timeout 3 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; }
report_load() { say "  $1: $(jq -c '{requests, seconds, status, errors, reusedSocketRetries, count5xx, nodes, versions, p99ms}' "$R/$1.json")"; }
no_failures() { [[ $(jq_ .count5xx "$1") == 0 && $(jq_ '.errors | length' "$1") == 0 && $(jq_ .requests "$1") -gt 100 ]]; }

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
  out=$(for _ in $(seq 1 20); do c_curl -o /dev/null -w '%{http_code} %header{x-dapanda-node}\n' "https://$DAPANDA_DOMAIN/readyz"; done | sort | uniq -c)
  say "  /readyz x20 via nginx: $(tr -s ' \n' ' ' <<<"$out")"
  [[ $(c_curl -o /dev/null -w '%{http_code}' "https://$DAPANDA_DOMAIN/healthz") == 200 ]] &&
    grep -q '200 app1' <<<"$out" && grep -q '200 app2' <<<"$out" && ! grep -qv ' 200 ' <<<"$out"
}
check "/healthz and /readyz 200 through nginx, both app nodes answer" health_both

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
  [[ $(c_curl -o /dev/null -w '%{http_code}' "https://$DAPANDA_DOMAIN/metrics") == 404 ]] &&
    in_ns app1 curl -fsS --max-time 5 http://127.0.0.1:9464/metrics | prom_lint &&
    in_ns app1 curl -fsS --max-time 5 http://127.0.0.1:9465/metrics | grep -q 'role="worker"'
}
check "metrics: 404 through nginx; web :9464 and worker :9465 valid Prometheus text on the node" metrics_private

websocket() {
  local out
  out=$(c_curl -sS -i -N --http1.1 --max-time 3 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "https://$DAPANDA_DOMAIN/ws" | tr -d '\0' || true)
  # The stand-in greets every socket; the real app speaks only about topics (the journey checks those).
  grep -q '^HTTP/1.1 101' <<<"$out" && { [[ $APP == release ]] || grep -qa 'hello from app' <<<"$out"; }
}
check "WebSocket upgrade on /ws through nginx (101 + first frame)" websocket

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
  mkdir -p "$R/data/photos/l1"
  head -c 200000 /dev/urandom >"$R/data/photos/l1/a.jpg"
  local first second
  first=$(c_curl -o /dev/null -D - "https://$DAPANDA_DOMAIN/media/l1/a.jpg" | tr -d '\r' | sed -n 's/^x-cache-status: //Ip')
  second=$(c_curl -o /dev/null -D - "https://$DAPANDA_DOMAIN/media/l1/a.jpg" | tr -d '\r' | sed -n 's/^x-cache-status: //Ip')
  say "  /media/ cache: $first then $second"
  [[ $first == MISS && $second == HIT ]]
}
check "photos under /media/ cached by nginx (MISS then HIT)" media_cache

firewall() {
  tcp_open app1 "${ADDR[data]}" 5432 && tcp_open app2 "${ADDR[data]}" 6379 &&
    ! tcp_open client "${ADDR[data]}" 5432 && ! tcp_open lb "${ADDR[data]}" 6379 &&
    ! tcp_open client "${ADDR[app1]}" 3000 && tcp_open lb "${ADDR[app1]}" 3000 && tcp_open client "$LB" 443
}
check "nftables: 5432/6379 only from app nodes, app port only from lb" firewall

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
  kill -9 "$pid"
  say "  killed app1 web (pid $pid, SIGKILL) at ~4s"
  wait "$lp"
  report_load failover
  say "  timeline: $(jq -r '.timeline | join(" ")' "$R/failover.json")"
  local after_kill
  after_kill=$(jq -r '[.timeline[] | select(test("^([6-9]|1[0-4])s:"))] | map(test("app1")) | any' "$R/failover.json")
  node_exec app1 x restart 2>/dev/null && node_exec app1 x wait-ready 20 2>/dev/null
  no_failures failover && [[ $after_kill == false ]]
}
check "SIGKILL of app1 under load: no 5xx, no errors, app2 takes all traffic" failover

rolling_release() {
  load rolling 30 8 "$P_ROLLING" &
  local lp=$! rc=0
  sleep 3
  bash "$REPO/deploy/release.sh" "$V2" 2>"$R/deploy-v2.log" || rc=$?
  sed 's/^/    /' "$R/deploy-v2.log" | grep -E '\[deploy|dapanda-lb\]' || true
  wait "$lp"
  report_load rolling
  local after runs
  after=$(for _ in $(seq 1 10); do c_curl -o /dev/null -w '%header{x-dapanda-version}\n' "https://$DAPANDA_DOMAIN/"; done | sort -u | tr '\n' ' ')
  runs=$(in_ns data runuser -u postgres -- psql -X -At -h "$R/data/pgsock" -d "$DAPANDA_DB_NAME" \
    -c "select count(*) from standin_migrate_runs where version = '$VER2'" 2>/dev/null || echo "?")
  say "  after release: versions served: $after; migrate runs for $VER2: $runs"
  ((rc == 0)) && no_failures rolling && [[ $after == "$VER2 " ]] && { [[ $APP == release ]] || [[ $runs == 1 ]]; }
}
check "rolling release (deploy/release.sh) under 30 s load: no 5xx, every node on the new release, migrated once" rolling_release

rollback() {
  load rollback 20 8 "$P_ROLLBACK" &
  local lp=$! rc=0
  sleep 2
  bash "$REPO/deploy/rollback.sh" 2>"$R/rollback.log" || rc=$?
  wait "$lp"
  report_load rollback
  local after
  after=$(for _ in $(seq 1 10); do c_curl -o /dev/null -w '%header{x-dapanda-version}\n' "https://$DAPANDA_DOMAIN/"; done | sort -u | tr '\n' ' ')
  say "  after rollback: versions served: $after"
  ((rc == 0)) && no_failures rollback && [[ $after == "$VER1 " ]]
}
check "rollback (deploy/rollback.sh) under load: no 5xx, every node back on the previous release" rollback

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
check "backup on data, restore from the off-site copy: equal row counts and checksums per table, photos equal, non-empty target refused" backup_restore

say "done in $((SECONDS - T0))s"
echo "rehearsal: $PASS passed, $FAIL failed, $SKIP skipped"
((FAIL == 0))
