# shellcheck shell=bash
# Bringing up the on-prem layout's nodes as network namespaces (sourced by run.sh; reusable by other
# rehearsals). Each node gets the configuration deploy/ renders for a VM of its role. Needs, set by the
# caller: REPO, R (state dir), NS_PREFIX, NET (a /24 prefix, e.g. 10.77.0), ADDR (assoc: node -> address)
# and the DAPANDA_* provisioning variables (deploy/env/example.env); deploy/lib/{common,render}.sh sourced.
#
#   rh_network NODE...        a bridge in namespace ${NS_PREFIX}net and one namespace per node on it
#   rh_data NODE              PostgreSQL 15 (roles.sql, pg_hba) + Redis as data.sh configures them
#   rh_firewall NODE ROLE     the role's nftables rules (render_nft)
#   rh_lb NODE                nginx (TLS edge, admin listener) + HAProxy (balancing, drain API)
#   rh_app_dirs NODE          an app node's env files (the units run later, via deploy/release.sh)
#   rh_mon NODE               Prometheus with deploy/monitoring's config and mon.sh's targets
#   rh_teardown NODE...       kill everything in those namespaces and delete them

in_ns() { local ns=$1; shift; ip netns exec "$NS_PREFIX$ns" "$@"; }

rh_teardown() {
  local n pids
  for n in "$@" net; do
    ip netns list | grep -qw "$NS_PREFIX$n" || continue
    pids=$(ip netns pids "$NS_PREFIX$n" || true)
    if [[ -n $pids ]]; then
      # shellcheck disable=SC2086
      kill $pids 2>/dev/null || true
    fi
  done
  sleep 1
  for n in "$@" net; do
    ip netns list | grep -qw "$NS_PREFIX$n" || continue
    pids=$(ip netns pids "$NS_PREFIX$n" || true)
    if [[ -n $pids ]]; then
      # shellcheck disable=SC2086
      kill -9 $pids 2>/dev/null || true
    fi
    ip netns del "$NS_PREFIX$n"
  done
}

rh_network() {
  local n
  ip netns add "${NS_PREFIX}net"
  in_ns net ip link add br0 type bridge
  in_ns net ip link set br0 up
  for n in "$@"; do
    ip netns add "$NS_PREFIX$n"
    in_ns net ip link add "v-$n" type veth peer name eth0 netns "$NS_PREFIX$n"
    in_ns net ip link set "v-$n" master br0 up
    in_ns "$n" ip addr add "${ADDR[$n]}/24" dev eth0
    in_ns "$n" ip link set eth0 up
    in_ns "$n" ip link set lo up
  done
}

rh_firewall() { # NODE ROLE
  render_nft "$2" >"$R/$1.nft"
  in_ns "$1" nft -f "$R/$1.nft"
}

rh_data() {
  local n=$1 d=$R/$1
  mkdir -p "$d"/{pgsock,redis,photos,backups,textfile}
  chown postgres:postgres "$d/pgsock"
  install -d -o postgres -g postgres -m 0700 "$d/pg"
  runuser -u postgres -- initdb -D "$d/pg" -U postgres --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  render_pg_hba >"$d/pg/pg_hba.conf"
  render_pg_conf >"$d/pg/dapanda.conf"
  printf "include 'dapanda.conf'\nunix_socket_directories = '%s'\n" "$d/pgsock" >>"$d/pg/postgresql.conf"
  chown postgres:postgres "$d/pg/"*.conf
  in_ns "$n" runuser -u postgres -- pg_ctl -D "$d/pg" -l "$d/pg/server.log" -w -t 30 start >/dev/null
  in_ns "$n" runuser -u postgres -- psql -X -q -h "$d/pgsock" -v dbname="$DAPANDA_DB_NAME" \
    -v app_password="$DAPANDA_DB_APP_PASSWORD" -v migrator_password="$DAPANDA_DB_MIGRATOR_PASSWORD" \
    -f "$REPO/deploy/provision/sql/roles.sql"
  chown redis:redis "$d/redis"
  { render_redis_conf
    printf 'dir %s\ndaemonize yes\npidfile %s\nlogfile %s\n' "$d/redis" "$d/redis/redis.pid" "$d/redis/redis.log"
  } >"$d/redis.conf"
  in_ns "$n" runuser -u redis -- redis-server "$d/redis.conf"
}

