#!/bin/bash
# A SLURM array job: 16 workers share the Analysis keys through the jobs table.
#   sbatch examples/schedulers/slurm_array.sh
# Each task stops taking keys 5 minutes before its time limit, prints a JSON summary,
# and exits 0 (all it made succeeded), 1 (a make failed: see the JSON) or 2/3 (bad
# configuration / database unreachable: fix and resubmit).
#SBATCH --job-name=analysis
#SBATCH --array=0-15
#SBATCH --time=02:00:00
#SBATCH --cpus-per-task=1
#SBATCH --output=analysis-%A_%a.out
set -euo pipefail
cd "${SLURM_SUBMIT_DIR:-.}"
: "${TYPEDJ_DATABASE_URL:?set TYPEDJ_DATABASE_URL (for example in ~/.bashrc or the sbatch environment)}"
limit=${WORKER_SECONDS:-6900}
exec typedj populate pipeline:Analysis --reserve-jobs --max-seconds "$limit" --json \
    > "analysis-${SLURM_ARRAY_JOB_ID:-local}_${SLURM_ARRAY_TASK_ID:-0}.json"
