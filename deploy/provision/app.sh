#!/usr/bin/env bash
# App node: Node.js >= 20, the dapanda system user, /opt/dapanda/releases + current, the env files,
# systemd units dapanda-web and dapanda-worker, dapanda-node (release tool), the shared photo store
# (NFS from data), and optionally the release given in DAPANDA_RELEASE_TARBALL.
#   deploy/provision/app.sh ENV_FILE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=deploy/provision/common.sh
. "$here/common.sh"
provision_init app "${1:-}"
provision_common app
# shellcheck disable=SC2046
ensure_packages $(packages_of app)

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# Node.js >= 20: Debian's nodejs when its candidate is new enough (bookworm ships 18), else the
# official linux-x64 tarball the operator put at DAPANDA_NODE_TARBALL (no internet needed).
ensure_node() {
  if [[ -x /usr/bin/node ]] && (($(node_major /usr/bin/node) >= 20)); then return 0; fi
  local cand
  cand=$(apt-cache policy nodejs 2>/dev/null | sed -n 's/^ *Candidate: *\([0-9]*\).*/\1/p')
  if [[ ${cand:-0} =~ ^[0-9]+$ ]] && ((${cand:-0} >= 20)); then
    ensure_packages nodejs
    return 0
  fi
  [[ -n ${DAPANDA_NODE_TARBALL:-} && -f $DAPANDA_NODE_TARBALL ]] ||
    die "Node.js >= 20 needed: Debian offers nodejs ${cand:-none}; put node-v20.x-linux-x64.tar.xz somewhere and set DAPANDA_NODE_TARBALL"
  ensure_dir /opt/node 0755 root:root
  tar -xJf "$DAPANDA_NODE_TARBALL" -C /opt/node --strip-components=1 --no-same-owner
  ln -sfn /opt/node/bin/node /usr/bin/node
  (($(node_major /usr/bin/node) >= 20)) || die "$DAPANDA_NODE_TARBALL did not give a working Node.js >= 20"
  changed "installed Node.js $(/usr/bin/node -v) from $DAPANDA_NODE_TARBALL"
}
ensure_node

ensure_system_user dapanda "${DAPANDA_UID:-950}" /opt/dapanda
ensure_dir /opt/dapanda 0755 root:root
ensure_dir /opt/dapanda/releases 0755 root:root
ensure_dir "$DAPANDA_STORAGE_DIR" 0750 dapanda:dapanda
ensure_secrets DAPANDA_DB_APP_PASSWORD DAPANDA_DB_MIGRATOR_PASSWORD DAPANDA_REDIS_PASSWORD DAPANDA_SESSION_SECRET

# Metrics bind to this node's private address (the one of DAPANDA_APP_NODES this host has), where
# Prometheus on mon scrapes them; DAPANDA_METRICS_HOST overrides it (127.0.0.1 for an agent on the
# node, e.g. CloudWatch's, or an instance address from cloud user data).
if [[ -z ${DAPANDA_METRICS_HOST:-} ]]; then
  for a in $(app_nodes_addrs); do
    if ip -o -4 addr show | awk '{ sub(/\/.*/, "", $4); print $4 }' | grep -qxF "$a"; then DAPANDA_METRICS_HOST=$a; fi
  done
  if [[ -z ${DAPANDA_METRICS_HOST:-} ]]; then
    warn "none of DAPANDA_APP_NODES ($DAPANDA_APP_NODES) is an address of this host: metrics bind to 127.0.0.1 (set DAPANDA_METRICS_HOST)"
  fi
fi
export DAPANDA_METRICS_HOST=${DAPANDA_METRICS_HOST:-127.0.0.1}
render_app_env | install_content /etc/dapanda/dapanda.env 0640 root:dapanda app
render_migrate_env | install_content /etc/dapanda/migrate.env 0600 root:root
for unit in dapanda-web.service dapanda-worker.service; do
  install_file "$DAPANDA_REPO/deploy/systemd/$unit" "/etc/systemd/system/$unit" 0644 root:root app
done
install_file "$DAPANDA_REPO/deploy/node.sh" /usr/local/sbin/dapanda-node 0755 root:root

# Photos live on data and are shared by every app node over NFS (same uid for dapanda everywhere).
if [[ ${DAPANDA_PHOTOS_NFS:-yes} == yes ]]; then
  line="$DAPANDA_DATA_ADDR:$DAPANDA_STORAGE_DIR $DAPANDA_STORAGE_DIR nfs4 defaults,_netdev,noatime,nofail 0 0"
  if ! grep -qxF "$line" /etc/fstab; then
    grep -v " $DAPANDA_STORAGE_DIR nfs4 " /etc/fstab >/etc/fstab.dapanda || true
    printf '%s\n' "$line" >>/etc/fstab.dapanda
    mv /etc/fstab.dapanda /etc/fstab
    changed "fstab: photo store from $DAPANDA_DATA_ADDR over NFS" mount
  fi
  if systemd_running && ! mountpoint -q "$DAPANDA_STORAGE_DIR"; then
    if mount "$DAPANDA_STORAGE_DIR"; then
      changed "mounted $DAPANDA_STORAGE_DIR"
    else
      warn "could not mount $DAPANDA_STORAGE_DIR (is data provisioned?)"
    fi
  fi
fi

# First release (later ones come with deploy/release.sh).
if [[ -n ${DAPANDA_RELEASE_TARBALL:-} ]]; then
  [[ -f $DAPANDA_RELEASE_TARBALL ]] || die "DAPANDA_RELEASE_TARBALL not found: $DAPANDA_RELEASE_TARBALL"
  id=$(basename "$DAPANDA_RELEASE_TARBALL" .tar.gz)
  if [[ $(dapanda-node current 2>/dev/null || true) != "$id" ]]; then
    dapanda-node stage "$DAPANDA_RELEASE_TARBALL" >/dev/null
    if [[ ${DAPANDA_RUN_MIGRATIONS:-no} == yes ]]; then dapanda-node migrate "$id"; fi
    dapanda-node activate "$id"
    changed "release $id is current" app
  fi
fi

# Both units on a VM; a cloud instance runs one (DAPANDA_APP_UNITS=web or worker, see pulumi/).
units=()
for u in ${DAPANDA_APP_UNITS:-web worker}; do
  [[ $u == web || $u == worker ]] || die "DAPANDA_APP_UNITS: unknown unit $u (web, worker)"
  units+=("dapanda-$u.service")
done
if [[ -L /opt/dapanda/current ]]; then
  for u in "${units[@]}"; do svc_enable "$u"; done
  if dirty app && systemd_running; then
    systemctl daemon-reload
    systemctl restart "${units[@]}"
    if [[ " ${units[*]} " == *" dapanda-web.service "* ]]; then dapanda-node wait-ready 90; fi
  fi
else
  log "no release yet: units installed, not enabled (deploy one with deploy/release.sh or DAPANDA_RELEASE_TARBALL)"
fi
provision_done
