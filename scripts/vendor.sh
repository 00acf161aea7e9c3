#!/usr/bin/env bash
# Copies browser libraries from node_modules into public/vendor (git-ignored): no CDN at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p public/vendor
cp node_modules/htmx.org/dist/htmx.min.js public/vendor/htmx.min.js
cp node_modules/htmx-ext-ws/dist/ws.min.js public/vendor/htmx-ext-ws.min.js 2>/dev/null || cp node_modules/htmx-ext-ws/ws.js public/vendor/htmx-ext-ws.min.js
