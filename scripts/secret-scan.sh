#!/usr/bin/env bash
# Secret scanning with secretlint (recommended preset, .secretlintrc.json), two ways:
#   scripts/secret-scan.sh              the tree: every file git tracks
#   scripts/secret-scan.sh --diff BASE  every line added by each commit in BASE..HEAD, so a secret
#                                       committed and deleted again in the same push is still found;
#                                       BASE empty, all zeros (a new branch) or unknown: the whole history
# Run inside the git checkout to scan (the scanner and its config come from this repository).
# Exits 1 on a finding, naming file (and commit, for --diff) and rule.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$here/node_modules/.bin/secretlint
[[ -x $bin ]] || { echo "[secret-scan] secretlint missing: run npm ci" >&2; exit 2; }
scan() { "$bin" --secretlintrc "$here/.secretlintrc.json" --no-color --maskSecrets "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [[ ${1:-} != --diff ]]; then
  mapfile -d '' files < <(git ls-files -z)
  echo "[secret-scan] tree: ${#files[@]} tracked files"
  # secretlint takes globs; give it plain paths in batches (it skips binary files itself).
  printf '%s\0' "${files[@]}" | (cd "$(git rev-parse --show-toplevel)" && xargs -0 -n 500 "$bin" --secretlintrc "$here/.secretlintrc.json" --no-color --maskSecrets) ||
    { echo "[secret-scan] tree: secrets above" >&2; exit 1; }
  echo "[secret-scan] tree: no secrets found"
  exit 0
fi

base=${2:-}
if [[ -n $base && ! $base =~ ^0+$ ]] && git cat-file -e "$base^{commit}" 2>/dev/null; then
  range=("$base..HEAD")
else
  echo "[secret-scan] diff: base '${base}' unknown here: scanning every commit of HEAD's history"
  range=(HEAD)
fi
mapfile -t commits < <(git rev-list --no-merges "${range[@]}")
echo "[secret-scan] diff: ${#commits[@]} commit(s) ${range[*]}"
n=0
for c in "${commits[@]}"; do
  # The added lines of each file, under the file's own path (rules look at names, e.g. .npmrc).
  dir=$work/${c:0:12}
  git show --format= --unified=0 --no-color --no-renames --diff-filter=AM "$c" | awk -v dir="$dir" '
    /^\+\+\+ b\// { file = dir "/" substr($0, 7); d = file; sub(/\/[^\/]*$/, "", d); system("mkdir -p \"" d "\""); next }
    /^\+\+\+ /    { file = ""; next }
    /^\+/ && file != "" { print substr($0, 2) >> file }
  '
  if [[ -d $dir ]]; then n=$((n + $(find "$dir" -type f | wc -l))); fi
done
if ((n == 0)); then echo "[secret-scan] diff: no added lines"; exit 0; fi
(cd "$work" && scan "**/*") || { echo "[secret-scan] diff: secrets above (path = <commit>/<file>)" >&2; exit 1; }
echo "[secret-scan] diff: no secrets in $n added file version(s)"
