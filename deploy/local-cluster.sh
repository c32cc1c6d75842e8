#!/usr/bin/env bash
# A loopback m3fg cluster: nats-server with deploy/nats-server.conf (authentication on) and K `m3fg worker`
# nodes, all on 127.0.0.1. The tests use it; so can you, to try the cluster on one machine.
#
#   deploy/local-cluster.sh start --dir DIR --nodes K [--threads N] [--port P]
#   deploy/local-cluster.sh add-node --dir DIR [--threads N]
#   deploy/local-cluster.sh status --dir DIR
#   deploy/local-cluster.sh stop --dir DIR
#
# start writes DIR/url (nats://127.0.0.1:PORT), DIR/credentials.env (random passwords, mode 600), DIR/nats.conf,
# DIR/nats.pid, DIR/node-<i>.pid and the logs DIR/nats.log, DIR/node-<i>.log. Connect a coordinator with:
#   set -a; . DIR/credentials.env; set +a
#   M3FG_NATS_USER=coordinator M3FG_NATS_PASS=$M3FG_COORDINATOR_PASS m3fg solve ... --nats $(cat DIR/url)
# stop sends SIGTERM to every node (they drain), waits, then stops the server. M3FG_NODE_CMD overrides the
# node command (testing hook; default: node <repo>/bin/m3fg.js worker).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cmd="${1:-}"; shift || true
dir="" nodes=1 threads=1 port=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --nodes) nodes="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    *) echo "local-cluster.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ -n "$cmd" && -n "$dir" ]] || { echo "usage: local-cluster.sh start|add-node|status|stop --dir DIR [--nodes K] [--threads N] [--port P]" >&2; exit 2; }

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# wait_for FILE PATTERN SECONDS: until FILE contains PATTERN
wait_for() {
  local deadline=$((SECONDS + $3))
  until grep -q "$2" "$1" 2>/dev/null; do
    if ((SECONDS >= deadline)); then return 1; fi
    sleep 0.1
  done
}

start_node() {
  local i=$1
  local url; url="$(cat "$dir/url")"
  # shellcheck disable=SC1091
  set -a; . "$dir/credentials.env"; set +a
  local node_cmd="${M3FG_NODE_CMD:-node $repo/bin/m3fg.js worker}"
  M3FG_NATS_USER=worker M3FG_NATS_PASS="$M3FG_WORKER_PASS" \
    nohup $node_cmd --nats "$url" --threads "$threads" --name "node-$i" >"$dir/node-$i.log" 2>&1 </dev/null &
  echo $! >"$dir/node-$i.pid"
  if ! wait_for "$dir/node-$i.log" 'node ready' 60; then
    echo "local-cluster.sh: node-$i did not get ready within 60 s; its log:" >&2
    tail -n 20 "$dir/node-$i.log" >&2
    return 1
  fi
}

stop_all() {
  local f pid
  for f in "$dir"/node-*.pid; do
    [[ -e "$f" ]] || continue
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then echo "local-cluster.sh: $(basename "$f" .pid) did not drain in 15 s; killing it" >&2; kill -KILL "$pid" 2>/dev/null || true; fi
    fi
    rm -f "$f"
  done
  if alive "$dir/nats.pid"; then
    pid="$(cat "$dir/nats.pid")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/nats.pid"
}

case "$cmd" in
  start)
    command -v nats-server >/dev/null || { echo "local-cluster.sh: nats-server not found: install it (Debian: apt-get install nats-server)" >&2; exit 1; }
    mkdir -p "$dir"
    if alive "$dir/nats.pid"; then echo "local-cluster.sh: a cluster already runs in $dir" >&2; exit 1; fi
    umask 077
    # nats-server parses a $VAR's value as config: a password must not look like a number, so start it with a letter
    printf 'M3FG_COORDINATOR_PASS=p%s\nM3FG_WORKER_PASS=p%s\n' "$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" "$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" >"$dir/credentials.env"
    umask 022
    # the shipped config, bound to loopback
    sed -e 's/^listen: .*/listen: 127.0.0.1:4222/' "$repo/deploy/nats-server.conf" >"$dir/nats.conf"
    trap 'echo "local-cluster.sh: start failed; stopping what was started" >&2; stop_all' ERR
    set -a; . "$dir/credentials.env"; set +a
    if [[ -n "$port" ]]; then
      nohup nats-server -c "$dir/nats.conf" -p "$port" >"$dir/nats.log" 2>&1 </dev/null &
    else
      nohup nats-server -c "$dir/nats.conf" -p -1 --ports_file_dir "$dir" >"$dir/nats.log" 2>&1 </dev/null &
    fi
    echo $! >"$dir/nats.pid"
    if ! wait_for "$dir/nats.log" 'Server is ready' 10; then
      echo "local-cluster.sh: nats-server did not start within 10 s; its log:" >&2; tail -n 20 "$dir/nats.log" >&2; false
    fi
    if [[ -z "$port" ]]; then
      port="$(grep -o 'Listening for client connections on [0-9.]*:[0-9]*' "$dir/nats.log" | head -1 | sed 's/.*://')"
    fi
    echo "nats://127.0.0.1:$port" >"$dir/url"
    for i in $(seq "$nodes"); do start_node "$i"; done
    trap - ERR
    echo "cluster up: $(cat "$dir/url"), $nodes node(s) x $threads thread(s); logs and pids in $dir"
    echo "coordinator: set -a; . $dir/credentials.env; set +a; M3FG_NATS_USER=coordinator M3FG_NATS_PASS=\$M3FG_COORDINATOR_PASS m3fg solve ... --nats $(cat "$dir/url")"
    ;;
  add-node)
    alive "$dir/nats.pid" || { echo "local-cluster.sh: no cluster runs in $dir" >&2; exit 1; }
    i=1; while [[ -e "$dir/node-$i.pid" ]]; do i=$((i + 1)); done
    start_node "$i"
    echo "node-$i ready"
    ;;
  status)
    if alive "$dir/nats.pid"; then echo "nats-server: running ($(cat "$dir/url"))"; else echo "nats-server: stopped"; fi
    for f in "$dir"/node-*.pid; do
      [[ -e "$f" ]] || continue
      if alive "$f"; then echo "$(basename "$f" .pid): running"; else echo "$(basename "$f" .pid): stopped"; fi
    done
    ;;
  stop)
    stop_all
    echo "cluster in $dir stopped"
    ;;
  *) echo "local-cluster.sh: unknown command $cmd (start, add-node, status, stop)" >&2; exit 2 ;;
esac
