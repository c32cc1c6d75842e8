#!/usr/bin/env bash
# A loopback m3fg cluster on one machine: nats-server with deploy/nats-server.conf (authentication on, bound
# to 127.0.0.1) and K `m3fg worker` nodes. For trying the cluster, the tests (test/helpers/cluster.ts) and
# the benchmarks.
#
#   deploy/local-cluster.sh start --dir DIR --nodes K [--threads N] [--port P] [--prefix PFX]
#   deploy/local-cluster.sh add-node --dir DIR [--threads N]
#   deploy/local-cluster.sh status --dir DIR      (exit 0 when the server and every node run, else 1)
#   deploy/local-cluster.sh stop --dir DIR        (SIGTERM: nodes drain; idempotent)
#
# start writes into DIR: credentials.env (random passwords, mode 600), nats.conf, nats.pid, nats.log, url
# (nats://127.0.0.1:PORT), prefix, threads, and node-<i>.pid / node-<i>.log for each node. Without --port,
# nats-server picks a free port (-p -1) and reports it in DIR/nats-server_<pid>.ports.
# Readiness: nats-server logs "Server is ready"; a node logs "node ready" once subscribed. Any failure stops
# what this command started and exits 1 with the log's tail.
#
# Testing hook: M3FG_NODE_CMD replaces the node command (default: node <repo>/bin/m3fg.js worker); it is
# split on spaces and gets the same arguments (--nats URL --threads N --name node-<i> [--subject-prefix P])
# and environment (M3FG_NATS_USER=worker, M3FG_NATS_PASS).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
me="local-cluster.sh"
usage() {
  echo "usage: $me start --dir DIR --nodes K [--threads N] [--port P] [--prefix PFX]" >&2
  echo "       $me add-node|status|stop --dir DIR [--threads N]" >&2
  exit 2
}
die() { echo "$me: $*" >&2; exit 1; }

cmd="${1:-}"; [[ $# -gt 0 ]] && shift
dir="" nodes=1 threads="" port="" prefix=""
while [[ $# -gt 0 ]]; do
  [[ $# -ge 2 ]] || usage
  case "$1" in
    --dir) dir="$2" ;;
    --nodes) nodes="$2" ;;
    --threads) threads="$2" ;;
    --port) port="$2" ;;
    --prefix) prefix="$2" ;;
    *) echo "$me: unknown option $1" >&2; usage ;;
  esac
  shift 2
done
[[ -n "$cmd" && -n "$dir" ]] || usage
[[ "$nodes" =~ ^[0-9]+$ ]] || die "--nodes: expected a whole number, got '$nodes'"
[[ -z "$threads" || "$threads" =~ ^[1-9][0-9]*$ ]] || die "--threads: expected a positive whole number, got '$threads'"
[[ -z "$port" || "$port" =~ ^[1-9][0-9]*$ ]] || die "--port: expected a port number, got '$port'"
[[ -z "$prefix" || "$prefix" =~ ^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$ ]] || die "--prefix: '$prefix' is not a subject prefix (dot-separated words of letters, digits and -)"

# running PID: the process exists and is not a zombie (an exited child not yet reaped by its parent).
running() {
  kill -0 "$1" 2>/dev/null || return 1
  [[ ! -r "/proc/$1/stat" ]] || [[ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]]
}

# ours PIDFILE WORD: the pid in PIDFILE runs and its command line contains WORD (so a pid reused by an
# unrelated process after a crash is never signalled).
ours() {
  local pid
  [[ -f "$1" ]] && pid="$(cat "$1" 2>/dev/null)" && [[ "$pid" =~ ^[0-9]+$ ]] && running "$pid" || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 0   # no /proc (not Linux): trust the pid
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2"
}
max_nodes=16   # users node-1..node-16 are created at start; add-node can go up to that
node_word() { echo "--name node-$1 "; }   # how a node's command line is recognised (the space: node-1 vs node-10)

# wait_ready LOG PATTERN SECONDS PID: until LOG contains PATTERN; fails at the deadline or when PID exits.
wait_ready() {
  local name; name="$(basename "$1" .log)"; [[ "$name" != nats ]] || name=nats-server
  local deadline=$((SECONDS + $3))
  until grep -q "$2" "$1" 2>/dev/null; do
    running "$4" || { echo "$me: $name exited before it was ready; end of $1:" >&2; tail -n 20 "$1" >&2; return 1; }
    ((SECONDS < deadline)) || { echo "$me: $name not ready within $3 s; end of $1:" >&2; tail -n 20 "$1" >&2; return 1; }
    sleep 0.1
  done
}

