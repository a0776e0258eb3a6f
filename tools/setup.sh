#!/usr/bin/env bash
# Installs what VietTTS Studio needs, idempotently: each step checks before it installs.
#
#   tools/setup.sh build   # build and run dependencies (make run)
#   tools/setup.sh test    # build dependencies plus what the tests use (make test)
#   tools/setup.sh ort     # only the ONNX Runtime library
#
# Debian/Ubuntu only; other platforms: see README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

ORT_VERSION=1.29.0
ORT_GPU_PKG=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
LIBDIR=lib/linux-x64
CACHE=${VIETTTS_SETUP_CACHE:-.cache/setup}
mkdir -p "$CACHE"

say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=""
apt_install() {
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if ! command -v apt-get >/dev/null; then
		say "missing packages ${missing[*]}: install them with your package manager"; exit 1
	fi
	if [ -z "$apt_updated" ]; then sudo_ apt-get update -qq; apt_updated=1; fi
	say "installing ${missing[*]}"
	sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The ONNX Runtime core from npm's onnxruntime-node, without running its install script.
ort_core() {
	local so="$LIBDIR/libonnxruntime.so.1"
	if [ -f "$so" ] && [ -f "$LIBDIR/VERSION" ] && [ "$(cat "$LIBDIR/VERSION")" = "$ORT_VERSION" ]; then return 0; fi
	mkdir -p "$LIBDIR" lib/windows-x64
	local tgz="$CACHE/onnxruntime-node-$ORT_VERSION.tgz"
	if [ ! -f "$tgz" ]; then
		say "fetching ONNX Runtime $ORT_VERSION (npm onnxruntime-node, ~110 MB)"
		(cd "$CACHE" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
	fi
	tar -xzf "$tgz" -C "$CACHE" package/bin/napi-v6/linux/x64/libonnxruntime.so.1 \
		package/bin/napi-v6/win32/x64/onnxruntime.dll package/bin/napi-v6/win32/x64/DirectML.dll
	cp "$CACHE/package/bin/napi-v6/linux/x64/libonnxruntime.so.1" "$so"
	cp "$CACHE/package/bin/napi-v6/win32/x64/onnxruntime.dll" "$CACHE/package/bin/napi-v6/win32/x64/DirectML.dll" lib/windows-x64/
	echo "$ORT_VERSION" > "$LIBDIR/VERSION"
	say "ONNX Runtime $ORT_VERSION in $LIBDIR"
}

# The CUDA 13 providers of the same ORT version, only where an NVIDIA GPU is present.
ort_cuda() {
	if ! { [ -e /dev/nvidiactl ] || command -v nvidia-smi >/dev/null 2>&1; }; then return 0; fi
	[ -f "$LIBDIR/libonnxruntime_providers_cuda.so" ] && return 0
	local tgz="$CACHE/${ORT_GPU_PKG//@/-}.tgz"
	if [ ! -f "$tgz" ]; then
		say "NVIDIA GPU found: fetching the CUDA 13 providers for ONNX Runtime $ORT_VERSION (~180 MB)"
		(cd "$CACHE" && npm pack --silent "$ORT_GPU_PKG" >/dev/null && mv com.github.asus4.onnxruntime.linux-x64-gpu-*.tgz "$(basename "$tgz")")
	fi
	local tmp; tmp=$(mktemp -d)
	tar -xzf "$tgz" -C "$tmp"
	find "$tmp" -name 'libonnxruntime_providers_cuda.so' -exec cp {} "$LIBDIR/" \;
	find "$tmp" -name 'libonnxruntime_providers_shared.so' -exec cp {} "$LIBDIR/" \;
	rm -rf "$tmp"
	say "CUDA providers in $LIBDIR (they need the CUDA 13 runtime and cuDNN 9: see viettts-studio doctor)"
}

# The Wails CLI, built from the pinned tools module (go install @v2.9.2 fails on Go 1.26).
wails_cli() {
	local bin; bin="$(go env GOPATH)/bin/wails"
	if [ -x "$bin" ] && [[ "$("$bin" version 2>/dev/null)" == v2.9.2* ]]; then return 0; fi
	say "building the Wails CLI v2.9.2 from tools/wails"
	(cd tools/wails && go build -o "$bin" github.com/wailsapp/wails/v2/cmd/wails)
}

frontend_deps() {
	if [ -d frontend/node_modules ] && [ frontend/node_modules/.package-lock.json -nt frontend/package-lock.json ]; then return 0; fi
	say "installing frontend packages (npm ci)"
	(cd frontend && npm ci --no-audit --no-fund --loglevel=error)
}

# node and npm usually come from NodeSource, whose nodejs package carries npm; Debian's npm
# package would clash with it, so they are installed only when the commands are missing.
node_deps() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then apt_install nodejs npm; fi
}

build_deps() {
	node_deps
	apt_install build-essential pkg-config libgtk-3-dev libwebkit2gtk-4.1-dev libasound2-dev libmp3lame-dev
	ort_core
	ort_cuda
	wails_cli
	frontend_deps
}

test_deps() {
	build_deps
	# The model's tokenizer ranks (Apache-2.0 data from the viet-tts package on PyPI), for the
	# tokenizer tests and the tiny model bundles every pipeline test builds.
	tools/fixtures/features/fetch_tokenizer.sh
	apt_install xvfb xauth dbus imagemagick xdotool x11-utils chromium ffmpeg sox libsox-fmt-all pandoc \
		libreoffice-writer fonts-dejavu-core python3 alsa-utils qpdf
}

case "${1:-build}" in
build) build_deps ;;
test) test_deps ;;
ort) ort_core; ort_cuda ;;
*) echo "usage: $0 build|test|ort" >&2; exit 2 ;;
esac
