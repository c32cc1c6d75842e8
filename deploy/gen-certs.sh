#!/usr/bin/env bash
# Test certificates for deploy/nats-server-tls.conf: a private CA, a server certificate signed by it and
# (with --client) a client certificate for mutual TLS. For testing and small private clusters; use your
# organisation's CA where there is one.
#
#   deploy/gen-certs.sh DIR [--client] [--san DNS:nats.example,IP:10.0.0.1] [--days N]
#
# Writes DIR/ca.pem (give it to every client: m3fg --tls-ca), DIR/ca-key.pem (keep it off the cluster),
# DIR/server-cert.pem + DIR/server-key.pem (for nats-server: copy to /etc/nats/tls/), and with --client
# DIR/client-cert.pem + DIR/client-key.pem (m3fg --tls-cert/--tls-key). The server certificate names
# localhost and 127.0.0.1; add the name or address clients use to reach the server with --san (a client
# connecting to nats://A:4222 checks that A is in this list). Keys are EC P-256, mode 600.
set -euo pipefail

usage() { echo "usage: gen-certs.sh DIR [--client] [--san DNS:host,IP:addr] [--days N]" >&2; exit 2; }
[[ $# -ge 1 && "$1" != -* ]] || usage
dir="$1"; shift
client=0 san="" days=825
while [[ $# -gt 0 ]]; do
  case "$1" in
    --client) client=1; shift ;;
    --san) [[ $# -ge 2 ]] || usage; san=",$2"; shift 2 ;;
    --days) [[ $# -ge 2 ]] || usage; days="$2"; shift 2 ;;
    *) usage ;;
  esac
done
command -v openssl >/dev/null || { echo "gen-certs.sh: openssl not found (Debian: apt-get install openssl)" >&2; exit 1; }

mkdir -p "$dir"
cd "$dir"
umask 077
ext="$(mktemp)"
trap 'rm -f "$ext" server.csr client.csr ca.srl' EXIT
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# 1. The CA: self-signed, allowed to sign certificates only.
key ca-key.pem
openssl req -x509 -new -key ca-key.pem -sha256 -days "$days" -subj "/CN=m3fg test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem

# 2. The server certificate: the names clients connect to go in subjectAltName (the CN is not checked).
key server-key.pem
openssl req -new -key server-key.pem -subj "/CN=m3fg nats-server" -out server.csr
printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
  "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1$san" >"$ext"
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -sha256 -days "$days" \
  -extfile "$ext" -out server-cert.pem 2>/dev/null

# 3. Optional client certificate (mutual TLS, `verify: true` in the server's tls block).
if ((client)); then
  key client-key.pem
  openssl req -new -key client-key.pem -subj "/CN=m3fg client" -out client.csr
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" "extendedKeyUsage=clientAuth" >"$ext"
  openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -sha256 -days "$days" \
    -extfile "$ext" -out client-cert.pem 2>/dev/null
fi

# Certificates are public; keys stay 600. Check the chain before saying done.
files="ca.pem server-cert.pem"
if ((client)); then files="$files client-cert.pem"; fi
# shellcheck disable=SC2086
chmod 644 $files
# shellcheck disable=SC2086
openssl verify -CAfile ca.pem ${files#ca.pem } >/dev/null
echo "certificates in $(pwd): $files (keys: *-key.pem, mode 600)"
