#!/usr/bin/env bash
# Compiles TypeScript to dist/ (the generated Prisma client included) and vendors browser libraries.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prisma-generate.sh
bash scripts/vendor.sh
rm -rf dist
npx tsc -p tsconfig.build.json
echo "[build] dist/ ready: node --experimental-wasm-modules dist/src/server.js"
