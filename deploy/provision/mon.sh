#!/usr/bin/env bash
# Monitoring node: Prometheus (+ rules, file_sd targets) and Alertmanager from Debian, journald
# receiver for every node's logs (systemd-journal-remote), Grafana + Loki from Grafana's own apt
# repository when it is reachable (DAPANDA_GRAFANA_APT=auto|yes|no): their provisioning files and
# dashboards are laid out either way, so a later run with the repository reachable completes them.
#   deploy/provision/mon.sh ENV_FILE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=deploy/provision/common.sh
. "$here/common.sh"
provision_init mon "${1:-}"
provision_common mon
# shellcheck disable=SC2046
ensure_packages $(packages_of mon)
mon=$DAPANDA_REPO/deploy/monitoring

# ---- Prometheus
ensure_dir /etc/prometheus/dapanda 0755 root:root
ensure_dir /etc/prometheus/dapanda/rules 0755 root:root
ensure_dir /etc/prometheus/dapanda/targets 0755 root:root
install_file "$mon/prometheus.yml" /etc/prometheus/prometheus.yml 0644 root:root prometheus
install_file "$mon/rules/dapanda.rules.yml" /etc/prometheus/dapanda/rules/dapanda.rules.yml 0644 root:root prometheus
# shellcheck disable=SC2046
render_prom_targets 9464 $(app_nodes_addrs) | install_content /etc/prometheus/dapanda/targets/web.json 0644 root:root
# shellcheck disable=SC2046
render_prom_targets 9465 $(app_nodes_addrs) | install_content /etc/prometheus/dapanda/targets/worker.json 0644 root:root
# shellcheck disable=SC2046
render_prom_targets 9100 "$DAPANDA_LB_ADDR" $(app_nodes_addrs) "$DAPANDA_DATA_ADDR" "$DAPANDA_MON_ADDR" |
  install_content /etc/prometheus/dapanda/targets/node.json 0644 root:root
render_prom_targets 9187 "$DAPANDA_DATA_ADDR" | install_content /etc/prometheus/dapanda/targets/postgres.json 0644 root:root
render_prom_targets 9121 "$DAPANDA_DATA_ADDR" | install_content /etc/prometheus/dapanda/targets/redis.json 0644 root:root
render_prom_targets 8405 "$DAPANDA_LB_ADDR" | install_content /etc/prometheus/dapanda/targets/haproxy.json 0644 root:root
promtool check config --syntax-only /etc/prometheus/prometheus.yml >/dev/null
svc_enable prometheus.service
svc_apply prometheus.service reload prometheus

DAPANDA_ALERT_WEBHOOK=${DAPANDA_ALERT_WEBHOOK:-http://127.0.0.1:5001/}
render_template "$mon/alertmanager.yml" | install_content /etc/prometheus/alertmanager.yml 0644 root:root alertmanager
svc_enable prometheus-alertmanager.service
svc_apply prometheus-alertmanager.service reload alertmanager
if [[ $DAPANDA_ALERT_WEBHOOK == http://127.0.0.1:5001/ ]]; then warn "DAPANDA_ALERT_WEBHOOK not set: alerts go nowhere"; fi

# ---- Logs of every node (systemd-journal-upload -> :19532), kept in /var/log/journal/remote
printf '[Service]\nExecStart=\nExecStart=/lib/systemd/systemd-journal-remote --listen-http=-3 --output=/var/log/journal/remote/\n' |
  install_content /etc/systemd/system/systemd-journal-remote.service.d/dapanda.conf 0644 root:root journal-remote
ensure_dir /var/log/journal/remote 2755 systemd-journal-remote:systemd-journal-remote # setgid like /var/log/journal
if dirty journal-remote && systemd_running; then systemctl daemon-reload; fi
svc_enable systemd-journal-remote.socket
svc_apply systemd-journal-remote.service restart journal-remote

# ---- Grafana + Loki (Grafana's apt repository; not mirrored by Debian)
ensure_dir /etc/grafana/provisioning/datasources 0755 root:root
ensure_dir /etc/grafana/provisioning/dashboards 0755 root:root
ensure_dir /var/lib/grafana/dashboards/dapanda 0755 root:root
install_file "$mon/grafana/provisioning/datasources/dapanda.yaml" /etc/grafana/provisioning/datasources/dapanda.yaml 0644 root:root grafana
install_file "$mon/grafana/provisioning/dashboards/dapanda.yaml" /etc/grafana/provisioning/dashboards/dapanda.yaml 0644 root:root grafana
for d in "$mon"/grafana/dashboards/*.json; do
  install_file "$d" "/var/lib/grafana/dashboards/dapanda/$(basename "$d")" 0644 root:root grafana
done
install_file "$mon/logs/loki.yml" /etc/loki/config.yml 0644 root:root loki

grafana_repo() {
  local key=/etc/apt/keyrings/grafana.asc list=/etc/apt/sources.list.d/grafana.list
  if [[ ! -s $key ]]; then
    curl -fsS --max-time 10 -o "$key.tmp" https://apt.grafana.com/gpg.key || { rm -f "$key.tmp"; return 1; }
    install -D -m 0644 "$key.tmp" "$key"
    rm -f "$key.tmp"
    changed "installed Grafana apt key"
  fi
  printf 'deb [signed-by=%s] https://apt.grafana.com stable main\n' "$key" | install_content "$list" 0644 root:root
  DAPANDA_APT_UPDATED=0
}
case ${DAPANDA_GRAFANA_APT:-auto} in
  no) log "DAPANDA_GRAFANA_APT=no: Grafana/Loki not installed (dashboards and datasources laid out)" ;;
  auto | yes)
    if dpkg-query -W -f='${Status}' grafana 2>/dev/null | grep -q 'install ok installed' || grafana_repo; then
      ensure_packages grafana loki
      svc_enable grafana-server.service
      svc_enable loki.service
      svc_apply grafana-server.service restart grafana
      svc_apply loki.service restart loki
    elif [[ ${DAPANDA_GRAFANA_APT:-auto} == yes ]]; then
      die "Grafana's apt repository is unreachable and DAPANDA_GRAFANA_APT=yes"
    else
      warn "Grafana's apt repository is unreachable: Grafana and Loki are NOT installed. Logs still arrive in /var/log/journal/remote (journalctl --directory=/var/log/journal/remote). Re-run mon.sh when it is reachable."
    fi ;;
  *) die "DAPANDA_GRAFANA_APT must be auto, yes or no" ;;
esac
provision_done
