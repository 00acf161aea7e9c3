#!/usr/bin/env bash
# Nightly backup of DAPANDA (run on the data node by dapanda-backup.timer, as root):
#   pg_dump -Fc + tar of the photo store + a manifest (row count and checksum per table, taken in the
#   same snapshot as the dump, and a sha256 per photo) + SHA256SUMS; kept 7 daily + 4 weekly;
#   mirrored to BACKUP_TARGET (a directory or an rsync destination); success written as a
#   node-exporter textfile metric (dapanda_backup_last_success_timestamp_seconds).
#
#   deploy/backup.sh [ENV_FILE]       (default /etc/dapanda/backup.env if it exists)
#
# Settings (env): BACKUP_DB (dapanda), BACKUP_PGHOST/PGPORT/PGUSER/RUN_AS (see deploy/lib/backup.sh),
# BACKUP_STORAGE_DIR (/srv/dapanda/photos), BACKUP_DIR (/var/backups/dapanda), BACKUP_TARGET (empty: none),
# BACKUP_KEEP_DAILY (7), BACKUP_KEEP_WEEKLY (4), BACKUP_TEXTFILE_DIR (/var/lib/prometheus/node-exporter),
# BACKUP_NOW (override the clock, for tests: any `date -d` string).
set -euo pipefail
umask 077
BACKUP_TOOL=backup
env_file=${1:-/etc/dapanda/backup.env}
if [[ -r $env_file ]]; then
  set -a
  # shellcheck disable=SC1090
  . "$env_file"
  set +a
fi
# shellcheck source=deploy/lib/backup.sh
. "$(dirname "$(readlink -f "$0")")/lib/backup.sh"

BACKUP_DB=${BACKUP_DB:-dapanda}
BACKUP_STORAGE_DIR=${BACKUP_STORAGE_DIR:-/srv/dapanda/photos}
BACKUP_DIR=${BACKUP_DIR:-/var/backups/dapanda}
BACKUP_TARGET=${BACKUP_TARGET:-}
BACKUP_KEEP_DAILY=${BACKUP_KEEP_DAILY:-7}
BACKUP_KEEP_WEEKLY=${BACKUP_KEEP_WEEKLY:-4}
BACKUP_TEXTFILE_DIR=${BACKUP_TEXTFILE_DIR:-/var/lib/prometheus/node-exporter}
now_epoch=$(date -u -d "${BACKUP_NOW:-now}" +%s)
stamp=$(date -u -d "@$now_epoch" +%Y%m%dT%H%M%SZ)
started=$SECONDS

[[ -d $BACKUP_STORAGE_DIR ]] || bdie "photo store $BACKUP_STORAGE_DIR missing"
mkdir -p "$BACKUP_DIR/daily" "$BACKUP_DIR/weekly"
work=$BACKUP_DIR/daily/.$stamp.partial
final=$BACKUP_DIR/daily/$stamp
[[ ! -e $final ]] || bdie "$final already exists"
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

# One REPEATABLE READ transaction exports its snapshot: pg_dump and the manifest see the same data.
coproc PSQL { pg_cmd psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 -d "$BACKUP_DB" 2>&1; }
psql_in=${PSQL[1]}
psql_out=${PSQL[0]}
# ask SQL: run SQL in the open session, its output lines in ASK (no subshell: coproc fds would be lost).
ask() {
  local line
  ASK=()
  printf '%s;\n\\echo __DAPANDA_END__\n' "$1" >&"$psql_in"
  while IFS= read -r -t 3600 line <&"$psql_out"; do
    [[ $line == __DAPANDA_END__ ]] && return 0
    ASK+=("$line")
  done
  bdie "psql session ended early: ${ASK[*]}"
}
ask "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_export_snapshot();"
snapshot=${ASK[*]}
[[ $snapshot =~ ^[0-9A-F-]+$ ]] || bdie "could not export a snapshot: $snapshot"

blog "pg_dump $BACKUP_DB (snapshot $snapshot)"
pg_cmd pg_dump -Fc -Z 6 --snapshot="$snapshot" -d "$BACKUP_DB" >"$work/db.dump"

