# VietTTS Studio. Two commands do all set-up on Debian/Ubuntu:
#   make run    build and open the app (installs build dependencies on the way)
#   make test   run every test (installs test dependencies on the way)
SHELL := bash
BIN := build/bin/viettts-studio
GO_TAGS := desktop,production,webkit2_41
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/viettts-studio/studio/backend/buildinfo.Version=$(VERSION)
export VIETTTS_ORT_LIB ?= $(CURDIR)/lib/linux-x64/libonnxruntime.so.1

.PHONY: run build setup setup-test frontend test vet bench build-windows gpu-check gpu-pack clean

run: build
	./$(BIN)

setup:
	tools/setup.sh build

setup-test:
	tools/setup.sh test

frontend: setup
	cd frontend && npm run build

build: frontend
	CGO_ENABLED=1 go build -tags $(GO_TAGS) -ldflags "$(LDFLAGS) -w -s" -o $(BIN) .
	cp -f lib/linux-x64/libonnxruntime*.so* build/bin/ 2>/dev/null || true

# Every test: Go (race detector on), frontend unit tests, and the GUI/end-to-end tests.
test: setup-test build
	go vet ./...
	go test -race -timeout 40m ./...
	cd frontend && npm test
	tools/test-gui.sh

vet:
	go vet ./...

bench:
	go test -run '^$$' -bench . -benchmem ./...

build-windows: frontend
	tools/build-windows.sh

# Issue 9's GPU checks and bench on CUDA (NVIDIA GPU, CUDA 13, cuDNN 9); see docs/GPU.md.
gpu-check:
	tools/gpu-check.sh

# Pack the GPU check for a machine without Go or network (.cache/gpu/part-*).
gpu-pack:
	tools/gpu-pack.sh

clean:
	rm -rf build/bin frontend/dist/assets test-artifacts
