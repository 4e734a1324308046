#!/usr/bin/env bash
# Makes the throwaway TLS material the security tests use, with openssl, into DIR (default
# .tmp/tls; never committed). Idempotent: what exists is kept, so every file is made once; a lock
# makes concurrent calls safe. EC P-256 keys, so the whole set takes a few milliseconds.
#
#   scripts/tls-certs.sh [DIR]
#
#   ca.crt, ca.key                  the test CA
#   server.crt, server.key          signed by it, for localhost and 127.0.0.1 (subjectAltName)
#   other-ca.crt, other-ca.key      a second, unrelated CA: trusting it instead of ca.crt must fail
set -euo pipefail
dir=${1:-$(dirname "$0")/../.tmp/tls}
mkdir -p "$dir"
cd "$dir"
exec 9>.lock
flock 9

days=3650

# A minimal config, so nothing depends on the system's openssl.cnf.
cat >openssl.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

key() { [ -s "$1" ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() {
  local name=$1 subject=$2
  key "$name.key"
  [ -s "$name.crt" ] || openssl req -config openssl.cnf -new -x509 -key "$name.key" -subj "$subject" -days "$days" \
    -extensions ca -out "$name.crt.tmp"
  [ -s "$name.crt" ] || mv "$name.crt.tmp" "$name.crt"
}

leaf() {
  local name=$1 subject=$2 extensions=$3
  key "$name.key"
  if [ ! -s "$name.crt" ]; then
    openssl req -config openssl.cnf -new -key "$name.key" -subj "$subject" -out "$name.csr"
    openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days "$days" \
      -extfile openssl.cnf -extensions "$extensions" -out "$name.crt.tmp" 2>/dev/null
    rm -f "$name.csr"
    mv "$name.crt.tmp" "$name.crt"
  fi
}

ca ca '/CN=cachefront test CA'
ca other-ca '/CN=cachefront unrelated CA'
leaf server '/CN=localhost' server
chmod 600 ./*.key