ask "$TABLES_SQL"
tables=("${ASK[@]}")
ask "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database();"
db_owner=${ASK[*]}
ask "SHOW server_version;"
server=${ASK[*]}
ask "$(checksum_sql "${tables[@]}")"
{
  printf '# db=%s\n# db_owner=%s\n# server=%s\n' "$BACKUP_DB" "$db_owner" "$server"
  printf '# created=%s\n' "$(date -u -d "@$now_epoch" +%Y-%m-%dT%H:%M:%SZ)"
  if ((${#ASK[@]})); then printf '%s\n' "${ASK[@]}" | LC_ALL=C sort; fi
} >"$work/manifest.tsv"
ask "COMMIT;"
printf '\\q\n' >&"$psql_in"
if [[ -n ${PSQL_PID:-} ]]; then wait "$PSQL_PID" 2>/dev/null || true; fi # unset once the coproc has exited

blog "photos from $BACKUP_STORAGE_DIR"
photo_sums "$BACKUP_STORAGE_DIR" >"$work/photos.sha256"
tar -C "$BACKUP_STORAGE_DIR" -cf "$work/photos.tar" .
printf '# photos=%s\n' "$(wc -l <"$work/photos.sha256")" >>"$work/manifest.tsv"

(cd "$work" && sha256sum db.dump photos.tar photos.sha256 manifest.tsv >SHA256SUMS)
chown -R root:root "$work"
mv "$work" "$final"
trap - EXIT

# Weekly copies are hard links of a daily one: whenever the newest weekly is 7+ days old.
newest_weekly=$(find "$BACKUP_DIR/weekly" -mindepth 1 -maxdepth 1 -type d -name '2*' -printf '%f\n' | sort | tail -n 1)
if [[ -z $newest_weekly ]] ||
  (( now_epoch - $(date -u -d "$(sed -E 's/^(....)(..)(..)T(..)(..)(..)Z$/\1-\2-\3 \4:\5:\6 UTC/' <<<"$newest_weekly")" +%s) >= 7 * 86400 - 3600 )); then
  cp -al "$final" "$BACKUP_DIR/weekly/$stamp"
  blog "weekly copy $stamp"
fi

prune() { # DIR KEEP
  find "$1" -mindepth 1 -maxdepth 1 -type d -name '2*' -printf '%f\n' | sort -r | tail -n +"$(($2 + 1))" |
    while read -r old; do rm -rf "${1:?}/$old"; blog "pruned $1/$old"; done
}
prune "$BACKUP_DIR/daily" "$BACKUP_KEEP_DAILY"
prune "$BACKUP_DIR/weekly" "$BACKUP_KEEP_WEEKLY"

if [[ -n $BACKUP_TARGET ]]; then
  # The target mirrors the local set, retention included; -H keeps weekly hard links as links.
  if [[ $BACKUP_TARGET == /* ]]; then mkdir -p "$BACKUP_TARGET"; fi
  rsync -aH --delete --exclude '.*.partial' "$BACKUP_DIR/" "$BACKUP_TARGET/"
  blog "copied to $BACKUP_TARGET"
fi

size=$(du -sb "$final" | cut -f1)
if [[ -d $BACKUP_TEXTFILE_DIR ]]; then
  prom=$BACKUP_TEXTFILE_DIR/dapanda_backup.prom
  cat >"$prom.$$" <<EOF
# HELP dapanda_backup_last_success_timestamp_seconds Unix time of the last successful DAPANDA backup.
# TYPE dapanda_backup_last_success_timestamp_seconds gauge
dapanda_backup_last_success_timestamp_seconds $now_epoch
# HELP dapanda_backup_last_size_bytes Size of the last successful DAPANDA backup.
# TYPE dapanda_backup_last_size_bytes gauge
dapanda_backup_last_size_bytes $size
# HELP dapanda_backup_last_duration_seconds Duration of the last successful DAPANDA backup.
# TYPE dapanda_backup_last_duration_seconds gauge
dapanda_backup_last_duration_seconds $((SECONDS - started))
EOF
  chmod 0644 "$prom.$$"
  mv -f "$prom.$$" "$prom"
fi
blog "ok: $final ($((size / 1024)) KiB, ${#tables[@]} tables, $((SECONDS - started))s)"
printf '%s\n' "$final"
