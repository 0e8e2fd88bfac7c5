#!/usr/bin/env bash
# Quick start: install what is missing, build, and launch the panel in demo mode against the
# built-in PBX simulator. Without a graphical display it runs headless and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build-app.sh
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "run-demo: no graphical display (DISPLAY/WAYLAND_DISPLAY unset): running the core headless in demo mode."
  echo "run-demo: on a desktop this opens the window. Ctrl-C stops."
  exec target/debug/cti-panel --demo --headless
fi
exec target/debug/cti-panel --demo
