#!/usr/bin/env bash
# Long versions of the reliability, crash, hostile-input and security suites (RELIABILITY.md).
# The short versions run in the README test command; this runs the same tests longer:
#
#   bash scripts/long-tests.sh                 # everything below (about 20-30 min on 2 cores)
#   bash scripts/long-tests.sh faults          # one group: faults | crash | fuzz | hostile | security | deny | app-crash
#   FUZZ_SECONDS=3600 bash scripts/long-tests.sh fuzz   # each property target for an hour
#   CTI_KNOWN_BUGS=1 bash scripts/long-tests.sh faults  # also the tests pinned as known product bugs
#
# Knobs (environment): CTI_LONG=1 selects the long variant of every test; the specific ones
# override it: CTI_REFUSE_SECS (60), CTI_PAUSE_SECS (120), CTI_DROP_ROUNDS (200), CTI_SIGSTOP_SECS (120),
# CTI_SIGSTOP_LAPSE_SECS (30), CTI_CRASH_ROUNDS (200),
# HISTORY_CRASH_ITERATIONS (200), CTI_RAPID_CONNECTIONS (10000), CTI_TIMING_SAMPLES (5000),
# PROPTEST_CASES (cases per property and run), FUZZ_SECONDS (time per property target),
# CTI_PRODUCTION_TIMINGS=1 (the Era client's shipped backoff: 1 s base, 30 s cap).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CTI_LONG=1
export CTI_PRODUCTION_TIMINGS="${CTI_PRODUCTION_TIMINGS:-1}"
export HISTORY_CRASH_ITERATIONS="${HISTORY_CRASH_ITERATIONS:-200}"
FUZZ_SECONDS="${FUZZ_SECONDS:-600}"
GROUP="${1:-all}"

step() { echo; echo "==> $*"; }
want() { [ "$GROUP" = all ] || [ "$GROUP" = "$1" ]; }
ignored=()
if [ "${CTI_KNOWN_BUGS:-0}" = 1 ]; then ignored=(--include-ignored); fi

# Print the MEASURE lines of a run at the end, so the numbers are easy to copy to RELIABILITY.md.
MEASURES="$(mktemp)"
trap 'echo; echo "==> measurements"; grep "^MEASURE" "$MEASURES" || true; rm -f "$MEASURES"' EXIT
t() { cargo test -p cti-core --locked --test "$1" -- --nocapture --test-threads=1 "${@:2}" 2>&1 | tee -a "$MEASURES"; }

if want faults; then
  step "Era fault matrix (refused 60 s, paused 120 s, production backoff)"
  t reliability_era "${ignored[@]}"
  step "the panel's process stopped (SIGSTOP) for ${CTI_SIGSTOP_SECS:-120} s, then continued"
  t reliability_sigstop
fi

if want crash; then
  step "kill -9 of the listener + history during a webhook flood, ${CTI_CRASH_ROUNDS:-200} rounds"
  t reliability_crash
  step "kill -9 of the history writer, $HISTORY_CRASH_ITERATIONS rounds"
  t history_crash
fi

if want hostile; then
  step "hostile requests; ${CTI_RAPID_CONNECTIONS:-10000} rapid connections"
  t hostile_listener
  t hostile_connections
fi

if want fuzz; then
  # cargo-fuzz needs a nightly toolchain; the property targets run with fresh random seeds,
  # again and again, for FUZZ_SECONDS each.
  export PROPTEST_CASES="${PROPTEST_CASES:-20000}"
  for target in hostile_era_frames hooks_props; do
    step "property target $target for ${FUZZ_SECONDS}s ($PROPTEST_CASES cases per property and run)"
    end=$(( $(date +%s) + FUZZ_SECONDS ))
    runs=0
    while [ "$(date +%s)" -lt "$end" ]; do
      cargo test -p cti-core --locked --test "$target" -q 2>&1 | tail -n 3
      runs=$((runs + 1))
    done
    echo "MEASURE fuzz_$target runs=$runs" | tee -a "$MEASURES"
  done
fi

if want security; then
  step "security pins (5000 timing samples per kind)"
  t security_pins "${ignored[@]}"
fi

if want deny; then
  step "cargo deny"
  if ! command -v cargo-deny >/dev/null; then
    echo "cargo-deny is not installed: cargo install cargo-deny --locked" >&2
    exit 1
  fi
  cargo deny check licenses bans sources
  # The advisory database is fetched over the network; without it this step says so and the
  # offline checks above stand.
  if ! cargo deny check advisories; then
    echo "cargo deny check advisories failed (no network for the advisory database, or an advisory): see above" >&2
    [ "${CTI_REQUIRE_ADVISORIES:-0}" = 1 ] && exit 1
  fi
fi

if want app-crash; then
  step "app-level crash test (headless app, kill -9 during a webhook flood)"
  bash tests/crash/run.sh
fi
