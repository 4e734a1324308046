#!/usr/bin/env bash
# Starts or stops a throwaway MariaDB primary and a replica of it, each on its own loopback port and
# data directory: the primary with a binary log, the replica following it by GTID
# (MASTER_USE_GTID=slave_pos), read-only. Tests of read replicas use it as they use mariadb-aux.sh;
# the shared server on 3306 is never touched.
#
#   scripts/mariadb-replica.sh start PRIMARY_PORT REPLICA_PORT   # idempotent; returns once the replica follows
#   scripts/mariadb-replica.sh lag PRIMARY_PORT REPLICA_PORT on  # STOP SLAVE SQL_THREAD: the replica falls behind
#   scripts/mariadb-replica.sh lag PRIMARY_PORT REPLICA_PORT off # START SLAVE SQL_THREAD: it catches up
#   scripts/mariadb-replica.sh stop PRIMARY_PORT REPLICA_PORT    # stops both and removes their directories
set -euo pipefail
usage='usage: mariadb-replica.sh start|stop PRIMARY_PORT REPLICA_PORT | lag PRIMARY_PORT REPLICA_PORT on|off'
cmd=${1:?$usage}
primary=${2:?$usage}
replica=${3:?$usage}
root=${CACHEFRONT_AUX_DIR:-/tmp/cachefront-replica}/$primary-$replica

sql() { mariadb --no-defaults -uroot -h127.0.0.1 -P"$1" -N -e "$2"; }

running() { [ -f "$root/$1/mysqld.pid" ] && kill -0 "$(cat "$root/$1/mysqld.pid")" 2>/dev/null; }

ready() {
  for _ in $(seq 1 200); do
    if sql "$2" 'SELECT 1' >/dev/null 2>&1; then return 0; fi
    running "$1" || { echo "mariadbd $1 on $2 exited; see $root/$1/mysqld.log" >&2; tail -20 "$root/$1/mysqld.log" >&2; return 1; }
    sleep 0.1
  done
  echo "mariadbd $1 on $2 did not answer in 20 s" >&2
  return 1
}

# start_server NAME PORT SERVER_ID EXTRA_FLAGS...
start_server() {
  local name=$1 port=$2 id=$3
  shift 3
  local dir=$root/$name
  if running "$name"; then ready "$name" "$port"; return; fi
  mkdir -p "$dir"
  if [ ! -d "$dir/data/mysql" ]; then
    mariadb-install-db --no-defaults --user=root --datadir="$dir/data" --auth-root-authentication-method=normal \
      --skip-test-db >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; exit 1; }
  fi
  mariadbd --no-defaults --user=root --datadir="$dir/data" --port="$port" --bind-address=127.0.0.1 \
    --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" --log-error="$dir/mysqld.log" --server-id="$id" \
    --innodb-buffer-pool-size=32M --innodb-log-file-size=16M --max-connections=200 --skip-name-resolve "$@" 2>>"$dir/mysqld.log" 9>&- &
  disown || true
  for _ in $(seq 1 100); do [ -f "$dir/mysqld.pid" ] && break; sleep 0.1; done
  ready "$name" "$port"
}

stop_server() {
  local pidf=$root/$1/mysqld.pid
  if running "$1"; then
    local pid; pid=$(cat "$pidf")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidf"
}

start() {
  start_server primary "$primary" 1 --log-bin=binlog --binlog-format=ROW
  sql "$primary" "CREATE DATABASE IF NOT EXISTS test"
  start_server replica "$replica" 2 --read-only=ON --relay-log=relay
  if [ "$(sql "$replica" "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Slave_IO'")" = "0" ]; then
    sql "$replica" "STOP SLAVE; CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$primary, MASTER_USER='root', MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos; START SLAVE"
  fi
  # Returns once the replica has applied everything the primary has.
  local pos; pos=$(sql "$primary" "SELECT @@GLOBAL.gtid_binlog_pos")
  [ "$(sql "$replica" "SELECT MASTER_GTID_WAIT('$pos', 20)")" = "0" ] || { echo "the replica on $replica did not catch up with $pos" >&2; exit 1; }
}

mkdir -p "$(dirname "$root")"
exec 9>"$root.lock"
flock 9
case "$cmd" in
  start) start ;;
  lag)
    case "${4:?$usage}" in
      on) sql "$replica" "STOP SLAVE SQL_THREAD" ;;
      off) sql "$replica" "START SLAVE SQL_THREAD" ;;
      *) echo "$usage" >&2; exit 2 ;;
    esac
    ;;
  stop) stop_server replica; stop_server primary; rm -rf "$root"; rm -f "$root.lock" ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
