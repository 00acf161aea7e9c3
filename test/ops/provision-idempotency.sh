#!/usr/bin/env bash
# Provision-script idempotency in a disposable Debian 12 root (no VM here): each role script runs
# twice in a fresh overlay of a cached debootstrap root, inside its own mount, network and PID
# namespaces (so nft, postgres and friends touch nothing of this host), with systemd not running
# (units are enabled offline, services not started). Asserts: both runs exit 0, the first reports
# changes, the second reports "no changes".
#
#   test/ops/provision-idempotency.sh [ROLE...]     (default: lb app data mon; root only)
#
# Cache (.data/provision-rootfs): debootstrap --variant=minbase bookworm, then the union of
# deploy/provision/packages/*.txt installed with services blocked (policy-rc.d). Packages are
# pre-installed because the namespaces have no network; the scripts still check every one of them.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=$REPO/.data/provision-rootfs
WORK=$REPO/.data/provision-runs
roles=("$@")
((${#roles[@]})) || roles=(lb app data mon)
[[ $(id -u) -eq 0 ]] || { echo "needs root" >&2; exit 2; }
T0=$SECONDS
say() { printf '[provision-test +%3ss] %s\n' "$((SECONDS - T0))" "$*"; }

pkgs=$(cat "$REPO"/deploy/provision/packages/*.txt | grep -v -e '^#' -e '^$' | sort -u | tr '\n' ' ')
if [[ ! -x $CACHE/usr/bin/apt-get || $(cat "$CACHE/.dapanda-packages" 2>/dev/null) != "$pkgs" ]]; then
  command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap
  say "building the cached Debian root (a few minutes the first time; again when a package list changes)"
  [[ -x $CACHE/usr/bin/apt-get ]] || debootstrap --variant=minbase bookworm "$CACHE" http://deb.debian.org/debian >/dev/null
  printf '#!/bin/sh\nexit 101\n' >"$CACHE/usr/sbin/policy-rc.d"
  chmod +x "$CACHE/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$CACHE/etc/resolv.conf"
  mount -t proc proc "$CACHE/proc"
  # shellcheck disable=SC2086
  chroot "$CACHE" bash -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd systemd-sysv $pkgs" >/dev/null || { umount "$CACHE/proc"; exit 1; }
  umount "$CACHE/proc"
  echo "$pkgs" >"$CACHE/.dapanda-packages"
fi

# Node >= 20 is not in bookworm: the app role installs it from DAPANDA_NODE_TARBALL, made here from
# this machine's node binary in the layout of the official tarballs.
NODE_TAR=$REPO/.data/node-linux-x64.tar.xz
if [[ ! -f $NODE_TAR ]]; then
  d=$(mktemp -d)
  top=node-v$(node -p process.versions.node)-linux-x64
  mkdir -p "$d/$top/bin"
  cp "$(command -v node)" "$d/$top/bin/"
  tar -C "$d" -cf - "$top" | xz -0 -T2 >"$NODE_TAR"
  rm -rf "$d"
fi

cat >"$WORK.env" <<'EOF'
DAPANDA_DOMAIN=dapanda.local
DAPANDA_LB_ADDR=192.168.56.10
DAPANDA_APP_NODES="app1=192.168.56.11 app2=192.168.56.12"
DAPANDA_DATA_ADDR=192.168.56.20
DAPANDA_MON_ADDR=192.168.56.30
DAPANDA_NODES_CIDR=192.168.56.0/24
DAPANDA_APP_PORT=3000
DAPANDA_DB_NAME=dapanda
DAPANDA_STORAGE_DIR=/srv/dapanda/photos
DAPANDA_NODE_TARBALL=/cache/node-linux-x64.tar.xz
DAPANDA_BACKUP_TARGET=/srv/backup-offsite
DAPANDA_GRAFANA_APT=auto
EOF

fail=0
for role in "${roles[@]}"; do
  run=$WORK/$role
  umount -R "$run/merged" 2>/dev/null || true
  rm -rf "$run"
  mkdir -p "$run"/{upper,work,merged}
  mount -t overlay overlay -o "lowerdir=$CACHE,upperdir=$run/upper,workdir=$run/work" "$run/merged"
  mkdir -p "$run/merged/dapanda" "$run/merged/cache"
  for pass in 1 2; do
    rc=0
    # shellcheck disable=SC2016 # the inner script expands its own arguments
    timeout 300 unshare --mount --net --pid --fork bash -c '
      set -e
      m=$1 repo=$2 cache=$3 role=$4 envf=$5
      mount --make-rprivate /
      mount -t proc proc "$m/proc"
      mount --rbind /dev "$m/dev"
      mount --bind -o ro "$repo" "$m/dapanda"
      mount --bind -o ro "$cache" "$m/cache"
      cp "$envf" "$m/root/provision.env"
      ip link set lo up
      exec chroot "$m" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        bash /dapanda/deploy/provision/"$role".sh /root/provision.env
    ' _ "$run/merged" "$REPO" "$REPO/.data" "$role" "$WORK.env" >"$run/pass$pass.log" 2>&1 || rc=$?
    summary=$(grep -E "^\[$role\] (no changes|[0-9]+ change)" "$run/pass$pass.log" | tail -n 1 || true)
    say "$role pass $pass: exit $rc, ${summary:-no summary}"
    if ((rc != 0)); then tail -n 20 "$run/pass$pass.log" | sed 's/^/    /'; fi
    if [[ $pass == 1 ]] && ! { ((rc == 0)) && [[ $summary =~ change\(s\)$ ]]; }; then fail=1; fi
    if [[ $pass == 2 ]] && ! { ((rc == 0)) && [[ $summary == "[$role] no changes" ]]; }; then
      fail=1
      grep 'changed:' "$run/pass2.log" | sed 's/^/    second run changed: /' || true
    fi
  done
  grep -E 'WARN' "$run/pass1.log" | sort -u | sed 's/^/    /' || true
  umount -R "$run/merged" 2>/dev/null || umount -l "$run/merged"
done
say "done in $((SECONDS - T0))s"
if ((fail)); then echo "provision idempotency: FAILED"; exit 1; fi
echo "provision idempotency: ${#roles[@]} roles, second run changed nothing"
