#!/usr/bin/env bash
# The Slurm round trip of docs/distributed.md, for real: starts a one-node Slurm cluster on this machine
# (munged, slurmctld and slurmd of Debian's slurm-wlm and munge, everything under one temporary
# directory, nothing in /etc), submits examples/slurm/submit.sh — a job array of sweep shards and the
# afterok merge job — waits for both (at most DCTWIN_SLURM_TIMEOUT_S, default 300 s, each wait), and
# checks that the merged outputs are byte-identical to a local `dctwin sweep` and that the logs went to
# OUT/slurm/. Then the same for a size study (submit.sh --size, 2 tasks that wait for each other) against
# a local `dctwin size`, and a sweep whose shards fail: its merge must be cancelled, not left pending.
# Stops every daemon it started on exit, whatever happens.
#
#   bash tests/slurm/roundtrip.sh [path/to/dctwin]      (default: target/release/dctwin)
#
# Needs slurmctld, slurmd and munged (apt-get install slurm-wlm munge) and root, or a user
# who may run the daemons. No cgroups: proctrack/linuxproc and task/none, so it runs in containers
# without cgroup delegation. DCTWIN_SLURM_KEEP=1 keeps the temporary directory (logs, state, outputs).
set -euo pipefail
cd "$(dirname "$0")/../.."

dctwin=${1:-target/release/dctwin}
dctwin=$(cd "$(dirname "$dctwin")" && pwd)/$(basename "$dctwin")
sweep=examples/sweeps/quickstart-seeds.ron
tasks=3                                   # more tasks than this 2-core node runs at once: some queue
timeout_s=${DCTWIN_SLURM_TIMEOUT_S:-300}
ctld_port=${DCTWIN_SLURM_CTLD_PORT:-16817}
slurmd_port=${DCTWIN_SLURM_SLURMD_PORT:-16818}

for tool in "$dctwin" slurmctld slurmd munged sbatch squeue scontrol sinfo; do
    command -v "$tool" >/dev/null 2>&1 || { echo "roundtrip: $tool not found (apt-get install slurm-wlm munge)" >&2; exit 1; }
done

start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/dctwin-slurm.XXXXXX")
chmod 755 "$work"   # jobs and daemons read their files here; munge's own directory stays private
mkdir -p "$work/munge" "$work/etc" "$work/state" "$work/spool" "$work/log"
chmod 700 "$work/munge"
pids=()

