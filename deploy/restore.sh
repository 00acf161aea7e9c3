#!/usr/bin/env bash
# Restore one DAPANDA backup (made by deploy/backup.sh) into an empty database and photo store, then
# prove it: checksums of the files, then row count and checksum of every table against the manifest,
# then sha256 of every photo.
#
#   deploy/restore.sh [--force] [--no-owner] --db NAME --photos DIR BACKUP_DIR
#
# Refuses a database with tables or a non-empty photo directory unless --force (which drops what is
# in the database objects it restores and overwrites photos). A missing database is created, owned
# by the owner recorded in the manifest (or --owner). Connection settings as for backup.sh.
set -euo pipefail
BACKUP_TOOL=restore
# shellcheck source=deploy/lib/backup.sh
. "$(dirname "$(readlink -f "$0")")/lib/backup.sh"

force=no owner_opt=() db="" photos="" owner=""
while (($#)); do
  case $1 in
    --force) force=yes ;;
    --no-owner) owner_opt=(--no-owner) ;;
    --db) db=$2; shift ;;
    --photos) photos=$2; shift ;;
    --owner) owner=$2; shift ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) bdie "unknown option $1" ;;
    *) src=$1 ;;
  esac
  shift
done
[[ -n $db && -n $photos && -n ${src:-} ]] || bdie "usage: restore.sh [--force] [--no-owner] --db NAME --photos DIR BACKUP_DIR"
[[ -f $src/SHA256SUMS ]] || bdie "$src is not a backup (no SHA256SUMS)"
started=$SECONDS

blog "verifying file checksums"
(cd "$src" && sha256sum --quiet --strict -c SHA256SUMS) || bdie "checksum mismatch in $src: refusing to restore"

exists=$(psql_q postgres "SELECT 1 FROM pg_database WHERE datname = '${db//\'/\'\'}'")
if [[ $exists == 1 ]]; then
  ntables=$(psql_q "$db" "SELECT count(*) FROM ($TABLES_SQL) t")
  if ((ntables > 0)) && [[ $force != yes ]]; then
    bdie "database $db has $ntables tables: refusing (use --force to overwrite)"
  fi
else
  owner=${owner:-$(sed -n 's/^# db_owner=//p' "$src/manifest.tsv")}
  blog "creating database $db owned by ${owner:-$BACKUP_PGUSER}"
  pg_cmd createdb -O "${owner:-$BACKUP_PGUSER}" "$db"
fi
if [[ -d $photos && -n $(find "$photos" -mindepth 1 -print -quit) && $force != yes ]]; then
  bdie "photo store $photos is not empty: refusing (use --force to overwrite)"
fi

blog "pg_restore into $db"
clean=()
if [[ $force == yes ]]; then clean=(--clean --if-exists); fi
pg_cmd pg_restore --exit-on-error --single-transaction "${clean[@]}" "${owner_opt[@]}" -d "$db" <"$src/db.dump"

blog "photos into $photos"
mkdir -p "$photos"
tar -C "$photos" -xf "$src/photos.tar"

blog "verifying tables against the manifest"
expected=$(grep -v '^#' "$src/manifest.tsv")
actual=$(table_checksums "$db")
if [[ $expected != "$actual" ]]; then
  diff <(printf '%s\n' "$expected") <(printf '%s\n' "$actual") >&2 || true
  bdie "restored tables differ from the manifest"
fi
if [[ $(photo_sums "$photos") != "$(cat "$src/photos.sha256")" ]]; then
  bdie "restored photos differ from the backup"
fi
printf '%s\n' "$expected" | awk -F'\t' '{ printf "  %-40s %10s rows  md5 %s  OK\n", $1, $2, $3 }' >&2
blog "ok: $(grep -c . <<<"$expected") tables and $(wc -l <"$src/photos.sha256") photos verified in $((SECONDS - started))s"
