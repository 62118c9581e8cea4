#!/usr/bin/env bash
# The kill campaign of issue 16 (recorded in benchmarks/reliability.md): a
# small study (two models, every stage, about a minute uninterrupted) killed
# with kill -9 at KILLS random moments across its stages and resumed each
# time, then interrupted with SIGINT, then a benchmark whose workers run out
# of memory or hang killed mid-run. After every interruption it checks that no
# process of the killed run is left, that the results database passes
# `PRAGMA integrity_check` and `inferbench results list`, and that nothing
# already recorded went missing; after every round, that the resume completed
# and its runs (run keys and statuses) equal an uninterrupted study's.
# The logic is in kill_campaign.py (beside this file); see its --help.
#
# Usage: benchmarks/kill_campaign.sh [options of kill_campaign.py]
# Environment [defaults]: INFERBENCH [build/src/cli/inferbench]
#   WORK [a new folder under /tmp, kept: it holds the logs and summary.json]
#   KILLS [100]  SIGINTS [20]  WORKER_KILLS [20]  SEED [1]
# Options given on the command line win over the environment:
#   benchmarks/kill_campaign.sh --smoke      3 kills, 1 SIGINT, 2 worker kills on a
#                                            one-model study (the ctest KillCampaign.Smoke)
# Exit: 0 every check held; 1 a check failed (listed at the end); 77 only
# leftovers failed and --pending-leftovers was given.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
exe=${INFERBENCH:-$root/build/src/cli/inferbench}
[[ -x $exe ]] || { echo "kill_campaign: no inferbench binary at '$exe' (build it, or set INFERBENCH)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "kill_campaign: needs python3 (scripts/setup.sh installs it)" >&2; exit 2; }
work=${WORK:-$(mktemp -d /tmp/inferbench-kill-campaign.XXXXXX)}
args=(--exe "$exe" --work "$work" --kills "${KILLS:-100}" --sigints "${SIGINTS:-20}"
      --worker-kills "${WORKER_KILLS:-20}" --seed "${SEED:-1}")
if [[ ${1:-} == --smoke ]]; then
  shift
  args+=(--preset smoke --kills 3 --sigints 1 --worker-kills 2 --per-worker-round 2)
fi
exec python3 "$here/kill_campaign.py" "${args[@]}" "$@"
