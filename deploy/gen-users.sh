#!/usr/bin/env bash
# Writes the users of an m3fg cluster for nats-server (included by deploy/nats-server.conf):
#   deploy/gen-users.sh K [PREFIX] > nats-users.conf            (nodes node-1 .. node-K)
#   deploy/gen-users.sh NAME,NAME,... [PREFIX] > nats-users.conf  (nodes of these names)
# one user `coordinator` and one user per node. Passwords come from the environment: $M3FG_COORDINATOR_PASS
# and $M3FG_NODE_<i>_PASS for the i-th node (node-i; with names, the i-th name): nats-server refuses to start
# when one is unset; never set one to "". A node runs with `--name <its name>` and its own user and password.
# A name is 1-64 letters, digits, _ and - (the node's subjects and its snapshot bucket are made from it), not
# coord or coordinator. Each party may:
#   - cluster (solve --nats): publish PREFIX.to.*.from.<itself>, read PREFIX.to.<itself>.from.*;
#   - replies: read only its own inboxes _INBOX_<user>.> (m3fg connects with that inbox prefix);
#   - job queue (sweep / experiment --nats, deploy/jetstream.md): the coordinator creates the stream
#     PREFIX-jobs, its one durable pull consumer PREFIX-job-workers and the buckets PREFIX-results and
#     PREFIX-job-status, and queues jobs; a node only pulls from that consumer (MSG.NEXT), acks, reads and
#     writes results (message gets, no consumer) and writes status;
#   - no node may create a consumer on any stream: a consumer's creator names its delivery subject (in the
#     request's payload, out of reach of subject permissions) and could have the server deliver stored bytes
#     on PREFIX.to.<x>.from.<another party>, a forged sender. The coordinator keeps consumer rights only on
#     the job stream's one durable name, its status watch and its own fallback snapshot bucket;
#   - snapshots of solve --nats (docs/cluster.md): node-<i> writes its shard's snapshots into its own object
#     store bucket PREFIX-snap-<name> (one bucket per node: an object's chunks go to random subjects
#     $O.<bucket>.C.<nuid>, so only a bucket, not a name prefix, can be tied to one user) and may read every
#     node's bucket (after a node loss the others restore its rows from it); the coordinator may remove
#     objects from every node's bucket, never needs to read them. Its fallback bucket PREFIX-snapshots (when
#     a node cannot keep snapshots) is the coordinator's alone.
set -euo pipefail
k="${1:-}"; p="${2:-m3fg}"
[[ -n "$k" ]] || { echo "usage: $0 K|NAME,NAME,... [PREFIX] > nats-users.conf" >&2; exit 2; }
names=()
if [[ "$k" =~ ^[1-9][0-9]*$ ]]; then
  for i in $(seq "$k"); do names+=("node-$i"); done
else
  IFS=, read -r -a names <<<"$k"
  for n in "${names[@]}"; do
    [[ "$n" =~ ^[A-Za-z0-9_-]{1,64}$ && "$n" != coord && "$n" != coordinator ]] || { echo "$0: '$n' is not a node name (1-64 letters, digits, _ and -; not coord or coordinator)" >&2; exit 2; }
  done
  dup="$(printf '%s\n' "${names[@]}" | sort | uniq -d | head -1)"
  [[ -z "$dup" ]] || { echo "$0: node name '$dup' given twice" >&2; exit 2; }
fi
[[ "$p" =~ ^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$ ]] || { echo "$0: '$p' is not a subject prefix" >&2; exit 2; }

