#!/usr/bin/env bash
# Return every app node to its previous release (or to the release ID given), one node at a time,
# with the same drain / restart / readiness steps as deploy/release.sh.
#
#   DEPLOY_ENV=deploy/env/deploy.env deploy/rollback.sh [ID]
#
# Migrations are not reversed: releases keep the schema backward compatible for one release
# (expand/contract), so the previous code runs against the newer schema.
set -euo pipefail
# shellcheck source=deploy/lib/deploy.sh
. "$(dirname "$0")/lib/deploy.sh"
deploy_init

first=$(first_node)
id=${1:-$(node_exec "${first%%=*}" "${first#*=}" previous)}
[[ -n $id ]] || ddie "no previous release on ${first%%=*}"
dlog "rolling back to $id"
switch_nodes "$id"
dlog "done: $id on every node"
