#!/usr/bin/env bash
# Writes the users of an m3fg cluster for nats-server (included by deploy/nats-server.conf):
#   deploy/gen-users.sh K [PREFIX] > nats-users.conf
# one user `coordinator` and one user per node, node-1 .. node-K, each allowed only its own subjects
# (PREFIX.to.*.from.<itself> to publish, PREFIX.to.<itself>.from.* to read). Passwords come from the
# environment: $M3FG_COORDINATOR_PASS and $M3FG_NODE_<i>_PASS (nats-server refuses to start when one is
# unset; never set one to ""). A node runs with `--name node-<i>` and its own user and password.
set -euo pipefail
k="${1:-}"; prefix="${2:-m3fg}"
[[ "$k" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 K [PREFIX] > nats-users.conf" >&2; exit 2; }
[[ "$prefix" =~ ^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$ ]] || { echo "$0: '$prefix' is not a subject prefix" >&2; exit 2; }
party() { # user password-variable
  echo "  { user: $1, password: \$$2, permissions: { publish: { allow: [\"$prefix.to.*.from.$3\"] }, subscribe: { allow: [\"$prefix.to.$3.from.*\"] } } }"
}
echo "# m3fg cluster users (deploy/gen-users.sh $k $prefix)"
echo "users: ["
party coordinator M3FG_COORDINATOR_PASS coord
for i in $(seq "$k"); do party "node-$i" "M3FG_NODE_${i}_PASS" "node-$i"; done
echo "]"
