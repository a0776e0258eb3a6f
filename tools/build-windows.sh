#!/usr/bin/env bash
# Cross-compiles the Windows build on Linux: cgo through mingw-w64, then the ONNX Runtime and
# DirectML DLLs beside the exe. It cannot be run here (Wine cannot start Go 1.24+ binaries).
# Debian has no mingw build of LAME, so this build (tag nolame) encodes MP3 through ffmpeg's libmp3lame
# where ffmpeg is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v x86_64-w64-mingw32-gcc >/dev/null || {
	echo "build-windows: install mingw-w64 first: apt-get install gcc-mingw-w64-x86-64" >&2; exit 1; }
tools/setup.sh ort
mkdir -p build/bin
VERSION=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc CXX=x86_64-w64-mingw32-g++ \
	go build -tags desktop,production,nolame \
	-ldflags "-H windowsgui -w -s -X github.com/viettts-studio/studio/backend/buildinfo.Version=$VERSION" \
	-o build/bin/viettts-studio.exe .
cp lib/windows-x64/onnxruntime.dll lib/windows-x64/DirectML.dll build/bin/
echo "built build/bin/viettts-studio.exe with onnxruntime.dll and DirectML.dll beside it"
if command -v x86_64-w64-mingw32-objdump >/dev/null; then
	echo "it imports: $(x86_64-w64-mingw32-objdump -p build/bin/viettts-studio.exe | awk '/DLL Name/ {print $3}' | sort -u | tr '\n' ' ')"
fi
