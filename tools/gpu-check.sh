#!/usr/bin/env bash
# Issue 9 in one go on a Linux x64 machine with an NVIDIA GPU, CUDA 13 and cuDNN 9: the gpu-tagged
# tests (parity per graph, 50-step tokens, a whole segment, memory and throughput per instance, the
# 500-segment scheduler stress) and `viettts-studio bench` on CUDA, then a short table.
#
#   tools/gpu-check.sh          run the checks (make gpu-check)
#   tools/gpu-check.sh stash    keep the carried pack parts for a later call (no GPU work)
#
# What it runs comes from, in order: a fresh build when Go is here (tools/gpu-pack.sh stage); the
# pack parts made by tools/gpu-pack.sh (carried in .cache/gpu/ or stashed by earlier calls); or the
# stage assembled from them earlier in $VIETTTS_GPU_WORK/run. VIETTTS_GPU_FROM_PACK=1 uses the
# parts even where Go is. Logs go to $OUT (the device tool's folder that
# comes back) or $VIETTTS_GPU_WORK/out.
#
# Settings (environment): VIETTTS_GPU_QUICK=1 skips the full-size bundle (bench and memory run on
# the tiny one); VIETTTS_GPU_MAX_INSTANCES (2) bounds the memory test; VIETTTS_GPU_BENCH_INSTANCES
# (1,2,4); VIETTTS_GPU_STRESS_SEGMENTS (500); VIETTTS_GPU_DRYRUN=cpu runs everything on the CPU to
# check the check (its numbers are not GPU results).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${VIETTTS_GPU_WORK:-/tmp/viettts-gpu}
LOGS=${OUT:-$WORK/out}
mkdir -p "$WORK/parts" "$LOGS"

