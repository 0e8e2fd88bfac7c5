#!/usr/bin/env bash
# Builds the Linux installer packages: `tauri build --bundles deb,rpm` (the `release` Cargo
# profile: optimised for size, thin LTO, stripped; see Cargo.toml).
#
#   bash scripts/package.sh [--provisioning FILE] [--debug] [--out DIR] [-- extra tauri build args]
#
#   --provisioning FILE  ship FILE in both packages as /etc/cti-panel/provisioning.toml (managed
#                        settings, see packaging/provisioning.example.toml). The committed
#                        tauri.conf.json is not touched: a generated overlay is passed with
#                        `tauri build --config`.
#   --debug              debug build (faster to build, bigger binary), for tests.
#   --release            the shipped build (the default; accepted for older scripts).
#   --out DIR            also copy the packages to DIR.
#
# Then checks what landed in the packages: the binary, the desktop entry (tel:/callto: handlers,
# %u), the provisioning file. Prints the package paths, one per line, last.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

die() { echo "package: $*" >&2; exit 1; }

provisioning=""
profile=release
out=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --provisioning) [ $# -ge 2 ] || die "--provisioning needs a file"; provisioning="$2"; shift 2 ;;
    --provisioning=*) provisioning="${1#*=}"; shift ;;
    --debug) profile=debug; shift ;;
    --release) profile=release; shift ;;
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out="$2"; shift 2 ;;
    --out=*) out="${1#*=}"; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

command -v dpkg-deb >/dev/null || die "dpkg-deb is required (Debian/Ubuntu build host)"
command -v rpm >/dev/null || die "rpm is required to build the .rpm: apt-get install rpm (scripts/setup.sh installs it)"
[ -x ui/node_modules/.bin/tauri ] || die "ui/node_modules/.bin/tauri is missing: run bash scripts/setup.sh"

target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
work="$target_dir/packaging"
mkdir -p "$work"

args=(--bundles deb,rpm)
[ "$profile" = debug ] && args+=(--debug)

if [ -n "$provisioning" ]; then
  [ -f "$provisioning" ] || die "provisioning file not found: $provisioning"
  if command -v python3 >/dev/null && python3 -c 'import tomllib' 2>/dev/null; then
    python3 - "$provisioning" <<'PY' || die "$provisioning is not valid TOML (see above)"
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    data = tomllib.load(f)
if not isinstance(data.get("locked", []), list):
    sys.exit("`locked` must be a list of keys, e.g. locked = [\"era.url\"]")
PY
  fi
  # A copy with a fixed name and mode; the packages get exactly these bytes.
  install -m 0644 "$provisioning" "$work/provisioning.toml"
  cat > "$work/tauri.provisioning.json" <<EOF
{
  "bundle": {
    "linux": {
      "deb": { "files": { "/etc/cti-panel/provisioning.toml": "$work/provisioning.toml" } },
      "rpm": { "files": { "/etc/cti-panel/provisioning.toml": "$work/provisioning.toml" } }
    }
  }
}
EOF
  args+=(--config "$work/tauri.provisioning.json")
  echo "package: shipping $provisioning as /etc/cti-panel/provisioning.toml"
fi

bundle_dir="$target_dir/$profile/bundle"
# Only the panel's packages: the benchmarks keep the empty Tauri app's .deb in the same folder.
rm -f "$bundle_dir"/deb/CTI\ Panel_*.deb "$bundle_dir"/rpm/CTI\ Panel-*.rpm
echo "package: tauri build ${args[*]} ${extra[*]}"
ui/node_modules/.bin/tauri build "${args[@]}" "${extra[@]}"

deb=$(ls -t "$bundle_dir"/deb/*.deb 2>/dev/null | head -n1 || true)
rpmf=$(ls -t "$bundle_dir"/rpm/*.rpm 2>/dev/null | head -n1 || true)
[ -n "$deb" ] || die "no .deb in $bundle_dir/deb"
[ -n "$rpmf" ] || die "no .rpm in $bundle_dir/rpm"

# --- What landed in the .deb -------------------------------------------------------------
listing=$(dpkg-deb -c "$deb")
# Member names are `usr/…` or `./usr/…` depending on the bundler version.
grep -Eq ' (\./)?usr/bin/cti-panel$' <<<"$listing" || die "$deb has no /usr/bin/cti-panel"
# The file name has a space ("CTI Panel.desktop"): take the rest of the line.
desktop_path=$(sed -En 's|.* ((\./)?usr/share/applications/.*\.desktop)$|\1|p' <<<"$listing" | head -n1)
[ -n "$desktop_path" ] || die "$deb has no desktop entry"
desktop=$(dpkg-deb --fsys-tarfile "$deb" | tar -xOf - "$desktop_path")
for scheme in tel callto; do
  grep -q "^MimeType=.*x-scheme-handler/$scheme;" <<<"$desktop" \
    || die "$desktop_path does not register x-scheme-handler/$scheme:"$'\n'"$desktop"
done
grep -q '^Exec=.* %u$' <<<"$desktop" || die "$desktop_path does not pass the link (%u) to the app"
echo "package: desktop entry /${desktop_path#./}:"
sed 's/^/  /' <<<"$desktop"

if [ -n "$provisioning" ]; then
  member=$(grep -Eo '(\./)?etc/cti-panel/provisioning\.toml$' <<<"$listing" || true)
  [ -n "$member" ] || die "$deb has no /etc/cti-panel/provisioning.toml"
  dpkg-deb --fsys-tarfile "$deb" | tar -xOf - "$member" | cmp -s - "$work/provisioning.toml" \
    || die "$deb does not carry the provisioning file unchanged"
  grep -qx /etc/cti-panel/provisioning.toml <<<"$(rpm -qlp "$rpmf" 2>/dev/null)" \
    || die "$rpmf does not carry /etc/cti-panel/provisioning.toml"
  echo "package: both packages carry /etc/cti-panel/provisioning.toml"
fi

# --- What landed in the .rpm -------------------------------------------------------------
rpm -K --nosignature "$rpmf" >/dev/null || die "$rpmf is damaged (rpm -K)"
rpm_files=$(rpm -qlp "$rpmf" 2>/dev/null)
grep -qx /usr/bin/cti-panel <<<"$rpm_files" || die "$rpmf has no /usr/bin/cti-panel"
grep -q '^/usr/share/applications/.*\.desktop$' <<<"$rpm_files" || die "$rpmf has no desktop entry"

echo "package: Depends: $(dpkg-deb -f "$deb" Depends)"
echo "package: rpm requires: $(rpm -qp --requires "$rpmf" 2>/dev/null | grep -v '^rpmlib(' | tr '\n' ' ')"

if [ -n "$out" ]; then
  mkdir -p "$out"
  cp "$deb" "$rpmf" "$out"/
  deb="$out/$(basename "$deb")"
  rpmf="$out/$(basename "$rpmf")"
fi
echo "$deb"
echo "$rpmf"
