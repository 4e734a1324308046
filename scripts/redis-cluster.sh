#!/usr/bin/env bash
# Starts or stops a throwaway Redis Cluster on loopback: 3 masters (7101-7103), each with one
# replica (7104-7106), so that it can fail over; its state under /tmp/cachefront-redis-cluster. The
# integration tests run the driver contract and the cache on it (keys of one entity share a slot;
# tags live in other slots, on other nodes), and test/cache/redis-cluster-failover.test.ts kills a
# master of a cluster of its own.
#
#   scripts/redis-cluster.sh start          # idempotent; returns once every node says cluster_state:ok
#                                           # and every replica is in sync with its master
#   scripts/redis-cluster.sh stop           # shuts the nodes down and removes their state
#   scripts/redis-cluster.sh acquire ID     # start, and register user ID (the integration global setup)
#   scripts/redis-cluster.sh release ID     # unregister ID; stop when no live user is left
#   scripts/redis-cluster.sh restart-node PORT  # shut one node down (its data may be lost: no persistence) and
#                                           # start it again; a master gets its slots back; returns once the cluster is ok
#   scripts/redis-cluster.sh kill-node PORT # SIGKILL one node, as a crash (nothing flushed or handed over);
#                                           # returns once it is gone: its replica takes its slots ~2 s later
#
# CACHEFRONT_REDIS_CLUSTER_PORTS (every node, masters first) and CACHEFRONT_REDIS_CLUSTER_DIR move the
# cluster. CACHEFRONT_REDIS_CLUSTER_REPLICAS is the replicas per master: by default 1 with six ports
# or more, else 0 (three ports make three masters alone, as the history checker's own cluster asks).
# `redis-cli --cluster create` makes the first third of the ports masters (with one replica each)
# and pairs the rest with them as it likes: read CLUSTER NODES for who follows whom.
#
# acquire/release let concurrent test runs share one cluster: a run's teardown does not stop the
# cluster under another run that is still using it. A user ID is a process id; dead ones are pruned.
# Every command holds a lock, so a start never interleaves with a stop (the servers do not inherit it).
set -euo pipefail
cmd=${1:?usage: redis-cluster.sh start|stop|acquire ID|release ID|restart-node PORT|kill-node PORT}
ports=(${CACHEFRONT_REDIS_CLUSTER_PORTS:-7101 7102 7103 7104 7105 7106})
if [ "${#ports[@]}" -ge 6 ]; then default_replicas=1; else default_replicas=0; fi
replicas=${CACHEFRONT_REDIS_CLUSTER_REPLICAS:-$default_replicas}
root=${CACHEFRONT_REDIS_CLUSTER_DIR:-/tmp/cachefront-redis-cluster}
users=$root.users
lock=$root.lock
# How long a master may not answer before the others mark it failed and its replica takes over:
# failovers in ~2 s, for the failover test. Redis' default (15 s) would have the test wait; lower
# than 1 s would let a node starved of CPU on a busy 2-core machine be failed over by mistake.
node_timeout_ms=1000

cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }

alive() { cli "$1" ping 2>/dev/null | grep -q PONG; }