# The JetStream API of an object store or key-value bucket (stream OBJ_<b> / KV_<b>): info, create, read.
bucket() { # kind name [create]
  local s="$1_$2" out
  out="\"\$JS.API.STREAM.INFO.$s\", \"\$JS.API.STREAM.MSG.GET.$s\", \"\$JS.API.DIRECT.GET.$s.>\""
  [[ -z "${3:-}" ]] || out="$out, \"\$JS.API.STREAM.CREATE.$s\", \"\$JS.API.STREAM.UPDATE.$s\""
  echo "$out"
}
# Write and remove objects, and read them with message gets (runtime/object-get.ts): no consumer.
obj_rw() { echo "\"\$JS.API.STREAM.PURGE.OBJ_$1\", \"\$O.$1.>\""; }
# A consumer on a bucket: only the coordinator, on its own streams (its status watch, its fallback snapshots).
consumers() { echo "\"\$JS.API.CONSUMER.CREATE.$1.>\", \"\$JS.API.CONSUMER.DELETE.$1.>\""; }

coordinator_jobs="\"$p.jobs.*\", \"\$JS.API.INFO\", \
\"\$JS.API.STREAM.INFO.$p-jobs\", \"\$JS.API.STREAM.CREATE.$p-jobs\", \"\$JS.API.STREAM.UPDATE.$p-jobs\", \
\"\$JS.API.STREAM.MSG.GET.$p-jobs\", \"\$JS.API.STREAM.MSG.DELETE.$p-jobs\", \
\"\$JS.API.CONSUMER.INFO.$p-jobs.$p-job-workers\", \"\$JS.API.CONSUMER.CREATE.$p-jobs.$p-job-workers\", \"\$JS.API.CONSUMER.DURABLE.CREATE.$p-jobs.$p-job-workers\", \
$(bucket OBJ "$p-results" create), $(obj_rw "$p-results"), \
$(bucket KV "$p-job-status" create), $(consumers "KV_$p-job-status"), \"\$KV.$p-job-status.>\", \
$(bucket OBJ "$p-snapshots" create), $(obj_rw "$p-snapshots"), $(consumers "OBJ_$p-snapshots"), \"\$JS.API.STREAM.DELETE.OBJ_$p-snapshots\", \
\"\$JS.FC.>\""
node_jobs="\"\$JS.API.INFO\", \
\"\$JS.API.CONSUMER.INFO.$p-jobs.$p-job-workers\", \"\$JS.API.CONSUMER.MSG.NEXT.$p-jobs.$p-job-workers\", \"\$JS.ACK.$p-jobs.$p-job-workers.>\", \
$(bucket OBJ "$p-results"), $(obj_rw "$p-results"), \
\"\$JS.API.STREAM.INFO.KV_$p-job-status\", \"\$KV.$p-job-status.>\", \
\"\$JS.FC.>\""

# The nodes' snapshot buckets: the coordinator removes superseded objects; every node reads them all.
snap_coordinator=""; snap_read=""
for n in "${names[@]}"; do
  b="$p-snap-$n"
  snap_coordinator="$snap_coordinator, $(bucket OBJ "$b"), $(obj_rw "$b")"
  snap_read="$snap_read, $(bucket OBJ "$b")"
done
# node i: its own bucket, read and write. No consumer on any bucket: whoever may create a consumer names its
# delivery subject, and could have the server deliver on PREFIX.to.<x>.from.<another party> (a forged
# sender); nodes read objects with message gets only (runtime/shard-store-nats.ts).
snap_own() { echo "$(bucket OBJ "$p-snap-$1" create), \"\$JS.API.STREAM.PURGE.OBJ_$p-snap-$1\", \"\$O.$p-snap-$1.>\""; }

party() { # user password-variable cluster-id jetstream-subjects
  echo "  { user: $1, password: \$$2, permissions: {"
  echo "      publish: { allow: [\"$p.to.*.from.$3\", $4] },"
  echo "      subscribe: { allow: [\"$p.to.$3.from.*\", \"_INBOX_$1.>\"] } } }"
}
echo "# m3fg users: the cluster, the job queue and the snapshot bucket (deploy/gen-users.sh $k $p)"
echo "users: ["
party coordinator M3FG_COORDINATOR_PASS coord "$coordinator_jobs$snap_coordinator"
for i in "${!names[@]}"; do n="${names[$i]}"; party "$n" "M3FG_NODE_$((i + 1))_PASS" "$n" "$node_jobs, $(snap_own "$n")$snap_read"; done
echo "]"
