#!/bin/sh
# One-shot (temporalio/admin-tools, or any machine with the `temporal` CLI): waits for the Temporal
# frontend, creates the namespace when it is missing, then the search attributes ffrtmp filters on
# (only the missing ones). Safe to run again. docker-compose.yml passes SEARCH_ATTRIBUTES; the deploy
# tests keep it equal to domain/search-attributes.ts and run this script against a real server.
set -eu
: "${TEMPORAL_ADDRESS:=temporal:7233}"
: "${TEMPORAL_NAMESPACE:=default}"
: "${NAMESPACE_RETENTION:=7d}"
: "${SEARCH_ATTRIBUTES:?SEARCH_ATTRIBUTES is not set (space-separated Name=Type pairs)}"
: "${SETUP_TIMEOUT_SECONDS:=180}"

t() { temporal --address "$TEMPORAL_ADDRESS" "$@"; }
deadline=$(( $(date +%s) + SETUP_TIMEOUT_SECONDS ))
# retry a step while the server is starting (or its namespace cache has not seen a new namespace yet)
retry() {
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "gave up after ${SETUP_TIMEOUT_SECONDS} s: $*" >&2; exit 1; }
    sleep 2
  done
}

echo "waiting for Temporal at $TEMPORAL_ADDRESS"
retry t operator cluster health >/dev/null

if t operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  echo "namespace $TEMPORAL_NAMESPACE exists"
else
  echo "creating namespace $TEMPORAL_NAMESPACE (retention $NAMESPACE_RETENTION)"
  retry t operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention "$NAMESPACE_RETENTION"
fi

has_attribute() {
  t operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" --output json | grep -q "\"$1\""
}
for pair in $SEARCH_ATTRIBUTES; do
  name=${pair%%=*}
  type=${pair#*=}
  if has_attribute "$name"; then
    echo "search attribute $name exists"
  else
    echo "creating search attribute $name ($type)"
    retry t operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" --name "$name" --type "$type"
  fi
done
echo "namespace $TEMPORAL_NAMESPACE is ready for ffrtmp"