# term_pid PIDFILE WORD: SIGTERM to the process (if it is ours and runs).
# reap_pid PIDFILE WORD DEADLINE: wait until it exits or $SECONDS reaches DEADLINE, then SIGKILL it with a
# warning; removes PIDFILE.
term_pid() { if ours "$1" "$2"; then kill -TERM "$(cat "$1")" 2>/dev/null || true; fi; }
reap_pid() {
  local pid
  if ours "$1" "$2"; then
    pid="$(cat "$1")"
    while running "$pid" && ((SECONDS < $3)); do sleep 0.1; done
    if running "$pid"; then
      echo "$me: warning: $(basename "$1" .pid) (pid $pid) did not exit after SIGTERM; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$1"
}

# Stops every node (SIGTERM to all at once: they drain in parallel, up to 15 s), then the server (10 s).
stop_all() {
  local f i deadline
  for f in "$dir"/node-*.pid; do [[ -e "$f" ]] || continue; i="${f##*/node-}"; term_pid "$f" "$(node_word "${i%.pid}")"; done
  deadline=$((SECONDS + 15))
  for f in "$dir"/node-*.pid; do [[ -e "$f" ]] || continue; i="${f##*/node-}"; reap_pid "$f" "$(node_word "${i%.pid}")" "$deadline"; done
  term_pid "$dir/nats.pid" nats-server
  reap_pid "$dir/nats.pid" nats-server $((SECONDS + 10))
}

# start_node I: launches node I in the background (its readiness is checked by the caller).
start_node() {
  local i=$1 url pfx wpass
  url="$(cat "$dir/url")"
  pfx="$(cat "$dir/prefix" 2>/dev/null || echo m3fg)"
  wpass="$(sed -n "s/^M3FG_NODE_${i}_PASS=//p" "$dir/credentials.env")"
  [[ -n "$wpass" ]] || die "no credentials for node-$i in $dir/credentials.env (at most $max_nodes nodes)"
  local -a node_cmd=(node "$repo/bin/m3fg.js" worker)
  # shellcheck disable=SC2206 # the testing hook is split on spaces on purpose
  [[ -n "${M3FG_NODE_CMD:-}" ]] && node_cmd=(${M3FG_NODE_CMD})
  local -a extra=()
  [[ "$pfx" == m3fg ]] || extra=(--subject-prefix "$pfx")
  # Only the worker's credentials go into the node's environment (never on its command line).
  M3FG_NATS_USER="node-$i" M3FG_NATS_PASS="$wpass" \
    nohup "${node_cmd[@]}" --nats "$url" --threads "${threads:-1}" --name "node-$i" ${extra[@]+"${extra[@]}"} \
    >"$dir/node-$i.log" 2>&1 </dev/null &
  echo $! >"$dir/node-$i.pid"
}

# A password nats-server reads back as the same string: a letter, then hex (see deploy/nats-server.conf).
password() {
  if command -v openssl >/dev/null; then echo "m3fg$(openssl rand -hex 24)"; else echo "m3fg$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"; fi
}

