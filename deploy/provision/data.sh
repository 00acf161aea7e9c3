#!/usr/bin/env bash
# Data node: PostgreSQL 15 (dapanda_migrator owns the schema, dapanda_app has DML only, scram-sha-256
# from app nodes only), Redis 7 (password, AOF, noeviction), the photo store exported to app nodes
# over NFS, postgres/redis exporters, firewall (common.sh), nightly backup timer.
#   deploy/provision/data.sh ENV_FILE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=deploy/provision/common.sh
. "$here/common.sh"
provision_init data "${1:-}"
provision_common data
# shellcheck disable=SC2046
ensure_packages $(packages_of data)
ensure_secrets DAPANDA_DB_APP_PASSWORD DAPANDA_DB_MIGRATOR_PASSWORD DAPANDA_REDIS_PASSWORD DAPANDA_SESSION_SECRET
ensure_system_user dapanda "${DAPANDA_UID:-950}" /opt/dapanda

# ---- PostgreSQL
pgconf=/etc/postgresql/15/main
[[ -d $pgconf ]] || die "no PostgreSQL 15 cluster at $pgconf"
render_pg_conf | install_content "$pgconf/conf.d/dapanda.conf" 0644 postgres:postgres pg-restart
render_pg_hba | install_content "$pgconf/pg_hba.conf" 0640 postgres:postgres pg-reload
svc_enable postgresql.service
svc_apply postgresql.service restart pg-restart
svc_apply postgresql.service reload pg-reload

# Roles and database: re-applied only when roles.sql, a password or the db name changed.
ensure_dir /var/lib/dapanda 0700 root:root
stamp=$( { cat "$DAPANDA_REPO/deploy/provision/sql/roles.sql"; printf '%s\n' "$DAPANDA_DB_NAME" \
  "$DAPANDA_DB_APP_PASSWORD" "$DAPANDA_DB_MIGRATOR_PASSWORD"; } | sha256sum | cut -d' ' -f1)
if [[ $(cat /var/lib/dapanda/pg-roles.stamp 2>/dev/null) != "$stamp" ]]; then
  started_here=no
  if ! systemd_running && ! pg_lsclusters -h | grep -q ' 15 *main .*online'; then
    # Offline image build: a socket-only postmaster just for this step.
    pg_ctlcluster 15 main start -- -o "-c listen_addresses=''"
    started_here=yes
  fi
  runuser -u postgres -- psql -X -q -v dbname="$DAPANDA_DB_NAME" -v app_password="$DAPANDA_DB_APP_PASSWORD" \
    -v migrator_password="$DAPANDA_DB_MIGRATOR_PASSWORD" -f "$DAPANDA_REPO/deploy/provision/sql/roles.sql"
  if [[ $started_here == yes ]]; then pg_ctlcluster 15 main stop; fi
  printf '%s\n' "$stamp" | install_content /var/lib/dapanda/pg-roles.stamp 0600 root:root
fi

# ---- Redis
render_redis_conf | install_content /etc/redis/dapanda.conf 0640 redis:redis redis
if ! grep -qxF 'include /etc/redis/dapanda.conf' /etc/redis/redis.conf; then
  printf '\n# DAPANDA settings (deploy/provision/data.sh); last one wins.\ninclude /etc/redis/dapanda.conf\n' >>/etc/redis/redis.conf
  changed "redis.conf includes /etc/redis/dapanda.conf" redis
fi
svc_enable redis-server.service
svc_apply redis-server.service restart redis

# ---- Exporters (scraped from mon only; see the firewall)
printf "DATA_SOURCE_NAME='user=prometheus host=/run/postgresql dbname=postgres sslmode=disable'\nARGS=''\n" |
  install_content /etc/default/prometheus-postgres-exporter 0600 root:root pg-exporter
printf "REDIS_PASSWORD=%s\nARGS='-redis.addr redis://127.0.0.1:6379'\n" "$DAPANDA_REDIS_PASSWORD" |
  install_content /etc/default/prometheus-redis-exporter 0600 root:root redis-exporter
svc_enable prometheus-postgres-exporter.service
svc_enable prometheus-redis-exporter.service
svc_apply prometheus-postgres-exporter.service restart pg-exporter
svc_apply prometheus-redis-exporter.service restart redis-exporter

# ---- Photo store, shared with app nodes
ensure_dir "$(dirname "$DAPANDA_STORAGE_DIR")" 0755 root:root
ensure_dir "$DAPANDA_STORAGE_DIR" 0750 dapanda:dapanda
exports=""
for a in $(app_nodes_addrs); do exports+=" $a(rw,sync,no_subtree_check,root_squash)"; done
printf '%s%s\n' "$DAPANDA_STORAGE_DIR" "$exports" | install_content /etc/exports.d/dapanda.exports 0644 root:root nfs
svc_enable nfs-kernel-server.service
if dirty nfs && systemd_running; then exportfs -ra; fi

# ---- Backups
ensure_dir /usr/local/lib/dapanda 0755 root:root
ensure_dir /usr/local/lib/dapanda/lib 0755 root:root
install_file "$DAPANDA_REPO/deploy/backup.sh" /usr/local/lib/dapanda/backup.sh 0755 root:root
install_file "$DAPANDA_REPO/deploy/restore.sh" /usr/local/lib/dapanda/restore.sh 0755 root:root
install_file "$DAPANDA_REPO/deploy/lib/backup.sh" /usr/local/lib/dapanda/lib/backup.sh 0644 root:root
ensure_symlink /usr/local/lib/dapanda/backup.sh /usr/local/sbin/dapanda-backup
ensure_symlink /usr/local/lib/dapanda/restore.sh /usr/local/sbin/dapanda-restore
ensure_dir "${DAPANDA_BACKUP_DIR:-/var/backups/dapanda}" 0700 root:root
cat <<EOB | install_content /etc/dapanda/backup.env 0600 root:root
# Managed by deploy/provision/data.sh
BACKUP_DB=$DAPANDA_DB_NAME
BACKUP_STORAGE_DIR=$DAPANDA_STORAGE_DIR
BACKUP_DIR=${DAPANDA_BACKUP_DIR:-/var/backups/dapanda}
BACKUP_TARGET=${DAPANDA_BACKUP_TARGET:-}
BACKUP_KEEP_DAILY=${DAPANDA_BACKUP_KEEP_DAILY:-7}
BACKUP_KEEP_WEEKLY=${DAPANDA_BACKUP_KEEP_WEEKLY:-4}
EOB
for unit in dapanda-backup.service dapanda-backup.timer; do
  install_file "$DAPANDA_REPO/deploy/systemd/$unit" "/etc/systemd/system/$unit" 0644 root:root backup-units
done
if dirty backup-units && systemd_running; then systemctl daemon-reload; fi
svc_enable dapanda-backup.timer
[[ -n ${DAPANDA_BACKUP_TARGET:-} ]] || warn "DAPANDA_BACKUP_TARGET is empty: backups stay on this VM only"
provision_done
