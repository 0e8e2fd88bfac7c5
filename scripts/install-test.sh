#!/usr/bin/env bash
# Install test: build the .deb/.rpm (with a provisioning file), install the .deb into a clean
# Debian 12 root (debootstrap + chroot, no container), then run the installed binary against
# the PBX simulator on the host's loopback (a chroot shares the network):
#   1. the package installed its binary, desktop entry (tel:/callto:) and /etc provisioning file,
#      and every shared library resolves;
#   2. `cti-panel --headless` starts and its webhook listener answers on the provisioned port;
#   3. `cti-panel self-test --config FILE` passes every check (exit code 0).
#
#   sudo bash scripts/install-test.sh [--debug] [--deb FILE] [--keep] [--fresh-root]
#                                     [--sim-port N] [--listener-port N]
#
#   --debug          build the packages in debug mode (much faster; same packaging)
#   --deb FILE       skip the build and install FILE (built by an earlier run of this script,
#                    so its provisioning file points at the same simulator port)
#   --keep           leave the root in target/install-test/root for a look around
#   --fresh-root     debootstrap again instead of unpacking the cached clean root
#
# Needs root (debootstrap, chroot, mounts) and network access to a Debian mirror
# (MIRROR, default http://deb.debian.org/debian). Exit code 0 only when everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:/usr/sbin:/sbin:$PATH"
repo=$PWD

die() { echo "install-test: FAILED: $*" >&2; exit 1; }
say() { echo; echo "==> $*"; }

profile=release
deb=""
keep=0
fresh=0
sim_port=18480
listener_port=18481
while [ $# -gt 0 ]; do
  case "$1" in
    --debug) profile=debug; shift ;;
    --deb) [ $# -ge 2 ] || die "--deb needs a file"; deb="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --fresh-root) fresh=1; shift ;;
    --sim-port) sim_port="$2"; shift 2 ;;
    --listener-port) listener_port="$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mount): run it with sudo"

target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$repo/$target_dir" ;; esac
work="$target_dir/install-test"
root="$work/root"
cache="$work/debian12-minbase.tar"
mirror="${MIRROR:-http://deb.debian.org/debian}"
mkdir -p "$work"

sim_pid=""
app_pid=""
cleanup() {
  set +e
  if [ -n "$app_pid" ]; then
    kill "$app_pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$app_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$app_pid" 2>/dev/null
    wait "$app_pid" 2>/dev/null
  fi
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  for m in dev/pts dev sys proc; do
    mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"
  done
  if [ "$keep" -eq 0 ] && [ -d "$root" ]; then
    rm -rf --one-file-system "$root"
  fi
}
trap cleanup EXIT

# HTTP status of GET /health on a loopback port ("000" when nothing answers).
health() {
  if command -v curl >/dev/null; then
    curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$1/health" || true
  else
    ( exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 0
      printf 'GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
      timeout 3 head -n1 <&3 | sed -n 's|^HTTP/1\.[01] \([0-9]*\).*|\1|p' ) 2>/dev/null || true
  fi
}

