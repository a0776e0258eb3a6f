#!/usr/bin/env bash
# Prepares everything `tools/gpu-check.sh` needs on a GPU machine that has no Go and no network:
# the gpu-tagged test binaries, the viettts-studio binary (for bench and model build-random), ONNX
# Runtime 1.29.0 with its CUDA 13 providers, the few system libraries the binaries link, and the
# tokenizer ranks.
#
#   tools/gpu-pack.sh stage DIR   # build and gather into DIR (what gpu-check.sh runs from)
#   tools/gpu-pack.sh [pack]      # stage, then pack into .cache/gpu/part-NN (< 58 MiB each)
#
# A device call carries at most 64 MiB with the working tree, and the CUDA provider alone is
# 220 MiB (its CUDA kernels are compressed already, so the whole pack is still ~4 parts). Carry
# one part per call (`tools/gpu-check.sh stash`), the last with the check itself; see docs/GPU.md.
set -euo pipefail
cd "$(dirname "$0")/.."

ORT_VERSION=1.29.0
ORT_GPU_PKG=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
CACHE=${VIETTTS_SETUP_CACHE:-.cache/setup}
OUT=${VIETTTS_GPU_PACK:-.cache/gpu}
PART_SIZE=${VIETTTS_GPU_PART_SIZE:-58m}

say() { printf '\033[1mgpu-pack:\033[0m %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# The CUDA providers from npm (the same package and cache file as tools/setup.sh), without running
# any install script.
cuda_providers() {
	local dst=$1 tgz="$CACHE/${ORT_GPU_PKG//@/-}.tgz"
	mkdir -p "$CACHE"
	if [ ! -f "$tgz" ]; then
		command -v npm >/dev/null || die "npm is needed to fetch $ORT_GPU_PKG (apt install npm)"
		say "fetching the CUDA 13 providers of ONNX Runtime $ORT_VERSION (npm $ORT_GPU_PKG, ~180 MB)"
		(cd "$CACHE" && npm pack --silent "$ORT_GPU_PKG" >/dev/null && mv com.github.asus4.onnxruntime.linux-x64-gpu-*.tgz "$(basename "$tgz")")
	fi
	local tmp; tmp=$(mktemp -d)
	tar -xzf "$tgz" -C "$tmp"
	for so in libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so; do
		local f; f=$(find "$tmp" -name "$so" | head -1)
		[ -n "$f" ] || die "$so is not in $tgz: the package layout changed"
		cp "$f" "$dst/"
	done
	rm -rf "$tmp"
}

# A system library a binary links, copied so that a machine without it can still load the binary.
system_lib() {
	local bin=$1 name=$2 dst=$3 p
	p=$(ldd "$bin" | awk -v n="$name" '$1 == n {print $3}')
	[ -n "$p" ] && cp -L "$p" "$dst/$name" || true
}

stage() {
	local dir=$1
	rm -rf "$dir"
	mkdir -p "$dir/bin" "$dir/lib" "$dir/tokenizer"
	tools/setup.sh ort >/dev/null
	cp lib/linux-x64/libonnxruntime.so.1 "$dir/lib/"
	cuda_providers "$dir/lib"
	local ranks=.cache/tokenizer/multilingual.tiktoken
	[ -f "$ranks" ] || tools/fixtures/features/fetch_tokenizer.sh
	cp "$ranks" "$dir/tokenizer/"
	say "building the gpu-tagged test binaries and viettts-studio (CLI use only: no lame)"
	export CGO_ENABLED=1
	go test -c -tags gpu -ldflags "-s -w" -o "$dir/bin/gpu.test" ./inference/gpu
	go test -c -tags gpu -ldflags "-s -w" -o "$dir/bin/scheduler.test" ./backend/scheduler
	go build -tags nolame -ldflags "-s -w" -o "$dir/bin/viettts-studio" .
	for b in "$dir"/bin/*; do system_lib "$b" libasound.so.2 "$dir/lib"; done
	(cd "$dir" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum > SHA256SUMS)
	say "staged in $dir ($(du -sh "$dir" | cut -f1))"
}

pack() {
	local st="$OUT/stage"
	stage "$st"
	rm -f "$OUT"/part-* "$OUT/PARTS.sha256"
	say "packing (gzip; the CUDA kernels do not compress much further)"
	tar -C "$st" -cf - . | gzip -6 | split -b "$PART_SIZE" -d -a 2 - "$OUT/part-"
	(cd "$OUT" && sha256sum part-* > PARTS.sha256)
	say "$(ls "$OUT"/part-* | wc -l) parts in $OUT:"
	ls -l "$OUT"/part-* "$OUT/PARTS.sha256" >&2
}

case "${1:-pack}" in
stage) [ $# -eq 2 ] || die "usage: $0 stage DIR"; stage "$2" ;;
pack) pack ;;
*) die "usage: $0 [pack] | stage DIR" ;;
esac