case "$cmd" in
  start)
    command -v nats-server >/dev/null || die "nats-server not found: install it (Debian: apt-get install nats-server)"
    mkdir -p "$dir"
    ! ours "$dir/nats.pid" nats-server || die "a cluster already runs in $dir (stop it first: $0 stop --dir $dir)"
    rm -f "$dir"/node-*.pid "$dir"/node-*.log "$dir"/nats-server_*.ports "$dir/url"
    # one user per party, each with its own password (deploy/gen-users.sh): the coordinator and node-1..node-$max_nodes
    (umask 077
     printf 'M3FG_COORDINATOR_PASS=%s\n' "$(password)" >"$dir/credentials.env"
     for i in $(seq "$max_nodes"); do printf 'M3FG_NODE_%s_PASS=%s\n' "$i" "$(password)" >>"$dir/credentials.env"; done)
    chmod 600 "$dir/credentials.env"
    echo "${prefix:-m3fg}" >"$dir/prefix"
    echo "${threads:=1}" >"$dir/threads"
    # The shipped config, bound to loopback, with the subject prefix substituted in the permissions and
    # JetStream's store in this cluster's folder.
    sed -e 's/^listen: .*/listen: 127.0.0.1:4222/' -e "s|^\( *store_dir:\).*|\1 \"$dir/jetstream\"|" "$repo/deploy/nats-server.conf" >"$dir/nats.conf"
    bash "$repo/deploy/gen-users.sh" "$max_nodes" "${prefix:-m3fg}" >"$dir/nats-users.conf"

    # From here on, a failure (or Ctrl-C) stops whatever this command started.
    ok=0
    trap '[[ $ok == 1 ]] || { echo "$me: start failed; stopping what was started" >&2; stop_all; }' EXIT
    trap 'exit 130' INT TERM
    if [[ -n "$port" ]]; then portargs=(-p "$port"); else portargs=(-p -1 --ports_file_dir "$dir"); fi
    # The passwords reach nats-server through its environment only (never a command line).
    # GOMAXPROCS=1 (unless set): the server shares this machine's cores with the nodes, and with more Go
    # processors its scheduler spins idle threads looking for work. Measured on 2 cores, Cyber M = 60, 2 nodes:
    # 0.12-0.14 against 0.19-0.27 CPU-seconds of the server per iteration (bench:cluster, CPU by party).
    (set -a; . "$dir/credentials.env"; GOMAXPROCS="${GOMAXPROCS:-1}"; exec nohup nats-server -c "$dir/nats.conf" "${portargs[@]}" >"$dir/nats.log" 2>&1 </dev/null) &
    echo $! >"$dir/nats.pid"
    npid="$(cat "$dir/nats.pid")"
    wait_ready "$dir/nats.log" 'Server is ready' 10 "$npid"
    if [[ -z "$port" ]]; then
      # {"nats":["nats://127.0.0.1:PORT"]}, written just before "Server is ready"; wait a moment anyway.
      for _ in $(seq 50); do [[ -s "$dir/nats-server_$npid.ports" ]] && break; sleep 0.1; done
      port="$(grep -o '127\.0\.0\.1:[0-9]*' "$dir/nats-server_$npid.ports" 2>/dev/null | head -1 | cut -d: -f2)"
      [[ -n "$port" ]] || { echo "$me: no port in $dir/nats-server_$npid.ports" >&2; exit 1; }
    fi
    echo "nats://127.0.0.1:$port" >"$dir/url"
    for i in $(seq "$nodes"); do start_node "$i"; done
    for i in $(seq "$nodes"); do wait_ready "$dir/node-$i.log" 'node ready' 60 "$(cat "$dir/node-$i.pid")"; done
    ok=1
    url="$(cat "$dir/url")"
    echo "cluster up: $url, $nodes node(s) x $threads thread(s), prefix ${prefix:-m3fg}; logs and pids in $dir"
    echo "connect a coordinator:"
    echo "  (set -a; . $dir/credentials.env; M3FG_NATS_USER=coordinator M3FG_NATS_PASS=\$M3FG_COORDINATOR_PASS \\"
    echo "     node $repo/bin/m3fg.js solve --game cyber --bins 60 --iterations 100 --nats $url$([[ -z "$prefix" ]] || echo " --subject-prefix $prefix"))"
    echo "stop: $0 stop --dir $dir"
    ;;

  add-node)
    ours "$dir/nats.pid" nats-server || die "no cluster runs in $dir (start one: $0 start --dir $dir --nodes K)"
    threads="${threads:-$(cat "$dir/threads" 2>/dev/null || echo 1)}"
    # next index: one past every node this directory has seen (logs stay after a node dies)
    i=0
    for f in "$dir"/node-*.log "$dir"/node-*.pid; do
      [[ -e "$f" ]] || continue
      n="${f##*/node-}"; n="${n%.*}"
      if [[ "$n" =~ ^[0-9]+$ ]] && ((n > i)); then i=$n; fi
    done
    i=$((i + 1))
    start_node "$i"
    if ! wait_ready "$dir/node-$i.log" 'node ready' 60 "$(cat "$dir/node-$i.pid")"; then
      term_pid "$dir/node-$i.pid" "$(node_word "$i")"; reap_pid "$dir/node-$i.pid" "$(node_word "$i")" $((SECONDS + 15))
      exit 1
    fi
    echo "node-$i ready ($threads thread(s)); log $dir/node-$i.log"
    ;;

  status)
    rc=0
    if ours "$dir/nats.pid" nats-server; then echo "nats-server: running, pid $(cat "$dir/nats.pid"), $(cat "$dir/url" 2>/dev/null)"; else echo "nats-server: not running"; rc=1; fi
    for f in "$dir"/node-*.pid; do
      [[ -e "$f" ]] || continue
      i="${f##*/node-}"; i="${i%.pid}"
      if ours "$f" "$(node_word "$i")"; then echo "node-$i: running, pid $(cat "$f")"; else echo "node-$i: not running (log $dir/node-$i.log)"; rc=1; fi
    done
    exit $rc
    ;;

  stop)
    [[ -d "$dir" ]] || { echo "nothing runs in $dir"; exit 0; }
    stop_all
    rm -f "$dir"/nats-server_*.ports
    echo "cluster in $dir stopped"
    ;;

  *) echo "$me: unknown command '$cmd'" >&2; usage ;;
esac
