#!/usr/bin/env bash
# Makes the certificates for mutual TLS between the master, the workers and the CLI:
#   ca.crt / ca.key            a private CA (reused when the output folder already has one)
#   master.crt / master.key    the master's server certificate, with the names and addresses
#                              clients use to reach it (subjectAltName)
#   client.crt / client.key    a client certificate for the CLI
#   worker.crt / worker.key    a client certificate for a worker agent
#   temporal.crt / .key        with --temporal-names/--temporal-ips: the Temporal server's
#                              certificate (frontend and internode; it is also the client
#                              certificate its own services present to each other)
# The master's, the CLI's and the worker's certificates also authenticate them to a Temporal
# server that requires client certificates signed by this CA (TEMPORAL_TLS_* settings).
# Keys are written with mode 600. The folder (certs/ at the repository root by default) is in
# .gitignore: never commit it.
#
# Usage: scripts/generate-certs.sh [--out DIR] [--names a,b] [--ips 1.2.3.4,::1]
#                                  [--client-name NAME] [--worker-name NAME] [--days N] [--force]
#                                  [--temporal-names a,b] [--temporal-ips 1.2.3.4]
# Files already in the folder are kept (run it again to fill in what is missing, signed by the
# same CA); --force makes them all again, a new CA included.
# Environment equivalents: FFRTMP_CERTS_DIR, FFRTMP_CERT_NAMES, FFRTMP_CERT_IPS,
# FFRTMP_CERT_CLIENT_NAME, FFRTMP_CERT_WORKER_NAME, FFRTMP_CERT_DAYS, FFRTMP_CERT_TEMPORAL_NAMES,
# FFRTMP_CERT_TEMPORAL_IPS (flags win).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${FFRTMP_CERTS_DIR:-$ROOT/certs}"
NAMES="${FFRTMP_CERT_NAMES:-localhost,$(hostname)}"
IPS="${FFRTMP_CERT_IPS:-127.0.0.1,::1}"
CLIENT_NAME="${FFRTMP_CERT_CLIENT_NAME:-ffrtmp-cli}"
WORKER_NAME="${FFRTMP_CERT_WORKER_NAME:-ffrtmp-worker}"
DAYS="${FFRTMP_CERT_DAYS:-825}"
TEMPORAL_NAMES="${FFRTMP_CERT_TEMPORAL_NAMES:-}"
TEMPORAL_IPS="${FFRTMP_CERT_TEMPORAL_IPS:-}"
CA_DAYS=3650
FORCE=0

usage() {
  sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}
die() { printf 'generate-certs: %s\n' "$*" >&2; exit 2; }
say() { printf '[certs] %s\n' "$*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="${2:?--out needs a folder}"; shift 2 ;;
    --names) NAMES="${2:?--names needs a list}"; shift 2 ;;
    --ips) IPS="${2?--ips needs a list}"; shift 2 ;;
    --client-name) CLIENT_NAME="${2:?--client-name needs a name}"; shift 2 ;;
    --worker-name) WORKER_NAME="${2:?--worker-name needs a name}"; shift 2 ;;
    --days) DAYS="${2:?--days needs a number}"; shift 2 ;;
    --temporal-names) TEMPORAL_NAMES="${2?--temporal-names needs a list}"; shift 2 ;;
    --temporal-ips) TEMPORAL_IPS="${2?--temporal-ips needs a list}"; shift 2 ;;
    --force) FORCE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

command -v openssl >/dev/null || die "openssl is not installed"
[[ "$DAYS" =~ ^[1-9][0-9]{0,4}$ ]] || die "--days must be a positive number of days, got: $DAYS"
# names end up in an openssl config file: allow only what a DNS name or an IP address can hold
NAME_RE='^[A-Za-z0-9*]([A-Za-z0-9.-]*[A-Za-z0-9])?$'
CN_RE='^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$'
[[ "$CLIENT_NAME" =~ $CN_RE ]] || die "--client-name: letters, digits, space, dot, dash, underscore only"
[[ "$WORKER_NAME" =~ $CN_RE ]] || die "--worker-name: letters, digits, space, dot, dash, underscore only"

