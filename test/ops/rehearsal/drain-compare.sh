#!/usr/bin/env bash
# Measures what a drain costs the clients of the load balancer, two ways, under the same load:
#   nginx-reload   nginx in front of two upstreams; a drain rewrites the upstream list and reloads nginx
#                  (how deploy/ drained a node before HAProxy)
#   haproxy-drain  nginx in front of HAProxy in front of the same two upstreams; a drain is
#                  `set server ... state drain` on HAProxy's runtime API, nginx is never reloaded
# Each mode: 8 loops of back-to-back HTTPS GETs through nginx (test/ops/rehearsal/load.mjs) for
# SECONDS, with a drain or undrain every 0.5 s. Prints one JSON line per mode (requests, transport
# errors, reused-socket retries, 5xx, drains). Root; everything runs in one network namespace on its
# loopback and is removed at the end.
#
#   test/ops/rehearsal/drain-compare.sh [SECONDS] [ROUNDS]     (default 20 s, 1 round per mode)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
SECS=${1:-20} ROUNDS=${2:-1}
NS=${NS_PREFIX:-dpd-}drain-compare
W=$(mktemp -d /tmp/drain-compare.XXXXXX)
[[ $(id -u) -eq 0 ]] || { echo "needs root (network namespace)" >&2; exit 2; }
for tool in nginx haproxy socat node openssl ip; do command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 2; }; done
in_ns() { ip netns exec "$NS" "$@"; }
cleanup() {
  local pids
  pids=$(ip netns pids "$NS" 2>/dev/null || true)
  # shellcheck disable=SC2086
  if [[ -n $pids ]]; then kill -9 $pids 2>/dev/null || true; fi
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
cleanup
W=$(mktemp -d /tmp/drain-compare.XXXXXX)
ip netns add "$NS"
in_ns ip link set lo up
mkdir -p "$W"/{log,tmp}
chown www-data "$W/tmp"
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -subj /CN=dapanda.local \
  -addext subjectAltName=DNS:dapanda.local,IP:127.0.0.1 -keyout "$W/key.pem" -out "$W/cert.pem" 2>/dev/null

# Two trivial upstreams (keep-alive longer than nginx's and HAProxy's, as the app's).
cat >"$W/upstream.mjs" <<'EOF'
import http from "node:http";
const [port, name] = process.argv.slice(2);
const s = http.createServer((req, res) => setTimeout(() => { res.writeHead(200, { "x-dapanda-node": name }); res.end("ok\n"); }, 2));
s.keepAliveTimeout = 72_000;
s.listen(Number(port), "127.0.0.1");
EOF
for p in 9101 9102; do in_ns setsid node "$W/upstream.mjs" "$p" "u$p" </dev/null >/dev/null 2>&1 & done

nginx_conf() { # UPSTREAM_BLOCK
  cat <<EOF
worker_processes 2;
pid $W/nginx.pid;
error_log $W/log/error.log warn;
worker_shutdown_timeout 30s;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $W/tmp/body; proxy_temp_path $W/tmp/proxy; fastcgi_temp_path $W/tmp/f; uwsgi_temp_path $W/tmp/u; scgi_temp_path $W/tmp/s;
  keepalive_timeout 65s;
  $1
  server {
    listen 127.0.0.1:8443 ssl http2;
    ssl_certificate $W/cert.pem; ssl_certificate_key $W/key.pem;
    proxy_http_version 1.1; proxy_set_header Connection "";
    proxy_next_upstream error timeout http_502 http_503 http_504; proxy_next_upstream_tries 2;
    location / { proxy_pass http://app; }
  }
}
EOF
}
wait_port() { local i; for ((i = 0; i < 50; i++)); do in_ns bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
wait_port 9101 && wait_port 9102

load() { # NAME
  in_ns timeout $((SECS + 30)) node "$REPO/test/ops/rehearsal/load.mjs" --url https://127.0.0.1:8443 --ca "$W/cert.pem" \
    --servername dapanda.local --duration "$SECS" --concurrency 8 --max 1000000 --paths / >"$W/$1.json"
}
report() { # NAME MODE DRAINS
  jq -c --arg mode "$2" --argjson drains "$3" '{mode: $mode, requests, errors, reusedSocketRetries, count5xx, drains: $drains, p99ms}' "$W/$1.json"
}

mode_nginx_reload() {
  local up="upstream app { server 127.0.0.1:9101 max_fails=2 fail_timeout=10s; server 127.0.0.1:9102 max_fails=2 fail_timeout=10s; keepalive 32; }"
  nginx_conf "$up" >"$W/nginx.conf"
  in_ns nginx -p "$W" -e "$W/log/error.log" -c "$W/nginx.conf"
  wait_port 8443
  load "nginx-$1" &
  local lp=$! n=0 end=$((SECONDS + SECS - 1))
  sleep 0.5
  while ((SECONDS < end)); do
    # Alternate: drain 9101, undrain it (the next release step), as a rolling deploy does per node.
    if ((n % 2 == 0)); then nginx_conf "${up/9101 max_fails=2 fail_timeout=10s;/9101 max_fails=2 fail_timeout=10s down;}" >"$W/nginx.conf"
    else nginx_conf "$up" >"$W/nginx.conf"; fi
    in_ns nginx -p "$W" -e "$W/log/error.log" -c "$W/nginx.conf" -s reload
    n=$((n + 1))
    sleep 0.5
  done
  wait "$lp"
  report "nginx-$1" nginx-reload "$n"
  in_ns nginx -p "$W" -e "$W/log/error.log" -c "$W/nginx.conf" -s stop
  sleep 1
}

mode_haproxy_drain() {
  cat >"$W/haproxy.cfg" <<EOF
global
  stats socket $W/haproxy.sock mode 600 level admin
defaults
  mode http
  timeout connect 2s
  timeout client 75s
  timeout http-keep-alive 75s
  timeout server 60s
  retries 2
  option redispatch 1
  retry-on conn-failure empty-response response-timeout 502 503 504
frontend fe
  bind 127.0.0.1:8080
  default_backend app
backend app
  http-request disable-l7-retry unless METH_GET || METH_HEAD || METH_OPTIONS
  server u1 127.0.0.1:9101
  server u2 127.0.0.1:9102
EOF
  in_ns setsid haproxy -W -p "$W/haproxy.pid" -f "$W/haproxy.cfg" </dev/null >"$W/log/haproxy.log" 2>&1 &
  wait_port 8080
  nginx_conf "upstream app { server 127.0.0.1:8080; keepalive 32; keepalive_timeout 60s; }" >"$W/nginx.conf"
  in_ns nginx -p "$W" -e "$W/log/error.log" -c "$W/nginx.conf"
  wait_port 8443
  load "haproxy-$1" &
  local lp=$! n=0 end=$((SECONDS + SECS - 1)) state
  sleep 0.5
  while ((SECONDS < end)); do
    if ((n % 2 == 0)); then state=drain; else state=ready; fi
    echo "set server app/u1 state $state" | in_ns socat - "UNIX-CONNECT:$W/haproxy.sock" >/dev/null
    n=$((n + 1))
    sleep 0.5
  done
  wait "$lp"
  report "haproxy-$1" haproxy-drain "$n"
  in_ns nginx -p "$W" -e "$W/log/error.log" -c "$W/nginx.conf" -s stop
  kill "$(cat "$W/haproxy.pid")"
  sleep 1
}

for ((r = 1; r <= ROUNDS; r++)); do
  mode_nginx_reload "$r"
  mode_haproxy_drain "$r"
done
