#!/usr/bin/env bash
# Build the one release artifact that runs on a VM, an EC2 instance or a laptop:
#   release/dapanda-<version>-<gitsha>.tar.gz (+ .sha256)
# holding dist/ (with the modules' templates and scripts), views/, public/, prisma/ (schema/*.prisma +
# migrations), deploy/ (provisioning), package.json, package-lock.json,
# production node_modules (no devDependencies, no optional peers) and a VERSION file. Needs the npm registry (or a warm npm cache) only.
#
#   npm run release                       # from a clean checkout
#   RELEASE_PROJECT_DIR=dir scripts/release.sh   # package another project dir (the ops test fixture)
#   RELEASE_SKIP_CI=1                     # reuse the installed node_modules instead of `npm ci`
set -euo pipefail

script_dir=$(cd "$(dirname "$0")" && pwd)
project=$(cd "${RELEASE_PROJECT_DIR:-$script_dir/..}" && pwd)
out_dir=${RELEASE_OUT_DIR:-$project/release}
cd "$project"

log() { printf '[release] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ -f package.json && -f package-lock.json ]] || die "$project has no package.json + package-lock.json"
version=$(node -p 'require("./package.json").version')
if [[ -n ${RELEASE_GIT_SHA:-} ]]; then
  sha=$RELEASE_GIT_SHA
elif git rev-parse --git-dir >/dev/null 2>&1; then
  sha=$(git rev-parse --short=12 HEAD)
  # A release must be reproducible from its sha: mark builds of uncommitted trees.
  if [[ -n $(git status --porcelain --untracked-files=no) ]]; then sha="$sha-dirty"; fi
else
  die "not a git checkout; set RELEASE_GIT_SHA"
fi
id="dapanda-$version-$sha"
started=$SECONDS

if [[ -z ${RELEASE_SKIP_CI:-} ]]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
log "npm run build"
npm run --silent build >&2
[[ -f dist/src/server.js ]] || die "build produced no dist/src/server.js"
[[ -f dist/src/cli/db.js ]] || die "build produced no dist/src/cli/db.js"
if [[ -d src/modules ]]; then
  # The modules' own templates must travel with their compiled code.
  n=$(find dist/src/modules -name '*.hbs' | wc -l)
  ((n > 0)) || die "build copied no module templates into dist/src/modules"
fi

stage_root=$(mktemp -d)
trap 'rm -rf "$stage_root"' EXIT
stage=$stage_root/$id
mkdir -p "$stage"
cp -a dist package.json package-lock.json "$stage/"
# deploy/ too: a cloud instance provisions itself with the release's own deploy/provision/app.sh.
for d in views public prisma deploy; do
  if [[ -d $d ]]; then cp -a "$d" "$stage/"; else log "note: no $d/ in $project"; fi
done
# Generated sources are compiled into dist; only schema and migrations are shipped from prisma/.
if [[ -d $stage/prisma ]]; then
  find "$stage/prisma" -type f ! -name '*.prisma' ! -name 'migration.sql' ! -name 'migration_lock.toml' \
    ! -name 'seed.js' -delete
fi

# Production dependencies only. `npm ci --omit=dev` would also keep packages that are optional peers of
# production ones (prisma and typescript are peers of @prisma/client: ~240 MB with their own dependencies)
# although nothing runs them in production (migrations use @prisma/schema-engine-wasm). Installing from a
# package.json without devDependencies leaves them out; every version must still be the lockfile's.
log "production dependencies (staging)"
(cd "$stage" && npm pkg delete devDependencies && npm install --omit=dev --no-audit --no-fund --loglevel=error --prefer-offline >&2)
# shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
node -e '
  const [a, b] = process.argv.slice(1).map((f) => require(f).packages);
  const off = Object.entries(b).filter(([k, v]) => k && (!a[k] || a[k].version !== v.version));
  for (const [k, v] of off.slice(0, 20)) console.error(`  ${k}@${v.version} (lockfile: ${a[k]?.version ?? "absent"})`);
  process.exit(off.length ? 1 : 0);
' "$project/package-lock.json" "$stage/package-lock.json" || die "staging resolved versions the lockfile does not pin"

cat >"$stage/VERSION" <<EOF
version=$version
git_sha=$sha
build_time=$(date -u +%Y-%m-%dT%H:%M:%SZ)
node=$(node -v)
EOF

mkdir -p "$out_dir"
tarball=$out_dir/$id.tar.gz
tar -C "$stage_root" --owner=0 --group=0 --numeric-owner -czf "$tarball.partial" "$id"
mv -f "$tarball.partial" "$tarball"
(cd "$out_dir" && sha256sum "$id.tar.gz" >"$id.tar.gz.sha256")
size=$(du -h "$tarball" | cut -f1)
log "built in $((SECONDS - started))s"
printf '%s\t%s\n' "$tarball" "$size"
