#!/usr/bin/env bash
# Load balancer: nginx is the edge (TLS with a generated self-signed certificate unless
# DAPANDA_TLS_CERT/KEY are given, HTTP->HTTPS, HTTP/2, WebSocket upgrade, gzip, /media/ cache, body
# size limit, security headers, and the admin listener :8443 for DAPANDA_ADMIN_CIDR); HAProxy behind
# it on loopback balances the app nodes (health checks, retries) and drains one for a release through
# its runtime API (dapanda-lb), so deploys reload neither.
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
  NGINX_CACHE_DIR=/var/cache/nginx/dapanda NGINX_HTTP_PORT=80 NGINX_HTTPS_PORT=443 \
  NGINX_ADMIN_PORT=8443 NGINX_ADMIN_ALLOW=${DAPANDA_ADMIN_CIDR:-127.0.0.1} HAPROXY_PORT=8080 HAPROXY_INTERNAL_PORT=8081 \
  HAPROXY_LOG_TARGET=/dev/log HAPROXY_CHROOT=/var/lib/haproxy HAPROXY_SOCKET=/run/haproxy/admin.sock \
  HAPROXY_STATE_FILE=/var/lib/haproxy/server-state HAPROXY_METRICS_BIND=$DAPANDA_LB_ADDR:8405

render_template "$DAPANDA_REPO/deploy/nginx/nginx.conf.tmpl" | install_content /etc/nginx/nginx.conf 0644 root:root nginx
render_template "$DAPANDA_REPO/deploy/nginx/dapanda.conf.tmpl" | install_content "$conf/dapanda.conf" 0644 root:root nginx
install_file "$DAPANDA_REPO/deploy/nginx/security-headers.conf" "$conf/security-headers.conf" 0644 root:root nginx
install_file "$DAPANDA_REPO/deploy/nginx/proxy-headers.conf" "$conf/proxy-headers.conf" 0644 root:root nginx
# Leftovers of the nginx-only balancer (servers were listed in nginx and drained with a reload).
for f in "$conf"/upstream.conf "$conf"/upstream.nodes "$conf"/upstream.down "$conf"/.draining-pids; do
  if [[ -e $f ]]; then rm -f "$f"; changed "removed $f (HAProxy balances the app nodes now)" nginx; fi
done

render_haproxy_cfg "$DAPANDA_REPO/deploy/haproxy/haproxy.cfg.tmpl" | install_content /etc/haproxy/haproxy.cfg 0644 root:root haproxy
haproxy -c -q -f /etc/haproxy/haproxy.cfg
install_file "$DAPANDA_REPO/deploy/haproxy/dapanda-lb.sh" /usr/local/sbin/dapanda-lb 0755 root:root
if [[ -e /etc/nginx/sites-enabled/default ]]; then
  rm -f /etc/nginx/sites-enabled/default
  changed "removed Debian's default site" nginx
fi
# A config change reloads HAProxy (its master hands the listening sockets to the new worker) with the
# drain states kept (server-state file). Deploys never come here: they use dapanda-lb.
svc_enable haproxy.service
if dirty haproxy && systemd_running && systemctl is-active --quiet haproxy.service; then dapanda-lb save; fi
svc_apply haproxy.service reload haproxy
nginx -t -q
svc_enable nginx.service
svc_apply nginx.service reload nginx
provision_done
