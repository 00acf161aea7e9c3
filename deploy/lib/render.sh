# shellcheck shell=bash
# Renderers for configuration shared by the provision scripts and the network-namespace rehearsal
# (test/ops/rehearsal), so the rehearsal runs exactly what a VM gets. Each prints to stdout and
# reads the DAPANDA_* variables documented in deploy/env/example.env.

_app_addrs() { local n; for n in $DAPANDA_APP_NODES; do printf '%s\n' "${n#*=}"; done; }
_nft_set() { local IFS=,; printf '{ %s }' "$*"; }

# The application's environment (/etc/dapanda/dapanda.env, 0640 root:dapanda). ROLE and
# METRICS_PORT are set by each unit, so they are absent here (EnvironmentFile= would override them).
# Metrics (no auth, business figures) bind to the node's private address, which only mon may reach
# (nftables), or to loopback where an agent on the node scrapes them (DAPANDA_METRICS_HOST).
render_app_env() {
  cat <<EOF
# Managed by deploy/provision/app.sh: local edits are overwritten.
NODE_ENV=production
HOST=0.0.0.0
PORT=${DAPANDA_APP_PORT}
METRICS_HOST=${DAPANDA_METRICS_HOST:-127.0.0.1}
PUBLIC_URL=https://${DAPANDA_DOMAIN}
TRUST_PROXY=true
LOG_LEVEL=${DAPANDA_LOG_LEVEL:-info}
STORAGE_DIR=${DAPANDA_STORAGE_DIR}
DATABASE_URL=postgresql://dapanda_app:${DAPANDA_DB_APP_PASSWORD}@$(_db_host):5432/${DAPANDA_DB_NAME}$(_db_params)
REDIS_URL=${DAPANDA_REDIS_SCHEME:-redis}://:${DAPANDA_REDIS_PASSWORD}@${DAPANDA_REDIS_HOST:-$DAPANDA_DATA_ADDR}:6379
SESSION_SECRET=${DAPANDA_SESSION_SECRET}
SOFT_CLOSE_SECONDS=${DAPANDA_SOFT_CLOSE_SECONDS:-180}
AUCTION_SWEEP_MS=${DAPANDA_AUCTION_SWEEP_MS:-15000}
ORDER_ADDRESS_REMIND_DAYS=${DAPANDA_ORDER_ADDRESS_REMIND_DAYS:-2}
ORDER_ADDRESS_DAYS=${DAPANDA_ORDER_ADDRESS_DAYS:-4}
ORDER_SHIP_DAYS=${DAPANDA_ORDER_SHIP_DAYS:-3}
ORDER_AUTOCONFIRM_DAYS=${DAPANDA_ORDER_AUTOCONFIRM_DAYS:-7}
ORDER_OFFER_HOURS=${DAPANDA_ORDER_OFFER_HOURS:-48}
ORDER_SWEEP_MS=${DAPANDA_ORDER_SWEEP_MS:-60000}
PLATFORM_FEE_BPS=${DAPANDA_PLATFORM_FEE_BPS:-300}
PAGE_CACHE_ENABLED=${DAPANDA_PAGE_CACHE_ENABLED:-on}
PAGE_CACHE_MAX_BYTES=${DAPANDA_PAGE_CACHE_MAX_BYTES:-33554432}
PAGE_CACHE_TTL_MS=${DAPANDA_PAGE_CACHE_TTL_MS:-5000}
COMPRESS_RESPONSES=${DAPANDA_COMPRESS_RESPONSES:-off}
EOF
  # Outgoing mail (sign-up and password-reset links): SMTP in production; without it the worker writes
  # .eml files to DAPANDA_MAIL_DIR (the rehearsal reads its nodes' mail there).
  [[ -z ${DAPANDA_SMTP_URL:-} ]] || printf 'SMTP_URL=%s\n' "$DAPANDA_SMTP_URL"
  [[ -z ${DAPANDA_MAIL_FROM:-} ]] || printf 'MAIL_FROM=%s\n' "$DAPANDA_MAIL_FROM"
  [[ -z ${DAPANDA_MAIL_DIR:-} ]] || printf 'MAIL_DIR=%s\n' "$DAPANDA_MAIL_DIR"
  # Cloud nodes (pulumi/src/userdata.ts): photos on S3, TLS to managed PostgreSQL with its CA.
  if [[ ${DAPANDA_STORAGE:-local} == s3 ]]; then
    printf 'STORAGE=s3\nS3_BUCKET=%s\nS3_REGION=%s\n' "$DAPANDA_S3_BUCKET" "$DAPANDA_S3_REGION"
    [[ -z ${DAPANDA_S3_ENDPOINT:-} ]] || printf 'S3_ENDPOINT=%s\n' "$DAPANDA_S3_ENDPOINT"
    [[ -z ${DAPANDA_PHOTO_BASE_URL:-} ]] || printf 'PHOTO_BASE_URL=%s\n' "$DAPANDA_PHOTO_BASE_URL"
    # Static keys only for an S3-compatible server off AWS; on EC2 the instance role is used.
    [[ -z ${DAPANDA_S3_ACCESS_KEY_ID:-} ]] || printf 'S3_ACCESS_KEY_ID=%s\nS3_SECRET_ACCESS_KEY=%s\n' "$DAPANDA_S3_ACCESS_KEY_ID" "$DAPANDA_S3_SECRET_ACCESS_KEY"
  fi
  [[ -z ${DAPANDA_NODE_EXTRA_CA_CERTS:-} ]] || printf 'NODE_EXTRA_CA_CERTS=%s\n' "$DAPANDA_NODE_EXTRA_CA_CERTS"
}

