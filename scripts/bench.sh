#!/usr/bin/env bash
# Runs every benchmark side by side with the peers and the floor, prints one table and records it
# in BENCHMARKS.md, with where the time went (about 25 minutes from a fresh clone on 2 cores: 9
# of building, 16 of measuring). Options go to `cti-bench all`, e.g.
#   bash scripts/bench.sh --quick            # a smoke run of a few minutes
#   bash scripts/bench.sh --history-calls 200000 --secs 5
#   bash scripts/bench.sh --no-build         # measure the apps as built (no rebuild check)
# Needs Rust, Node 20+ (ui/node_modules: scripts/setup.sh) and python3 (the Python peer is
# installed into target/bench-venv from PyPI). The app measurements (memory, startup, event to
# screen, package size) use the shipped build: `all` first builds the panel and the empty Tauri
# app (binaries + .deb, release profile, one cargo build for both; cargo skips what is up to
# date). CTI_BENCH_T0 lets the report count the time spent building cti-bench itself.
set -euo pipefail
cd "$(dirname "$0")/.."
export CTI_BENCH_T0="$(date +%s.%N)"
exec cargo run -q -p cti-bench --release -- all "$@"
