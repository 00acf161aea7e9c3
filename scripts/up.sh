#!/usr/bin/env bash
# `npm run up`: from a fresh clone to DAPANDA running with demo data on http://localhost:3000.
set -euo pipefail
cd "$(dirname "$0")/.."
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then echo "DAPANDA needs Node 20 or newer (found $(node -v))"; exit 1; fi
export NODE_ENV=${NODE_ENV:-development}
# No DATABASE_URL given: the local server, with the same two roles as the VMs (scripts/db-roles.sh):
# migrations as dapanda_migrator, the app and the seeds as dapanda_app (DML only).
own_roles=0
[ -z "${DATABASE_URL:-}" ] && own_roles=1
export DATABASE_URL=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
export PORT=${PORT:-3000}
export STORAGE_DIR=${STORAGE_DIR:-$(pwd)/.data/storage}
export METRICS_PORT=${METRICS_PORT:-9464}
if [ -z "${SESSION_SECRET:-}" ]; then
  # A stable dev secret, so sessions survive restarts of `npm run up`.
  mkdir -p .data
  [ -f .data/session-secret ] || node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))' > .data/session-secret
  SESSION_SECRET=$(cat .data/session-secret); export SESSION_SECRET
fi
bash scripts/deps.sh
bash scripts/services.sh
if [ "$own_roles" = 1 ]; then
  roles=$(bash scripts/db-roles.sh "$DATABASE_URL" dapanda)
  DATABASE_URL=$(sed -n 's/^DATABASE_URL=//p' <<<"$roles")
  MIGRATE_DATABASE_URL=$(sed -n 's/^MIGRATE_DATABASE_URL=//p' <<<"$roles")
fi
DATABASE_URL=${MIGRATE_DATABASE_URL:-$DATABASE_URL} npm run -s db:migrate
npm run -s db:seed
echo
echo "  DAPANDA → http://localhost:${PORT}   (demo login: demo@dapanda.kr / dapanda-demo-1234)"
echo
exec npx tsx src/server.ts
