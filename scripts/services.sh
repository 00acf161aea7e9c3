#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer at DATABASE_URL / REDIS_URL.
# Uses what is already running; otherwise starts local servers from the system binaries
# (Debian's cluster if one exists, else a private one under .data/), installing the Debian
# packages with apt when running as root, and saying what to run when not.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DATABASE_URL=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/dapanda}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}

say() { printf '[services] %s\n' "$*"; }
hostport() { # prints "host port" of a URL
  node -e 'const u=new URL(process.argv[1]); console.log((u.hostname||"127.0.0.1").replace(/^\[|\]$/g,""), u.port||process.argv[2])' "$1" "$2"
}
reachable() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }
is_local() { [[ $1 == 127.* || $1 == localhost || $1 == ::1 ]]; }

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    say "missing: $*. Install them (sudo apt-get install -y $*) or point the URL at a running server."
    exit 1
  fi
  say "installing $* with apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "$@" >/dev/null
}

read -r PG_HOST PG_PORT < <(hostport "$DATABASE_URL" 5432)
read -r RD_HOST RD_PORT < <(hostport "$REDIS_URL" 6379)

wait_for() { # host port what
  for _ in $(seq 1 50); do reachable "$1" "$2" && return 0; sleep 0.2; done
  say "$3 did not come up on $1:$2"; return 1
}

start_postgres() {
  if command -v pg_lsclusters >/dev/null && [ -n "$(pg_lsclusters -h 2>/dev/null | awk -v p="$PG_PORT" '$3==p')" ]; then
    read -r ver name _ < <(pg_lsclusters -h | awk -v p="$PG_PORT" '$3==p')
    say "starting the Debian PostgreSQL cluster $ver/$name"
    pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start || pg_ctlcluster "$ver" "$name" start
    return
  fi
  local bindir
  bindir=$(printf "%s\n" /usr/lib/postgresql/*/bin | grep -v "\*" | sort -V | tail -n1 || true)
  if [ -z "$bindir" ]; then apt_install postgresql; bindir=$(printf "%s\n" /usr/lib/postgresql/*/bin | sort -V | tail -n1); fi
  local data="$ROOT/.data/postgres" run=()
  mkdir -p "$ROOT/.data"
  if [ "$(id -u)" = 0 ]; then
    # PostgreSQL refuses to run as root: the private cluster belongs to the postgres user.
    id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql postgres
    mkdir -p "$data" && chown postgres "$data" && chmod 700 "$data"
    run=(runuser -u postgres --)
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    say "creating a private PostgreSQL cluster in .data/postgres"
    "${run[@]}" "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  say "starting PostgreSQL on $PG_HOST:$PG_PORT (log: .data/postgres.log)"
  touch "$ROOT/.data/postgres.log"; [ "$(id -u)" = 0 ] && chown postgres "$ROOT/.data/postgres.log"
  "${run[@]}" "$bindir/pg_ctl" -D "$data" -l "$ROOT/.data/postgres.log" -o "-p $PG_PORT -c listen_addresses=$PG_HOST -k /tmp" -w start >/dev/null
}

start_redis() {
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p "$ROOT/.data/redis"
  say "starting Redis on $RD_HOST:$RD_PORT (log: .data/redis.log)"
  redis-server --daemonize yes --bind "$RD_HOST" --port "$RD_PORT" --save "" --appendonly no \
    --dir "$ROOT/.data/redis" --logfile "$ROOT/.data/redis.log"
}

if reachable "$PG_HOST" "$PG_PORT"; then
  say "PostgreSQL answers at $PG_HOST:$PG_PORT"
elif is_local "$PG_HOST"; then
  start_postgres; wait_for "$PG_HOST" "$PG_PORT" PostgreSQL
else
  say "PostgreSQL at $PG_HOST:$PG_PORT does not answer, and it is not a local address I can start"; exit 1
fi

if reachable "$RD_HOST" "$RD_PORT"; then
  say "Redis answers at $RD_HOST:$RD_PORT"
elif is_local "$RD_HOST"; then
  start_redis; wait_for "$RD_HOST" "$RD_PORT" Redis
else
  say "Redis at $RD_HOST:$RD_PORT does not answer, and it is not a local address I can start"; exit 1
fi
