#!/usr/bin/env bash
# Least privilege on a laptop and in tests, as on the VMs: applies deploy/provision/sql/roles.sql
# (dapanda_migrator owns the database and schema, dapanda_app may only read and write rows, and
# default privileges give it the tables of every later migration) to a local PostgreSQL, creating
# database DBNAME owned by the migrator. Idempotent. Prints the two URLs to use:
#   DATABASE_URL=...           the app (and seeds, and the tests' app instances)
#   MIGRATE_DATABASE_URL=...   migrations
# Usage: scripts/db-roles.sh ADMIN_URL DBNAME      (ADMIN_URL: a superuser, e.g. postgresql://postgres@127.0.0.1:5432/postgres)
# The passwords are fixed development values: local servers use trust auth, and a server that asks
# for a password (Debian's default scram for TCP) gets these. Production sets its own (deploy/).
set -euo pipefail
cd "$(dirname "$0")/.."
admin=${1:?ADMIN_URL}
db=${2:?DBNAME}
APP_PASSWORD=dapanda-dev-app
MIGRATOR_PASSWORD=dapanda-dev-migrator

if ! command -v psql >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client >/dev/null
  else
    echo "[db-roles] psql is missing: sudo apt-get install -y postgresql-client" >&2
    exit 1
  fi
fi

# Several runs may apply the roles at once (parallel test runs); PostgreSQL can answer one of two
# concurrent ALTER ROLEs with "tuple concurrently updated": try again.
apply() {
  psql "$admin" -q -X -v ON_ERROR_STOP=1 -v dbname="$db" -v app_password="$APP_PASSWORD" \
    -v migrator_password="$MIGRATOR_PASSWORD" -f deploy/provision/sql/roles.sql >/dev/null
}
for attempt in 1 2 3 4 5; do
  if err=$(apply 2>&1); then break; fi
  if [ "$attempt" = 5 ]; then echo "$err" >&2; exit 1; fi
  sleep "0.$((RANDOM % 9 + 1))"
done

# A database made before the roles existed (an older `npm run up`) has tables owned by the
# superuser; the migrator must own them to run later migrations.
admin_db=$(node -e 'const u = new URL(process.argv[1]); u.pathname = "/" + process.argv[2]; console.log(u.toString())' "$admin" "$db")
psql "$admin_db" -q -X -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
             AND pg_get_userbyid(c.relowner) <> 'dapanda_migrator'
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i', 'e'))
  LOOP
    EXECUTE format('ALTER %s public.%I OWNER TO dapanda_migrator',
      CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, r.relname);
  END LOOP;
  FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE n.nspname = 'public' AND t.typtype = 'e' AND pg_get_userbyid(t.typowner) <> 'dapanda_migrator'
  LOOP
    EXECUTE format('ALTER TYPE public.%I OWNER TO dapanda_migrator', r.typname);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> 'dapanda_migrator'
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER FUNCTION %s OWNER TO dapanda_migrator', r.sig);
  END LOOP;
END $$;
SQL

node -e '
  const [admin, db, appPw, migPw] = process.argv.slice(1);
  const url = (user, pw) => { const u = new URL(admin); u.username = user; u.password = pw; u.pathname = "/" + db; return u.toString(); };
  console.log("DATABASE_URL=" + url("dapanda_app", appPw));
  console.log("MIGRATE_DATABASE_URL=" + url("dapanda_migrator", migPw));
' "$admin" "$db" "$APP_PASSWORD" "$MIGRATOR_PASSWORD"
