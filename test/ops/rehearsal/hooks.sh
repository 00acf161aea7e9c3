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
  ip netns exec "${NS_PREFIX}lb" env NGINX_CONF_DIR="$R/lb/conf" NGINX_PID="$R/lb/nginx.pid" \
    NGINX_TEST_CMD="nginx -t -q -p $R/lb -e $R/lb/log/error.log -c $R/lb/nginx.conf" \
    NGINX_RELOAD_CMD="nginx -p $R/lb -e $R/lb/log/error.log -c $R/lb/nginx.conf -s reload" \
    bash "$REPO/deploy/nginx/upstream.sh" "$@"
}
