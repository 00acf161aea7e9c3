# shellcheck shell=bash
# Helpers shared by deploy/provision/*.sh (sourced, never run).
#
# Every helper is idempotent and counts what it really changed, so a provision run ends with
# either "N change(s)" or "no changes": the second run of any role must say "no changes".

DAPANDA_CHANGES=0
declare -A DAPANDA_DIRTY=()
DAPANDA_APT_UPDATED=0

log() { printf '[%s] %s\n' "${DAPANDA_ROLE:-provision}" "$*"; }
warn() { printf '[%s] WARN: %s\n' "${DAPANDA_ROLE:-provision}" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "${DAPANDA_ROLE:-provision}" "$*" >&2; exit 1; }

# changed DESCRIPTION [TRIGGER...]: count one change and mark triggers (e.g. "nginx") dirty.
changed() {
  local what=$1; shift
  DAPANDA_CHANGES=$((DAPANDA_CHANGES + 1))
  log "changed: $what"
  local t
  for t in "$@"; do DAPANDA_DIRTY[$t]=1; done
}
dirty() { [[ -n ${DAPANDA_DIRTY[$1]:-} ]]; }

require_root() { [[ $(id -u) -eq 0 ]] || die "run as root"; }

# True when systemd is PID 1 (a booted VM). False in a chroot or container build, where units are
# enabled offline and start at the next boot.
systemd_running() { [[ -d /run/systemd/system ]]; }

# load_env FILE...: export every assignment of the given env files (later files win).
load_env() {
  local f
  for f in "$@"; do
    [[ -r $f ]] || die "env file not readable: $f"
    set -a
    # shellcheck disable=SC1090
    . "$f"
    set +a
  done
}

# The env file given on the command line, then the generated secrets (root-only) if present.
provision_init() {
  DAPANDA_ROLE=$1
  local env_file=${2:-${DAPANDA_ENV:-/etc/dapanda/provision.env}}
  require_root
  load_env "$env_file"
  DAPANDA_SECRETS_FILE=${DAPANDA_SECRETS_FILE:-/etc/dapanda/secrets.env}
  # Generated secrets fill only what the env file leaves empty: an explicit value always wins.
  local key value
  if [[ -r $DAPANDA_SECRETS_FILE ]]; then
    while IFS='=' read -r key value; do
      [[ $key =~ ^DAPANDA_[A-Z0-9_]+$ && -z ${!key:-} ]] || continue
      printf -v "$key" '%s' "$value"
      export "${key?}"
    done <"$DAPANDA_SECRETS_FILE"
  fi
  DAPANDA_REPO=${DAPANDA_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
  export DAPANDA_REPO
  log "provisioning role '$DAPANDA_ROLE' from $env_file (systemd $(systemd_running && echo running || echo offline))"
}

provision_done() {
  if ((DAPANDA_CHANGES == 0)); then
    log "no changes"
  else
    log "$DAPANDA_CHANGES change(s)"
  fi
}

# packages_of ROLE: the package list of deploy/provision/packages/ROLE.txt without comments.
packages_of() { grep -v -e '^#' -e '^[[:space:]]*$' "$DAPANDA_REPO/deploy/provision/packages/$1.txt"; }

ensure_packages() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  if ((DAPANDA_APT_UPDATED == 0)); then
    apt-get update -qq
    DAPANDA_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  changed "installed packages: ${missing[*]}" packages
}

ensure_dir() { # PATH MODE OWNER:GROUP
  local path=$1 mode=$2 owner=$3
  if [[ ! -d $path ]]; then
    install -d -m "$mode" -o "${owner%:*}" -g "${owner#*:}" "$path"
    changed "created directory $path"
    return 0
  fi
  if [[ $(stat -c '%a %U:%G' "$path") != "${mode#0} $owner" ]]; then
    chmod "$mode" "$path"
    chown "$owner" "$path"
    changed "fixed mode/owner of $path"
  fi
}

