#!/usr/bin/env bash
# GUI tests, the single entry point for everything GUI that `make test` runs after the Vitest unit
# tests:
#  1. the built app in a real window under Xvfb, with a tiny random-weight model installed and one
#     document queued: the window exists with the app's title and shows non-blank content;
#     screenshots of the queue, the document view during playback and the settings, driven with
#     the app's keyboard shortcuts (test-artifacts/gui/, not in git), each checked non-blank and
#     different from the others; a second launch focuses the running app; the log file is written.
#  2. the end-to-end tests in Chromium (tools/e2e/run.sh), unless VIETTTS_GUI_SKIP_E2E=1.
# The last line is "gui: N passed, N failed".
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
# Sound goes to an ALSA device that plays into nothing, so playback runs on a machine without one.
printf 'pcm.!default {\n\ttype file\n\tslave.pcm "null"\n\tfile "/dev/null"\n\tformat "raw"\n}\n' >"$home/.asoundrc"
# A tiny random-weight model (it does not speak, but synthesizes and plays like the real one) and
# one queued document, so the queue, the document and playback have something to show.
model=no
if go run ./tools/e2e/tinybundle -out "$VIETTTS_STUDIO_HOME/cache/models/viet-tts" 2>"$OUT/tinybundle.log"; then
	model=yes
	printf 'Mùa thu Hà Nội\n\nSáng nay trời se lạnh. Tôi đi dạo quanh hồ Gươm. Lá vàng rơi trên mặt nước.\n\nHà Nội vào thu thật đẹp. Chiều về, phố xá đông vui. Đêm xuống, đèn đường lung linh.\n' >"$home/mua-thu.txt"
	"$BIN" add "$home/mua-thu.txt" >"$OUT/add.log" 2>&1 || bad "queuing a document with '$BIN add' failed (see $OUT/add.log)"
else
	bad "tiny model not built (see $OUT/tinybundle.log); screenshots show the first-run dialog"
fi
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

# 3. Screenshots of the queue, the document view during playback, and the settings, reached with
#    the keyboard shortcuts (Alt+1/2/4; Space plays the open document from the start).
xdotool windowfocus --sync "$win" 2>/dev/null || xdotool windowfocus "$win" 2>/dev/null
shoot() { # shoot NAME: screenshot into $OUT/NAME.png; prints its colour count
	import -window root "$OUT/$1.png" 2>/dev/null
	convert "$OUT/$1.png" -format '%k' info: 2>/dev/null || echo 0
}
differs() { # differs A B: whether two screenshots differ in more than a few pixels
	local d
	d=$(compare -metric AE "$OUT/$1.png" "$OUT/$2.png" null: 2>&1 | awk '{printf "%d", $1}')
	[ "${d:-0}" -gt 1000 ]
}
settle() { # settle NAME: take screenshots until two in a row are the same (the view is drawn)
	local c prev=""
	for _ in $(seq 1 20); do
		sleep 0.3
		c=$(shoot "$1")
		[ -n "$prev" ] && ! differs "$1" "$1.prev" && break
		cp "$OUT/$1.png" "$OUT/$1.prev.png"
		prev=$c
	done
	rm -f "$OUT/$1.prev.png"
	echo "$c"
}
xdotool key alt+1
c=$(settle queue)
if [ "$c" -gt 200 ]; then ok "queue screenshot ($c colours, $OUT/queue.png)"; else bad "queue screenshot looks blank ($c colours)"; fi
if [ "$model" = yes ]; then
	xdotool key alt+2
	settle document >/dev/null
	xdotool key space
	# playback shows as the highlighted sentence and the player bar's text: wait for the change
	for _ in $(seq 1 40); do
		c=$(shoot document-playing)
		differs document-playing document && break
		sleep 0.25
	done
	if [ "$c" -gt 200 ] && differs document-playing queue && differs document-playing document; then
		ok "document view during playback ($c colours, $OUT/document-playing.png)"
	else
		bad "document view during playback: $c colours, or no change from the queue or from before playback ($OUT/document-playing.png)"
	fi
	xdotool key Escape
fi
xdotool key alt+4
c=$(settle settings)
if [ "$c" -gt 200 ] && differs settings queue; then ok "settings screenshot ($c colours, $OUT/settings.png)"; else bad "settings screenshot blank or same as the queue ($c colours)"; fi

# 4. A second launch hands over to the running app and exits (Wails exits it with status 1);
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

# 5. The app writes its log to the data folder.
if [ -s "$VIETTTS_STUDIO_HOME/config/logs/studio.log" ]; then ok "log file written"; else bad "no log file in the data folder"; fi

# 6. The end-to-end tests in Chromium.
kill "$app_pid" 2>/dev/null && wait "$app_pid" 2>/dev/null
app_pid=""
if [ "${VIETTTS_GUI_SKIP_E2E:-}" != 1 ]; then
	tools/e2e/run.sh | tee "$OUT/e2e.log"
	line=$(tail -1 "$OUT/e2e.log")
	if [[ "$line" =~ ^e2e:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		pass=$((pass + BASH_REMATCH[1])) fail=$((fail + BASH_REMATCH[2]))
	else
		bad "the end-to-end run did not finish (see $OUT/e2e.log)"
	fi
fi
finish
