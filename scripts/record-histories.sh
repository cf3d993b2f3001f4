#!/usr/bin/env bash
# Records the workflow histories the replay test replays (test/fixtures/histories/), by running
# the workflow tests (test/workflow/: fake activities, a real dev server) with recording on.
#   scripts/record-histories.sh            this checkout's workflow code, tagged with its commit
#   scripts/record-histories.sh <commit>   an older commit's workflow code (checked out into a
#                                          temporary git worktree), driven by this checkout's harness
# Keep the histories of every version that may still have jobs in flight; retire a version's files
# only as docs/ARCHITECTURE.md ("Changing workflow code") says. Tests whose assertions an older
# version does not meet still record what it did: a history is a history.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
source scripts/lib/setup.sh
ensure_temporal_cli
ensure_node_modules
OUT="$ROOT/test/fixtures/histories"
mkdir -p "$OUT"
run_recorder() { # dir tag
  ( cd "$1" && FFRTMP_RECORD_HISTORIES=1 FFRTMP_HISTORY_TAG="$2" FFRTMP_HISTORIES_DIR="$OUT" TEMPORAL_CLI="$TEMPORAL_CLI" \
      npx mocha --exit --require dist/test/workflow/hooks.js 'dist/test/workflow/**/*.test.js' ) || true
}
if [ $# -eq 0 ]; then
  tag="$(git rev-parse --short HEAD)"
  say "recording the histories of this checkout ($tag)"
  build_project
  rm -f "$OUT/$tag--"*.json
  run_recorder "$ROOT" "$tag"
else
  commit="$(git rev-parse --short "$1")"
  work="$(mktemp -d)"
  trap 'git worktree remove --force "$work" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
  say "recording the histories of $commit's workflow code (worktree $work)"
  git worktree add --detach "$work" "$commit" >/dev/null
  cp -r test/workflow "$work/test/"
  cp test/helpers/wait.ts "$work/test/helpers/wait.ts"
  [ -f "$work/lib/sdk-runtime.ts" ] || cp lib/sdk-runtime.ts "$work/lib/"
  ln -s "$ROOT/node_modules" "$work/node_modules"
  ( cd "$work" && npx tsc -p tsconfig.json && node dist/workers/build-bundle.js )
  rm -f "$OUT/$commit--"*.json
  run_recorder "$work" "$commit"
fi
say "histories now in test/fixtures/histories: $(ls "$OUT" | wc -l) files"
