#!/usr/bin/env bash
# Page-view capacity of one app instance (pulumi/CAPACITY.md): a production build on a scratch
# database with the demo seed, ROLE=all as a single node, measured by capacity-pages.mjs from the
# same machine; everything it creates is removed at the end. Bids come from `npm run bench`.
#   bash pulumi/scripts/capacity.sh [seconds per level]
set -euo pipefail
cd "$(dirname "$0")/../.."
pg=${CAPACITY_PG_BASE:-postgresql://postgres@127.0.0.1:5432}
redis=${REDIS_URL:-redis://127.0.0.1:6379}
db=dapanda_capacity_$$
prefix=capacity_$$
storage=$(mktemp -d)
port=$((20000 + $$ % 20000))
server=
cleanup() {
  [[ -z $server ]] || kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
  psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  redis-cli -u "$redis" --scan --pattern "$prefix:*" | xargs -r -n 500 redis-cli -u "$redis" del >/dev/null 2>&1 || true
  rm -rf "$storage"
}
trap cleanup EXIT

echo "[capacity] $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(node -v)"
npm run --silent build >/dev/null
export NODE_ENV=production ROLE=all HOST=127.0.0.1 PORT=$port METRICS_PORT=0 TRUST_PROXY=true LOG_LEVEL=warn \
  DATABASE_URL=$pg/$db REDIS_URL=$redis REDIS_PREFIX=$prefix STORAGE_DIR=$storage \
  SESSION_SECRET=capacity-$RANDOM-$RANDOM-$RANDOM-$RANDOM-$RANDOM PUBLIC_URL=http://127.0.0.1:$port
node --experimental-wasm-modules --no-warnings=ExperimentalWarning dist/src/cli/db.js migrate >/dev/null
NODE_ENV=development node --experimental-wasm-modules --no-warnings=ExperimentalWarning --import tsx prisma/seed.ts
node --experimental-wasm-modules --no-warnings=ExperimentalWarning dist/src/server.js &
server=$!
for _ in $(seq 1 120); do curl -fs -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.5; done
node pulumi/scripts/capacity-pages.mjs "http://127.0.0.1:$port" "${1:-8}"
echo "[capacity] load after: $(cut -d' ' -f1-3 /proc/loadavg)"
