#!/usr/bin/env bash
# CycloneDX SBOM of what a release ships (production dependencies, from node_modules and the lockfile):
#   scripts/sbom.sh [OUT]        default .data/sbom/dapanda.cdx.json; validated against the CycloneDX schema
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.data/sbom/dapanda.cdx.json}
mkdir -p "$(dirname "$out")"
# The generator has its own lockfile (tools/sbom), outside the app's tree and its npm audit.
tool=tools/sbom/node_modules/.bin/cyclonedx-npm
if [[ ! -x $tool ]]; then npm ci --prefix tools/sbom --omit=optional --no-audit --no-fund --loglevel=error; fi
"$tool" --omit dev --spec-version 1.6 --output-format JSON --validate --output-reproducible --output-file "$out" package.json
# shellcheck disable=SC2016 # JavaScript template literal
node -e 'const b = require(require("path").resolve(process.argv[1])); console.log(`[sbom] ${process.argv[1]}: ${b.bomFormat} ${b.specVersion}, ${b.components.length} top-level components`)' "$out"
