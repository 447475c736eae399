#!/usr/bin/env bash
# Submits a dctwin sweep to Slurm: the shards as a job array (examples/slurm/sweep.sbatch), then
# `dctwin merge` (examples/slurm/merge.sbatch) with --dependency=afterok on the array, so the merge
# starts once every shard succeeded and is cancelled if one failed. With --size, a size study
# (examples/slurm/size.sbatch; every task must run at the same time), then its outputs.
#
#   examples/slurm/submit.sh [OPTIONS] SWEEP.ron OUT_DIR [-- SBATCH_OPTIONS...]
#   examples/slurm/submit.sh --size [OPTIONS] SIZE.ron OUT_DIR [-- SBATCH_OPTIONS...]
#
# Options (each also read from the environment variable shown; the defaults fit any node):
#   --tasks N          array size = number of shards           (DCTWIN_SLURM_TASKS, 4)
#   --max-running K    at most K tasks at once (%K)             (DCTWIN_SLURM_MAX_RUNNING, no limit)
#   --cpus N           CPUs per task, also dctwin's --threads   (DCTWIN_SLURM_CPUS, 1)
#   --mem-per-cpu M    memory per CPU, sbatch units (512M, 2G)  (DCTWIN_SLURM_MEM_PER_CPU, 1G)
#   --time T           time limit per task, sbatch format       (DCTWIN_SLURM_TIME, 01:00:00)
#   --partition P      partition                                (DCTWIN_SLURM_PARTITION, the default)
#   --dctwin PATH      the dctwin binary on the nodes           (DCTWIN, dctwin on PATH)
#   --size             the file is a size study (dctwin size), not a sweep
# Everything after `--` goes to both sbatch calls as it is (e.g. --account=proj --qos=short).
#
# OUT_DIR must be on a filesystem every node sees. The Slurm logs go to OUT_DIR/slurm/
# (dctwin-sweep-<array job>_<task>.out or dctwin-size-…, dctwin-merge-<job>.out), never to the
# directory you submit from. Prints the two job ids, array then merge, on stdout (for scripts); says
# what it did on stderr. After the merge job OUT_DIR holds runs.jsonl, results.csv, points.csv, the
# charts and report.html (size: size.json, size.csv, size.svg, report.html), byte for byte what
# `dctwin sweep` (`dctwin size`) writes on one machine. See docs/distributed.md.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

tasks=${DCTWIN_SLURM_TASKS:-4}
max_running=${DCTWIN_SLURM_MAX_RUNNING:-}
cpus=${DCTWIN_SLURM_CPUS:-1}
mem=${DCTWIN_SLURM_MEM_PER_CPU:-1G}
time_limit=${DCTWIN_SLURM_TIME:-01:00:00}
partition=${DCTWIN_SLURM_PARTITION:-}
dctwin=${DCTWIN:-dctwin}
kind=sweep
positional=()
extra=()
while [ $# -gt 0 ]; do
    case $1 in
        --tasks) tasks=${2:?--tasks needs a value}; shift 2 ;;
        --max-running) max_running=${2:?--max-running needs a value}; shift 2 ;;
        --cpus) cpus=${2:?--cpus needs a value}; shift 2 ;;
        --mem-per-cpu) mem=${2:?--mem-per-cpu needs a value}; shift 2 ;;
        --time) time_limit=${2:?--time needs a value}; shift 2 ;;
        --partition) partition=${2:?--partition needs a value}; shift 2 ;;
        --dctwin) dctwin=${2:?--dctwin needs a value}; shift 2 ;;
        --size) kind=size; shift ;;
        -h|--help) usage ;;
        --) shift; extra=("$@"); break ;;
        -*) echo "submit.sh: unknown option $1" >&2; usage ;;
        *) positional+=("$1"); shift ;;
    esac
done
[ ${#positional[@]} -eq 2 ] || usage
sweep=${positional[0]}
out=${positional[1]}

whole() { case $2 in ''|*[!0-9]*) echo "submit.sh: $1 must be a whole number ≥ 1, not \`$2'" >&2; exit 2 ;; esac
          [ "$2" -ge 1 ] || { echo "submit.sh: $1 must be ≥ 1" >&2; exit 2; }; }
whole --tasks "$tasks"
whole --cpus "$cpus"
[ -z "$max_running" ] || whole --max-running "$max_running"
[ -f "$sweep" ] || { echo "submit.sh: $kind file $sweep not found" >&2; exit 2; }
if [ "$kind" = size ] && [ -n "$max_running" ] && [ "$max_running" -lt "$tasks" ]; then
    echo "submit.sh: a size study's tasks wait for each other: --max-running must be at least --tasks" >&2
    exit 2
fi
command -v sbatch >/dev/null || { echo "submit.sh: sbatch not found: run this on a Slurm login node" >&2; exit 2; }

# Absolute paths: the jobs may start in another directory than this one.
here=$(cd "$(dirname "$0")" && pwd)
sweep=$(cd "$(dirname "$sweep")" && pwd)/$(basename "$sweep")
mkdir -p "$out/slurm"   # Slurm opens the log files but does not create their directory
out=$(cd "$out" && pwd)
if [[ $dctwin == */* ]]; then
    dctwin=$(cd "$(dirname "$dctwin")" && pwd)/$(basename "$dctwin")
fi

# shellcheck disable=SC2054  # the comma belongs to --export
common=(--cpus-per-task="$cpus" --mem-per-cpu="$mem" --export=ALL,DCTWIN="$dctwin")
[ -z "$partition" ] || common+=(--partition="$partition")
array="0-$((tasks - 1))${max_running:+%$max_running}"
size_arg=()
[ "$kind" = sweep ] || size_arg=("$sweep")

array_id=$(sbatch --parsable "${common[@]}" --array="$array" --time="$time_limit" \
    --output="$out/slurm/%x-%A_%a.out" "${extra[@]}" "$here/$kind.sbatch" "$sweep" "$out")
array_id=${array_id%%;*}   # --parsable prints "id" or "id;cluster"
merge_id=$(sbatch --parsable "${common[@]}" --dependency=afterok:"$array_id" --kill-on-invalid-dep=yes \
    --output="$out/slurm/%x-%j.out" "${extra[@]}" "$here/merge.sbatch" "$out" ${size_arg[@]+"${size_arg[@]}"})
merge_id=${merge_id%%;*}

echo "submit.sh: $kind $sweep as job array $array_id ($tasks shards, array $array, $cpus CPU(s) and $mem per CPU each, time limit $time_limit)" >&2
echo "submit.sh: $([ "$kind" = sweep ] && echo merge || echo outputs) as job $merge_id after it (afterok); logs in $out/slurm/, outputs in $out/" >&2
echo "$array_id $merge_id"
