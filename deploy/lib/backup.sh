# shellcheck shell=bash
# Shared by deploy/backup.sh and deploy/restore.sh (sourced, never run).

BACKUP_PGHOST=${BACKUP_PGHOST:-/var/run/postgresql}
BACKUP_PGPORT=${BACKUP_PGPORT:-5432}
BACKUP_PGUSER=${BACKUP_PGUSER:-postgres}
# OS user that runs pg_dump/psql (peer auth on the data node); empty: the current user.
BACKUP_RUN_AS=${BACKUP_RUN_AS-postgres}

blog() { printf '[%s] %s\n' "${BACKUP_TOOL:-backup}" "$*" >&2; }
bdie() { blog "ERROR: $*"; exit 1; }

pg_cmd() { # CMD ARGS... with the connection settings above
  local envs=(PGHOST="$BACKUP_PGHOST" PGPORT="$BACKUP_PGPORT" PGUSER="$BACKUP_PGUSER")
  if [[ -n $BACKUP_RUN_AS && $(id -un) != "$BACKUP_RUN_AS" ]]; then
    runuser -u "$BACKUP_RUN_AS" -- env "${envs[@]}" "$@"
  else
    env "${envs[@]}" "$@"
  fi
}

psql_q() { # DB SQL: tuples only, unaligned, tab separated
  pg_cmd psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}

# SQL listing user tables as quoted schema.table, one a line.
TABLES_SQL="SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  AND NOT c.relispartition ORDER BY 1"

# checksum_sql TABLE...: one query giving "table<TAB>rows<TAB>md5" per table. The md5 covers every
# row's text form, order-independent (rows hashed, hashes sorted), so equal data gives equal sums.
checksum_sql() {
  local t sep="" sql=""
  for t in "$@"; do
    sql+="$sep SELECT '${t//\'/\'\'}', count(*), md5(coalesce(string_agg(md5(x::text), '' ORDER BY md5(x::text)), '')) FROM $t x"
    sep=" UNION ALL"
  done
  printf '%s\n' "${sql:-SELECT NULL, NULL, NULL WHERE false}"
}

table_checksums() { # DB -> sorted "table<TAB>rows<TAB>md5" lines
  local db=$1 tables
  mapfile -t tables < <(psql_q "$db" "$TABLES_SQL")
  psql_q "$db" "$(checksum_sql "${tables[@]}")" | LC_ALL=C sort
}

photo_sums() { # DIR -> sorted "sha256  ./relative/path" lines
  (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}