# HAProxy on lb (deploy/haproxy/haproxy.cfg.tmpl): one server per app node, named as in DAPANDA_APP_NODES
# (the name X-Dapanda-Node shows on the admin listener); the WebSocket backend tracks the HTTP one.
render_haproxy_cfg() { # TEMPLATE
  local n app="" ws=""
  for n in $DAPANDA_APP_NODES; do
    app+=$(printf '  server %s %s:%s' "${n%%=*}" "${n#*=}" "$DAPANDA_APP_PORT")$'\n'
    ws+=$(printf '  server %s %s:%s track dapanda_app/%s' "${n%%=*}" "${n#*=}" "$DAPANDA_APP_PORT" "${n%%=*}")$'\n'
  done
  HAPROXY_APP_SERVERS=${app%$'\n'} HAPROXY_WS_SERVERS=${ws%$'\n'} render_template "$1"
}

# Prometheus file_sd targets (mon): render_prom_targets PORT ADDR...
render_prom_targets() {
  local port=$1 sep="" out="" a
  shift
  for a in "$@"; do out+="$sep\"$a:$port\""; sep=", "; done
  printf '[{"targets": [%s], "labels": {"site": "onprem"}}]\n' "$out"
}

# The database host (the data node on-prem, RDS in the cloud) and connection parameters.
_db_host() { printf '%s' "${DAPANDA_DB_HOST:-$DAPANDA_DATA_ADDR}"; }
_db_params() { [[ -z ${DAPANDA_DB_PARAMS:-} ]] || printf '?%s' "$DAPANDA_DB_PARAMS"; }

# Only dapanda-node (root) reads this: the app process never sees the migrator's password.
render_migrate_env() {
  cat <<EOF
# Managed by deploy/provision/app.sh: local edits are overwritten.
MIGRATE_DATABASE_URL=postgresql://dapanda_migrator:${DAPANDA_DB_MIGRATOR_PASSWORD}@$(_db_host):5432/${DAPANDA_DB_NAME}$(_db_params)
EOF
}

render_pg_hba() {
  local a
  cat <<EOF
# Managed by deploy/provision/data.sh: local edits are overwritten.
# TYPE  DATABASE  USER  ADDRESS  METHOD
local   all       postgres                 peer
local   all       prometheus               peer
EOF
  for a in $(_app_addrs); do
    printf 'host    %s  dapanda_app,dapanda_migrator  %s/32  scram-sha-256\n' "$DAPANDA_DB_NAME" "$a"
  done
  cat <<EOF
host    all       all   0.0.0.0/0   reject
host    all       all   ::/0        reject
EOF
}

