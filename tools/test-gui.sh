#!/usr/bin/env bash
# GUI test: launches the built app in a real window under Xvfb, checks the window exists with the
# app's title and shows non-blank content, saves a screenshot (test-artifacts/gui/, not in git),
# and checks that a second launch focuses the running app instead of opening another window.
#
#   tools/test-gui.sh [BINARY]      (default build/bin/viettts-studio; `make build` makes it)
set -uo pipefail
cd "$(dirname "$0")/.."
# The single-instance lock lives on the D-Bus session bus, as on a desktop: give the test one.
if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ] && [ -z "${VIETTTS_GUI_TEST_INNER:-}" ] && command -v dbus-run-session >/dev/null; then
	VIETTTS_GUI_TEST_INNER=1 exec dbus-run-session -- "$0" "$@"
fi
BIN=${1:-build/bin/viettts-studio}
OUT=test-artifacts/gui
mkdir -p "$OUT"
pass=0 fail=0
ok() { echo "PASS: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
finish() { echo; echo "gui: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

for tool in Xvfb xdotool import convert; do
	command -v "$tool" >/dev/null || { bad "$tool is missing: run tools/setup.sh test"; finish; }
done
[ -x "$BIN" ] || { bad "$BIN not built: run make build"; finish; }

home=$(mktemp -d)
export VIETTTS_STUDIO_HOME="$home/data" HOME="$home" XDG_RUNTIME_DIR="$home/run"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
exec 3< <(Xvfb -displayfd 1 -screen 0 1280x860x24 -nolisten tcp 2>"$OUT/xvfb.log")
read -r -t 20 dnum <&3 || { bad "Xvfb did not start (see $OUT/xvfb.log)"; finish; }
export DISPLAY=":$dnum"
xvfb_pid=$(pgrep -n Xvfb)
app_pid=""
cleanup() {
	[ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null && wait "$app_pid" 2>/dev/null
	kill "$xvfb_pid" 2>/dev/null
	rm -rf "$home"
}
trap cleanup EXIT

"$BIN" >"$OUT/app.log" 2>&1 &
app_pid=$!

# 1. The window appears with the app's title.
win=$(timeout 60 xdotool search --sync --name '^VietTTS Studio$' 2>/dev/null | head -1)
if [ -n "$win" ]; then ok "window '$(xdotool getwindowname "$win")' exists"; else bad "no window titled 'VietTTS Studio' within 60 s (see $OUT/app.log)"; finish; fi

# 2. It shows non-blank content: wait until the page has rendered text (many colours) or time out.
colors=0
for _ in $(seq 1 60); do
	import -window root "$OUT/window.png" 2>/dev/null
	colors=$(convert "$OUT/window.png" -format '%k' info: 2>/dev/null || echo 0)
	[ "$colors" -gt 200 ] && break
	sleep 0.5
done
if [ "$colors" -gt 200 ]; then ok "window shows rendered content ($colors colours, $OUT/window.png)"; else bad "window looks blank ($colors colours, $OUT/window.png)"; fi

# 3. A second launch hands over to the running app and exits (Wails exits it with status 1);
#    the first logs that it was asked to come to the front; still one window.
timeout 20 "$BIN" >"$OUT/second.log" 2>&1
rc=$?
count=$(xdotool search --name '^VietTTS Studio$' 2>/dev/null | wc -l)
focused=$(grep -c 'second launch: focusing the window' "$VIETTTS_STUDIO_HOME/config/logs/studio.log" 2>/dev/null)
if [ "$rc" -ne 124 ] && kill -0 "$app_pid" 2>/dev/null && [ "$count" -eq 1 ] && [ "${focused:-0}" -ge 1 ]; then
	ok "second launch handed over to the running app (rc $rc) and left one window"
else
	bad "second launch: rc $rc, first alive: $(kill -0 "$app_pid" 2>/dev/null && echo yes || echo no), windows: $count, focus requests logged: ${focused:-0}"
fi

# 4. The app writes its log to the data folder.
if [ -s "$VIETTTS_STUDIO_HOME/config/logs/studio.log" ]; then ok "log file written"; else bad "no log file in the data folder"; fi
finish
