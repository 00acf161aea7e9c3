#!/usr/bin/env bash
# dapanda-node: the app-node side of a release (installed on app nodes as /usr/local/sbin/dapanda-node,
# called by deploy/release.sh and deploy/rollback.sh over ssh, or inside a namespace in the rehearsal).
#
#   dapanda-node stage TARBALL       unpack into $DAPANDA_ROOT/releases/<id> (id = tarball name)
#   dapanda-node migrate ID          run the release's migrations once (as the migrator role)
#   dapanda-node activate ID         atomically point $DAPANDA_ROOT/current at releases/ID
#   dapanda-node restart             restart dapanda-web and dapanda-worker (SIGTERM drain)
#   dapanda-node wait-ready [S]      wait until http://127.0.0.1:$PORT/readyz answers 200
#   dapanda-node current | previous | list
#   dapanda-node prune [KEEP]        delete old releases, never current or previous (default keep 5)
set -euo pipefail

DAPANDA_ROOT=${DAPANDA_ROOT:-/opt/dapanda}
DAPANDA_ENV_FILE=${DAPANDA_ENV_FILE:-/etc/dapanda/dapanda.env}
DAPANDA_MIGRATE_ENV_FILE=${DAPANDA_MIGRATE_ENV_FILE:-/etc/dapanda/migrate.env}
DAPANDA_RUN_AS=${DAPANDA_RUN_AS-dapanda}
SYSTEMCTL=${SYSTEMCTL:-systemctl}
NODE_BIN=${NODE_BIN:-/usr/bin/node}
RELEASES=$DAPANDA_ROOT/releases
HISTORY=$DAPANDA_ROOT/history

log() { printf '[dapanda-node %s] %s\n' "${NODE_NAME:-$(hostname)}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

valid_id() { [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "bad release id: $1"; }
env_value() { sed -n "s/^$1=//p" "$2" | tail -n 1; }

current() { [[ -L $DAPANDA_ROOT/current ]] && basename "$(readlink "$DAPANDA_ROOT/current")"; }

# The release active before the current one, from the activation history.
previous() {
  local cur
  cur=$(current) || return 1
  [[ -f $HISTORY ]] || return 1
  awk -v cur="$cur" '$2 != cur { p = $2 } END { if (p) print p; else exit 1 }' "$HISTORY"
}

stage() {
  local tarball=$1 id dest
  [[ -f $tarball ]] || die "no such tarball: $tarball"
  id=$(basename "$tarball" .tar.gz)
  valid_id "$id"
  dest=$RELEASES/$id
  if [[ -f $dest/VERSION ]]; then
    log "release $id already staged"
    echo "$id"
    return 0
  fi
  if [[ -f $tarball.sha256 ]]; then
    (cd "$(dirname "$tarball")" && sha256sum --quiet -c "$(basename "$tarball").sha256") || die "checksum mismatch: $tarball"
  fi
  install -d -m 0755 "$RELEASES"
  rm -rf "$dest.partial"
  install -d -m 0755 "$dest.partial"
  tar -xzf "$tarball" -C "$dest.partial" --strip-components=1 --no-same-owner
  [[ -f $dest.partial/VERSION && -f $dest.partial/dist/src/server.js ]] || die "$tarball is not a DAPANDA release"
  # Code stays root-owned and read-only to the service user.
  chmod -R go-w "$dest.partial"
  mv "$dest.partial" "$dest"
  log "staged $id"
  echo "$id"
}

run_as_app() {
  if [[ -n $DAPANDA_RUN_AS && $(id -u) -eq 0 ]]; then
    runuser -u "$DAPANDA_RUN_AS" -- "$@"
  else
    "$@"
  fi
}

migrate() {
  local id=$1 dir url
  valid_id "$id"
  dir=$RELEASES/$id
  [[ -d $dir ]] || die "release $id is not staged"
  url=$(env_value MIGRATE_DATABASE_URL "$DAPANDA_MIGRATE_ENV_FILE")
  [[ -n $url ]] || die "MIGRATE_DATABASE_URL missing in $DAPANDA_MIGRATE_ENV_FILE"
  log "migrating with release $id"
  (
    set -a
    # shellcheck disable=SC1090
    . "$DAPANDA_ENV_FILE"
    set +a
    cd "$dir"
    DATABASE_URL=$url run_as_app "$NODE_BIN" --experimental-wasm-modules dist/src/cli/db.js migrate
  )
}

activate() {
  local id=$1
  valid_id "$id"
  [[ -f $RELEASES/$id/VERSION ]] || die "release $id is not staged"
  if [[ $(current || true) == "$id" ]]; then
    log "release $id already current"
    return 0
  fi
  ln -sfn "releases/$id" "$DAPANDA_ROOT/current.new"
  mv -T "$DAPANDA_ROOT/current.new" "$DAPANDA_ROOT/current"
  printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$id" >>"$HISTORY"
  log "current -> $id"
}

wait_ready() {
  local timeout=${1:-60} port deadline
  port=$(env_value PORT "$DAPANDA_ENV_FILE")
  deadline=$((SECONDS + timeout))
  until curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:${port:-3000}/readyz"; do
    ((SECONDS < deadline)) || die "not ready after ${timeout}s"
    sleep 0.5
  done
  log "ready on port ${port:-3000} ($(current))"
}

prune() {
  local keep=${1:-5} cur prev dirs d n=0
  cur=$(current || true)
  prev=$(previous || true)
  mapfile -t dirs < <(ls -1t "$RELEASES")
  for d in "${dirs[@]}"; do
    n=$((n + 1))
    [[ $d == "$cur" || $d == "$prev" ]] && continue
    if ((n > keep)); then rm -rf "${RELEASES:?}/$d"; log "pruned $d"; fi
  done
}

cmd=${1:-}
shift || true
case $cmd in
  stage) stage "${1:?TARBALL}" ;;
  migrate) migrate "${1:?ID}" ;;
  activate) activate "${1:?ID}" ;;
  restart) $SYSTEMCTL restart dapanda-web.service dapanda-worker.service; log "restarted units" ;;
  wait-ready) wait_ready "${1:-60}" ;;
  current) current || die "no current release" ;;
  previous) previous || die "no previous release" ;;
  list) ls -1t "$RELEASES" ;;
  prune) prune "${1:-5}" ;;
  *) die "usage: dapanda-node stage|migrate|activate|restart|wait-ready|current|previous|list|prune" ;;
esac
