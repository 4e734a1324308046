#!/usr/bin/env bash
# Starts or stops a throwaway MariaDB server on a loopback port, with its own data directory.
# Tests that change global settings (max_connections), restart the server or cut it off use one of
# these, so the shared server on 3306 is never disturbed.
#
#   scripts/mariadb-aux.sh start PORT     # idempotent; prints nothing on success
#   scripts/mariadb-aux.sh stop PORT
#   scripts/mariadb-aux.sh restart PORT   # stop then start, same data
#   scripts/mariadb-aux.sh acquire PORT ID  # start, and register user ID (the integration global setup)
#   scripts/mariadb-aux.sh release PORT ID  # unregister ID; stop when no live user is left
#   scripts/mariadb-aux.sh purge PORT       # stop, and remove its directory (data included)
# acquire/release let concurrent test runs share one server: a run's teardown does not stop it
# under another run. Every command holds a lock, so a start never interleaves with a stop.
#
# A start reads two optional settings from the environment:
#   CACHEFRONT_MARIADB_TLS_DIR  serve TLS with the certificates scripts/tls-certs.sh makes there
#                               (made first if missing): --ssl-cert, --ssl-key, --ssl-ca
#   CACHEFRONT_MARIADB_BIND     the addresses to listen on, comma-separated (default 127.0.0.1)
set -euo pipefail
usage='usage: mariadb-aux.sh start|stop|restart|purge PORT | acquire|release PORT ID'
cmd=${1:?$usage}
port=${2:?$usage}
root=${CACHEFRONT_AUX_DIR:-/tmp/cachefront-mariadb}/$port
data=$root/data
sock=$root/mysqld.sock
pidf=$root/mysqld.pid
log=$root/mysqld.log

running() { [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; }

ready() {
  for _ in $(seq 1 200); do
    if mariadb --no-defaults -uroot -h127.0.0.1 -P"$port" -e 'SELECT 1' >/dev/null 2>&1; then return 0; fi
    running || { echo "mariadbd on $port exited; see $log" >&2; tail -20 "$log" >&2; return 1; }
    sleep 0.1
  done
  echo "mariadbd on $port did not answer in 20 s; see $log" >&2
  return 1
}

start() {
  if running; then ready; return; fi
  mkdir -p "$root"
  if [ ! -d "$data/mysql" ]; then
    mariadb-install-db --no-defaults --user=root --datadir="$data" --auth-root-authentication-method=normal \
      --skip-test-db >"$root/install.log" 2>&1 || { cat "$root/install.log" >&2; exit 1; }
  fi
  local tls=()
  if [ -n "${CACHEFRONT_MARIADB_TLS_DIR:-}" ]; then
    local dir=$CACHEFRONT_MARIADB_TLS_DIR
    bash "$(dirname "$0")/tls-certs.sh" "$dir"
    tls=(--ssl-cert="$dir/server.crt" --ssl-key="$dir/server.key" --ssl-ca="$dir/ca.crt")
  fi
  mariadbd --no-defaults --user=root --datadir="$data" --port="$port" --bind-address="${CACHEFRONT_MARIADB_BIND:-127.0.0.1}" \
    --socket="$sock" --pid-file="$pidf" --log-error="$log" --skip-log-bin --innodb-buffer-pool-size=32M \
    --innodb-log-file-size=16M --max-connections=200 --skip-name-resolve "${tls[@]}" 2>>"$log" 9>&- &
  disown || true
  for _ in $(seq 1 100); do [ -f "$pidf" ] && break; sleep 0.1; done
  ready
  mariadb --no-defaults -uroot -h127.0.0.1 -P"$port" -e "CREATE DATABASE IF NOT EXISTS test"
}

stop() {
  if running; then
    local pid; pid=$(cat "$pidf")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidf"
}

users=$root.users
# shellcheck source=lib/users.sh
. "$(dirname "$0")/lib/users.sh"

mkdir -p "$(dirname "$root")"
exec 9>"$root.lock"
flock 9
case "$cmd" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  purge) stop; rm -rf "$root" "$users"; rm -f "$root.lock" ;;
  acquire)
    id=${3:?$usage}
    prune
    touch "$users/$id"
    start
    ;;
  release)
    id=${3:?$usage}
    prune
    rm -f "$users/$id"
    if unused; then stop; fi
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