show_logs() {
    for f in "$work"/log/* "$work"/*/slurm/*; do
        [ -f "$f" ] || continue
        echo "---- $f (last 30 lines)" >&2
        tail -n 30 "$f" >&2
    done
}
cleanup() {
    status=$?
    trap - EXIT INT TERM
    if [ "$status" -ne 0 ]; then
        echo "roundtrip: FAILED (exit $status); logs:" >&2
        show_logs
        [ -z "${SLURM_CONF:-}" ] || squeue -a 2>/dev/null >&2 || true
    fi
    # Jobs still running (a failure, a timeout, an interrupt): cancel them while the cluster is up.
    if [ -n "${SLURM_CONF:-}" ] && [ -n "$(squeue -h -o %i 2>/dev/null)" ]; then
        scancel --quiet --user="$(id -un)" 2>/dev/null || true
        for _ in $(seq 20); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.5; done
    fi
    # Only the daemons this script started, by their pid.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[i]}" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    # A job step outlives a killed slurmd: end those of this cluster (their environment names our
    # slurm.conf), and nothing else.
    for pid in $(pgrep -x slurmstepd 2>/dev/null); do
        if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "SLURM_CONF=$work/etc/slurm.conf"; then
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
    if [ "${DCTWIN_SLURM_KEEP:-0}" = 1 ]; then
        echo "roundtrip: kept $work" >&2
    else
        rm -rf "$work"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Munge: a fresh key and a private socket, so a munged the machine already runs is left alone.
mungekey --create --keyfile="$work/munge/munge.key" 2>/dev/null \
    || { dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none; chmod 400 "$work/munge/munge.key"; }
munged --foreground --force --socket="$work/munge/socket" --key-file="$work/munge/munge.key" \
    --pid-file="$work/munge/munged.pid" --log-file="$work/log/munged.log" \
    --seed-file="$work/munge/seed" >/dev/null 2>&1 &
pids+=($!)

# Slurm: one node, "localhost", with this machine's CPUs (at least 2: the size study's 2 tasks must run
# at once; config_overrides lets the node claim more than it has) and half its memory.
cpus=$(nproc)
[ "$cpus" -ge 2 ] || cpus=2
mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 / 2 }' /proc/meminfo)
export SLURM_CONF="$work/etc/slurm.conf"
cat >"$SLURM_CONF" <<CONF
ClusterName=dctwin-ci
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=$(id -un)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups: containers often lack cgroup v2 delegation.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$work/log/jobcomp.txt
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=600
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF

slurmctld -D -c -f "$SLURM_CONF" >>"$work/log/slurmctld.stdout" 2>&1 &
pids+=($!)
slurmd -D -N localhost -f "$SLURM_CONF" >>"$work/log/slurmd.stdout" 2>&1 &
pids+=($!)

daemons_alive() {
    local pid
    for pid in "${pids[@]}"; do
        kill -0 "$pid" 2>/dev/null || { echo "roundtrip: a daemon (pid $pid) exited" >&2; exit 1; }
    done
}
# Wait for the node to be up and idle.
deadline=$((SECONDS + 60))
until [ "$(sinfo -h -n localhost -o %T 2>/dev/null)" = idle ]; do
    if [ $SECONDS -ge $deadline ]; then
        echo "roundtrip: the Slurm node did not come up within 60 s (sinfo: $(sinfo -h -o '%T %E' 2>&1))" >&2
        exit 1
    fi
    daemons_alive
    sleep 0.5
done
up=$(date +%s)
echo "roundtrip: one-node Slurm up ($cpus CPUs, $mem_mb MB) in $((up - start)) s"

# Waits until the jobs have left the queue, at most timeout_s; a daemon that dies fails at once.
wait_for() {
    local deadline=$((SECONDS + timeout_s)) ids queued
    ids=$(IFS=,; echo "$*")
    while :; do
        daemons_alive
        # An squeue that fails (a busy controller) counts as "still queued": ask again.
        if queued=$(squeue -h -j "$ids" -o %i 2>/dev/null) && [ -z "$queued" ]; then
            return 0
        fi
        if [ $SECONDS -ge $deadline ]; then
            echo "roundtrip: jobs $ids still queued or running after ${timeout_s} s:" >&2
            squeue -a >&2 || true
            exit 1
        fi
        sleep 1
    done
}
# completed ARRAY_JOB TASKS JOB: every array task and the job COMPLETED with exit code 0.
completed() {
    local states state
    states=$(scontrol -o show job "$1" | grep -o 'JobState=[A-Z_]*' | sort | uniq -c | tr -s ' ' | tr '\n' ';')
    state=$(scontrol -o show job "$3" | grep -o 'JobState=[A-Z_]*')
    if [ "$(scontrol -o show job "$1" | grep -c 'JobState=COMPLETED .*ExitCode=0:0')" -ne "$2" ] \
        || [ "$state" != JobState=COMPLETED ]; then
        echo "roundtrip: array $1 tasks:$states job $3: $state" >&2
        exit 1
    fi
}

# The reference: the same sweep on this machine.
"$dctwin" sweep "$sweep" --quiet --threads 2 --out "$work/local"

# Submit from the repo root, as a user would; no log may land here.
before=$(find . -maxdepth 1 -name '*.out' | wc -l)
ids=$(examples/slurm/submit.sh --tasks "$tasks" --dctwin "$dctwin" "$sweep" "$work/out")
read -r array_id merge_id <<<"$ids"
echo "roundtrip: submitted array $array_id ($tasks tasks), merge $merge_id (afterok)"

wait_for "$array_id" "$merge_id"
completed "$array_id" "$tasks" "$merge_id"

for f in runs.jsonl results.csv points.csv sweep_figure.svg sweep_tradeoff.svg report.html; do
    cmp "$work/local/$f" "$work/out/$f"
done
for ((i = 0; i < tasks; i++)); do
    test -f "$work/out/slurm/dctwin-sweep-${array_id}_$i.out" \
        || { echo "roundtrip: no log of array task $i in OUT/slurm/" >&2; exit 1; }
    test -s "$work/out/shard-$i-of-$tasks.jsonl" || { echo "roundtrip: shard $i wrote nothing" >&2; exit 1; }
done
test -f "$work/out/slurm/dctwin-merge-$merge_id.out" || { echo "roundtrip: no merge log in OUT/slurm/" >&2; exit 1; }
after=$(find . -maxdepth 1 -name '*.out' | wc -l)
[ "$after" -eq "$before" ] || { echo "roundtrip: Slurm logs landed in the repo root" >&2; exit 1; }

# A size study: 2 array tasks that wait for each other every round, then its outputs (afterok).
size=examples/sizing/quickstart-servers.ron
"$dctwin" size "$size" --quiet --threads 2 --out "$work/size-local"
ids=$(examples/slurm/submit.sh --size --tasks 2 --dctwin "$dctwin" "$size" "$work/size-out")
read -r size_array_id size_outputs_id <<<"$ids"
wait_for "$size_array_id" "$size_outputs_id"
completed "$size_array_id" 2 "$size_outputs_id"
for f in size.json size.csv size.svg report.html; do
    cmp "$work/size-local/$f" "$work/size-out/$f"
done
test -s "$work/size-out/size-shard-0-of-2.jsonl" && test -s "$work/size-out/size-shard-1-of-2.jsonl" \
    || { echo "roundtrip: the size shards wrote nothing" >&2; exit 1; }

# A failing shard: the merge must be cancelled at once (afterok, --kill-on-invalid-dep), not left pending.
ids=$(examples/slurm/submit.sh --tasks 2 --dctwin /bin/false "$sweep" "$work/out-failing" 2>/dev/null)
read -r array_id merge_id <<<"$ids"
wait_for "$array_id" "$merge_id"
merge_state=$(scontrol -o show job "$merge_id" | grep -o 'JobState=[A-Z_]*')
[ "$merge_state" = JobState=CANCELLED ] \
    || { echo "roundtrip: after a failed shard the merge ended $merge_state, not CANCELLED" >&2; exit 1; }
[ ! -e "$work/out-failing/results.csv" ] || { echo "roundtrip: a merge ran after a failed shard" >&2; exit 1; }

end=$(date +%s)
echo "roundtrip OK: $tasks array tasks and the afterok merge completed; the merged outputs are the local sweep's bytes;" \
    "logs in OUT/slurm/; a 2-task size study's outputs are the local ones; a failed shard cancels the merge (cluster up in $((up - start)) s, jobs $((end - up)) s, total $((end - start)) s)"
