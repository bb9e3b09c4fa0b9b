#!/usr/bin/env bash
# Crash safety, measured (issue 14.7; a stress script, not a unit test): SIGKILLs a sweep at
# KILLS random moments, resuming each time with --resume, then lets it finish and compares the
# result with an uninterrupted run: the same configurations with the same recall (threads 1,
# fixed seed: builds are bit-reproducible) and the same recommendation (objective memory).
# Usage: tests/tune/crash_stress.sh TUNE_BINARY DATA_DIR [KILLS=20] [SEED=1]
set -euo pipefail
TUNE=$1 DATA=$2 KILLS=${3:-20} SEED=${4:-1}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/qtune-crash.XXXXXX)
trap 'rm -rf "$T"' EXIT
sed -e "s|\.\./\.\./shared/data|$DATA|g" -e "s|^threads: .*|threads: 1|" -e "s|^repetitions: .*|repetitions: 1|" \
  -e "s|optimize: latency_p50|optimize: memory|" \
  "$SRC/sweeps/sift10k.yaml" > "$T/spec.yaml"
echo "cache_dir: $T/cache" >> "$T/spec.yaml"

t0=$(date +%s.%N)
"$TUNE" "$T/spec.yaml" -o "$T/ref" --quiet > /dev/null
t1=$(date +%s.%N)
REF_S=$(python3 -c "print($t1 - $t0)")
echo "uninterrupted run: $(python3 -c "print('%.1f' % $REF_S)") s, $(wc -l < "$T/ref/results.jsonl") points"

RANDOM=$SEED
kills=0 finished_early=0 lines=""
for i in $(seq "$KILLS"); do
  # a random moment, scaled so that the KILLS kills spread over the whole sweep (each resumed
  # run only has the rest of the work to do)
  delay=$(python3 -c "import random; random.seed($SEED * 1000 + $i); print('%.3f' % random.uniform(0.2, 2.5 * $REF_S / $KILLS))")
  "$TUNE" "$T/spec.yaml" -o "$T/run" --resume --quiet > /dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  if kill -9 "$pid" 2>/dev/null; then
    kills=$((kills + 1))
  else
    finished_early=$((finished_early + 1))
  fi
  wait "$pid" 2>/dev/null || true
  n=$( [ -f "$T/run/results.jsonl" ] && grep -c . "$T/run/results.jsonl" || echo 0)
  lines="$lines $n"
done
"$TUNE" "$T/spec.yaml" -o "$T/run" --resume --quiet > /dev/null
python3 - "$T/ref" "$T/run" <<'PY'
import json, sys
def pts(d):
    return sorted((p["key"], p["tuning_recall_ids"]["value"], p["validation_recall_ids"]["value"])
                  for p in map(json.loads, open(d + "/results.jsonl")))
a, b = pts(sys.argv[1]), pts(sys.argv[2])
def rec(d):
    t = open(d + "/recommended.yaml").read()
    return t[t.index("index:"):t.index("dim:")]
same = a == b
print(f"final: {len(b)} points, (configuration, recall) set {'IDENTICAL' if same else 'DIFFERENT'} to the uninterrupted run; "
      f"recommendation {'same' if rec(sys.argv[1]) == rec(sys.argv[2]) else 'DIFFERENT'}")
sys.exit(0 if same and rec(sys.argv[1]) == rec(sys.argv[2]) else 1)
PY
echo "SIGKILLs: $kills (runs that had already finished: $finished_early); points on disk after each kill:$lines"
