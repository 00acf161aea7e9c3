#!/usr/bin/env bash
# Generates the Prisma client into src/generated/prisma (git-ignored).
# Prisma 7's CLI insists on a schema-engine binary path even though `generate`
# never runs it, and would otherwise try to download one (no network here, nor at
# air-gapped on-prem sites). Any executable satisfies the check.
set -euo pipefail
cd "$(dirname "$0")/.."
export PRISMA_SCHEMA_ENGINE_BINARY="${PRISMA_SCHEMA_ENGINE_BINARY:-$(type -P true)}"
export PRISMA_HIDE_UPDATE_MESSAGE=1 CHECKPOINT_DISABLE=1
exec npx --no-install prisma generate --schema prisma/schema >/dev/null
