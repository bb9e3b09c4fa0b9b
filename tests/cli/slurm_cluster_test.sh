#!/usr/bin/env bash
# Real Slurm: starts a private one-node cluster (its own munged socket, ports, state, spool and
# logs in a temp folder; never touches a Slurm or munge the machine already runs), then
#   1. tune submit --slurm sweeps/sift10k.yaml with 3 array tasks, waits for the chain
#      (plan -> run array -> merge) and compares with a one-process run (threads 1): the same
#      (configuration, recall) set, the same recommendation under objective memory;
#   2. cancels one array task mid-run: tune merge names the missing unit(s) with their shard and
#      exits 1; resubmitting only that shard completes the run.
# Usage: slurm_cluster_test.sh TUNE_BINARY SOURCE_DIR DATA_DIR. Exit 77 = skipped (no Slurm).
set -euo pipefail
TUNE=$1 SRC=$2 DATA=$3
for b in slurmctld slurmd munged sbatch squeue scancel; do
  command -v "$b" >/dev/null 2>&1 || { echo "SKIP: $b not installed (bash .ci/install-deps)"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "SKIP: the private cluster runs its daemons as root"; exit 77; }
[ -f "$DATA/sift10k/siftsmall_base.fvecs" ] || { echo "SKIP: no sift10k in $DATA"; exit 77; }
id munge >/dev/null 2>&1 || { echo "SKIP: no munge user"; exit 77; }

T=$(mktemp -d /tmp/qtune-slurm.XXXXXX)
chmod 755 "$T"
HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
PORT=$(( 20000 + RANDOM % 20000 ))
cleanup() {
  for f in "$T/slurmd.pid" "$T/slurmctld.pid" "$T/munge/munged.pid"; do
    [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
  done
  sleep 1
  rm -rf "$T"
}
trap cleanup EXIT

# --- munge: our own daemon and socket, the machine's key (created if absent) -------------------
mkdir -p "$T/munge"
chown munge:munge "$T/munge"
chmod 711 "$T/munge"
if [ ! -f /etc/munge/munge.key ]; then
  mkdir -p /etc/munge && chown munge:munge /etc/munge
  (command -v mungekey >/dev/null && mungekey -c -k /etc/munge/munge.key) ||
    dd if=/dev/urandom of=/etc/munge/munge.key bs=128 count=1 2>/dev/null
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
fi
su -s /bin/sh munge -c "munged --socket=$T/munge/munge.sock --pid-file=$T/munge/munged.pid \
  --log-file=$T/munge/munged.log --seed-file=$T/munge/munged.seed --key-file=/etc/munge/munge.key"

# --- slurm ---------------------------------------------------------------------------------------
mkdir -p "$T/state" "$T/spool"
cat > "$T/slurm.conf" <<CONF
ClusterName=qtunetest
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
AuthInfo=socket=$T/munge/munge.sock
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=qtune Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$T/slurm.conf
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 60); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 0.5; done
sinfo -h -o %T | grep -q idle || { echo "FAIL: the private cluster did not come up"; cat "$T"/*.log; exit 1; }

# --- the spec: sweeps/sift10k.yaml with absolute data paths, objective memory -----------------
sed -e "s|\.\./\.\./shared/data|$DATA|g" -e "s|optimize: latency_p50|optimize: memory|" \
    -e "s|^repetitions: .*|repetitions: 1|" "$SRC/sweeps/sift10k.yaml" > "$T/sift10k.yaml"
echo "cache_dir: $T/cache" >> "$T/sift10k.yaml"

wait_jobs() {  # until none of our jobs is pending or running
  for _ in $(seq 600); do [ -z "$(squeue -h -o %i)" ] && return 0; sleep 0.5; done
  echo "FAIL: jobs still queued"; squeue; exit 1
}

# 1. three array tasks vs one process
t0=$(date +%s.%N)
"$TUNE" submit --slurm "$T/sift10k.yaml" --shards 3 --cpus-per-task 1 --threads 1 -o "$T/sharded"
wait_jobs
t1=$(date +%s.%N)
[ -f "$T/sharded/recommended.yaml" ] || { echo "FAIL: no merged recommendation"; tail -n 20 "$T"/sharded/slurm/*.out; exit 1; }
"$TUNE" "$T/sift10k.yaml" --threads 1 -o "$T/one" --quiet > /dev/null
t2=$(date +%s.%N)
python3 - "$T/sharded" "$T/one" <<'PY'
import json, sys
def points(d):
    return sorted((p["key"], p["tuning_recall_ids"]["value"], p["validation_recall_ids"]["value"])
                  for p in map(json.loads, open(d + "/results.jsonl")))
def index(d):
    text = open(d + "/recommended.yaml").read()
    return text[text.index("index:"):text.index("dim:")]
a, b = points(sys.argv[1]), points(sys.argv[2])
assert a == b, f"sharded and one-process points differ:\n{a}\n{b}"
assert index(sys.argv[1]) == index(sys.argv[2]), "recommendations differ"
hosts = {json.loads(l).get("host") for l in open(sys.argv[1] + "/results.jsonl")}
assert None not in hosts and "" not in hosts, hosts
print(f"same {len(a)} (configuration, recall) points and the same recommendation")
PY
python3 -c "print('WALL slurm 3 tasks: %.1f s   one process: %.1f s' % ($t1 - $t0, $t2 - $t1))"

# 2. a task cancelled mid-run: merge names what is missing; resubmitting that shard completes it
"$TUNE" submit --slurm "$T/sift10k.yaml" --shards 3 --cpus-per-task 1 --threads 1 -o "$T/killed" > "$T/submit2.txt"
cat "$T/submit2.txt"
run_job=$(sed -n 's/.*run \([0-9]*\) (array.*/\1/p' "$T/submit2.txt")
merge_job=$(sed -n 's/.*merge \([0-9]*\)$/\1/p; s/.*merge \([0-9]*\)[^0-9]*$/\1/p' "$T/submit2.txt" | head -1)
for _ in $(seq 600); do squeue -h -j "${run_job}_1" -o %T 2>/dev/null | grep -q RUNNING && break; sleep 0.2; done
sleep 1
scancel "${run_job}_1"
for _ in $(seq 600); do [ -z "$(squeue -h -j "$run_job" -o %i)" ] && break; sleep 0.5; done
scancel "$merge_job" 2>/dev/null || true   # its dependency can no longer be met
wait_jobs
set +e
"$TUNE" merge "$T/killed" > "$T/merge1.txt" 2>&1
rc=$?
set -e
cat "$T/merge1.txt"
[ $rc = 1 ] || { echo "FAIL: merge of an incomplete folder exited $rc, expected 1"; exit 1; }
grep -q "shard 1/3: missing" "$T/merge1.txt" || { echo "FAIL: merge did not name shard 1's unit"; exit 1; }
sbatch --array=1 "$T/killed/slurm/run.sbatch" > /dev/null
wait_jobs
"$TUNE" merge "$T/killed" > "$T/merge2.txt"
cmp <(python3 -c "import json,sys;[print(json.loads(l)['key'],json.loads(l)['validation_recall_ids']['value']) for l in open('$T/killed/results.jsonl')]" | sort) \
    <(python3 -c "import json,sys;[print(json.loads(l)['key'],json.loads(l)['validation_recall_ids']['value']) for l in open('$T/one/results.jsonl')]" | sort) ||
  { echo "FAIL: resubmitted run differs from one process"; exit 1; }
echo "PASS: cancelled shard named by merge, resubmitted, merged equal to one process"
