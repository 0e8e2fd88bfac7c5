#!/usr/bin/env bash
# Runs every test: formatting, lints, Rust tests, binding drift, UI unit tests, and the
# end-to-end tests that drive the real app window under Xvfb through tauri-driver.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# One full pass over a clone: incremental compilation data would only cost disk (several GB)
# and time. Set CARGO_INCREMENTAL=1 to keep it for repeated local runs.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
bash scripts/setup.sh

step() { echo; echo "==> $*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo deny (licenses, bans, sources)"
# The advisory database is fetched over the network; machines that reach only the package
# registries skip it unless CTI_DENY_ADVISORIES=1 (see deny.toml).
cargo deny --log-level error check licenses bans sources
if [ "${CTI_DENY_ADVISORIES:-0}" = 1 ]; then
  cargo deny --log-level error check advisories
fi

step "UI build (the app embeds it)"
(cd ui && npm run build --silent)

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Rust tests"
cargo test --workspace --locked

step "TypeScript bindings are up to date"
if ! git diff --quiet -- ui/src/bindings || [ -n "$(git status --porcelain --untracked-files=all -- ui/src/bindings)" ]; then
  git status --short -- ui/src/bindings
  echo "The committed TypeScript bindings differ from the Rust types: run the Rust tests and commit ui/src/bindings." >&2
  exit 1
fi

step "UI type check and unit tests"
(cd ui && npm run check --silent && npx vitest run)

step "App build for end-to-end tests"
bash scripts/build-app.sh

step "App crash safety: the headless app SIGKILLed during a webhook flood, 20 rounds (long: scripts/long-tests.sh app-crash)"
CTI_APP_CRASH_ROUNDS="${CTI_APP_CRASH_ROUNDS:-20}" bash tests/crash/run.sh

step "End-to-end tests (real window under Xvfb)"
bash tests/e2e/run.sh
