#!/usr/bin/env bash
# End-to-end GUI tests: builds the app with the `dev` tag (the Wails dev server: the frontend and
# the Go bindings over a websocket, as `wails dev` serves them), installs a tiny random-weight model
# in a fresh data folder, starts the app under Xvfb with an ALSA null device, and runs
# tools/e2e/e2e.mjs in Debian's Chromium against it. Screenshots and logs go to
# test-artifacts/e2e/. The last line is "e2e: N passed, N failed".
#
#   tools/e2e/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=test-artifacts/e2e
mkdir -p "$OUT"
fail() { echo "FAIL: $*"; echo; echo "e2e: 0 passed, 1 failed"; exit 1; }

for tool in Xvfb node /usr/bin/chromium go; do
	command -v "$tool" >/dev/null || fail "$tool is missing: run tools/setup.sh test"
done
[ -d frontend/node_modules/playwright-core ] || fail "playwright-core is missing: run (cd frontend && npm ci)"
ort=${VIETTTS_ORT_LIB:-$PWD/lib/linux-x64/libonnxruntime.so.1}
[ -f "$ort" ] || fail "ONNX Runtime library $ort is missing: run tools/setup.sh ort"
[ -f .cache/tokenizer/multilingual.tiktoken ] || fail "tokenizer ranks missing: run tools/fixtures/features/fetch_tokenizer.sh"

tmp=$(mktemp -d)
app_pid="" xvfb_pid=""
cleanup() {
	[ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null && wait "$app_pid" 2>/dev/null
	[ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "building the frontend and the dev app..."
(cd frontend && npm run build >"$PWD/../$OUT/vite.log" 2>&1) || fail "frontend build failed (see $OUT/vite.log)"
CGO_ENABLED=1 go build -tags dev,webkit2_41 -o "$tmp/viettts-studio-dev" . 2>"$OUT/go-build.log" || fail "go build -tags dev failed (see $OUT/go-build.log)"
go run ./tools/e2e/tinybundle -out "$tmp/home/data/cache/models/viet-tts" 2>"$OUT/tinybundle.log" || fail "tiny bundle not built (see $OUT/tinybundle.log)"
go run ./tools/e2e/tinycheckpoint -out "$tmp/work/checkpoint" 2>"$OUT/tinycheckpoint.log" || fail "tiny checkpoint not written (see $OUT/tinycheckpoint.log)"

# A home of its own: data folder, runtime dir, and an ALSA default device that plays into nothing.
home="$tmp/home"
mkdir -p "$home/run" "$tmp/work" && chmod 700 "$home/run"
cat >"$home/.asoundrc" <<'RC'
pcm.!default {
	type file
	slave.pcm "null"
	file "/dev/null"
	format "raw"
}
RC

exec 3< <(Xvfb -displayfd 1 -screen 0 1280x860x24 -nolisten tcp 2>"$OUT/xvfb.log" & echo "pid $!")
read -r -t 20 _ xvfb_pid <&3 || fail "Xvfb did not start (see $OUT/xvfb.log)"
read -r -t 20 dnum <&3 || fail "Xvfb did not report its display (see $OUT/xvfb.log)"
port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
answers() { node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$1"; }

env DISPLAY=":$dnum" HOME="$home" XDG_RUNTIME_DIR="$home/run" VIETTTS_STUDIO_HOME="$home/data" VIETTTS_ORT_LIB="$ort" \
	devserver="127.0.0.1:$port" assetdir=frontend/dist \
	dbus-run-session -- "$tmp/viettts-studio-dev" >"$OUT/app.log" 2>&1 &
app_pid=$!
for _ in $(seq 1 120); do
	answers "http://127.0.0.1:$port/" && break
	kill -0 "$app_pid" 2>/dev/null || fail "the app exited (see $OUT/app.log)"
	sleep 0.5
done
answers "http://127.0.0.1:$port/" || fail "the dev server did not answer on port $port within 60 s (see $OUT/app.log)"

VIETTTS_E2E_BIN="$tmp/viettts-studio-dev" VIETTTS_STUDIO_HOME="$home/data" node tools/e2e/e2e.mjs "http://127.0.0.1:$port" "$tmp/work" "$OUT"
