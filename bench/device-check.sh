#!/bin/bash
# The 16-core scaling check of the cluster (4 nodes x 4 threads vs one 16-thread process, Cyber M = 120) and the
# thread-scaling table, for a machine without Node.js, nats-server or network.
#   bash bench/device-check.sh prepare          here: writes .dev/ (node, nats-server, node_modules; ~36 MiB)
#   bash bench/device-check.sh run [CLUSTER_ARGS] [THREADS_ARGS]    there, from the repository root, with .dev/
# Defaults: bench/cluster.ts cyber 120 4 4 4 (one round: --rounds=1 is always added); bench/threads.ts --only cyber --runs 1 --quick. Logs and JSON go to
# $OUT (default /tmp/devout). .dev/ must be git-ignored (it is, in .gitignore).
set -u
cmd=${1:-run}; shift || true
if [ "$cmd" = prepare ]; then
  set -e
  mkdir -p .dev /tmp/m3fg-natsdeb
  xz -T2 -c "$(command -v node)" > .dev/node.xz
  (cd /tmp/m3fg-natsdeb && apt-get download nats-server && dpkg -x nats-server_*.deb x)
  xz -c /tmp/m3fg-natsdeb/x/usr/sbin/nats-server > .dev/nats-server.xz
  # the runtime dependencies and tsx; not the type checker, the test runner or the browser
  tar -c --exclude=node_modules/typescript --exclude=node_modules/playwright-core --exclude=node_modules/@rolldown \
    --exclude='node_modules/lightningcss*' --exclude=node_modules/vite --exclude=node_modules/vitest \
    --exclude=node_modules/@vitest --exclude=node_modules/@types node_modules | xz -T2 -6 > .dev/nm.tar.xz
  du -sh .dev
  exit 0
fi
OUT=${OUT:-/tmp/devout}; mkdir -p "$OUT"
BIN=${BIN:-/tmp/m3fgbin}; mkdir -p "$BIN"
t0=$(date +%s)
xz -dc .dev/node.xz > "$BIN/node" && chmod +x "$BIN/node"
xz -dc .dev/nats-server.xz > "$BIN/nats-server" && chmod +x "$BIN/nats-server"
export PATH="$BIN:$PATH"
[ -d node_modules/tsx ] || tar -xJf .dev/nm.tar.xz
{ echo "setup $(( $(date +%s) - t0 )) s"; nproc; free -g | head -2; lscpu | grep -iE 'model name|^socket|per core|numa node\(s\)'; node --version; nats-server --version; } 2>&1 | tee "$OUT/env.txt"
CL="${1:-cyber 120 4 4 4} --rounds=1"; TH=${2:---only cyber --runs 1 --quick}
echo "== bench/cluster.ts $CL" | tee "$OUT/cluster.log"
timeout "${CLUSTER_TIMEOUT:-330}" node node_modules/.bin/tsx bench/cluster.ts $CL 2>&1 | tee -a "$OUT/cluster.log"
echo "rc=${PIPESTATUS[0]} at $(( $(date +%s) - t0 )) s" | tee -a "$OUT/cluster.log"
cp bench/results/cluster*.json "$OUT/" 2>/dev/null
echo "== bench/threads.ts $TH" | tee "$OUT/threads.log"
timeout "${THREADS_TIMEOUT:-120}" node node_modules/.bin/tsx bench/threads.ts $TH 2>&1 | tee -a "$OUT/threads.log"
echo "rc=${PIPESTATUS[0]} at $(( $(date +%s) - t0 )) s" | tee -a "$OUT/threads.log"
cp bench/results/threads.json "$OUT/" 2>/dev/null
true