# san NAMES IPS FLAG: a subjectAltName list, every entry checked
san() {
  local out="" n ip
  IFS=',' read -r -a _names <<<"$1"
  for n in "${_names[@]}"; do
    n="${n// /}"; [ -z "$n" ] && continue
    [[ "$n" =~ $NAME_RE ]] || die "$3-names: not a DNS name: $n"
    out+="${out:+,}DNS:$n"
  done
  IFS=',' read -r -a _ips <<<"$2"
  for ip in "${_ips[@]}"; do
    ip="${ip// /}"; [ -z "$ip" ] && continue
    [[ "$ip" =~ ^[0-9A-Fa-f:.]+$ ]] || die "$3-ips: not an IP address: $ip"
    out+="${out:+,}IP:$ip"
  done
  printf '%s' "$out"
}
SAN="$(san "$NAMES" "$IPS" --)"
[ -n "$SAN" ] || die "the master certificate needs at least one name (--names) or address (--ips)"
TEMPORAL_SAN="$(san "$TEMPORAL_NAMES" "$TEMPORAL_IPS" --temporal)"
IFS=',' read -r -a name_list <<<"$NAMES"
MASTER_CN="${name_list[0]// /}"
[ -n "$MASTER_CN" ] || MASTER_CN="ffrtmp-master"

mkdir -p "$OUT"
chmod 700 "$OUT"
umask 077   # every file starts private; certificates are opened up below
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

serial() { printf '0x%s' "$(openssl rand -hex 16)"; }

if [ -s "$OUT/ca.key" ] && [ -s "$OUT/ca.crt" ] && [ "$FORCE" = 0 ]; then
  say "reusing the CA in $OUT (ca.crt)"
else
  say "making a CA: $OUT/ca.crt"
  openssl req -x509 -newkey rsa:3072 -nodes -sha256 -days "$CA_DAYS" \
    -keyout "$OUT/ca.key" -out "$OUT/ca.crt" -subj "/O=ffrtmp/CN=ffrtmp CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

# leaf NAME CN EXTENSIONS: a key and a certificate signed by the CA
leaf() {
  local name="$1" cn="$2" ext="$3" note="${4:-}"
  if [ -s "$OUT/$name.crt" ] && [ "$FORCE" = 0 ]; then
    say "keeping $OUT/$name.crt (--force to make it again)"
    return
  fi
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" "$ext" >"$TMP/$name.ext"
  openssl req -new -newkey rsa:2048 -nodes -sha256 -keyout "$OUT/$name.key" -out "$TMP/$name.csr" \
    -subj "/O=ffrtmp/CN=$cn" 2>/dev/null
  openssl x509 -req -sha256 -days "$DAYS" -in "$TMP/$name.csr" -CA "$OUT/ca.crt" -CAkey "$OUT/ca.key" \
    -set_serial "$(serial)" -extfile "$TMP/$name.ext" -out "$OUT/$name.crt" 2>/dev/null
  say "made $OUT/$name.crt (CN=$cn${note:+; $note})"
}

leaf master "$MASTER_CN" "extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$SAN" "$SAN"
leaf client "$CLIENT_NAME" "extendedKeyUsage=clientAuth"
leaf worker "$WORKER_NAME" "extendedKeyUsage=clientAuth"
if [ -n "$TEMPORAL_SAN" ]; then
  leaf temporal "temporal" "extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$TEMPORAL_SAN" "$TEMPORAL_SAN"
fi

chmod 600 "$OUT"/*.key
chmod 644 "$OUT"/*.crt
cat >&2 <<EOF
[certs] done. Use them:
  master: FFRTMP_TLS_CERT=$OUT/master.crt FFRTMP_TLS_KEY=$OUT/master.key FFRTMP_TLS_CLIENT_CA=$OUT/ca.crt
  worker: FFRTMP_MASTER_URL=https://<master>:8080 FFRTMP_TLS_CERT=$OUT/worker.crt FFRTMP_TLS_KEY=$OUT/worker.key FFRTMP_TLS_CA=$OUT/ca.crt
  CLI:    ffrtmp --master https://<master>:8080 --ca $OUT/ca.crt --cert $OUT/client.crt --key $OUT/client.key jobs status
  Temporal clients (master, worker, CLI --via temporal, the temporal CLI):
          TEMPORAL_TLS_CLIENT_CERT_PATH=$OUT/<role>.crt TEMPORAL_TLS_CLIENT_KEY_PATH=$OUT/<role>.key TEMPORAL_TLS_SERVER_CA_CERT_PATH=$OUT/ca.crt
EOF