say() { printf '\033[1mgpu-check:\033[0m %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

stash_parts() {
	local n=0
	for f in .cache/gpu/part-* .cache/gpu/PARTS.sha256; do
		[ -f "$f" ] || continue
		cp "$f" "$WORK/parts/" && n=$((n + 1))
	done
	say "$n file(s) stashed; $WORK/parts holds: $(cd "$WORK/parts" && ls | tr '\n' ' ')"
}

if [ "${1:-}" = stash ]; then
	stash_parts
	exit 0
fi

# 1. What to run: a fresh build where Go is (unless VIETTTS_GPU_FROM_PACK=1), else the carried or
# stashed pack parts (reassembled only when they changed), else the stage assembled earlier.
RUN=$WORK/run
assemble() {
	stash_parts
	[ -f "$WORK/parts/PARTS.sha256" ] || die "PARTS.sha256 was not carried: carry .cache/gpu/PARTS.sha256 with a part"
	if [ -f "$RUN/PARTS.sha256" ] && cmp -s "$RUN/PARTS.sha256" "$WORK/parts/PARTS.sha256" &&
		(cd "$RUN" && sha256sum -c --quiet SHA256SUMS); then
		say "using the stage assembled earlier from these parts in $RUN"
		return
	fi
	local missing
	missing=$(cd "$WORK/parts" && awk '{print $2}' PARTS.sha256 | while read -r p; do [ -f "$p" ] || echo "$p"; done)
	[ -z "$missing" ] || die "parts not here yet: $(echo $missing); carry each in a call that runs \`tools/gpu-check.sh stash\`"
	(cd "$WORK/parts" && sha256sum -c --quiet PARTS.sha256) || die "a part is damaged (checksum): carry it again"
	rm -rf "$RUN" && mkdir -p "$RUN"
	(cd "$WORK/parts" && cat $(awk '{print $2}' PARTS.sha256)) | tar -xz -C "$RUN" || die "the parts do not unpack"
	(cd "$RUN" && sha256sum -c --quiet SHA256SUMS) || die "the unpacked files do not match their checksums"
	cp "$WORK/parts/PARTS.sha256" "$RUN/PARTS.sha256"
	say "assembled the pack into $RUN"
}
if command -v go >/dev/null && [ "${VIETTTS_GPU_FROM_PACK:-}" != 1 ]; then
	tools/gpu-pack.sh stage "$RUN" || die "building the check failed"
elif ls .cache/gpu/part-* "$WORK"/parts/part-* >/dev/null 2>&1; then
	assemble
elif [ -f "$RUN/SHA256SUMS" ] && (cd "$RUN" && sha256sum -c --quiet SHA256SUMS); then
	say "using the stage assembled earlier in $RUN"
else
	die "nothing to run: no pack parts in .cache/gpu or $WORK/parts and no Go here; run tools/gpu-pack.sh where Go is and carry .cache/gpu/part-*"
fi

# 2. Libraries: the pack's ONNX Runtime and CUDA providers first, then CUDA 13 and cuDNN 9 from the
# usual places (the CUDA toolkit, NVIDIA's pip wheels).
cuda_dirs=$(ls -d /usr/local/cuda-13*/targets/x86_64-linux/lib /usr/local/cuda/lib64 \
	/opt/*/.venv/lib/python3*/site-packages/nvidia/*/lib /usr/local/lib/python3*/dist-packages/nvidia/*/lib 2>/dev/null | tr '\n' ':')
export LD_LIBRARY_PATH="$RUN/lib:${cuda_dirs}${LD_LIBRARY_PATH:-}"
export VIETTTS_ORT_LIB=$RUN/lib/libonnxruntime.so.1
export VIETTTS_STUDIO_HOME=$WORK/home
RANKS=$RUN/tokenizer/multilingual.tiktoken
mkdir -p "$RUN/.cache/tokenizer" && cp -f "$RANKS" "$RUN/.cache/tokenizer/" # found by walking up from the working dir
BIN=$RUN/bin
PROVIDER=cuda
[ "${VIETTTS_GPU_DRYRUN:-}" = cpu ] && PROVIDER=cpu
for b in "$BIN"/*; do
	if ldd "$b" | grep -q "not found"; then say "$(basename "$b") cannot load: $(ldd "$b" | grep 'not found' | tr '\n' ' ')"; fi
done

# Every step shares one time budget (VIETTTS_GPU_BUDGET seconds, default 500: a device call may
# run 600), so a slow step cannot keep the summary from being written.
DEADLINE=$((SECONDS + ${VIETTTS_GPU_BUDGET:-500}))
declare -A STATUS TOOK
step() { # step NAME COMMAND...: runs it from $RUN, logs to $LOGS/NAME.log, records status and time
	local name=$1 t0=$SECONDS left=$((DEADLINE - SECONDS - 10))
	shift
	if [ "$left" -lt 20 ]; then
		STATUS[$name]="no time"
		echo "not run: the time budget was spent" >"$LOGS/$name.log"
		return
	fi
	say "$name (at most ${left}s): $*"
	(cd "$RUN" && timeout -k 10 "$left" "$@") >"$LOGS/$name.log" 2>&1
	local rc=$?
	case $rc in
	0) STATUS[$name]=ok ;;
	124 | 137) STATUS[$name]="TIMEOUT" ;;
	*) STATUS[$name]="FAIL($rc)" ;;
	esac
	TOOK[$name]=$((SECONDS - t0))
	tail -n 3 "$LOGS/$name.log" >&2
}

if command -v nvidia-smi >/dev/null; then
	nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >"$LOGS/gpu.txt" 2>&1
else
	echo "no nvidia-smi" >"$LOGS/gpu.txt"
fi
# Cheapest and most telling first: if the budget runs out, bench and memory go, not parity.
step doctor "$BIN/viettts-studio" doctor
step parity "$BIN/gpu.test" -test.v -test.count=1 -test.timeout=8m -test.run 'TestGPU(GraphParity|TokensFollowTheCPU|SegmentMatchesTheCPU)$'
step stress "$BIN/scheduler.test" -test.v -test.count=1 -test.timeout=8m -test.run 'TestGPUStressFiveHundredSegmentsWithRandomCancels$'
FULL=$VIETTTS_STUDIO_HOME/cache/bench/random-full
DIMS=full
[ "${VIETTTS_GPU_QUICK:-}" = 1 ] && DIMS=tiny
step bench "$BIN/viettts-studio" bench --dims "$DIMS" --tokenizer "$RANKS" --provider "$PROVIDER" \
	--instances "${VIETTTS_GPU_BENCH_INSTANCES:-1,2,4}" --segments 3 --speech-tokens 125
MEMBUNDLE=tiny
[ "$DIMS" = full ] && [ -d "$FULL" ] && MEMBUNDLE=$FULL
step memory env VIETTTS_GPU_BUNDLE="$MEMBUNDLE" VIETTTS_GPU_MAX_INSTANCES="${VIETTTS_GPU_MAX_INSTANCES:-2}" \
	"$BIN/gpu.test" -test.v -test.count=1 -test.timeout=8m -test.run 'TestGPUMemoryAndThroughputPerInstance$'

# 3. The table.
lines() { grep -h -o "$1 .*" "$LOGS"/*.log 2>/dev/null; }
skips=$(grep -h -o 'skipped: .*' "$LOGS"/*.log 2>/dev/null | sort -u)
{
	echo
	echo "== VietTTS Studio GPU check: $(cat "$LOGS/gpu.txt") ($(date -u +%Y-%m-%dT%H:%MZ), provider $PROVIDER, bench/memory on $DIMS)"
	[ "$PROVIDER" = cpu ] && echo "   DRY RUN ON THE CPU: not GPU results"
	[ -n "$skips" ] && echo "   SKIPPED: $skips"
	echo "-- 1. parity CUDA vs CPU (fp32 tol 1e-3 with TF32 off; fp16 LLM tol = (4+2·blocks)·2^-11·scale)"
	lines PARITY | awk '{printf "   %-18s %-14s max|Δ| %-10s tol %-10s tf32 %-10s %s\n", $2, $3, substr($4,8), substr($6,5), substr($7,13), $8}'
	echo "   placement with CPU fallback disabled (the app's sessions ask for it; shape arithmetic may stay on the CPU):"
	echo "   $(lines PLACEMENT | awk '{printf "%s=%s ", $2, $3}')"
	lines TOKENS | sed 's/^/   /'
	lines SEGMENT | sed 's/^/   /'
	echo "-- 2. stages on CUDA (bench, $DIMS bundle)"
	sed -n '/^ *stage/,/^$/p' "$LOGS/bench.log" | sed 's/^/   /'
	grep -E '^audio |^  K=|^host code' "$LOGS/bench.log" | sed 's/^/   /'
	lines MEMORY | sed 's/^/   /'
	echo "-- 3. throughput by instance count"
	grep -E 'instance\(s\): .* s of audio per second' "$LOGS/bench.log" | sed 's/^/   bench /'
	lines THROUGHPUT | sed 's/^/   /'
	lines SIZING | sed 's/^/   /'
	one=$(grep -E '^ *1 instance\(s\):' "$LOGS/bench.log" | awk '{print $3}')
	two=$(grep -E '^ *2 instance\(s\):' "$LOGS/bench.log" | awk '{print $3}')
	if [ -n "$one" ] && [ -n "$two" ]; then
		awk -v a="$one" -v b="$two" 'BEGIN { r = b / a; printf "   2 instances / 1 = %.2f (issue 9 wants >= 1.7): %s\n", r, (r >= 1.7 ? "ok" : "BELOW") }'
	fi
	echo "-- 4. stress"
	lines STRESS | sed 's/^/   /'
	echo "-- steps"
	for s in doctor parity stress bench memory; do printf '   %-7s %-8s %4ss  log %s\n' "$s" "${STATUS[$s]:-not run}" "${TOOK[$s]:-0}" "$LOGS/$s.log"; done
} | tee "$LOGS/summary.txt"

for s in doctor parity stress bench memory; do
	[ "${STATUS[$s]:-}" = ok ] || exit 1
done
