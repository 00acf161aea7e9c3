#!/usr/bin/env bash
# Installs npm dependencies when missing or older than package-lock.json, then prepares what
# the app needs from them: the generated Prisma client and the vendored browser libraries.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[deps] npm ci"
  npm ci --no-audit --no-fund
fi
bash scripts/prisma-generate.sh
bash scripts/vendor.sh
