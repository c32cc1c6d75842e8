#!/usr/bin/env bash
# The local speed target of `m3fg experiment paper`: its wall time side by side against the sequential time,
# three runs one after another on this machine, each from a fresh folder:
#   1. `experiment paper` of the commit main was at when the parameter studies were asked for (f989e1c: every
#      job one after another, each on all threads): "today's sequential time" of that request;
#   2. this tree's `experiment paper --sequential` (one job at a time on every thread, today's kernels);
#   3. this tree's `experiment paper` (whole jobs side by side, one per thread).
# Prints the three wall times and the ratios. Run it on an otherwise idle machine (~12 min for the full study);
# only ratios of runs back to back mean anything.
#
#   bench/paper-schedule.sh [--quick] [--out DIR] [--old DIR] [--threads N]
#
# --old: a checkout of the old commit (default ../old14 beside this worktree). Created when missing: a git
# worktree at OLD_COMMIT with this tree's node_modules hard-linked (the old launcher runs the .ts sources).
set -euo pipefail

OLD_COMMIT=f989e1c
here=$(cd "$(dirname "$0")/.." && pwd)
out=/tmp/paper-schedule
old="$(dirname "$here")/old14"
quick=()
threads=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=(--quick) ;;
    --out) out="$2"; shift ;;
    --old) old="$2"; shift ;;
    --threads) threads=(--threads "$2"); shift ;;
    *) echo "m3fg: bench/paper-schedule.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done

if [ ! -f "$old/bin/m3fg.js" ]; then
  echo "preparing $old at $OLD_COMMIT ..."
  git -C "$here" worktree add --detach "$old" "$OLD_COMMIT" >/dev/null
  cp -al "$here/node_modules" "$old/node_modules"
fi
[ "$(git -C "$old" rev-parse --short=7 HEAD)" = "$OLD_COMMIT" ] || { echo "m3fg: --old $old is not at $OLD_COMMIT" >&2; exit 2; }

mkdir -p "$out"
# one study into a fresh folder; prints its wall seconds on the last line of $out/<name>.log
timed() {
  local name=$1 dir=$2; shift 2
  rm -rf "${out:?}/$name"
  echo "== $name: $*" >&2
  local t0 t1
  t0=$(date +%s.%N)
  (cd "$dir" && node bin/m3fg.js experiment paper "${quick[@]}" "${threads[@]}" --out "$out/$name" "$@") >"$out/$name.log" 2>&1 ||
    { tail -5 "$out/$name.log" >&2; echo "m3fg: $name failed (log: $out/$name.log)" >&2; exit 1; }
  t1=$(date +%s.%N)
  grep -E '^schedule:|total wall time' "$out/$name.log" >&2 || true
  echo "$t1 - $t0" | bc
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
old_s=$(timed old "$old")
seq_s=$(timed sequential "$here" --sequential)
side_s=$(timed side "$here")
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

ratio() { echo "scale=3; 100 * $1 / $2" | bc; }
printf '\nexperiment paper%s on %s threads (wall seconds, back to back):\n' "${quick:+ --quick}" "${threads[1]:-all}"
printf '  old (%s), one job after another   %8.1f s\n' "$OLD_COMMIT" "$old_s"
printf '  --sequential                       %8.1f s\n' "$seq_s"
printf '  side by side                       %8.1f s\n' "$side_s"
printf '  side by side / old:           %6.1f %%   (target: at most 60 %%)\n' "$(ratio "$side_s" "$old_s")"
printf '  side by side / --sequential:  %6.1f %%\n' "$(ratio "$side_s" "$seq_s")"
printf '  --sequential / old:           %6.1f %%\n' "$(ratio "$seq_s" "$old_s")"
