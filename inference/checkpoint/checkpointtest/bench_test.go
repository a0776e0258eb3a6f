package checkpointtest

import (
	"path/filepath"
	"testing"

	"github.com/viettts-studio/studio/inference/checkpoint"
)

// BenchmarkReadFloat32 measures reading a 64 MB fp32 tensor out of a checkpoint (the reader's
// throughput, which bounds how fast the compiler can stream llm.pt).
func BenchmarkReadFloat32(b *testing.B) {
	const n = 16 << 20
	src := mapTensors{keys: []string{"w"}, data: map[string][]float32{"w": make([]float32, n)}, shapes: map[string][]int{"w": {n}}}
	path := filepath.Join(b.TempDir(), "big.pt")
	if err := Write(path, src); err != nil {
		b.Fatal(err)
	}
	sd, err := checkpoint.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer sd.Close()
	tn, _ := sd.Tensor("w")
	b.SetBytes(4 * n)
	b.ResetTimer()
	for b.Loop() {
		if _, err := tn.Float32(); err != nil {
			b.Fatal(err)
		}
	}
}
