#!/usr/bin/env bash
# Runs the end-to-end tests: Xvfb display, a D-Bus session, tauri-driver (which starts
# WebKitWebDriver), then node's test runner over tests/e2e/*.test.mjs (or the files given:
# `bash tests/e2e/run.sh tests/e2e/parking.test.mjs`).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
export WEBKIT_DISABLE_COMPOSITING_MODE=1
export RUST_LOG="${RUST_LOG:-info}"
work=$(mktemp -d)
# Each run gets its own config/data dirs, so the tests never touch the user's files.
export XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data" XDG_CACHE_HOME="$work/cache"
export CTI_PANEL_PROVISIONING="$work/provisioning.toml"
export CTI_PANEL_SECRETS__BACKEND=file
mkdir -p target/e2e-screenshots
files="${*:-tests/e2e/*.test.mjs}"

display=:${CTI_E2E_DISPLAY:-99}
# Another run on the same machine needs its own display and ports (CTI_E2E_DISPLAY, CTI_E2E_PORT).
port=${CTI_E2E_PORT:-4444}
export CTI_E2E_DRIVER="http://127.0.0.1:$port"
Xvfb "$display" -screen 0 1280x900x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb=$!
# The app's and the drivers' output is kept in target/e2e-logs for a failed run's diagnosis.
mkdir -p target/e2e-logs
trap 'cp "$work/tauri-driver.log" target/e2e-logs/ 2>/dev/null || true; kill $xvfb 2>/dev/null || true; rm -rf "$work" 2>/dev/null || true' EXIT
export DISPLAY=$display
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X${display#:}" ] && break; sleep 0.1; done

# The tests' own exit status is written to a file: dbus-run-session sometimes reports the
# teardown of the session bus instead of its child's status.
echo 1 > "$work/status"
dbus-run-session -- bash -c '
  tauri-driver --port '"$port"' --native-port '"$((port + 1))"' >"'"$work"'/tauri-driver.log" 2>&1 &
  driver=$!
  for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/'"$port"') 2>/dev/null && break; sleep 0.1; done
  status=0
  node --test --test-concurrency=1 '"$files"' || status=$?
  kill $driver 2>/dev/null || true
  if [ $status -ne 0 ]; then echo "--- tauri-driver log ---"; tail -50 "'"$work"'/tauri-driver.log"; fi
  echo "e2e: node exited $status"; echo $status > "'"$work"'/status"
' || true
status=$(cat "$work/status")
exit "$status"
