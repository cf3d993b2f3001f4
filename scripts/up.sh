#!/usr/bin/env bash
# Quick start, command 1: installs what is missing, builds, and brings the whole system up on the
# embedded default (Temporal dev server + SQLite, master, one worker). Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
export FFRTMP_SETUP_PROFILE=run
source scripts/lib/setup.sh
ffrtmp_setup
exec node dist/scripts/up.js
