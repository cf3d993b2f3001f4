#!/usr/bin/env bash
# The benchmark, in one command: installs and builds what it needs (like scripts/up.sh), brings up
# a private Temporal dev server, a master and two workers, runs every measure, prints a table,
# writes bench/results/<date>.json and appends a dated summary to docs/PERFORMANCE.md.
#   ./bench/run.sh            the full run (about 15 minutes on 2 cores)
#   ./bench/run.sh --smoke    a tiny run of everything (what CI runs)
#   ./bench/run.sh --only overhead,control
set -euo pipefail
cd "$(dirname "$0")/.."
export FFRTMP_SETUP_PROFILE=run
source scripts/lib/setup.sh
ffrtmp_setup
export TEMPORAL_CLI
exec node dist/bench/run.js "$@"
