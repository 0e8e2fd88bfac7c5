#!/usr/bin/env bash
# Runs every benchmark side by side with the peers and the floor, prints one table and records it
# in BENCHMARKS.md (about 25 minutes on 2 cores). Options go to `cti-bench all`, e.g.
#   bash scripts/bench.sh --quick            # a smoke run of a few minutes
#   bash scripts/bench.sh --history-calls 200000 --secs 10
# Needs Rust, Node 20+ and python3 (the Python peer is installed into target/bench-venv from PyPI).
# The app binary measurements (memory of the window, startup, package size) use what is built:
#   ui/node_modules/.bin/tauri build --bundles deb   # release binary + .deb
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run -q -p cti-bench --release -- all "$@"
