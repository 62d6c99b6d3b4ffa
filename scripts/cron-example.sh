#!/usr/bin/env bash
# Run a grokbatch job from cron until it is done; safe to schedule as often as you like.
#
#   crontab -e
#   0 * * * *  /path/to/grokbatch/scripts/cron-example.sh /path/to/batch.json >> /path/to/cron.log 2>&1
#
# Exit codes (see README): 0 done or nothing left, 75 rate limited / still in cooldown
# (the next hourly run will continue), 4 the previous run is still going, 3 the account
# must sign in again, 1 some videos failed for good, 2 a configuration error.
set -u
config=${1:?usage: cron-example.sh CONFIG.json}
config=$(realpath -- "$config") || exit 2  # before the cd: a path relative to the caller
cd "$(dirname "$0")/.." || exit 2
.venv/bin/grokbatch run start --config "$config"
code=$?
case $code in
  0)  echo "$(date -Is) grokbatch: job finished" ;;
  75) echo "$(date -Is) grokbatch: rate limited or cooling down; will continue later" ;;
  4)  echo "$(date -Is) grokbatch: previous run still going" ;;
  3)  echo "$(date -Is) grokbatch: sign in again with 'grokbatch accounts add'" ;;
  *)  echo "$(date -Is) grokbatch: exit $code; see run.log" ;;
esac
exit $code
