#!/usr/bin/env bash
# `npm test`: typecheck, lint, module boundaries, then every node-tap suite against real
# PostgreSQL and Redis (a fresh database per run, created and migrated here; a Redis key
# prefix per test file) and real Chromium; pulumi/'s mock, policy-pack and user-data tests; as root also the
# on-prem rehearsal in network namespaces (TEST_REHEARSAL=0 skips it). Prints "N passed, N failed" at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export TEST_PG_BASE=${TEST_PG_BASE:-postgresql://postgres@127.0.0.1:5432}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
export TEST_RUN_ID=${TEST_RUN_ID:-$(date +%s)$$}
export NODE_ENV=test
start=$(date +%s)

bash scripts/deps.sh
# The static checks are single-threaded: two chains at a time (each ~30 s of CPU on a quiet machine),
# so the second core does not sit idle; each chain's output is shown when both are done.
typecheck() {
  echo "[test] typecheck"; npx tsc --noEmit -p tsconfig.json
  # ---- cloud: pulumi/ is its own package (lockfile, tsconfig), outside the app's tsc and lint rules.
  if [ ! -d pulumi/node_modules ] || [ pulumi/package-lock.json -nt pulumi/node_modules/.package-lock.json ]; then
    echo "[test] pulumi: npm ci"; (cd pulumi && npm ci --no-audit --no-fund)
  fi
  echo "[test] pulumi typecheck"; (cd pulumi && npx tsc -p tsconfig.json)
  # ---- end cloud
}
lint() {
  echo "[test] lint";      npx eslint .; npx prettier --check . >/dev/null || { npx prettier --list-different .; echo "[test] not formatted: npm run format"; exit 1; }
  echo "[test] module boundaries"; npx depcruise src --config .dependency-cruiser.cjs; npx tsx scripts/boundaries.ts
  node scripts/tap-plugins.mjs # tap's Test class for .taprc's plugins, before any test process starts
}
typecheck_log=$(mktemp); lint_log=$(mktemp)
(set -e; typecheck) >"$typecheck_log" 2>&1 &
typecheck_pid=$!
(set -e; lint) >"$lint_log" 2>&1 &
lint_pid=$!
static=0
wait "$typecheck_pid" || static=1
wait "$lint_pid" || static=1
cat "$typecheck_log" "$lint_log"; rm -f "$typecheck_log" "$lint_log"
if [ "$static" -ne 0 ]; then echo "[test] static checks failed (above)"; exit 1; fi
DATABASE_URL="$TEST_PG_BASE/postgres" bash scripts/services.sh

db="dapanda_test_${TEST_RUN_ID}"
# The same two roles as the VMs: migrations as dapanda_migrator, the app and every test's app as
# dapanda_app (DML only). Tests that need more (creating databases, cleanup) use TEST_PG_BASE.
roles=$(bash scripts/db-roles.sh "$TEST_PG_BASE/postgres" "$db")
DATABASE_URL=$(sed -n 's/^DATABASE_URL=//p' <<<"$roles")
MIGRATE_DATABASE_URL=$(sed -n 's/^MIGRATE_DATABASE_URL=//p' <<<"$roles")
export DATABASE_URL MIGRATE_DATABASE_URL TEST_DB_MIGRATED=1
# shellcheck disable=SC2317,SC2016 # called by the EXIT trap; the JS is single-quoted on purpose
cleanup() {
  node -e '
    const pg = require("pg");
    const c = new pg.Client({ connectionString: process.env.TEST_PG_BASE + "/postgres" });
    c.connect().then(() => c.query(`DROP DATABASE IF EXISTS "${process.argv[1]}" WITH (FORCE)`)).finally(() => c.end());
  ' "$db" || true
  redis-cli -u "$REDIS_URL" --scan --pattern "t${TEST_RUN_ID}_*" 2>/dev/null | xargs -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
}
trap cleanup EXIT
echo "[test] database $db (app role dapanda_app, migrations as dapanda_migrator)"
DATABASE_URL=$MIGRATE_DATABASE_URL npx tsx src/cli/db.ts migrate

