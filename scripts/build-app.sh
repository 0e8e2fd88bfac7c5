#!/usr/bin/env bash
# Builds the app binary with the front-end embedded (debug, no installer bundles).
set -euo pipefail
cd "$(dirname "$0")/.."
ui/node_modules/.bin/tauri build --debug --no-bundle "$@"
