#!/usr/bin/env bash
# Runs every benchmark side by side with the peers and the floor, prints one table and records it
# in BENCHMARKS.md (about 20 minutes on 2 cores, plus the app builds below). Options go to
# `cti-bench all`, e.g.
#   bash scripts/bench.sh --quick            # a smoke run of a few minutes
#   bash scripts/bench.sh --history-calls 200000 --secs 10
#   bash scripts/bench.sh --build-apps       # rebuild the apps first (after changing the app)
# Needs Rust, Node 20+ (ui/node_modules: scripts/setup.sh) and python3 (the Python peer is
# installed into target/bench-venv from PyPI). The app measurements (memory, startup, package
# size) use the shipped build: the panel and the empty Tauri app, binary + .deb, Cargo profile
# `dist` under target/dist/. `all` builds them when they are missing (a fresh clone: about 19
# minutes more on 2 cores, 12 for the panel and 6 for the empty app); `--no-build` skips that.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run -q -p cti-bench --release -- all "$@"
