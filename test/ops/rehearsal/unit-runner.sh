#!/usr/bin/env bash
# A systemctl stand-in for the rehearsal (no systemd inside network namespaces): start/stop/restart/
# is-active of deploy/systemd/*.service, running what the unit file says: ExecStart, Environment=,
# EnvironmentFile= (overrides Environment=, as in systemd), WorkingDirectory, TimeoutStopSec and
# KillSignal. Paths under /opt/dapanda and /etc/dapanda are mapped to the node's rehearsal dirs.
# Not emulated (said in the report): User=, sandboxing options, Restart=.
#
# Env: UNIT_DIR, DAPANDA_ROOT, DAPANDA_ENV_FILE, RUN_DIR, LOG_DIR, NODE_NAME.
set -euo pipefail

: "${UNIT_DIR:?}" "${DAPANDA_ROOT:?}" "${DAPANDA_ENV_FILE:?}" "${RUN_DIR:?}" "${LOG_DIR:?}"
mkdir -p "$RUN_DIR" "$LOG_DIR"

map_path() {
  local v=$1
  v=${v//\/etc\/dapanda\/dapanda.env/$DAPANDA_ENV_FILE}
  v=${v//\/opt\/dapanda/$DAPANDA_ROOT}
  printf '%s' "$v"
}

parse_unit() { # UNIT: sets EXEC_START ENVS ENV_FILE WORKDIR STOP_TIMEOUT KILL_SIGNAL
  local file=$UNIT_DIR/$1 line
  [[ -f $file ]] || { echo "unit-runner: no unit $1" >&2; exit 5; }
  EXEC_START="" ENVS=() ENV_FILE="" WORKDIR=/ STOP_TIMEOUT=90 KILL_SIGNAL=TERM
  while IFS= read -r line; do
    case $line in
      ExecStart=*) EXEC_START=$(map_path "${line#ExecStart=}") ;;
      Environment=*) ENVS+=("${line#Environment=}") ;;
      EnvironmentFile=*) ENV_FILE=$(map_path "${line#EnvironmentFile=}") ;;
      WorkingDirectory=*) WORKDIR=$(map_path "${line#WorkingDirectory=}") ;;
      TimeoutStopSec=*) STOP_TIMEOUT=${line#TimeoutStopSec=} ;;
      KillSignal=*) KILL_SIGNAL=${line#KillSignal=SIG} ;;
    esac
  done <"$file"
  [[ -n $EXEC_START ]] || { echo "unit-runner: $1 has no ExecStart" >&2; exit 5; }
}

pid_of() { local p; p=$(cat "$RUN_DIR/$1.pid" 2>/dev/null) && kill -0 "$p" 2>/dev/null && echo "$p"; }

start() {
  local unit=$1 argv line file_envs=()
  if pid_of "$unit" >/dev/null; then return 0; fi
  parse_unit "$unit"
  read -ra argv <<<"$EXEC_START"
  if [[ -n $ENV_FILE ]]; then
    # systemd's EnvironmentFile: KEY=VALUE lines, no shell expansion.
    while IFS= read -r line; do
      [[ $line =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] && file_envs+=("$line")
    done <"$ENV_FILE"
  fi
  (
    cd "$WORKDIR"
    exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      "${ENVS[@]}" "${file_envs[@]}" NODE_NAME="${NODE_NAME:-}" \
      setsid "${argv[@]}" </dev/null >>"$LOG_DIR/$unit.log" 2>&1
  ) &
  echo $! >"$RUN_DIR/$unit.pid"
}

stop() {
  local unit=$1 pid waited=0
  pid=$(pid_of "$unit") || return 0
  parse_unit "$unit"
  kill -s "$KILL_SIGNAL" "$pid"
  while kill -0 "$pid" 2>/dev/null; do
    if ((waited >= STOP_TIMEOUT * 10)); then
      echo "unit-runner: $unit did not stop in ${STOP_TIMEOUT}s, SIGKILL" >&2
      kill -9 "$pid"
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  rm -f "$RUN_DIR/$unit.pid"
}

cmd=${1:?usage: unit-runner.sh start|stop|restart|is-active UNIT...}
shift
rc=0
for unit in "$@"; do
  case $cmd in
    start) start "$unit" ;;
    stop) stop "$unit" ;;
    restart) stop "$unit"; start "$unit" ;;
    is-active) pid_of "$unit" >/dev/null || rc=3 ;;
    *) echo "unit-runner: unsupported $cmd" >&2; exit 2 ;;
  esac
done
exit $rc
