#!/usr/bin/env bash
# Starts or stops a throwaway standalone redis-server on a loopback port, with its own directory
# (no persistence). Fault tests kill and restart one of these, so the shared Redis on 6379 is never
# disturbed.
#
#   scripts/redis-aux.sh start PORT [TLS_DIR]  # idempotent; returns once it answers PING
#   scripts/redis-aux.sh stop PORT             # shuts it down (if running) and removes its directory
#
# With TLS_DIR the server speaks only TLS on PORT (no plain port), with the certificates that
# scripts/tls-certs.sh makes there (made first if missing): server.crt for localhost and 127.0.0.1,
# signed by ca.crt. Clients need no certificate of their own (as on ElastiCache).
set -euo pipefail
usage='usage: redis-aux.sh start PORT [TLS_DIR] | stop PORT'
cmd=${1:?$usage}
port=${2:?$usage}
tls=${3:-}
root=${CACHEFRONT_REDIS_AUX_DIR:-/tmp/cachefront-redis-aux}/$port
pidf=$root/redis.pid

# The TLS directory of a running server is remembered, so stop can still talk to it.
cli() {
  local dir=""
  [ -f "$root/tls-dir" ] && dir=$(cat "$root/tls-dir")
  if [ -n "$dir" ]; then
    redis-cli -h 127.0.0.1 -p "$port" --tls --cacert "$dir/ca.crt" "$@"
  else
    redis-cli -h 127.0.0.1 -p "$port" "$@"
  fi
}

alive() { cli ping 2>/dev/null | grep -q PONG; }

start() {
  if alive; then return 0; fi
  mkdir -p "$root"
  local listen=(--port "$port")
  if [ -n "$tls" ]; then
    mkdir -p "$tls"
    tls=$(cd "$tls" && pwd)
    bash "$(dirname "$0")/tls-certs.sh" "$tls"
    echo "$tls" >"$root/tls-dir"
    listen=(--port 0 --tls-port "$port" --tls-cert-file "$tls/server.crt" --tls-key-file "$tls/server.key"
      --tls-ca-cert-file "$tls/ca.crt" --tls-auth-clients no)
  else
    rm -f "$root/tls-dir"
  fi
  # DEBUG SLEEP is how the fault tests stall a server: allowed from loopback clients only.
  redis-server "${listen[@]}" --bind 127.0.0.1 --save "" --appendonly no --dir "$root" --daemonize yes --enable-debug-command local \
    --pidfile "$pidf" --logfile "$root/redis.log"
  for _ in $(seq 1 200); do
    if alive; then return 0; fi
    sleep 0.05
  done
  echo "redis-server on $port did not answer in 10 s; see $root/redis.log" >&2
  tail -20 "$root/redis.log" >&2 || true
  return 1
}

stop() {
  if alive; then cli shutdown nosave >/dev/null 2>&1 || true; fi
  if [ -f "$pidf" ]; then
    local pid
    pid=$(cat "$pidf")
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$root"
  rmdir "$(dirname "$root")" 2>/dev/null || true
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
