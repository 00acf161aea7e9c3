# shellcheck shell=bash
# DEPLOY_HOOKS for deploy/release.sh and deploy/rollback.sh in the rehearsal: instead of ssh to a
# VM, run the same dapanda-node / dapanda-lb scripts inside the node's network namespace, with that
# node's directories. Needs REPO, R (rehearsal state dir) and NS_PREFIX from run.sh.

node_exec() {
  local name=$1; shift 2
  ip netns exec "${NS_PREFIX}$name" env NODE_NAME="$name" \
    DAPANDA_ROOT="$R/$name/opt" DAPANDA_ENV_FILE="$R/$name/etc/dapanda.env" \
    DAPANDA_MIGRATE_ENV_FILE="$R/$name/etc/migrate.env" DAPANDA_RUN_AS="" \
    SYSTEMCTL="$REPO/test/ops/rehearsal/unit-runner.sh" UNIT_DIR="$REPO/deploy/systemd" \
    RUN_DIR="$R/$name/run" LOG_DIR="$R/$name/log" \
    bash "$REPO/deploy/node.sh" "$@"
}

node_copy() {
  local name=$1; shift 2
  mkdir -p "$R/$name/incoming"
  cp "$@" "$R/$name/incoming/"
  echo "$R/$name/incoming"
}

lb_exec() {
  ip netns exec "${NS_PREFIX}lb" env HAPROXY_SOCKET="$R/lb/haproxy/admin.sock" \
    HAPROXY_STATE_FILE="$R/lb/haproxy/server-state" bash "$REPO/deploy/haproxy/dapanda-lb.sh" "$@"
}
