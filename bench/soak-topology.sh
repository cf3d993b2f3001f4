#!/usr/bin/env bash
# The soak on the production topology (bench/soak-topology.ts): PostgreSQL, the Temporal server,
# two masters and three worker hosts in network namespaces, N short jobs, one random (seeded) fault
# every F seconds. Needs root (network namespaces). Builds what it needs first, like cluster.sh.
#   ./bench/soak-topology.sh [--jobs 1000] [--seed 1] [--fault-every 20] [--smoke] [--no-append]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "[soak] network namespaces need root" >&2; exit 2; fi
export FFRTMP_SETUP_PROFILE=cluster
source scripts/lib/setup.sh
ffrtmp_setup
export TEMPORAL_CLI
exec node dist/bench/soak-topology.js "$@"