# The variables lb.sh exports, with this node's directories instead of /etc, /run and /var.
rh_lb_env() {
  local d=$R/$1
  export NGINX_USER=www-data NGINX_PID=$d/nginx.pid NGINX_LOG_DIR=$d/log NGINX_MIME_TYPES=/etc/nginx/mime.types
  export NGINX_TEMP_DIR=$d/tmp NGINX_CONF_DIR=$d/conf NGINX_CACHE_DIR=$d/cache
  export NGINX_HTTP_PORT=80 NGINX_HTTPS_PORT=443 NGINX_ADMIN_PORT=8443 NGINX_ADMIN_ALLOW=${DAPANDA_ADMIN_CIDR:-127.0.0.1}
  export NGINX_TLS_CERT=$d/tls/dapanda.crt NGINX_TLS_KEY=$d/tls/dapanda.key
  export HAPROXY_PORT=8080 HAPROXY_INTERNAL_PORT=8081 HAPROXY_LOG_TARGET="stderr format raw" HAPROXY_CHROOT=$d/haproxy/chroot
  export HAPROXY_SOCKET=$d/haproxy/admin.sock HAPROXY_STATE_FILE=$d/haproxy/server-state HAPROXY_METRICS_BIND=${ADDR[$1]}:8405
}

rh_lb() {
  local n=$1 d=$R/$1 i
  rh_lb_env "$n"
  mkdir -p "$d"/{log,tmp,conf,cache,tls,haproxy/chroot}
  chown www-data "$d/tmp" "$d/cache"
  make_selfsigned_cert "$NGINX_TLS_CERT" "$NGINX_TLS_KEY" "$DAPANDA_DOMAIN" "${ADDR[$n]}"
  render_template "$REPO/deploy/nginx/nginx.conf.tmpl" >"$d/nginx.conf"
  render_template "$REPO/deploy/nginx/dapanda.conf.tmpl" >"$d/conf/dapanda.conf"
  cp "$REPO/deploy/nginx/security-headers.conf" "$REPO/deploy/nginx/proxy-headers.conf" "$d/conf/"
  render_haproxy_cfg "$REPO/deploy/haproxy/haproxy.cfg.tmpl" >"$d/haproxy/haproxy.cfg"
  in_ns "$n" haproxy -c -q -f "$d/haproxy/haproxy.cfg"
  # Master-worker in the foreground (as Debian's unit runs it), its log on stderr into a file.
  in_ns "$n" setsid haproxy -W -f "$d/haproxy/haproxy.cfg" -p "$d/haproxy/haproxy.pid" </dev/null >>"$d/log/haproxy.log" 2>&1 &
  for ((i = 0; i < 50; i++)); do [[ -S $HAPROXY_SOCKET ]] && break; sleep 0.1; done
  in_ns "$n" nginx -t -q -p "$d" -e "$d/log/error.log" -c "$d/nginx.conf"
  in_ns "$n" nginx -p "$d" -e "$d/log/error.log" -c "$d/nginx.conf"
}

rh_app_dirs() {
  local n=$1 d=$R/$1
  mkdir -p "$d"/{opt,etc,run,log}
  # As app.sh picks it: this node's own address, where mon scrapes the metrics.
  # Mail as .eml files in the node's own folder: the shopper checks read sign-up links there.
  mkdir -p "$d/mail"
  DAPANDA_METRICS_HOST=${ADDR[$n]} DAPANDA_MAIL_DIR=$d/mail render_app_env >"$d/etc/dapanda.env"
  render_migrate_env >"$d/etc/migrate.env"
  chmod 0640 "$d/etc/dapanda.env"
  chmod 0600 "$d/etc/migrate.env"
}

rh_mon() {
  local n=$1 d=$R/$1 j
  mkdir -p "$d"/{targets,tsdb}
  sed -e "s|/etc/prometheus/dapanda/rules|$REPO/deploy/monitoring/rules|" -e "s|/etc/prometheus/dapanda/targets|$d/targets|" \
    "$REPO/deploy/monitoring/prometheus.yml" >"$d/prometheus.yml"
  # shellcheck disable=SC2046
  render_prom_targets 9464 $(app_nodes_addrs) >"$d/targets/web.json"
  # shellcheck disable=SC2046
  render_prom_targets 9465 $(app_nodes_addrs) >"$d/targets/worker.json"
  render_prom_targets 8405 "$DAPANDA_LB_ADDR" >"$d/targets/haproxy.json"
  for j in node postgres redis; do echo '[]' >"$d/targets/$j.json"; done # exporters are not rehearsed
  in_ns "$n" setsid prometheus --config.file="$d/prometheus.yml" --storage.tsdb.path="$d/tsdb" \
    --web.listen-address="${ADDR[$n]}:9090" </dev/null >>"$d/prometheus.log" 2>&1 &
}
