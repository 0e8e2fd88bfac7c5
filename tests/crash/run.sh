#!/usr/bin/env bash
# App-level crash test: the headless app (`cti-panel --headless`) with its webhook listener and
# history store; a flood of seed-004 webhooks; SIGKILL at a random moment; again, ROUNDS times.
# Passes when the app started cleanly every round (its health check answered), every webhook
# that got a 200 is in the history afterwards, and `PRAGMA integrity_check` says ok.
#
#   bash tests/crash/run.sh            # 200 rounds (CTI_APP_CRASH_ROUNDS=20 for a quick pass)
#   CTI_APP=path/to/cti-panel bash tests/crash/run.sh
#
# Needs the app binary (bash scripts/build-app.sh), curl and sqlite3. Runs in a temp dir with its
# own HOME, so it touches no real configuration, keyring or history.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS="${CTI_APP_CRASH_ROUNDS:-200}"
SENDERS="${CTI_APP_CRASH_SENDERS:-4}"
APP="$(realpath -m "${CTI_APP:-target/debug/cti-panel}")"

fail() { echo "FAIL: $*" >&2; exit 1; }
[ -x "$APP" ] || fail "no app binary at $APP (build it with: bash scripts/build-app.sh)"
for tool in curl sqlite3; do
  command -v "$tool" >/dev/null || fail "$tool is needed (apt-get install $tool)"
done

WORK="$(mktemp -d)"
APP_PID=""
cleanup() {
  if [ -n "$APP_PID" ]; then kill -9 "$APP_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/home" "$WORK/data"
export HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config" XDG_DATA_HOME="$WORK/home/.local/share"
export CTI_PANEL_PROVISIONING="$WORK/none.toml" RUST_LOG="${RUST_LOG:-warn}"
unset DISPLAY WAYLAND_DISPLAY || true

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
TOKEN="$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
cat > "$WORK/config.toml" <<TOML
[listener]
port = $PORT
token = "$TOKEN"

[storage]
data_dir = "$WORK/data"

[secrets]
backend = "file"
TOML
URL="http://127.0.0.1:$PORT/hooks/$TOKEN/calls"
DB="$WORK/data/history.db"
ACKED="$WORK/acked.txt"
: > "$ACKED"

# One sender: unique SessionIDs until the app stops answering; acknowledged ids to its file.
sender() {
  local round=$1 w=$2 i=0 sid code
  while :; do
    i=$((i + 1))
    sid="app-r$round-w$w-$i"
    code="$(curl -s -o /dev/null -w '%{http_code}' -m 5 -X POST \
      -H 'content-type: application/json' \
      --data "{\"SessionID\":\"$sid\",\"HookType\":\"CreateIncCall\",\"StartTime\":\"2021-01-28 14:15:22\",\"CityNumber\":\"4950665310\",\"Caller\":\"958$(printf %07d "$i")\",\"Called\":\"4950665310\"}" \
      "$URL")" || true
    case "$code" in
      200) echo "$sid" >> "$WORK/acked.$w" ;;
      000) return 0 ;;
      *) echo "unexpected status $code for $sid" >&2; return 1 ;;
    esac
  done
}

started=$(date +%s)
for round in $(seq 1 "$ROUNDS"); do
  "$APP" --headless --config "$WORK/config.toml" > "$WORK/app.log" 2>&1 &
  APP_PID=$!
  up=0
  for _ in $(seq 1 300); do
    if curl -fsS -m 1 "http://127.0.0.1:$PORT/health" > /dev/null 2>&1; then up=1; break; fi
    kill -0 "$APP_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ "$up" != 1 ]; then
    cat "$WORK/app.log" >&2
    fail "round $round: the app did not start cleanly after the previous kill"
  fi
  pids=()
  for w in $(seq 1 "$SENDERS"); do
    sender "$round" "$w" &
    pids+=($!)
  done
  # Mostly mid-flood, sometimes right after start-up.
  if [ $((RANDOM % 100)) -lt 85 ]; then delay_ms=$((50 + RANDOM % 450)); else delay_ms=$((RANDOM % 40)); fi
  sleep "$(printf '0.%03d' "$delay_ms")"
  kill -9 "$APP_PID"
  wait "$APP_PID" 2>/dev/null || true
  APP_PID=""
  for p in "${pids[@]}"; do wait "$p" || fail "round $round: a sender failed"; done
  for w in $(seq 1 "$SENDERS"); do
    if [ -f "$WORK/acked.$w" ]; then cat "$WORK/acked.$w" >> "$ACKED"; rm -f "$WORK/acked.$w"; fi
  done
done

acked=$(wc -l < "$ACKED")
[ "$acked" -ge "$ROUNDS" ] || fail "only $acked webhooks were acknowledged in $ROUNDS rounds"
integrity="$(sqlite3 "$DB" 'PRAGMA integrity_check;')"
[ "$integrity" = ok ] || fail "integrity_check: $integrity"
result="$(sqlite3 "$DB" <<SQL
CREATE TEMP TABLE acked(id TEXT PRIMARY KEY);
.mode csv
.import --schema temp $ACKED acked
SELECT (SELECT count(*) FROM temp.acked), count(*) FROM temp.acked a
 WHERE NOT EXISTS (SELECT 1 FROM call_source s WHERE s.source = 'webhook' AND s.source_call_id = a.id);
SQL
)"
[ "$result" = "$acked,0" ] || fail "acknowledged,missing = $result (expected $acked,0)"
echo "MEASURE app_crash rounds=$ROUNDS"
echo "MEASURE app_crash acknowledged=$acked"
echo "MEASURE app_crash total_s=$(( $(date +%s) - started ))"
echo "app crash test: $ROUNDS kills, $acked acknowledged webhooks, all in the history, integrity ok"
