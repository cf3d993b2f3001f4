#!/usr/bin/env bash
# Quick start, command 2: installs what the tests need, builds, and runs the whole suite
# (unit tests, then integration tests against a real Temporal dev server, ffmpeg, gstreamer,
# nginx-rtmp, VictoriaMetrics and Chromium that the tests start themselves).
set -euo pipefail
cd "$(dirname "$0")/.."
export FFRTMP_SETUP_PROFILE=test
source scripts/lib/setup.sh
ffrtmp_setup
# a background build of the Temporal server (fresh machine) stops with the suite
if [ -n "${FFRTMP_TEMPORAL_SERVER_BUILD_PID:-}" ]; then
  trap 'kill -- -"$FFRTMP_TEMPORAL_SERVER_BUILD_PID" 2>/dev/null || true' EXIT
fi
export TEMPORAL_CLI
echo "[test] unit tests" >&2
npx mocha 'dist/test/unit/**/*.test.js'
echo "[test] replay: recorded workflow histories against this code" >&2
npm run --silent test:replay
echo "[test] workflow tests: the job and entity workflows with fake activities" >&2
npm run --silent test:workflow
echo "[test] integration tests" >&2
npx mocha --exit --timeout 120000 --require dist/test/integration/hooks.js 'dist/test/integration/**/*.test.js' "$@"
