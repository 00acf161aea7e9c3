#!/usr/bin/env bash
# Load balancer: nginx with TLS (a generated self-signed certificate unless DAPANDA_TLS_CERT/KEY are
# given), HTTP->HTTPS, WebSocket upgrade, passive health checks and retry across app nodes, gzip,
# /media/ cache, body size limit, security headers; dapanda-lb for draining during releases.
#   deploy/provision/lb.sh ENV_FILE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=deploy/provision/common.sh
. "$here/common.sh"
provision_init lb "${1:-}"
provision_common lb
# shellcheck disable=SC2046
ensure_packages $(packages_of lb)

conf=/etc/nginx/dapanda
ensure_dir "$conf" 0755 root:root
ensure_dir "$conf/tls" 0700 root:root
ensure_dir /var/cache/nginx/dapanda 0700 www-data:www-data
if [[ -n ${DAPANDA_TLS_CERT:-} ]]; then
  NGINX_TLS_CERT=$DAPANDA_TLS_CERT NGINX_TLS_KEY=$DAPANDA_TLS_KEY
else
  NGINX_TLS_CERT=$conf/tls/dapanda.crt NGINX_TLS_KEY=$conf/tls/dapanda.key
  if [[ ! -s $NGINX_TLS_CERT || ! -s $NGINX_TLS_KEY ]]; then
    make_selfsigned_cert "$NGINX_TLS_CERT" "$NGINX_TLS_KEY" "$DAPANDA_DOMAIN" "$DAPANDA_LB_ADDR"
    changed "generated self-signed certificate for $DAPANDA_DOMAIN" nginx
  fi
fi
export NGINX_TLS_CERT NGINX_TLS_KEY NGINX_USER=www-data NGINX_PID=/run/nginx.pid NGINX_LOG_DIR=/var/log/nginx \
  NGINX_MIME_TYPES=/etc/nginx/mime.types NGINX_TEMP_DIR=/var/lib/nginx NGINX_CONF_DIR=$conf \
  NGINX_CACHE_DIR=/var/cache/nginx/dapanda NGINX_HTTP_PORT=80 NGINX_HTTPS_PORT=443

render_template "$DAPANDA_REPO/deploy/nginx/nginx.conf.tmpl" | install_content /etc/nginx/nginx.conf 0644 root:root nginx
render_template "$DAPANDA_REPO/deploy/nginx/dapanda.conf.tmpl" | install_content "$conf/dapanda.conf" 0644 root:root nginx
install_file "$DAPANDA_REPO/deploy/nginx/security-headers.conf" "$conf/security-headers.conf" 0644 root:root nginx
app_nodes_addrs | sed "s/\$/:$DAPANDA_APP_PORT/" | install_content "$conf/upstream.nodes" 0644 root:root upstream
install_file "$DAPANDA_REPO/deploy/nginx/upstream.sh" /usr/local/sbin/dapanda-lb 0755 root:root
if [[ ! -f $conf/upstream.conf ]] || dirty upstream; then
  # Keeps servers a release has marked down (upstream.down) down.
  NGINX_TEST_CMD=true NGINX_RELOAD_CMD=true /usr/local/sbin/dapanda-lb render
  changed "rendered $conf/upstream.conf" nginx
fi
if [[ -e /etc/nginx/sites-enabled/default ]]; then
  rm -f /etc/nginx/sites-enabled/default
  changed "removed Debian's default site" nginx
fi
nginx -t -q
svc_enable nginx.service
svc_apply nginx.service reload nginx
provision_done