in_root() { chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

# --- 1. The packages, shipping a provisioning file made for this test ---------------------
prov="$work/provisioning.toml"
cat > "$prov" <<EOF
# Provisioning file of the install test: the simulator on the host's loopback.
locked = ["era.url", "telphin.host", "listener.port", "ui.language", "secrets.backend"]

[era]
enabled = true
url = "ws://127.0.0.1:$sim_port"

[telphin]
enabled = true
host = "http://127.0.0.1:$sim_port"
client_id = "demo-client"
extension_ids = ["34414"]

[listener]
port = $listener_port

[ui]
language = "ru"

[secrets]
# No keyring service in a bare root: secrets go to the user's 0600 file.
backend = "file"
EOF

if [ -z "$deb" ]; then
  say "Building the packages (scripts/package.sh --provisioning, $profile)"
  pkg_args=(--provisioning "$prov")
  [ "$profile" = debug ] && pkg_args+=(--debug)
  built=$(bash scripts/package.sh "${pkg_args[@]}" | tail -n 2)
  deb=$(sed -n 1p <<<"$built")
fi
[ -f "$deb" ] || die "no .deb to install: $deb"
echo "install-test: package $deb"

# --- 2. A clean Debian 12 root -------------------------------------------------------------
say "Clean Debian 12 root in $root"
if [ -d "$root" ]; then
  for m in dev/pts dev sys proc; do mountpoint -q "$root/$m" && umount -l "$root/$m"; done
  rm -rf --one-file-system "$root"
fi
if [ "$fresh" -eq 1 ] || [ ! -f "$cache" ]; then
  if ! command -v debootstrap >/dev/null; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap
  fi
  mkdir -p "$root"
  debootstrap --variant=minbase bookworm "$root" "$mirror"
  # Keep the pristine root: the next run unpacks it instead of downloading it again.
  tar --numeric-owner -C "$root" -cf "$cache.part" . && mv "$cache.part" "$cache"
else
  mkdir -p "$root"
  tar --numeric-owner -C "$root" -xpf "$cache"
  echo "install-test: unpacked the cached debootstrap root ($cache)"
fi
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
[ -f "$root/usr/bin/cti-panel" ] && die "the root is not clean: cti-panel is already there"

# --- 3. Install the .deb like an admin would -------------------------------------------------
say "apt-get install ./$(basename "$deb") (dependencies from the Debian mirror)"
cp "$deb" "$root/tmp/cti-panel.deb"
in_root apt-get update -q
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /tmp/cti-panel.deb

say "What the package installed"
status=$(in_root dpkg-query -W -f='${Package} ${Version} ${Status}' cti-panel) || die "dpkg does not know cti-panel"
echo "install-test: $status"
grep -q "install ok installed" <<<"$status" || die "dpkg does not list cti-panel as installed"
[ -x "$root/usr/bin/cti-panel" ] || die "/usr/bin/cti-panel is missing"
missing=$(in_root ldd /usr/bin/cti-panel | grep 'not found' || true)
[ -z "$missing" ] || die "shared libraries missing in the clean root:"$'\n'"$missing"
desktop=$(ls "$root"/usr/share/applications/*.desktop 2>/dev/null | head -n1)
[ -n "$desktop" ] || die "no desktop entry in /usr/share/applications"
for scheme in tel callto; do
  grep -q "^MimeType=.*x-scheme-handler/$scheme;" "$desktop" || die "${desktop#"$root"} does not register $scheme:"
done
grep -q '^Exec=cti-panel %u$' "$desktop" || die "${desktop#"$root"}: Exec does not pass the link"
echo "install-test: ${desktop#"$root"} registers tel: and callto: ($(grep '^MimeType=' "$desktop"))"
cmp -s "$prov" "$root/etc/cti-panel/provisioning.toml" \
  || die "/etc/cti-panel/provisioning.toml is missing or differs from the provided file"
echo "install-test: /etc/cti-panel/provisioning.toml shipped by the package"
version=$(in_root cti-panel --version) || die "cti-panel --version failed"
echo "install-test: $version"

# --- 4. The simulator on the host's loopback -----------------------------------------------
say "PBX simulator on 127.0.0.1:$sim_port (host; the root shares the network)"
sim_bin="$target_dir/$profile/cti-sim"
if [ ! -x "$sim_bin" ]; then
  sim_args=(-p cti-sim --bin cti-sim)
  [ "$profile" = release ] && sim_args+=(--release)
  cargo build "${sim_args[@]}"
fi
"$sim_bin" --bind "127.0.0.1:$sim_port" > "$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 1 100); do
  code=$(health "$sim_port")
  [ -n "$code" ] && [ "$code" != 000 ] && break
  kill -0 "$sim_pid" 2>/dev/null || die "the simulator did not start: $(cat "$work/sim.log")"
  sleep 0.1
done

# The agent's own file: secrets and personal settings (never in the provisioning file). It
# also tries to move a locked key; the provisioned value must win.
mkdir -p "$root/root/cti-test"
cat > "$root/root/cti-test/config.toml" <<'EOF'
[era]
extension = "101"
token = "era-user-101"

[telphin]
client_secret = "demo-secret"

[listener]
port = 9
EOF

# --- 5. The installed binary runs headless ---------------------------------------------------
say "cti-panel --headless (installed binary, in the root)"
# chroot directly (not through the in_root function) so that $! is the app's own pid.
chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  cti-panel --headless --config /root/cti-test/config.toml > "$work/headless.log" 2>&1 &
app_pid=$!
healthy=0
for _ in $(seq 1 150); do
  if [ "$(health "$listener_port")" = 200 ]; then healthy=1; break; fi
  kill -0 "$app_pid" 2>/dev/null || break
  sleep 0.2
done
if [ "$healthy" -ne 1 ]; then
  cat "$work/headless.log" >&2
  die "the headless app did not answer /health on the provisioned port $listener_port"
fi
echo "install-test: headless app up; its listener answers on 127.0.0.1:$listener_port (the provisioned, locked port; the user file's 9 was ignored)"
sed 's/\x1b\[[0-9;]*m//g' "$work/headless.log" | grep -E '"platform":"(era|telphin)".*"state":"connected"|locked' | sed 's/^/  /' || true
kill -TERM "$app_pid"
for _ in $(seq 1 100); do kill -0 "$app_pid" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$app_pid" 2>/dev/null || true
wait "$app_pid" 2>/dev/null || true
app_pid=""

# --- 6. The installed binary's self-test ------------------------------------------------------
say "cti-panel self-test --config /root/cti-test/config.toml"
if ! in_root cti-panel --help | grep -q 'self-test'; then
  die "this build of cti-panel has no self-test command yet (src-tauri/src must wire cti_core::support::self_test)"
fi
set +e
in_root cti-panel self-test --config /root/cti-test/config.toml | tee "$work/self-test.txt"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -eq 0 ] || die "self-test exited with $rc"
for check in "Era platform" "Telphin platform" "Webhook listener" "Secret storage"; do
  grep -q "^\[ OK \] $check" "$work/self-test.txt" || die "self-test did not pass: $check"
done

echo
echo "install-test: PASSED ($(basename "$deb") installed into a clean Debian 12 root; headless start and self-test against the simulator)"
