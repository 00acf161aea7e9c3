#!/usr/bin/env bash
# `npm run test:file -- <file> [more files]`: just those test files, without the typecheck, lint
# and boundary gates of `npm test`. They run against DATABASE_URL when set (your own database,
# migrated on first use), else the shared dapanda_test_adhoc; each file gets its own Redis prefix.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -eq 0 ]; then echo "usage: npm run test:file -- test/integration/foo.test.ts [more files]" >&2; exit 2; fi
export NODE_ENV=test
export TEST_PG_BASE=${TEST_PG_BASE:-postgresql://postgres@127.0.0.1:5432}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
bash scripts/deps.sh >/dev/null
node scripts/tap-plugins.mjs
exec npx tap --reporter=terse "$@"
