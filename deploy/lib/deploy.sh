# shellcheck shell=bash
# Rolling-switch logic shared by deploy/release.sh and deploy/rollback.sh (sourced, never run).
#
# Reaching the nodes is three functions a hooks file (DEPLOY_HOOKS) may redefine: node_exec, node_copy
# and lb_exec. The defaults use ssh/scp and the dapanda-node / dapanda-lb tools the provision
# scripts install; the rehearsal redefines them with `ip netns exec`.

DEPLOY_START=$SECONDS
dlog() { printf '[deploy +%ss] %s\n' "$((SECONDS - DEPLOY_START))" "$*" >&2; }
ddie() { dlog "ERROR: $*"; exit 1; }

deploy_init() {
  local env_file=${DEPLOY_ENV:-}
  if [[ -n $env_file ]]; then
    [[ -r $env_file ]] || ddie "DEPLOY_ENV not readable: $env_file"
    set -a
    # shellcheck disable=SC1090
    . "$env_file"
    set +a
  fi
  : "${DEPLOY_APP_NODES:?set DEPLOY_APP_NODES, e.g. \"app1=192.168.56.11 app2=192.168.56.12\"}"
  DEPLOY_APP_PORT=${DEPLOY_APP_PORT:-3000}
  DEPLOY_LB_HOST=${DEPLOY_LB_HOST:-}
  DEPLOY_USER=${DEPLOY_USER:-root}
  DEPLOY_SUDO=${DEPLOY_SUDO:-}
  DEPLOY_SSH=${DEPLOY_SSH:-ssh -o BatchMode=yes -o ConnectTimeout=10}
  DEPLOY_SCP=${DEPLOY_SCP:-scp -q -o BatchMode=yes}
  DEPLOY_READY_TIMEOUT=${DEPLOY_READY_TIMEOUT:-90}
  DEPLOY_DRAIN_TIMEOUT=${DEPLOY_DRAIN_TIMEOUT:-35}
  if [[ -n ${DEPLOY_HOOKS:-} ]]; then
    # shellcheck disable=SC1090
    . "$DEPLOY_HOOKS"
  fi
}

_remote() { # ADDR TOOL ARGS...
  local addr=$1 tool=$2; shift 2
  # shellcheck disable=SC2086
  $DEPLOY_SSH "$DEPLOY_USER@$addr" "$DEPLOY_SUDO $tool $(printf '%q ' "$@")"
}

if ! declare -F node_exec >/dev/null; then
  node_exec() { local name=$1 addr=$2; shift 2; _remote "$addr" dapanda-node "$@"; }
fi
if ! declare -F node_copy >/dev/null; then
  # node_copy NAME ADDR FILE...: copy files to the node, print the directory they landed in.
  node_copy() {
    local name=$1 addr=$2; shift 2
    # shellcheck disable=SC2086
    $DEPLOY_SCP "$@" "$DEPLOY_USER@$addr:/tmp/" >&2
    echo /tmp
  }
fi
if ! declare -F lb_exec >/dev/null; then
  lb_exec() { _remote "$DEPLOY_LB_HOST" dapanda-lb "$@"; }
fi

# switch_nodes ID: one node at a time: drain, activate ID, restart, wait ready, put back.
switch_nodes() {
  local id=$1 entry name addr cur
  for entry in $DEPLOY_APP_NODES; do
    name=${entry%%=*}
    addr=${entry#*=}
    cur=$(node_exec "$name" "$addr" current 2>/dev/null || true)
    if [[ $cur == "$id" ]] && node_exec "$name" "$addr" wait-ready 2 >/dev/null 2>&1; then
      dlog "$name already runs $id and is ready: skipped"
      continue
    fi
    dlog "$name: ${cur:-nothing} -> $id"
    if [[ -n $DEPLOY_LB_HOST ]]; then
      lb_exec down "$addr:$DEPLOY_APP_PORT"
      lb_exec wait-drained "$addr:$DEPLOY_APP_PORT" "$DEPLOY_DRAIN_TIMEOUT"
    else
      dlog "no load balancer configured: $name restarts with traffic on it"
    fi
    node_exec "$name" "$addr" activate "$id"
    node_exec "$name" "$addr" restart
    if ! node_exec "$name" "$addr" wait-ready "$DEPLOY_READY_TIMEOUT"; then
      ddie "$name did not become ready on $id; it stays out of the load balancer and the nodes after it were not touched. Fix it or run deploy/rollback.sh"
    fi
    # Returns once the load balancer's health checks pass, so the next node is drained only then.
    if [[ -n $DEPLOY_LB_HOST ]]; then lb_exec up "$addr:$DEPLOY_APP_PORT" "$DEPLOY_READY_TIMEOUT"; fi
    dlog "$name serves $id"
  done
}

first_node() { local e; for e in $DEPLOY_APP_NODES; do echo "$e"; return; done; }
