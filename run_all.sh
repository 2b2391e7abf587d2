#!/usr/bin/env bash
# Run the kit's notebooks in order, headless, with papermill, then print the experiment table and the table of
# the paper's reported figures against ours, and last one line for the reproduction log (docs/reproductions.md).
#   ./run_all.sh [--profile smoke|mini|paper]      (default: mini)
# Executed copies go to outputs/<profile>/, figures (notebooks 05, 07) to outputs/figures/<profile>/, results to
# results/<profile>/ and checkpoints to artifacts/<profile>/: all ignored by git, so a run leaves the checkout as it
# was (scripts/reference_run.py copies the figures into figures/<profile>/ when it publishes). Each notebook's wall
# time goes to outputs/<profile>/timings.json. Every file of the run records the commit the run started from
# (DEAR_GIT_COMMIT, with -dirty when a tracked file differed from it then).
# Stops at the first notebook that fails, names it, and exits non-zero.
# With no data directory (DEAR_DATA_DIR, ../shared/data), it first downloads the data into the user cache
# (python -m dearlib.retrieval.data ensure; DEAR_DATA_UPSTREAM names a mirror).
set -euo pipefail
cd "$(dirname "$0")"
profile=mini
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile=${2:?--profile needs a value}; shift 2 ;;
    --profile=*) profile=${1#--profile=}; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "run_all.sh: unknown argument '$1' (use --profile smoke|mini|paper)" >&2; exit 2 ;;
  esac
done
case "$profile" in smoke|mini|paper) ;; *) echo "run_all.sh: unknown profile '$profile' (smoke, mini or paper)" >&2; exit 2 ;; esac

# the commit as the run starts, before anything could change the tree; the same rule as
# dearlib.evaluation.results.git_commit, which reads this variable first
commit=$(git rev-parse HEAD 2>/dev/null) || commit=unknown
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no)" ]; then commit="$commit-dirty"; fi
export DEAR_GIT_COMMIT="$commit"
echo "run_all.sh: profile $profile at commit $DEAR_GIT_COMMIT"

scripts/setup_env.sh
export PATH="$PWD/.venv/bin:$PATH"
python -m dearlib.retrieval.data ensure
out="outputs/$profile"
figures="$PWD/outputs/figures"  # the notebooks add /<profile>; never figures/, which holds the published ones
mkdir -p "$out"
rm -f "$out/timings.json"  # never left from an earlier run beside this run's notebooks
timings=()
total_start=$(date +%s)
for nb in notebooks/[0-9][0-9]_*.ipynb; do
  name=$(basename "$nb")
  echo "==> $name (profile $profile)"
  start=$(date +%s)
  params=(-p profile "$profile" -p results_dir "$PWD/results" -p artifacts_dir "$PWD/artifacts")
  # only to the notebooks that draw figures: papermill would inject an unknown parameter into the others too
  if grep -q '"figures_dir = ' "$nb"; then params+=(-p figures_dir "$figures"); fi
  if ! papermill "$nb" "$out/$name" --cwd notebooks --kernel python3 --no-progress-bar "${params[@]}"; then
    echo "FAILED: $name after $(( $(date +%s) - start )) s; the executed copy with the error is $out/$name" >&2
    exit 1
  fi
  seconds=$(( $(date +%s) - start ))
  timings+=("$name=$seconds")
  echo "    $name done in $seconds s"
done
total=$(( $(date +%s) - total_start ))
echo "All notebooks ran in $total s (profile $profile)."
python -m dearlib.publish.reference_run timings "$out/timings.json" --profile "$profile" --total "$total" "${timings[@]}"
echo
python -m dearlib.evaluation.report --results results --profile "$profile"
echo
python -m dearlib.evaluation.report --results results --profile "$profile" --paper
echo
echo "The reproduction log's line of this run (docs/reproductions.md says how to add it):"
python -m dearlib.publish.reproductions "$out/timings.json" --results results