# One field of a node's INFO replication (role, master_link_status, ...).
replication() { cli "$1" info replication 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"; }

# Every node says cluster_state:ok, as many nodes as the layout asks are replicas, and each of
# them is attached to its master and in sync (a replica still loading its first copy cannot take over).
cluster_ok() {
  local port following=0
  for port in "${ports[@]}"; do
    cli "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
    if [ "$(replication "$port" role)" = slave ]; then
      [ "$(replication "$port" master_link_status)" = up ] || return 1
      [ "$(replication "$port" master_sync_in_progress)" = 0 ] || return 1
      following=$((following + 1))
    fi
  done
  [ "$following" -eq $((${#ports[@]} / (replicas + 1) * replicas)) ]
}

wait_until() {
  local what=$1 tries=$2
  shift 2
  for _ in $(seq 1 "$tries"); do
    if "$@"; then return 0; fi
    sleep 0.05
  done
  echo "redis-cluster: $what did not happen in time; logs in $root" >&2
  local port
  for port in "${ports[@]}"; do tail -5 "$root/redis-$port.log" >&2 2>/dev/null || true; done
  return 1
}

all_alive() {
  local port
  for port in "${ports[@]}"; do alive "$port" || return 1; done
}

# Whether a process has ended. A daemonized server's parent is gone, and a reaper that is slow to
# collect it leaves a zombie: that one has ended too (kill -0 alone would wait for it).
ended() {
  case $(ps -o stat= -p "$1" 2>/dev/null) in
    '' | Z*) return 0 ;;
    *) return 1 ;;
  esac
}

# Waits up to 5 s for the node's process to end; kills it with `force` after that.
wait_ended() {
  local port=$1 force=${2:-}
  local pidf=$root/redis-$port.pid
  [ -f "$pidf" ] || return 0
  local pid
  pid=$(cat "$pidf")
  for _ in $(seq 1 100); do ended "$pid" && return 0; sleep 0.05; done
  if [ -n "$force" ]; then kill -9 "$pid" 2>/dev/null || true; fi
}

start_node() {
  local port=$1
  # No persistence, so a node starts empty. The nodes share a directory: each has a file of its own
  # for the copy a replica receives from its master, which must not be loaded by another node.
  rm -f "$root/dump-$port.rdb"
  # No diskless-sync delay: a replica (a new one, or a restarted master's) is in sync at once, not 5 s later.
  redis-server --cluster-enabled yes --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
    --cluster-config-file "$root/nodes-$port.conf" --dir "$root" --daemonize yes --enable-debug-command local \
    --pidfile "$root/redis-$port.pid" --logfile "$root/redis-$port.log" --dbfilename "dump-$port.rdb" --cluster-node-timeout "$node_timeout_ms" \
    --repl-diskless-sync-delay 0 9>&-
}

is_master() { [ "$(replication "$1" role)" = master ]; }

restart_node() {
  local port=$1 was
  was=$(replication "$port" role || true) # empty for a node that is down (killed)
  cli "$port" shutdown nosave >/dev/null 2>&1 || true
  wait_ended "$port"
  start_node "$port"
  wait_until "node $port answering PING" 200 alive "$port"
  wait_until "cluster_state:ok on every node" 400 cluster_ok
  # Down for longer than the node timeout, a master comes back as the replica of the one that took
  # its slots over: a manual failover (no write lost: the old replica pauses its clients until the
  # node has caught up) gives them back, so the ports keep their roles for the tests that follow.
  if [ "$was" = master ] && ! is_master "$port"; then
    cli "$port" cluster failover >/dev/null
    wait_until "node $port taking its slots back" 400 is_master "$port"
    wait_until "cluster_state:ok on every node" 400 cluster_ok
  fi
}

kill_node() {
  local port=$1
  kill -9 "$(cat "$root/redis-$port.pid")"
  wait_ended "$port"
}

start() {
  if cluster_ok; then return 0; fi
  # A half-started cluster (a node died, a create that failed): start over from nothing.
  stop
  mkdir -p "$root"
  local port
  for port in "${ports[@]}"; do start_node "$port"; done
  wait_until "the nodes answering PING" 200 all_alive
  local addresses=()
  for port in "${ports[@]}"; do addresses+=("127.0.0.1:$port"); done
  redis-cli --cluster create "${addresses[@]}" --cluster-replicas "$replicas" --cluster-yes >"$root/create.log" 2>&1 ||
    { cat "$root/create.log" >&2; return 1; }
  wait_until "cluster_state:ok on every node, and every replica in sync" 400 cluster_ok
}

stop() {
  local port
  for port in "${ports[@]}"; do
    if alive "$port"; then cli "$port" shutdown nosave >/dev/null 2>&1 || true; fi
  done
  for port in "${ports[@]}"; do wait_ended "$port" force; done
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
  kill-node) kill_node "${2:?usage: redis-cluster.sh kill-node PORT}" ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
