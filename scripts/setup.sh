#!/usr/bin/env bash
# Installs what the app and its tests need on Debian 12 (idempotent: skips what is present).
# Needs Rust (cargo), Node 20+ (npm) and git; installs the rest.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential pkg-config file curl
  libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev libayatana-appindicator3-dev librsvg2-dev
  libssl-dev libdbus-1-dev
  xvfb xauth dbus dbus-x11 webkit2gtk-driver at-spi2-core
  rpm imagemagick
  sqlite3 python3
)

need_apt=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$p")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi

command -v cargo >/dev/null || { echo "setup: cargo (Rust) is required: https://rustup.rs" >&2; exit 1; }
command -v npm >/dev/null || { echo "setup: npm (Node 20+) is required" >&2; exit 1; }

# tauri-driver: the WebDriver bridge for end-to-end tests.
if ! command -v tauri-driver >/dev/null && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
  echo "setup: installing tauri-driver"
  cargo install tauri-driver --version '^2' --locked
fi

# cargo-deny: supply-chain check (licenses, bans, sources) run by scripts/test.sh.
if ! command -v cargo-deny >/dev/null && [ ! -x "$HOME/.cargo/bin/cargo-deny" ]; then
  echo "setup: installing cargo-deny"
  cargo install cargo-deny --version '^0.20' --locked
fi

# Front-end dependencies (reinstalled only when the lock file changes).
stamp=ui/node_modules/.package-lock.sha
want=$(sha256sum ui/package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing npm packages"
  # `npm install` (not `npm ci`): it installs the locked versions, and also copes with lock
  # files written under `omit-lockfile-registry-resolved`, which omit other platforms'
  # optional packages and make `npm ci` refuse them.
  (cd ui && npm install --no-fund --no-audit)
  echo "$want" > "$stamp"
fi
echo "setup: ok"
