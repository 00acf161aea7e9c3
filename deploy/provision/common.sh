#!/usr/bin/env bash
# Base of every node: packages, /etc/dapanda, host firewall for the node's role, node exporter,
# log shipping. Sourced by the role scripts (provision_common ROLE), or run alone:
#   deploy/provision/common.sh ENV_FILE ROLE
set -euo pipefail
_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=deploy/lib/common.sh
. "$_here/../lib/common.sh"
# shellcheck source=deploy/lib/render.sh
. "$_here/../lib/render.sh"

provision_common() {
  local role=$1
  # shellcheck disable=SC2046
  ensure_packages $(packages_of common)
  ensure_dir /etc/dapanda 0755 root:root

  # Firewall: only table inet dapanda is ours; applied now when the host is booted.
  render_nft "$role" | install_content /etc/nftables.conf 0755 root:root nft
  svc_enable nftables.service
  if dirty nft && systemd_running; then nft -f /etc/nftables.conf; log "firewall applied"; fi

  # Node exporter, with Debian's textfile directory for dapanda_backup_*.
  ensure_dir /var/lib/prometheus/node-exporter 0755 prometheus:prometheus
  svc_enable prometheus-node-exporter.service

  # Logs: journald of every node is uploaded to mon (systemd-journal-remote, Debian packages only).
  # (Cloud instances ship logs with the CloudWatch agent instead: DAPANDA_JOURNAL_UPLOAD=no.)
  if [[ $role != mon && ${DAPANDA_JOURNAL_UPLOAD:-yes} == yes ]]; then
    printf '[Upload]\nURL=http://%s:19532\n' "$DAPANDA_MON_ADDR" |
      install_content /etc/systemd/journal-upload.conf.d/dapanda.conf 0644 root:root journal-upload
    svc_enable systemd-journal-upload.service
    svc_apply systemd-journal-upload.service restart journal-upload
  fi
  # Loki shipping when promtail is installed (Grafana's apt repository, see mon.sh).
  if command -v promtail >/dev/null; then
    DAPANDA_HOSTNAME=$(hostname) render_template "$DAPANDA_REPO/deploy/monitoring/logs/promtail.yml.tmpl" |
      install_content /etc/promtail/config.yml 0644 root:root promtail
    svc_enable promtail.service
    svc_apply promtail.service restart promtail
  fi
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  provision_init common "${1:?usage: common.sh ENV_FILE ROLE}"
  provision_common "${2:?usage: common.sh ENV_FILE ROLE}"
  provision_done
fi
