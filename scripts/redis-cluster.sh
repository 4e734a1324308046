#!/usr/bin/env bash
# Starts or stops a throwaway Redis Cluster of 3 masters (no replicas) on loopback ports 7101-7103,
# with its state under /tmp/cachefront-redis-cluster. The integration tests run the driver contract
# and the cache on it (keys of one entity share a slot; tags live in other slots, on other nodes).
#
#   scripts/redis-cluster.sh start          # idempotent; returns once every node says cluster_state:ok
#   scripts/redis-cluster.sh stop           # shuts the nodes down and removes their state
#   scripts/redis-cluster.sh acquire ID     # start, and register user ID (the integration global setup)
#   scripts/redis-cluster.sh release ID     # unregister ID; stop when no live user is left
#   scripts/redis-cluster.sh restart-node PORT  # shut one node down (its data is lost: no persistence) and
#                                           # start it again with its slots; returns once the cluster is ok
#
# acquire/release let concurrent test runs share one cluster: a run's teardown does not stop the
# cluster under another run that is still using it. A user ID is a process id; dead ones are pruned.
# Every command holds a lock, so a start never interleaves with a stop (the servers do not inherit it).
set -euo pipefail
cmd=${1:?usage: redis-cluster.sh start|stop|acquire ID|release ID}
ports=(${CACHEFRONT_REDIS_CLUSTER_PORTS:-7101 7102 7103})
root=${CACHEFRONT_REDIS_CLUSTER_DIR:-/tmp/cachefront-redis-cluster}
users=$root.users
lock=$root.lock

cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }

alive() { cli "$1" ping 2>/dev/null | grep -q PONG; }

cluster_ok() {
  for port in "${ports[@]}"; do
    cli "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
}

wait_until() {
  local what=$1 tries=$2
  shift 2
  for _ in $(seq 1 "$tries"); do
    if "$@"; then return 0; fi
    sleep 0.05
  done
  echo "redis-cluster: $what did not happen in time; logs in $root" >&2
  for port in "${ports[@]}"; do tail -5 "$root/redis-$port.log" >&2 2>/dev/null || true; done
  return 1
}

all_alive() { for port in "${ports[@]}"; do alive "$port" || return 1; done; }

start_node() {
  local port=$1
  redis-server --cluster-enabled yes --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
    --cluster-config-file "$root/nodes-$port.conf" --dir "$root" --daemonize yes --enable-debug-command local \
    --pidfile "$root/redis-$port.pid" --logfile "$root/redis-$port.log" --cluster-node-timeout 5000 9>&-
}

restart_node() {
  local port=$1
  cli "$port" shutdown nosave >/dev/null 2>&1 || true
  local pidf=$root/redis-$port.pid
  if [ -f "$pidf" ]; then
    local pid
    pid=$(cat "$pidf")
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  fi
  start_node "$port"
  wait_until "node $port answering PING" 200 alive "$port"
  wait_until "cluster_state:ok on every node" 400 cluster_ok
}

start() {
  if cluster_ok; then return 0; fi
  # A half-started cluster (a node died, a create that failed): start over from nothing.
  stop
  mkdir -p "$root"
  for port in "${ports[@]}"; do start_node "$port"; done
  wait_until "the nodes answering PING" 200 all_alive
  local addresses=()
  for port in "${ports[@]}"; do addresses+=("127.0.0.1:$port"); done
  redis-cli --cluster create "${addresses[@]}" --cluster-replicas 0 --cluster-yes >"$root/create.log" 2>&1 ||
    { cat "$root/create.log" >&2; return 1; }
  wait_until "cluster_state:ok on every node" 400 cluster_ok
}

stop() {
  for port in "${ports[@]}"; do
    if alive "$port"; then cli "$port" shutdown nosave >/dev/null 2>&1 || true; fi
  done
  for port in "${ports[@]}"; do
    local pidf=$root/redis-$port.pid
    if [ -f "$pidf" ]; then
      local pid
      pid=$(cat "$pidf")
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$root"
}

# shellcheck source=lib/users.sh
. "$(dirname "$0")/lib/users.sh"

exec 9>"$lock"
flock 9
case "$cmd" in
  start) start ;;
  stop) stop; rm -rf "$users" ;;
  acquire)
    id=${2:?usage: redis-cluster.sh acquire ID}
    prune
    touch "$users/$id"
    start
    ;;
  release)
    id=${2:?usage: redis-cluster.sh release ID}
    prune
    rm -f "$users/$id"
    if unused; then stop; rm -rf "$users"; fi
    ;;
  restart-node) restart_node "${2:?usage: redis-cluster.sh restart-node PORT}" ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
