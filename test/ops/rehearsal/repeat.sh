#!/usr/bin/env bash
# Runs the rehearsal N times in a row and prints one line per run: checks passed/failed, and over its
# three loads (SIGKILL failover, rolling release, rollback) the requests, transport errors (resets;
# "cut" = responses app1 was sending when the failover check SIGKILLed it), kept-alive connections the
# client had to retry, 5xx, and the run's duration.
#   test/ops/rehearsal/repeat.sh [N] [--app fixture|release]      (default 5, release)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
n=${1:-5} app=release
if [[ ${2:-} == --app ]]; then app=${3:?fixture|release}; fi
R=$REPO/.data/rehearsal${REHEARSAL_NS_PREFIX:+-$REHEARSAL_NS_PREFIX}
ok=0
for ((i = 1; i <= n; i++)); do
  s=$SECONDS rc=0
  bash "$REPO/test/ops/rehearsal/run.sh" --app "$app" >"$R.run$i.log" 2>&1 || rc=$?
  line=$(grep -aoE '^rehearsal: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$R.run$i.log" | tail -1)
  loads=$(jq -s -r '{requests: (map(.requests) | add),
    cut: (map(.errors.EABORTED // 0) | .[0]),
    resets: ((map(([.errors[]] + [.probe.errors[]]) | add // 0) | add) - (map(.errors.EABORTED // 0) | .[0])),
    drainErrors: (.[1:] | map(([.errors[]] + [.probe.errors[]]) | add // 0) | add),
    retried: (map(.reusedSocketRetries) | add), e5xx: (map(.count5xx) | add)}
    | "requests \(.requests), resets \(.resets) (during drains \(.drainErrors)), cut by SIGKILL \(.cut), retried \(.retried), 5xx \(.e5xx)"' \
    "$R"/failover.json "$R"/rolling.json "$R"/rollback.json 2>/dev/null || echo "loads: no result")
  printf 'run %d: rc %d, %s; %s; %ds\n' "$i" "$rc" "${line:-no summary}" "$loads" "$((SECONDS - s))"
  if ((rc == 0)); then ok=$((ok + 1)); fi
done
echo "repeat: $ok of $n runs passed"
((ok == n))