render_pg_conf() {
  cat <<EOF
# Managed by deploy/provision/data.sh (conf.d drop-in): local edits are overwritten.
listen_addresses = 'localhost,${DAPANDA_DATA_ADDR}'
password_encryption = 'scram-sha-256'
max_connections = ${DAPANDA_PG_MAX_CONNECTIONS:-200}
shared_buffers = '${DAPANDA_PG_SHARED_BUFFERS:-256MB}'
log_min_duration_statement = 500
log_line_prefix = '%m [%p] %q%u@%d '
EOF
}

# Included from Debian's /etc/redis/redis.conf (last setting wins in redis).
render_redis_conf() {
  cat <<EOF
# Managed by deploy/provision/data.sh: local edits are overwritten.
bind 127.0.0.1 ${DAPANDA_DATA_ADDR}
protected-mode yes
port 6379
requirepass ${DAPANDA_REDIS_PASSWORD}
appendonly yes
appendfsync everysec
# BullMQ needs keys never evicted.
maxmemory-policy noeviction
maxmemory ${DAPANDA_REDIS_MAXMEMORY:-512mb}
rename-command FLUSHALL ""
rename-command FLUSHDB ""
rename-command DEBUG ""
EOF
}

# render_nft ROLE: the whole host firewall of one role. Only table inet dapanda is replaced,
# other tables (e.g. a hypervisor's) are left alone.
render_nft() {
  local role=$1 apps
  # shellcheck disable=SC2046
  apps=$(_nft_set $(_app_addrs))
  cat <<EOF
#!/usr/sbin/nft -f
# Managed by deploy/provision/common.sh (role $role): local edits are overwritten.
table inet dapanda
delete table inet dapanda
table inet dapanda {
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    ct state invalid drop
    iif lo accept
    meta l4proto { icmp, ipv6-icmp } accept
    tcp dport 22 ip saddr ${DAPANDA_SSH_CIDR:-0.0.0.0/0} accept
    tcp dport 9100 ip saddr ${DAPANDA_MON_ADDR} accept
EOF
  case $role in
    lb)
      printf '    tcp dport { 80, 443 } accept\n'
      printf '    tcp dport 8443 ip saddr %s accept\n' "${DAPANDA_ADMIN_CIDR:-127.0.0.1}"
      printf '    tcp dport 8405 ip saddr %s accept\n' "$DAPANDA_MON_ADDR" ;;
    app)
      printf '    tcp dport %s ip saddr %s accept\n' "$DAPANDA_APP_PORT" "$DAPANDA_LB_ADDR"
      printf '    tcp dport { 9464, 9465 } ip saddr %s accept\n' "$DAPANDA_MON_ADDR" ;;
    data)
      printf '    tcp dport { 5432, 6379 } ip saddr %s accept\n' "$apps"
      printf '    tcp dport { 111, 2049 } ip saddr %s accept\n' "$apps"
      printf '    udp dport 111 ip saddr %s accept\n' "$apps"
      printf '    tcp dport { 9187, 9121 } ip saddr %s accept\n' "$DAPANDA_MON_ADDR" ;;
    mon)
      printf '    tcp dport { 9090, 3000 } ip saddr %s accept\n' "${DAPANDA_ADMIN_CIDR:-0.0.0.0/0}"
      printf '    tcp dport { 3100, 19532 } ip saddr %s accept\n' "${DAPANDA_NODES_CIDR}" ;;
    *) printf 'unknown role %s\n' "$role" >&2; return 1 ;;
  esac
  cat <<EOF
    counter comment "dropped"
  }
}
EOF
}

# make_selfsigned_cert CERT KEY DOMAIN [IP]: a self-signed certificate for the load balancer
# (replace with a real one by pointing DAPANDA_TLS_CERT/KEY at it).
make_selfsigned_cert() {
  local san="DNS:$3"
  if [[ -n ${4:-} ]]; then san+=",IP:$4"; fi
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 825 -subj "/CN=$3" \
    -addext "subjectAltName=$san" -keyout "$2" -out "$1" 2>/dev/null
  chmod 0600 "$2"
}
