#!/usr/bin/env bash
# Rolling deploy of one release tarball (from scripts/release.sh) to every app node.
#
#   DEPLOY_ENV=deploy/env/deploy.env deploy/release.sh release/dapanda-0.1.0-abc123.tar.gz
#
# 1. copy + unpack on every node (nothing running changes), 2. run migrations once, from the first
# node (migrations must be backward compatible with the release still running: expand, then contract
# in a later release), 3. per node: drain in HAProxy (runtime API), switch `current`, restart, wait for /readyz, undrain.
# Stops at the first node that fails readiness; that node stays drained.
set -euo pipefail
# shellcheck source=deploy/lib/deploy.sh
. "$(dirname "$0")/lib/deploy.sh"

tarball=${1:?usage: deploy/release.sh TARBALL}
[[ -f $tarball ]] || ddie "no such file: $tarball"
id=$(basename "$tarball" .tar.gz)
deploy_init

files=("$tarball")
if [[ -f $tarball.sha256 ]]; then files+=("$tarball.sha256"); fi

dlog "release $id to: $DEPLOY_APP_NODES"
for entry in $DEPLOY_APP_NODES; do
  name=${entry%%=*}
  addr=${entry#*=}
  dir=$(node_copy "$name" "$addr" "${files[@]}")
  node_exec "$name" "$addr" stage "$dir/$(basename "$tarball")" >/dev/null
  dlog "$name: staged"
done

first=$(first_node)
if [[ ${DEPLOY_SKIP_MIGRATE:-no} != yes ]]; then
  node_exec "${first%%=*}" "${first#*=}" migrate "$id"
  dlog "migrations applied from ${first%%=*}"
fi

switch_nodes "$id"

for entry in $DEPLOY_APP_NODES; do
  node_exec "${entry%%=*}" "${entry#*=}" prune "${DEPLOY_KEEP_RELEASES:-5}"
done
dlog "done: $id on every node"