suites=(test/unit test/integration test/security test/e2e)
[ -d test/ops ] && suites+=(test/ops)
[ -d pulumi/test ] && suites+=(pulumi/test) # Pulumi mocks, policy pack, user data (cloud)
# tap runs the files in name order whatever order they are given in (@tapjs/run sorts its list), so
# no order is attempted here: pulumi/, test/e2e, integration, ops, security, unit.
files=()
for s in "${suites[@]}"; do
  while IFS= read -r f; do files+=("$f"); done < <(find "$s" -name '*.test.ts' -o -name '*.test.mjs' | sort)
done
if [ "$#" -gt 0 ]; then files=("$@"); fi

# The on-prem rehearsal: network namespaces lb / app1 / app2 / data / mon running nginx + HAProxy, the
# release tarball under the systemd units' commands, PostgreSQL, Redis and Prometheus (~4-5 min, root).
# It runs beside the node-tap suites (its own PostgreSQL, Redis and ports inside its namespaces, and
# mostly waiting on drains and restarts), not after them: that is most of npm test's wall time saved.
# TEST_REHEARSAL_SERIAL=1 runs it after the suites instead.
rehearse=no
if [ "$#" -eq 0 ] && [ "${TEST_REHEARSAL:-1}" != 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then rehearse=yes; else
    echo "[test] ops rehearsal NOT RUN: it needs root for network namespaces (sudo npm test, or sudo npm run test:ops -- --rehearsal --app release)"
  fi
fi
oplog=$(mktemp)
ops_pid=
run_rehearsal() {
  bash scripts/test-ops.sh --rehearsal --app release >"$oplog" 2>&1
}
if [ "$rehearse" = yes ] && [ "${TEST_REHEARSAL_SERIAL:-0}" != 1 ]; then
  echo "[test] ops rehearsal started beside the suites (network namespaces, release tarball; its log follows them)"
  run_rehearsal &
  ops_pid=$!
fi

jobs=${TEST_JOBS:-2}
echo "[test] ${#files[@]} test files, $jobs at a time"
log=$(mktemp)
set +e
npx tap --reporter=terse --jobs="$jobs" "${files[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
summary=$(grep -aoE '# \{ total: [0-9]+, pass: [0-9]+(, fail: [0-9]+)?' "$log" | tail -n1)
total=$(sed -E 's/.*total: ([0-9]+).*/\1/' <<<"$summary")
pass=$(sed -E 's/.*pass: ([0-9]+).*/\1/' <<<"$summary")
fail=$(( ${total:-0} - ${pass:-0} ))
rm -f "$log"
echo "[test] ${#files[@]} files in $(( $(date +%s) - start )) s"
if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then echo "[test] tap exited $status"; fi

if [ "$rehearse" = yes ]; then
  set +e
  if [ -n "$ops_pid" ]; then
    echo "[test] ops rehearsal: waiting for it to finish"
    wait "$ops_pid"
  else
    echo "[test] ops rehearsal (network namespaces, release tarball)"
    run_rehearsal
  fi
  ops=$?
  set -e
  cat "$oplog"
  line=$(grep -aoE '^rehearsal: [0-9]+ passed, [0-9]+ failed' "$oplog" | tail -n1)
  if [ -n "$line" ]; then
    pass=$(( ${pass:-0} + $(sed -E 's/rehearsal: ([0-9]+) passed.*/\1/' <<<"$line") ))
    fail=$(( fail + $(sed -E 's/.* ([0-9]+) failed/\1/' <<<"$line") ))
  fi
  if [ "$ops" -ne 0 ]; then
    echo "[test] ops rehearsal exited $ops"
    [ "$status" -ne 0 ] || status=$ops
    [ "$fail" -gt 0 ] || fail=1
  fi
fi
rm -f "$oplog"
echo "[test] done in $(( $(date +%s) - start )) s"
echo "${pass:-0} passed, ${fail} failed"
exit "$status"
