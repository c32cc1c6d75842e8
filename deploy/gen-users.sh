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
#   - names: stream and bucket names use B, the prefix with '.' as '_' (m3fg's shared/nats-names.ts);
#   - job queue (sweep / experiment --nats, deploy/jetstream.md): the coordinator creates the stream
#     B-jobs, its one durable pull consumer B-job-workers, the buckets B-results (its own), B-job-status
#     (rollup headers off) and each node's results bucket B-results-node-<i>, and queues jobs. A node only
#     pulls from that consumer (MSG.NEXT), acks, reads the coordinator's results bucket and the status
#     bucket (message gets, no consumer), writes only its own results bucket (an object's chunks go to random
#     subjects, so only a bucket, not a name, can be tied to one user) and only its own status keys
#     node.node-<i> and job.node-<i>.<hash>. It may create no stream: a stream's creator picks the subjects it
#     captures, and could capture PREFIX.to.<x>.from.<y> (another party's messages) to read them back;
#   - no node may create a consumer on any stream: a consumer's creator names its delivery subject (in the
#     request's payload, out of reach of subject permissions) and could have the server deliver stored bytes
#     on PREFIX.to.<x>.from.<another party>, a forged sender. The coordinator keeps consumer rights only on
#     the job stream's one durable name, its status watch and its own fallback snapshot bucket;
#   - snapshots of solve --nats (docs/cluster.md): node-<i> writes its shard's snapshots into its own object
#     store bucket PREFIX-snap-<name> (one bucket per node: an object's chunks go to random subjects
#     $O.<bucket>.C.<nuid>, so only a bucket, not a name prefix, can be tied to one user) and may read every
#     node's bucket (after a node loss the others restore its rows from it); the coordinator creates every
#     node's bucket (a node may create or update no stream, its own bucket's included: the creator picks the
#     captured subjects) and may remove objects from it, never needs to read them. Its fallback bucket
#     PREFIX-snapshots (when a node cannot keep snapshots) is the coordinator's alone.
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
# the rule of shared/nats-names.ts: dot-separated words of letters, digits and -; '.' is '_' in stream names
[[ "$p" =~ ^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$ && ${#p} -le 64 ]] || { echo "$0: '$p' is not a subject prefix (dot-separated words of letters, digits and -)" >&2; exit 2; }
b="${p//./_}"

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
consumers() { echo "\"\$JS.API.CONSUMER.CREATE.$1.>\", \"\$JS.API.CONSUMER.INFO.$1.>\", \"\$JS.API.CONSUMER.DELETE.$1.>\""; }

coordinator_jobs="\"$p.jobs.*\", \"\$JS.API.INFO\", \
\"\$JS.API.STREAM.INFO.$b-jobs\", \"\$JS.API.STREAM.CREATE.$b-jobs\", \"\$JS.API.STREAM.UPDATE.$b-jobs\", \
\"\$JS.API.STREAM.MSG.GET.$b-jobs\", \"\$JS.API.STREAM.MSG.DELETE.$b-jobs\", \
\"\$JS.API.CONSUMER.INFO.$b-jobs.$b-job-workers\", \"\$JS.API.CONSUMER.CREATE.$b-jobs.$b-job-workers\", \"\$JS.API.CONSUMER.DURABLE.CREATE.$b-jobs.$b-job-workers\", \
$(bucket OBJ "$b-results" create), $(obj_rw "$b-results"), \
$(bucket KV "$b-job-status" create), $(consumers "KV_$b-job-status"), \"\$KV.$b-job-status.>\", \
$(bucket OBJ "$b-snapshots" create), $(obj_rw "$b-snapshots"), $(consumers "OBJ_$b-snapshots"), \"\$JS.API.STREAM.DELETE.OBJ_$b-snapshots\", \
\"\$JS.FC.>\""
# node $1's part of the job queue (by name) (no \$JS.FC: flow control is for consumers, and a node has none)
node_jobs() {
  echo "\"\$JS.API.INFO\", \
\"\$JS.API.CONSUMER.INFO.$b-jobs.$b-job-workers\", \"\$JS.API.CONSUMER.MSG.NEXT.$b-jobs.$b-job-workers\", \"\$JS.ACK.$b-jobs.$b-job-workers.>\", \
$(bucket OBJ "$b-results"), $(bucket OBJ "$b-results-$1"), \"\$JS.API.STREAM.PURGE.OBJ_$b-results-$1\", \"\$O.$b-results-$1.>\", \
$(bucket KV "$b-job-status"), \"\$KV.$b-job-status.node.$1\", \"\$KV.$b-job-status.job.$1.>\""
}

# The nodes' snapshot buckets: the coordinator creates them and removes superseded objects; every node reads them all.
snap_coordinator=""; snap_read=""
for n in "${names[@]}"; do
  s="$b-snap-$n"
  snap_coordinator="$snap_coordinator, $(bucket OBJ "$s" create), $(obj_rw "$s")"
  snap_read="$snap_read, $(bucket OBJ "$s")"
  # node n's results bucket: the coordinator creates it and reads it (message gets)
  jobs_coordinator="${jobs_coordinator:-}, $(bucket OBJ "$b-results-$n" create)"
done
# node i: its own bucket, read and write. No consumer on any bucket: whoever may create a consumer names its
# delivery subject, and could have the server deliver on PREFIX.to.<x>.from.<another party> (a forged
# sender); nodes read objects with message gets only (runtime/shard-store-nats.ts).
snap_own() { echo "$(bucket OBJ "$b-snap-$1"), \"\$JS.API.STREAM.PURGE.OBJ_$b-snap-$1\", \"\$O.$b-snap-$1.>\""; }

party() { # user password-variable cluster-id jetstream-subjects
  echo "  { user: $1, password: \$$2, permissions: {"
  echo "      publish: { allow: [\"$p.to.*.from.$3\", $4] },"
  echo "      subscribe: { allow: [\"$p.to.$3.from.*\", \"_INBOX_$1.>\"] } } }"
}
echo "# m3fg users: the cluster, the job queue and the snapshot bucket (deploy/gen-users.sh $k $p)"
echo "users: ["
party coordinator M3FG_COORDINATOR_PASS coord "$coordinator_jobs$jobs_coordinator$snap_coordinator"
for i in "${!names[@]}"; do n="${names[$i]}"; party "$n" "M3FG_NODE_$((i + 1))_PASS" "$n" "$(node_jobs "$n"), $(snap_own "$n")$snap_read"; done
echo "]"
