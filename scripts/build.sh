#!/usr/bin/env bash
# Compiles TypeScript to dist/ (the generated Prisma client included) and vendors browser libraries.
# Modules keep their templates and browser scripts beside their code (src/modules/<name>/views,
# public): they are copied next to the compiled modules, which find them from their own location.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prisma-generate.sh
bash scripts/vendor.sh
rm -rf dist
npx tsc -p tsconfig.build.json
(cd src && find modules \( -path '*/views/*.hbs' -o -path '*/public/*.js' \) -print0 | while IFS= read -r -d '' f; do
  mkdir -p "../dist/src/$(dirname "$f")" && cp "$f" "../dist/src/$f"
done)
echo "[build] dist/ ready: node dist/src/server.js"