# install_content DEST MODE OWNER:GROUP [TRIGGER...] < content
# Writes stdin to DEST only if content, mode or owner differ.
install_content() {
  local dest=$1 mode=$2 owner=$3; shift 3
  local tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if [[ -f $dest ]] && cmp -s "$tmp" "$dest"; then
    rm -f "$tmp"
    if [[ $(stat -c '%a %U:%G' "$dest") != "${mode#0} $owner" ]]; then
      chmod "$mode" "$dest"
      chown "$owner" "$dest"
      changed "fixed mode/owner of $dest" "$@"
    fi
    return 0
  fi
  install -D -m "$mode" -o "${owner%:*}" -g "${owner#*:}" "$tmp" "$dest"
  rm -f "$tmp"
  changed "wrote $dest" "$@"
}

install_file() { # SRC DEST MODE OWNER:GROUP [TRIGGER...]
  local src=$1; shift
  install_content "$@" <"$src"
}

ensure_symlink() { # TARGET LINK
  if [[ $(readlink "$2" 2>/dev/null) != "$1" ]]; then
    ln -sfn "$1" "$2"
    changed "linked $2 -> $1"
  fi
}

ensure_group() { # NAME GID
  getent group "$1" >/dev/null && return 0
  groupadd --system --gid "$2" "$1"
  changed "created group $1"
}

ensure_system_user() { # NAME UID HOME
  ensure_group "$1" "$2"
  getent passwd "$1" >/dev/null && return 0
  useradd --system --uid "$2" --gid "$1" --home-dir "$3" --no-create-home --shell /usr/sbin/nologin "$1"
  changed "created system user $1"
}

# render_template FILE: replace every @@NAME@@ with the value of $NAME; an unset name is an error.
render_template() {
  local text name
  text=$(<"$1")
  while [[ $text =~ @@([A-Z0-9_]+)@@ ]]; do
    name=${BASH_REMATCH[1]}
    [[ -n ${!name+x} ]] || die "template $1 needs \$$name"
    text=${text//"@@${name}@@"/${!name}}
  done
  printf '%s\n' "$text"
}

# ensure_secrets NAME...: every NAME not already set gets a random value, stored once in the
# root-only secrets file, so re-runs keep the same secrets.
ensure_secrets() {
  local name
  ensure_dir "$(dirname "$DAPANDA_SECRETS_FILE")" 0755 root:root
  if [[ ! -f $DAPANDA_SECRETS_FILE ]]; then
    install -m 0600 -o root -g root /dev/null "$DAPANDA_SECRETS_FILE"
    changed "created $DAPANDA_SECRETS_FILE"
  fi
  for name in "$@"; do
    if [[ -z ${!name:-} ]]; then
      printf -v "$name" '%s' "$(openssl rand -hex 32)"
      printf '%s=%s\n' "$name" "${!name}" >>"$DAPANDA_SECRETS_FILE"
      export "${name?}"
      changed "generated secret $name into $DAPANDA_SECRETS_FILE"
    fi
  done
}

# app_nodes_addrs: the addresses of DAPANDA_APP_NODES ("app1=10.0.0.11 app2=10.0.0.12").
app_nodes_addrs() {
  local n
  for n in $DAPANDA_APP_NODES; do printf '%s\n' "${n#*=}"; done
}

svc_enable() { # UNIT: enable at boot and start now (when systemd runs)
  if ! systemctl is-enabled --quiet "$1" 2>/dev/null; then
    systemctl enable --quiet "$1"
    changed "enabled $1"
  fi
  if systemd_running && ! systemctl is-active --quiet "$1"; then
    systemctl start "$1"
    changed "started $1"
  fi
}

svc_disable() {
  if systemctl is-enabled --quiet "$1" 2>/dev/null; then
    systemctl disable --quiet "$1"
    changed "disabled $1"
  fi
  if systemd_running && systemctl is-active --quiet "$1"; then
    systemctl stop "$1"
    changed "stopped $1"
  fi
}

# svc_apply UNIT ACTION TRIGGER: restart/reload UNIT if TRIGGER was marked dirty in this run.
svc_apply() {
  dirty "$3" || return 0
  if systemd_running; then
    systemctl daemon-reload
    systemctl "$2" "$1"
    log "$2ed $1"
  else
    log "systemd offline: $1 $2 happens at next boot"
  fi
}
